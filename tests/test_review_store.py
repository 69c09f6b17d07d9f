"""Reviewer decisions: stored in the register (SQLite and PostgreSQL), audited, applied by later scans."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import dataclasses
import shutil
from datetime import date, datetime

import pytest
from PIL import Image
from register_fixtures import PDF, register, register_env  # noqa: F401  (fixtures)

from consent_db import NotFound, RegisterError
from consent_db.reviews import Reviews
from minorguard import Guard
from minorguard.application.reviews import StoredReviews
from minorguard.pipeline import CheckContext
from minorguard.rules.reviews import apply_override, assign_to_faces, standing, to_override
from minorguard.types import Box, FaceAction, FaceCategory, ReasonCode, Verdict

SHA = "ab" * 32


def test_record_and_refuse(register):
    reviews = Reviews(register)
    before = register.audit_verify().entries
    row = reviews.record(SHA, 2, (10, 20, 30, 40), "adult", "  Ana   Hoxha ", "teacher", source="foto_ë.jpg")
    assert (row.kind, row.reviewer, row.reason, row.box) == ("adult", "Ana Hoxha", "teacher", (10.0, 20.0, 30.0, 40.0))
    bad = [
        {"kind": "adult", "reviewer": " "},
        {"kind": "bless", "reviewer": "Ana"},
        {"kind": "consent", "reviewer": "Ana"},
        {"kind": "consent", "reviewer": "Ana", "consent_id": "cr-nothere"},
        {"kind": "confirm", "reviewer": "ana  HOXHA", "confirms": row.seq},  # the same person cannot confirm
        {"kind": "confirm", "reviewer": "Besa", "confirms": 999},
    ]
    for kwargs in bad:
        kind, name = kwargs.pop("kind"), kwargs.pop("reviewer")
        with pytest.raises((RegisterError, NotFound)):
            reviews.record(SHA, 2, (10, 20, 30, 40), kind, name, **kwargs)
    with pytest.raises(RegisterError):
        reviews.record("not-a-sha", 2, (10, 20, 30, 40), "adult", "Ana")
    with pytest.raises(RegisterError):
        reviews.record(SHA, 2, (10, 20, 0, 40), "hide", "Ana")
    # refusals wrote nothing: one row, one audit entry
    assert [r.seq for r in reviews.for_photo(SHA)] == [row.seq]
    report = register.audit_verify()
    assert report.ok and report.entries == before + 1
    entry = register.audit_entries(limit=1)[0]
    assert entry["action"] == "review_adult" and entry["actor"] == "Ana Hoxha" and entry["photo_sha256"] == SHA
    assert "teacher" not in entry["details"] and '"reason":"enc1:' in entry["details"]  # sealed: it can name a child
    # the face as every page and command numbers it (index 2 is face 3), beside the index the scan's entries also keep
    assert '"face":3,' in entry["details"] and '"face_index":2,' in entry["details"]


def test_a_face_cannot_be_linked_to_a_withdrawn_consent(register):
    """The review page greys the button, but a request linking a face to a withdrawn consent was recorded: it never
    applied (the scan checks the consent again), yet the log read as a face allowed on a withdrawn permission."""
    from consent_db.reviews import FaceRef

    reviews = Reviews(register)
    child = register.add_child("Ema Çela")
    consent = register.add_consent(child.id, PDF, date(2026, 1, 6), ["facebook"])
    register.withdraw_consent(consent.id, "prindi e tërhoqi")
    before = register.audit_verify().entries
    with pytest.raises(RegisterError) as refused:
        reviews.record(SHA, 0, (10, 20, 30, 40), "consent", "Ana", consent_id=consent.id)
    assert refused.value.code == "review_consent_withdrawn" and consent.id in refused.value.text("en")
    assert "tërhequr" in refused.value.text("sq")
    with pytest.raises(RegisterError):
        reviews.record_group([FaceRef(SHA, 1, (50, 20, 30, 40), "a.jpg")], "consent", "Ana", "", consent_id=consent.id)
    assert reviews.for_photo(SHA) == [] and register.audit_verify().entries == before


def test_group_decision_one_audit_entry_listing_every_face(register):
    """A decision about one person covers all their faces: a row per face, one audit entry naming them all."""
    import json

    from consent_db.reviews import FaceRef

    reviews = Reviews(register)
    other = "cd" * 32
    faces = [FaceRef(SHA, 0, (10, 20, 30, 40), "ngjarja/foto_ë.jpg"), FaceRef(other, 3, (50, 60, 30, 40), "ngjarja/çelja.jpg")]
    before = register.audit_verify().entries
    rows = reviews.record_group(faces, "adult", "Ana", "teacher at the partner school", group="7")
    assert [(r.photo_sha256, r.face_index, r.kind) for r in rows] == [(SHA, 0, "adult"), (other, 3, "adult")]
    assert reviews.for_photo(other)[0].seq == rows[1].seq
    report = register.audit_verify()
    assert report.ok and report.entries == before + 1
    entry = register.audit_entries(limit=1)[0]
    assert entry["action"] == "review_group_adult" and entry["actor"] == "Ana"
    details = entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
    assert [f["decision"] for f in details["faces"]] == [r.seq for r in rows]
    assert [f["face"] for f in details["faces"]] == [1, 4]  # the numbers the page showed, not the indexes 0 and 3
    assert {f["photo_sha256"] for f in details["faces"]} == {SHA, other} and "ngjarja" not in json.dumps(details)
    assert {r.source for r in rows} == {"ngjarja/foto_ë.jpg", "ngjarja/çelja.jpg"}  # the decisions table keeps the names

    # all or nothing: one face whose confirmation no longer holds refuses the whole decision
    confirm = [FaceRef(SHA, 0, (10, 20, 30, 40), confirms=rows[0].seq), FaceRef(other, 3, (50, 60, 30, 40), confirms=rows[0].seq)]
    with pytest.raises(NotFound):
        reviews.record_group(confirm, "confirm", "Besa")
    with pytest.raises(RegisterError):
        reviews.record_group([FaceRef(SHA, 0, (10, 20, 30, 40)), FaceRef("bad", 1, (1, 1, 1, 1))], "hide", "Besa")
    with pytest.raises(RegisterError):
        reviews.record_group([], "hide", "Besa")
    assert len(reviews.for_photo(SHA)) == 1 and len(reviews.for_photo(other)) == 1
    assert register.audit_verify().entries == before + 1
    confirmed = reviews.record_group(
        [FaceRef(SHA, 0, (10, 20, 30, 40), confirms=rows[0].seq), FaceRef(other, 3, (50, 60, 30, 40), confirms=rows[1].seq)],
        "confirm", "Besa",
    )
    assert [r.confirms for r in confirmed] == [r.seq for r in rows]


def test_two_tabs_later_wins_both_logged(register):
    reviews = Reviews(register)
    first = reviews.record(SHA, 0, (100, 100, 50, 60), "adult", "Ana")
    second = reviews.record(SHA, 0, (100, 100, 50, 60), "hide", "Besa", "not sure")
    rows = reviews.for_photo(SHA)
    assert [r.seq for r in rows] == [first.seq, second.seq]
    assert standing(rows, False).current.kind == "hide"
    actions = [e["action"] for e in register.audit_entries()]
    assert actions[-2:] == ["review_adult", "review_hide"]


def test_consent_link_and_confirm(register):
    reviews = Reviews(register)
    child = register.add_child("Drita Këlmendi")
    consent = register.add_consent(child.id, PDF, date(2026, 1, 10), ["facebook"], valid_until=date(2027, 6, 30))
    row = reviews.record(SHA, 1, (5, 5, 40, 40), "consent", "Ana", consent_id=consent.id)
    assert row.child_id == child.id
    ok = reviews.record(SHA, 1, (5, 5, 40, 40), "confirm", "Besa", confirms=row.seq)
    assert (ok.consent_id, ok.child_id) == (consent.id, child.id)
    assert reviews.search_children("kelmendi") == [(child.id, "Drita Këlmendi", False)]
    assert reviews.search_children("DRITA K") and not reviews.search_children("zzz") and not reviews.search_children(" ")
    # the second reviewer is someone else, however the first's name is typed again (the audit's "Ana" / "Ana.")
    for same in ("Ana.", " ana ", "A-n-a", "ANA!"):
        with pytest.raises(RegisterError, match="someone other"):
            reviews.record(SHA, 1, (5, 5, 40, 40), "confirm", same, confirms=row.seq)


@dataclasses.dataclass
class _Row:
    seq: int
    box: tuple
    kind: str
    reviewer: str = "Ana"
    confirms: int | None = None
    consent_id: str | None = None
    child_id: str | None = None
    reason: str = ""
    face_index: int = 0
    decided_at: datetime = datetime(2026, 11, 27, 12, 0)


def test_rules_match_by_position_and_order():
    boxes = [Box(0, 0, 50, 50), Box(60, 0, 50, 50)]
    rows = [
        _Row(1, (2, 1, 50, 50), "adult"),  # shifted a little: still face 0
        _Row(2, (61, 0, 49, 51), "hide"),
        _Row(3, (200, 200, 50, 50), "adult"),  # nobody there any more
        _Row(4, (0, 0, 50, 50), "clear"),
    ]
    per_face = assign_to_faces(rows, boxes)
    assert [[r.seq for r in f] for f in per_face] == [[1, 4], [2]]
    assert standing(per_face[0], False).current is None  # cleared
    assert standing(per_face[1], False).current.kind == "hide"
    pending = standing([_Row(5, (0, 0, 1, 1), "adult")], True)
    assert pending.pending_second
    self_confirmed = standing([_Row(5, (0, 0, 1, 1), "adult"), _Row(6, (0, 0, 1, 1), "confirm", reviewer=" ANA ", confirms=5)], True)
    assert self_confirmed.pending_second
    confirmed = standing([_Row(5, (0, 0, 1, 1), "adult"), _Row(6, (0, 0, 1, 1), "confirm", reviewer="Besa", confirms=5)], True)
    assert not confirmed.pending_second
    # a new decision after a confirmation needs its own confirmation
    again = standing(list(confirmed.history) + [_Row(7, (0, 0, 1, 1), "adult", reviewer="Besa")], True)
    assert again.pending_second


@pytest.fixture(scope="module")
def family_result(guard, sample_images):
    result = guard.check(sample_images / "faceaisharp_obama_family.jpg")
    assert result.verdict is Verdict.BLOCK
    return result


def _child_faces(result):
    """The two girls in the portrait: whatever the models say exactly, they are not allowed as they are."""
    return [d for d in result.faces if d.action is not FaceAction.ALLOW]


def test_scan_applies_decisions(register, guard, family_result, sample_images, tmp_path):
    reviews = Reviews(register)
    blocked = _child_faces(family_result)
    assert len(blocked) == 2
    for d in blocked:
        b = d.box
        reviews.record(family_result.sha256, d.index, (b.x, b.y, b.width, b.height), "adult", "Ana", "test: marked adult")
    lookup = StoredReviews.open(register, guard.policy)
    later = Guard(policy=guard.policy, pack=guard.pack, reviews=lookup).check(sample_images / "faceaisharp_obama_family.jpg")
    assert later.verdict is Verdict.PASS
    for d in blocked:
        face = later.faces[d.index]
        assert (face.action, face.category, face.reason) == (FaceAction.ALLOW, FaceCategory.ADULT, ReasonCode.REVIEWER)
        assert "Ana" in face.detail and "test: marked adult" in face.detail
    # the same picture re-encoded is another photo: old decisions do not apply
    copy = tmp_path / "kopje.jpg"
    with Image.open(sample_images / "faceaisharp_obama_family.jpg") as image:
        image.save(copy, quality=93)
    other = Guard(policy=guard.policy, pack=guard.pack, reviews=lookup).check(copy)
    assert other.sha256 != family_result.sha256 and other.verdict is Verdict.BLOCK
    # the identical bytes under another name keep them
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", tmp_path / "emri_tjetër.jpg")
    renamed = Guard(policy=guard.policy, pack=guard.pack, reviews=lookup).check(tmp_path / "emri_tjetër.jpg")
    assert renamed.verdict is Verdict.PASS


def test_second_reviewer_policy(register, guard, family_result, sample_images):
    reviews = Reviews(register)
    policy = dataclasses.replace(guard.policy, second_reviewer_required=True)
    checker = Guard(policy=policy, pack=guard.pack, reviews=StoredReviews.open(register, policy))
    face = _child_faces(family_result)[0]
    box = (face.box.x, face.box.y, face.box.width, face.box.height)
    first = reviews.record(family_result.sha256, face.index, box, "adult", "Ana")
    pending = checker.check(sample_images / "faceaisharp_obama_family.jpg").faces[face.index]
    assert pending.action is FaceAction.REVIEW and "awaiting a second reviewer" in pending.detail
    reviews.record(family_result.sha256, face.index, box, "confirm", "Besa", confirms=first.seq)
    done = checker.check(sample_images / "faceaisharp_obama_family.jpg").faces[face.index]
    assert done.action is FaceAction.ALLOW and "confirmed by Besa" in done.detail
    # hiding needs nobody else
    reviews.record(family_result.sha256, face.index, box, "hide", "Ana")
    hidden = checker.check(sample_images / "faceaisharp_obama_family.jpg").faces[face.index]
    assert hidden.action is FaceAction.BLOCK and hidden.reason is ReasonCode.REVIEWER


def test_consent_link_checked_on_every_scan(register, guard, family_result):
    reviews = Reviews(register)
    child = register.add_child("Sasha")
    consent = register.add_consent(child.id, PDF, date(2026, 1, 10), ["facebook"], valid_until=date(2027, 6, 30))
    face = _child_faces(family_result)[0]
    reviews.record(family_result.sha256, face.index, (face.box.x, face.box.y, face.box.width, face.box.height),
                   "consent", "Ana", consent_id=consent.id)

    def decided(channel, when):
        lookup = StoredReviews.open(register, guard.policy, CheckContext(channel=channel, when=when))
        override = lookup.overrides(family_result.sha256, family_result.faces)[face.index]
        return apply_override(face, override)

    ok = decided("facebook", date(2026, 12, 1))
    assert ok.action is FaceAction.ALLOW and ok.consent.record_id == consent.id and ok.consent.child_ref == child.id
    assert decided("instagram", date(2026, 12, 1)).action is FaceAction.BLOCK
    assert decided("facebook", date(2027, 7, 1)).action is FaceAction.BLOCK
    register.withdraw_consent(consent.id, "parent asked")
    late = decided("facebook", date(2026, 12, 1))
    assert late.action is FaceAction.BLOCK and "withdrawn" in late.detail
    # without a register to check against, a linked consent is never a silent PASS
    review = standing(reviews.for_photo(family_result.sha256), False)
    assert to_override(review, face, None).action is FaceAction.REVIEW


def test_export_applies_decisions(register, guard, family_result, sample_images, tmp_path):
    from minorguard.publish.export import ExportStatus, export_photos

    source = tmp_path / "familja.jpg"
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", source)
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    plain = export_photos(guard, [source], tmp_path / "pa_vendime", context=context)
    # source decisions only: the re-check may also hide an adult a girl's paint made look young
    assert sorted(h.index for h in plain.photos[0].hidden if not h.on_recheck) == sorted(d.index for d in _child_faces(family_result))

    reviews = Reviews(register)
    child = register.add_child("Sasha")
    consent = register.add_consent(child.id, PDF, date(2026, 1, 10), ["facebook"])
    adult_face, consent_face = _child_faces(family_result)
    for face, kind, extra in ((adult_face, "adult", {}), (consent_face, "consent", {"consent_id": consent.id})):
        b = face.box
        reviews.record(family_result.sha256, face.index, (b.x, b.y, b.width, b.height), kind, "Ana", **extra)
    reviewed = Guard(policy=guard.policy, pack=guard.pack, reviews=StoredReviews.open(register, guard.policy, context))
    for hide in ("minors", "unconsented-minors-and-unknown"):
        summary = export_photos(reviewed, [source], tmp_path / hide, hide=hide, context=context)
        photo = summary.photos[0]
        assert photo.status is ExportStatus.EXPORTED, photo.message
        assert photo.hidden == ()  # both children were settled by a reviewer
        faces = {f.index: f for f in photo.faces}
        assert faces[adult_face.index].category is FaceCategory.ADULT
        assert faces[consent_face.index].consent.record_id == consent.id  # the linked consent is the evidence
        assert photo.verdict_after is Verdict.PASS  # the copy carries the decisions through the re-check


def test_reviewer_notes_in_albanian():
    face = _Row(5, (0, 0, 1, 1), "adult", reason="mësuese")
    decision = _decision_stub()
    pending = to_override(standing([face], True), decision, None, "sq")
    assert pending.action is FaceAction.REVIEW
    assert pending.note == "i rritur · Ana · 2026-11-27 12:00 UTC · mësuese · pret një shqyrtues të dytë"
    confirmed = to_override(standing([face, _Row(6, (0, 0, 1, 1), "confirm", reviewer="Besa", confirms=5)], True), decision, None, "sq")
    assert confirmed.action is FaceAction.ALLOW and confirmed.note.endswith("konfirmuar nga Besa")
    from minorguard.report.files import explain_face

    text = explain_face(apply_override(decision, confirmed), "sq")
    assert text.startswith("vendosur nga shqyrtuesi: i rritur · Ana")


def _decision_stub():
    from minorguard.types import FaceDecision, Identifiability

    return FaceDecision(0, Box(0, 0, 1, 1), 0.9, FaceCategory.POSSIBLE_MINOR, FaceAction.BLOCK, ReasonCode.POSSIBLE_MINOR,
                        Identifiability(True, 80.0, 40.0), None)


def test_a_file_of_several_frames_takes_no_reviewers_decision(register, guard, sample_images, tmp_path):
    """A review record has no frame and is matched to faces by box. An animation whose frame 1 shows the adult
    father and frame 2 one of the girls at the same place: a reviewer's "adult" on the father would have settled
    the girl. Stored decisions are applied to no frame of such a file, and the review page takes none."""
    from minorguard.review.app import ReviewApp, ReviewProblem

    family = Image.open(sample_images / "faceaisharp_obama_family.jpg").convert("RGB")
    single = guard.check(family)
    girls = _child_faces(single)
    father = next(d for d in single.faces if d.action is FaceAction.ALLOW)
    girl = girls[0]
    # frame 2: the girl's face pasted where the father's is, scaled to his box
    swapped = family.copy()
    g, f = girl.box, father.box
    face = family.crop((int(g.x), int(g.y), int(g.x + g.width), int(g.y + g.height))).resize((int(f.width), int(f.height)))
    swapped.paste(face, (int(f.x), int(f.y)))
    path = tmp_path / "animacion.gif"
    family.save(path, "GIF", save_all=True, append_images=[swapped], duration=500)
    before = guard.check(path)
    assert before.frames == 2 and before.verdict is Verdict.BLOCK
    reviews = Reviews(register)
    assert before.frame == 0  # the page shows the first of equally bad frames: the father is the father there
    for d in before.faces:  # decisions on that frame's faces, the father's included
        reviews.record(before.sha256, d.index, (d.box.x, d.box.y, d.box.width, d.box.height), "adult", "Ana", "prova")
    later = Guard(policy=guard.policy, pack=guard.pack, reviews=StoredReviews.open(register, guard.policy)).check(path)
    assert later.verdict is Verdict.BLOCK
    assert not any(d.reason is ReasonCode.REVIEWER for d in later.faces)

    app = ReviewApp([before], reviews, guard.policy, lang="en")
    state = app.photo_state(0)
    assert not any(f["decidable"] for f in state["faces"])
    assert state["verdict"] == "BLOCK"  # the stored decisions count for nothing here either
    assert any("several frames" in note for note in state["notes"])  # the page says why, before anyone tries
    flagged = next(f["face"] for f in state["faces"] if f["flagged"])
    with pytest.raises(ReviewProblem) as refused:
        app.decide({"photo": 0, "face": flagged, "kind": "adult", "reviewer": "Ana", "reason": "prova"})
    assert refused.value.status == 409 and "several frames" in str(refused.value)


def test_an_mpos_first_frame_alone_takes_no_reviewers_decision_either(register, guard, sample_images, tmp_path):
    """Export judges an MPO's first frame alone (its copy keeps only that). Decisions stored on such a file were
    taken on whichever frame was worst, matched by box: none applies to the first frame either."""
    family = Image.open(sample_images / "faceaisharp_obama_family.jpg").convert("RGB")
    path = tmp_path / "kamera.mpo"
    family.save(path, "MPO", save_all=True, append_images=[family.resize((family.width // 4, family.height // 4))], quality=90)
    first = guard.check(path, first_frame_of_mpo=True)
    assert first.verdict is Verdict.BLOCK
    reviews = Reviews(register)
    for d in first.faces:
        reviews.record(first.sha256, d.index, (d.box.x, d.box.y, d.box.width, d.box.height), "adult", "Ana", "prova")
    checker = Guard(policy=guard.policy, pack=guard.pack, reviews=StoredReviews.open(register, guard.policy))
    assert checker.check(path, first_frame_of_mpo=True).verdict is Verdict.BLOCK
    from minorguard.publish.export import export_photos

    [copy] = export_photos(checker, [path], tmp_path / "kopje", overwrite=True).photos
    # nor does the check of the written copy take them (an audit: the manifest said a reviewer cleared the girls)
    assert copy.status.value == "exported", copy.message
    assert not any(f.reason is ReasonCode.REVIEWER for f in copy.recheck_faces)
    # the girls are hidden because of the source's own check; the paint's noise is drawn afresh for each export, and
    # the re-check may hide one more face near it (on_recheck), so the total is not a fixed number
    assert sorted(h.index for h in copy.hidden if not h.on_recheck) == sorted(d.index for d in _child_faces(first))
    single = tmp_path / "kamera.jpg"  # the same picture as a file of one frame keeps decisions taken on it
    family.save(single, quality=90)
    plain = guard.check(single)
    for d in _child_faces(plain):
        reviews.record(plain.sha256, d.index, (d.box.x, d.box.y, d.box.width, d.box.height), "adult", "Ana", "prova")
    assert checker.check(single).verdict is Verdict.PASS
