"""Scan-time matching (thresholds, ambiguity, scope, never-publish) and enrolment refusals with the real models."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from register_fixtures import PDF, register, register_env  # noqa: F401

from consent_db import NotFound, RegisterError
from consent_db.matcher import RegisterMatcher
from minorguard.rules.policy import load_policy

TODAY = date.today()
POLICY = load_policy()
MATCH, REVIEW, MARGIN = POLICY.consent_match_threshold, POLICY.consent_review_threshold, POLICY.consent_margin
SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def _basis(seed: int, n: int = 2) -> list[np.ndarray]:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(128, n)))
    return [q[:, i].astype(np.float32) for i in range(n)]


def _at(anchor: np.ndarray, other: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector with the given cosine to ``anchor`` (``other`` orthogonal to it)."""
    return (cosine * anchor + np.sqrt(1 - cosine**2) * other).astype(np.float32)


def _enrolled(register, name: str, vector: np.ndarray, channels=("facebook",), **consent) -> tuple[str, str]:
    child = register.add_child(name)
    register.add_enrolment(child.id, name.encode(), vector, face_index=1, face_height_px=120, embedder="dlib-resnet-v1")
    record = register.add_consent(child.id, PDF + name.encode(), TODAY - timedelta(days=30), list(channels), **consent)
    return child.id, record.id


def test_policy_thresholds_are_the_measured_ones():
    assert 0 < REVIEW < MATCH < 1 and MARGIN > 0
    assert (MATCH, REVIEW, MARGIN) == (0.8627, 0.8274, 0.05)  # benchmarks/results/matching_fusion.json, "shipped"


def test_confident_match_names_the_record(register):
    a, b = _basis(1)
    child, record = _enrolled(register, "Ana", a)
    matcher = RegisterMatcher.from_policy(register, POLICY, embedder="dlib-resnet-v1")
    found = matcher.match(_at(a, b, 0.99), "facebook", TODAY)
    assert found.child_ref == child and found.record_id == record and found.confident and not found.ambiguous
    assert found.similarity == pytest.approx(0.99, abs=1e-4)
    assert "Ana" not in found.note  # reports carry the pseudonymous ref only
    assert matcher.match(_at(a, b, 0.5), "facebook", TODAY) is None  # a stranger: no evidence
    weak = matcher.match(_at(a, b, (MATCH + REVIEW) / 2), "facebook", TODAY)
    assert weak is not None and not weak.confident  # between the thresholds: a person decides


def test_scope_channel_date_and_event(register):
    a, _b = _basis(2)
    event = register.create_event("Festa", datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 12))
    child, record = _enrolled(register, "Ana", a, channels=("website",), valid_until=TODAY + timedelta(days=5), event_ids=[event.id])
    plain = RegisterMatcher.from_policy(register, POLICY)
    at_event = RegisterMatcher.from_policy(register, POLICY, event_id=event.id)
    assert plain.match(a, "website", TODAY).record_id is None  # consent limited to an event
    assert at_event.match(a, "website", TODAY).record_id == record
    missing = at_event.match(a, "facebook", TODAY)
    assert missing.confident and missing.record_id is None and "facebook" in missing.note
    in_albanian = RegisterMatcher.from_policy(register, POLICY, event_id=event.id, lang="sq").match(a, "facebook", TODAY)
    assert in_albanian.note == f"{child}: asnjë leje aktive për facebook më {TODAY.isoformat()}"
    assert at_event.match(a, "website", TODAY + timedelta(days=6)).record_id is None
    assert at_event.match(a, None, TODAY).record_id is None


def test_scope_purpose_when_the_publication_states_one(register):
    a, _b = _basis(3)
    _child, record = _enrolled(register, "Ana", a, purposes=["school news", "Yearbook"])
    unstated = RegisterMatcher.from_policy(register, POLICY)
    # no --purpose: the parents' limit cannot be checked, so it covers nothing (it let the child through), as a
    # consent limited to events covers nothing outside one
    unsaid = unstated.match(a, "facebook", TODAY)
    assert unsaid.confident and unsaid.record_id is None and "--purpose" in unsaid.note and "Yearbook" in unsaid.note
    in_albanian = RegisterMatcher.from_policy(register, POLICY, lang="sq").match(a, "facebook", TODAY)
    assert "thoni për çfarë janë fotot me --purpose" in in_albanian.note
    stated = RegisterMatcher.from_policy(register, POLICY, purpose="  yearbook ")
    assert stated.match(a, "facebook", TODAY).record_id == record
    other = RegisterMatcher.from_policy(register, POLICY, purpose="campaign")
    found = other.match(a, "facebook", TODAY)
    assert found.confident and found.record_id is None and "campaign" in found.note
    _c2, open_record = _enrolled(register, "Besa", _basis(4)[0])  # a consent without purposes covers any
    again = RegisterMatcher.from_policy(register, POLICY, purpose="campaign")  # a matcher reads the register once
    assert again.match(_basis(4)[0], "facebook", TODAY).record_id == open_record
    # a reviewer's link to the consent is checked the same way
    from minorguard.application.reviews import register_consent_check

    assert register_consent_check(register, "facebook", TODAY, None, "yearbook")(record)[0]
    covers, why, _ = register_consent_check(register, "facebook", TODAY, None, "campaign")(record)
    assert not covers and "limited to purposes school news, Yearbook" in why
    covers, why, _ = register_consent_check(register, "facebook", TODAY, None, None)(record)
    assert not covers and "was not given (--purpose)" in why


def test_enrolments_of_another_embedder_are_skipped(register):
    a, _b = _basis(5)
    _enrolled(register, "Ana", a)
    other = RegisterMatcher.from_policy(register, POLICY, embedder="arcface")
    assert other.skipped == 1 and other.match(a, "facebook", TODAY) is None


def test_two_children_close_is_ambiguous(register):
    a, b = _basis(3)
    _enrolled(register, "Ana", a)
    _enrolled(register, "Besa", _at(a, b, 0.999))
    matcher = RegisterMatcher.from_policy(register, POLICY)
    found = matcher.match(_at(a, b, 0.9995), "facebook", TODAY)
    assert found.ambiguous and not found.confident


def test_never_publish_and_withdrawal(register):
    a, b, _c = _basis(4, 3)
    child, _record = _enrolled(register, "Ana", a)
    register.set_never_publish(child, True, "custody case")
    matcher = RegisterMatcher.from_policy(register, POLICY)
    assert matcher.match(a, "facebook", TODAY).never_publish
    _other, other_record = _enrolled(register, "Besa", b)
    register.withdraw_consent(other_record, "parent asked")
    # withdrawal erased Besa's embeddings: her face is no longer recognised at all
    assert RegisterMatcher.from_policy(register, POLICY).match(b, "facebook", TODAY) is None


def test_decisions_from_evidence():
    """The matcher's evidence drives the pure decision: consent -> allow, weak -> review, out of scope -> block."""
    from minorguard.rules.decide import decide_face
    from minorguard.types import AgeEstimate, Box, ConsentEvidence, DetectedFace, FaceAssessment, Identifiability

    face = FaceAssessment(0, DetectedFace(Box(0, 0, 100, 100), 0.99), Identifiability(True, 100, 100), AgeEstimate(16, 13, 19, 0.99, "t"))
    allow = decide_face(face, POLICY, ConsentEvidence("ch-1", 0.99, "cr-1", True, False))  # 13 or older: a match may settle it
    review = decide_face(face, POLICY, ConsentEvidence("ch-1", 0.95, "cr-1", False, False))
    block = decide_face(face, POLICY, ConsentEvidence("ch-1", 0.99, None, True, False))
    assert (allow.action.value, allow.detail) == ("allow", "cr-1")
    assert review.action.value == "review" and block.action.value == "block"


def test_benchmark_threshold_keeps_fmr_at_target():
    from benchmarks.consent_matching import threshold_for_fmr

    impostor = np.random.default_rng(0).normal(0.5, 0.1, 100_000).astype(np.float32)
    t = threshold_for_fmr(impostor, 0.001)
    assert np.mean(impostor >= t) <= 0.001 and np.mean(impostor >= np.nextafter(t, -1) - 1e-4) > 0.0009


# -- enrolment with the real models (model behaviour does not depend on the database) --
@pytest.fixture(scope="module")
def pack():
    from minorguard.models.pack import load_pack

    return load_pack()


@pytest.fixture
def sqlite_register(tmp_path, monkeypatch):
    from consent_db import Register

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    reg = Register(tmp_path / "data" / "register.sqlite3")
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def portrait(tmp_path_factory) -> Path:
    """One adult face, large and sharp (public-domain official portrait, downsized)."""
    path = tmp_path_factory.mktemp("enrol") / "portret ë.jpg"
    with Image.open(SAMPLES / "faceaisharp_biden_7mpx.jpg") as image:
        image.convert("RGB").resize((600, 750), Image.LANCZOS).save(path, quality=95)
    return path


def _variant(portrait: Path, tmp_path: Path, name: str, change) -> Path:
    rgb = np.asarray(Image.open(portrait).convert("RGB"))
    out = tmp_path / name
    Image.fromarray(change(rgb)).save(out, quality=95)
    return out


def test_enrol_one_face(sqlite_register, pack, portrait):
    from minorguard.application.enrolment import enrol_photo

    child = sqlite_register.add_child("Ana")
    with pytest.raises(RegisterError, match="looks like an adult.*--confirm-child"):  # the portrait is an adult's
        enrol_photo(sqlite_register, child.id, portrait, pack=pack)
    done = enrol_photo(sqlite_register, child.id, portrait, pack=pack, confirm_child=True)
    assert done.face == 1 and done.faces_found == 1 and done.face_height_px >= 80
    (vector,) = sqlite_register.enrolment_embeddings()[child.id]
    assert vector.shape == (128 + 1024,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-3  # dlib and FaceRes together (models/identity.py)
    with pytest.raises(RegisterError, match="already enrolled"):
        enrol_photo(sqlite_register, child.id, portrait, pack=pack, confirm_child=True)


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("small.jpg", lambda rgb: cv2.resize(rgb, (rgb.shape[1] // 5, rgb.shape[0] // 5), interpolation=cv2.INTER_AREA), "too small"),
        ("blur.jpg", lambda rgb: cv2.GaussianBlur(rgb, (0, 0), 9), "too blurred"),
        ("grey.jpg", lambda rgb: np.full_like(rgb, 128), "no face"),
    ],
)
def test_enrol_refuses_unusable_photos(sqlite_register, pack, portrait, tmp_path, name, change, message):
    from minorguard.application.enrolment import enrol_photo

    child = sqlite_register.add_child("Ana")
    before = sqlite_register.audit_verify().entries
    with pytest.raises(RegisterError, match=message):
        enrol_photo(sqlite_register, child.id, _variant(portrait, tmp_path, name, change), pack=pack)
    assert sqlite_register.get_child(child.id).enrolment_photos == 0
    assert sqlite_register.audit_verify().entries == before


def test_enrol_needs_a_choice_between_faces_and_a_known_child(sqlite_register, pack, tmp_path):
    from minorguard.application.enrolment import enrol_photo

    family = SAMPLES / "faceaisharp_obama_family.jpg"
    child = sqlite_register.add_child("Ana")
    with pytest.raises(RegisterError, match="4 faces found.*--face"):
        enrol_photo(sqlite_register, child.id, family, pack=pack)
    with pytest.raises(RegisterError, match="has 4 face"):
        enrol_photo(sqlite_register, child.id, family, face=7, pack=pack)
    small = tmp_path / "family_small.jpg"
    with Image.open(family) as image:
        image.resize((400, 267), Image.LANCZOS).save(small, quality=95)  # every face ~50 px high
    with pytest.raises(RegisterError, match="too small"):
        enrol_photo(sqlite_register, child.id, small, face=1, pack=pack)
    with pytest.raises(NotFound):
        enrol_photo(sqlite_register, "ch-nobody", family, pack=pack)
    text = tmp_path / "not_a_photo.jpg"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(RegisterError, match="not an image"):
        enrol_photo(sqlite_register, child.id, text, pack=pack)


def test_never_publish_children_who_cannot_be_compared_are_counted_for_the_event_exemption(register):
    """The audit's case: a never-publish child enrolled with another embedder is not recognised; checks must know how
    many such children there are, so that an exemption waits for a person (rules.events.UnrecognisedNeverPublish)."""
    a, b = _basis(7)
    seen, _ = _enrolled(register, "Ana", a)
    unseen, _ = _enrolled(register, "Besa", b)
    matcher = RegisterMatcher.from_policy(register, load_policy(), embedder="dlib-resnet-v1")
    assert matcher.unrecognised_never_publish == 0
    register.set_never_publish(unseen, True, "çështje kujdestarie")
    register.set_never_publish(seen, True, "çështje kujdestarie")
    assert RegisterMatcher.from_policy(register, load_policy(), embedder="dlib-resnet-v1").unrecognised_never_publish == 0
    other = RegisterMatcher.from_policy(register, load_policy(), embedder="dlib-resnet-v1+hse-faceres-s115")
    assert other.unrecognised_never_publish == 2 and other.skipped == 2
    # a never-publish child without any enrolment photo cannot be recognised either
    register.set_never_publish(register.add_child("Çelja").id, True, "çështje kujdestarie")
    assert RegisterMatcher.from_policy(register, load_policy(), embedder="dlib-resnet-v1").unrecognised_never_publish == 1
