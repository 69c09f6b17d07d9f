"""Known adults: the pure gates with plain data, the decision, the pipeline, the register."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minorguard.rules.decide import decide_face
from minorguard.rules.known_adults import (
    KnownAdultMatch,
    KnownAdultMatcher,
    KnownAdultRef,
    known_adult_clears,
    match_known_adult,
)
from minorguard.rules.policy import Policy
from minorguard.types import (
    AgeEstimate,
    Box,
    ConsentEvidence,
    DetectedFace,
    FaceAction,
    FaceAssessment,
    FaceCategory,
    Identifiability,
    ReasonCode,
)

POLICY = Policy(
    minor_rule="calibrated",
    minor_block_probability=0.5,
    minor_review_probability=0.05,
    known_adult_max_p_minor=0.3,
    known_adult_match_threshold=0.9,
    known_adult_margin=0.02,
)
TODAY = date(2026, 11, 27)


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def person(seed: int) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=32))


def near(base: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    return unit(base + noise * np.random.default_rng(100 + seed).normal(size=base.shape) / np.sqrt(base.size))


def ref(name: str, vec: np.ndarray, expires: date | None = None, id_: str | None = None) -> KnownAdultRef:
    return KnownAdultRef(id_ or f"ka-{name}", name, vec[None, :], role="teacher", expires=expires)


def assessment(p: float | None, identifiable: bool = True) -> FaceAssessment:
    age = None if p is None else AgeEstimate(34 if p < 0.5 else 12, 15, 45, p, "test")  # uncertain band: looks older than the challenge age
    return FaceAssessment(
        0,
        DetectedFace(Box(10, 10, 80, 80), 0.99),
        Identifiability(identifiable, 80, 50, None if identifiable else ReasonCode.TOO_SMALL),
        age,
    )


def confident(name: str = "Arta Krasniqi", sim: float = 0.97) -> KnownAdultMatch:
    return KnownAdultMatch("ka-1", name, "teacher", sim, True)


# -- matching ------------------------------------------------------------------------------------


def test_match_finds_the_person_above_threshold():
    a, b = person(1), person(2)
    match = match_known_adult(near(a, 1), [ref("A", a), ref("B", b)], TODAY, 0.9, 0.02)
    assert match is not None and match.name == "A" and match.confident


def test_no_match_below_threshold():
    assert match_known_adult(person(3), [ref("A", person(1))], TODAY, 0.9, 0.02) is None


def test_best_of_several_reference_photos_counts():
    a = person(1)
    adult = KnownAdultRef("ka-a", "A", np.stack([person(9), near(a, 2)]), "", None)
    match = match_known_adult(near(a, 3), [adult], TODAY, 0.9, 0.02)
    assert match is not None and match.confident


def test_expired_adult_is_reported_not_used():
    a = person(1)
    match = match_known_adult(near(a, 1), [ref("A", a, expires=date(2026, 11, 26))], TODAY, 0.9, 0.02)
    assert match is not None and match.expired and not match.confident
    assert "expired" in match.note and "2026-11-26" in match.note
    in_albanian = match_known_adult(near(a, 1), [ref("A", a, expires=date(2026, 11, 26))], TODAY, 0.9, 0.02, lang="sq")
    assert in_albanian.note == "i rrituri i njohur A skadoi më 2026-11-26: nuk përdoret"
    # the last day of validity still counts
    match = match_known_adult(near(a, 1), [ref("A", a, expires=TODAY)], TODAY, 0.9, 0.02)
    assert match is not None and match.confident


def test_two_adults_equally_close_is_ambiguous():
    a = person(1)
    twin = near(a, 50, noise=0.001)
    match = match_known_adult(near(a, 2), [ref("A", a), ref("Twin", twin)], TODAY, 0.9, 0.02)
    assert match is not None and match.ambiguous and not match.confident


# -- the child gate --------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.3, 0.5, 0.9, 0.999])
def test_known_adult_never_clears_a_face_at_or_above_the_gate(p):
    age = AgeEstimate(12, 8, 16, p, "test")
    assert not known_adult_clears(age, confident(), POLICY)
    decision = decide_face(assessment(p), POLICY, known_adult=confident())
    assert decision.reason is not ReasonCode.KNOWN_ADULT
    assert decision.action is not FaceAction.ALLOW


@given(
    p=st.floats(0, 1),
    gate=st.floats(0, 0.5),
    similarity=st.floats(-1, 1),
    expired=st.booleans(),
    ambiguous=st.booleans(),
    consent=st.booleans(),
)
def test_property_a_known_adult_clears_only_below_the_gate(p, gate, similarity, expired, ambiguous, consent):
    policy = replace(POLICY, known_adult_max_p_minor=gate)
    match = KnownAdultMatch("ka-1", "A", "", similarity, not (expired or ambiguous), ambiguous=ambiguous, expired=expired)
    evidence = ConsentEvidence("ch-1", 0.9, None, False, True) if consent else None
    decision = decide_face(assessment(p), policy, consent=evidence, known_adult=match)
    if decision.reason is ReasonCode.KNOWN_ADULT:
        assert p < gate and not expired and not ambiguous and not consent
    if p >= gate or expired or ambiguous:
        assert decision.reason is not ReasonCode.KNOWN_ADULT


def test_known_adult_clears_an_uncertain_face_below_the_gate():
    decision = decide_face(assessment(0.1), POLICY, known_adult=confident("Arta Krasniqi"))
    assert decision.action is FaceAction.ALLOW
    assert decision.reason is ReasonCode.KNOWN_ADULT
    assert decision.category is FaceCategory.ADULT
    assert "Arta Krasniqi" in decision.detail


def test_without_age_a_known_adult_clears_nothing():
    decision = decide_face(assessment(None), POLICY, known_adult=confident())
    assert decision.action is FaceAction.REVIEW and decision.reason is ReasonCode.AGE_UNAVAILABLE


def test_unconfident_matches_do_not_clear_and_say_why():
    expired = KnownAdultMatch("ka-1", "A", "", 0.97, False, expired=True, note="known adult A expired on 2026-01-01: not used")
    decision = decide_face(assessment(0.1), POLICY, known_adult=expired)
    assert decision.action is FaceAction.REVIEW and decision.reason is ReasonCode.MINOR_UNCERTAIN
    assert "expired" in decision.detail
    ambiguous = replace(expired, expired=False, ambiguous=True, note="two")
    assert decide_face(assessment(0.1), POLICY, known_adult=ambiguous).reason is ReasonCode.MINOR_UNCERTAIN


def test_consent_evidence_outranks_a_known_adult():
    consent = ConsentEvidence("ch-1", 0.95, None, True, False, never_publish=True)
    decision = decide_face(assessment(0.1), POLICY, consent=consent, known_adult=confident())
    assert decision.reason is ReasonCode.NEVER_PUBLISH
    claimed = ConsentEvidence("ch-1", 0.95, None, False, True, note="maybe")
    assert decide_face(assessment(0.1), POLICY, consent=claimed, known_adult=confident()).reason is ReasonCode.CONSENT_AMBIGUOUS


def test_adult_faces_stay_plain_adult():
    decision = decide_face(assessment(0.01), POLICY, known_adult=confident())
    assert decision.reason is ReasonCode.ADULT


def test_gate_zero_disables_known_adults():
    off = replace(POLICY, known_adult_max_p_minor=0.0)
    assert decide_face(assessment(0.1), off, known_adult=confident()).reason is not ReasonCode.KNOWN_ADULT


def test_policy_rejects_gate_above_block_probability():
    from minorguard.rules.policy import PolicyError, load_policy, policy_from_mapping

    with pytest.raises(PolicyError, match="^known_adults.max_p_minor must be between"):
        policy_from_mapping({"known_adults": {"max_p_minor": 0.9}}, load_policy())


def test_matcher_lists_expired():
    matcher = KnownAdultMatcher([ref("A", person(1), expires=date(2020, 1, 1)), ref("B", person(2))], POLICY)
    assert [a.name for a in matcher.expired(TODAY)] == ["A"]
    assert matcher.match(near(person(2), 1), TODAY).name == "B"


# -- real models: pipeline ------------------------------------------------------------------------

FAMILY = "faceaisharp_obama_family.jpg"
PORTRAIT = "faceaisharp_biden_7mpx.jpg"


def _faces(guard, path):
    from minorguard.photos.decode import load_photo

    photo = load_photo(path, max_pixels=guard.policy.max_pixels, target_long_side=guard.policy.publish_long_side)
    faces = guard.detect(photo)
    return photo, faces, guard.assess(photo, faces)


def test_real_portrait_is_cleared_as_known_adult_when_the_model_is_unsure(guard, sample_images):
    """A policy under which the age model leaves the portrait unsure; enrolled, it passes as known adult."""
    from minorguard.pipeline import Guard

    path = sample_images / PORTRAIT
    photo, faces, _ = _faces(guard, path)
    vector = guard.pack.embedder.embed(photo.pixels, faces[:1])
    unsure = replace(guard.policy, minor_rule="challenge_age", challenge_age=80.0)  # everyone under 80 is a possible minor
    base = Guard(policy=unsure, pack=guard.pack)
    assert base.check(path).faces[0].action is FaceAction.BLOCK
    matcher = KnownAdultMatcher([KnownAdultRef("ka-1", "Portrait Person", vector, "official")], unsure)
    result = Guard(policy=unsure, pack=guard.pack, known_adults=matcher).check(path)
    face = result.faces[0]
    assert face.reason is ReasonCode.KNOWN_ADULT and face.action is FaceAction.ALLOW
    assert "Portrait Person" in face.detail
    assert result.verdict.value == "PASS"
    # expired: not used, and the detail says so
    old = KnownAdultMatcher([KnownAdultRef("ka-1", "Portrait Person", vector, "", date(2020, 1, 1))], unsure)
    face = Guard(policy=unsure, pack=guard.pack, known_adults=old).check(path).faces[0]
    assert face.action is FaceAction.BLOCK and "expired" in face.detail


def test_real_parents_enrolled_never_clear_their_children(guard, sample_images):
    """Family resemblance: the two adults of the family portrait enrolled, the girls stay blocked."""
    from minorguard.pipeline import Guard

    path = sample_images / FAMILY
    photo, faces, _ = _faces(guard, path)
    order = sorted(range(len(faces)), key=lambda i: faces[i].box.x)
    assert len(order) == 4
    parents = [order[0], order[2]]  # left to right: father, girl, mother, girl
    vectors = guard.pack.embedder.embed(photo.pixels, [faces[i] for i in parents])
    matcher = KnownAdultMatcher(
        [KnownAdultRef(f"ka-{n}", f"parent {n}", vectors[n : n + 1]) for n in range(2)], guard.policy
    )
    result = Guard(policy=guard.policy, pack=guard.pack, known_adults=matcher).check(path)
    for i in (order[1], order[3]):
        girl = result.faces[i]
        assert girl.reason is not ReasonCode.KNOWN_ADULT
        assert girl.action is not FaceAction.ALLOW
    assert result.verdict.value == "BLOCK"


# -- real models: the command line ----------------------------------------------------------------


@pytest.fixture
def mg(tmp_path, monkeypatch):
    from minorguard import cli

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINORGUARD_ACTOR", "ana")
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    return lambda *args: cli.main(list(args))


def _listed(mg, capsys) -> str:
    assert mg("adult", "list", "--all", "--lang", "en") == 0
    return capsys.readouterr().out


def test_cli_add_list_remove_and_bad_input(mg, capsys, tmp_path, sample_images):
    from PIL import Image

    portrait = tmp_path / "zyrtarë_ç.jpg"  # Albanian letters in the name
    portrait.write_bytes((sample_images / PORTRAIT).read_bytes())
    assert mg("adult", "add", "Arben Çela", "--photo", str(portrait), "--role", "minister", "--expires", "2099-12-31", "--lang", "en") == 0
    assert "known adult added" in capsys.readouterr().err
    listed = _listed(mg, capsys)
    assert "Arben Çela" in listed and "minister" in listed and "2099-12-31" in listed

    # the same name again, or the same face under another name: refused, nothing written
    assert mg("adult", "add", "arben çela", "--photo", str(portrait), "--lang", "en") == 64
    assert "already a known adult" in capsys.readouterr().err
    # the name as pasted ("Ç" as C + combining cedilla, a double space) with another person's face
    decomposed = "Arben  C\u0327ela"
    assert mg("adult", "add", decomposed, "--photo", str(sample_images / "skimage_astronaut.png"), "--lang", "en") == 64
    assert "already a known adult: Arben Çela" in capsys.readouterr().err
    assert mg("adult", "add", "Someone Else", "--photo", str(portrait), "--lang", "en") == 64
    assert "Arben Çela" in capsys.readouterr().err

    # a folder given as the photo is called a folder, not a path that does not exist
    assert mg("adult", "add", "Someone Else", "--photo", str(sample_images), "--lang", "en") == 64
    assert "a folder, not a photo" in capsys.readouterr().err

    # several faces: asks which
    family = sample_images / FAMILY
    assert mg("adult", "add", "Family Member", "--photo", str(family), "--lang", "en") == 64
    assert "--face" in capsys.readouterr().err
    assert mg("adult", "add", "Family Member", "--photo", str(family), "--face", "9", "--lang", "en") == 64
    assert "shows 4 face" in capsys.readouterr().err

    # no face
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (128, 128, 128)).save(blank)
    assert mg("adult", "add", "Nobody", "--photo", str(blank), "--lang", "en") == 64
    assert "no face" in capsys.readouterr().err

    # face too small for a reference
    small = tmp_path / "small.jpg"
    Image.open(sample_images / PORTRAIT).resize((120, 150)).save(small)
    assert mg("adult", "add", "Tiny", "--photo", str(small), "--lang", "en") == 64
    err = capsys.readouterr().err
    assert "px" in err or "no face" in err

    # expiry already past
    assert mg("adult", "add", "Late", "--photo", str(portrait), "--expires", "2001-01-01", "--lang", "en") == 64
    assert "already past" in capsys.readouterr().err
    assert mg("adult", "add", "Late", "--photo", str(portrait), "--expires", "tomorrow", "--lang", "en") == 64
    capsys.readouterr()

    # none of the refused attempts wrote anything
    listed = _listed(mg, capsys)
    assert listed.count("ka-") == 1

    adult_id = next(w for w in listed.replace("│", " ").split() if w.startswith("ka-"))
    assert mg("adult", "remove", adult_id, "--lang", "en") == 0
    assert "erased" in capsys.readouterr().err
    assert "ka-" not in _listed(mg, capsys)
    assert mg("adult", "remove", adult_id, "--lang", "en") == 64


def test_cli_messages_in_albanian(mg, capsys, sample_images):
    assert mg("adult", "add", "Family Member", "--photo", str(sample_images / FAMILY)) == 64
    assert "zgjidhni njërën me --face" in capsys.readouterr().err


def test_cli_scan_groups_faces_and_uses_known_adults(mg, capsys, tmp_path, sample_images):
    """Two copies of the family photo: one group per face to decide, two faces each; no embedding in the JSON."""
    import json

    folder = tmp_path / "ngjarja"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes((sample_images / FAMILY).read_bytes())
    report = tmp_path / "r.json"
    code = mg("scan", str(folder), "--json", str(report), "--lang", "en", "--workers", "1")
    assert code == 2  # the girls block
    data = json.loads(report.read_text(encoding="utf-8"))
    groups = data["groups"]
    to_decide = [f for f in data["photos"][0]["faces"] if f["action"] != "allow"]
    assert len(to_decide) >= 2  # at least the two girls
    assert len(groups) == len(to_decide) and all(len(g["faces"]) == 2 for g in groups)
    by_photo = [[f["group"] for f in p["faces"]] for p in data["photos"]]
    assert by_photo[0] == by_photo[1]
    assert all(f["group"] is None for f in data["photos"][0]["faces"] if f["action"] == "allow")
    assert "embedding" not in report.read_text(encoding="utf-8")
    capsys.readouterr()

    # grouping serves the reports; a plain scan skips its embeddings unless asked
    assert mg("scan", str(folder), "--lang", "en", "--workers", "1") == 2
    assert "group(s) of the same person" not in capsys.readouterr().err
    assert mg("scan", str(folder), "--group", "--lang", "en", "--workers", "1") == 2
    assert f"{2 * len(to_decide)} face(s) to decide in {len(to_decide)} group(s)" in capsys.readouterr().err
    plain = tmp_path / "plain.json"
    assert mg("scan", str(folder), "--json", str(plain), "--no-group", "--lang", "en", "--workers", "1") == 2
    plain_data = json.loads(plain.read_text(encoding="utf-8"))
    assert plain_data["groups"] == [] and all(f["group"] is None for p in plain_data["photos"] for f in p["faces"])


def test_cli_refuses_a_child_face_unless_an_adult_is_vouched_for(mg, capsys, sample_images, tmp_path):
    """The girls of the family portrait: the age model calls them possible minors, so enrolment is refused. A refusal
    writes nothing: on a computer without a register it made one (file and key) all the same."""
    family = str(sample_images / FAMILY)
    # left to right: father, girl, mother, girl; the second girl's face is under 80 px
    assert mg("adult", "add", "Girl", "--photo", family, "--face", "2", "--lang", "en") == 64
    err = capsys.readouterr().err
    assert "possible minor" in err or "looks like a minor" in err
    assert mg("adult", "add", "Girl", "--photo", family, "--face", "4", "--lang", "en") == 64
    assert mg("adult", "add", "Father", "--photo", family, "--face", "1", "--expires", "2001-01-01", "--lang", "en") == 64
    assert "2001-01-01" in capsys.readouterr().err
    data = tmp_path / "data"
    assert not data.exists() or not any(data.iterdir()), sorted(p.name for p in data.iterdir())
    assert mg("adult", "add", "Father", "--photo", family, "--face", "1", "--lang", "en") == 0
    capsys.readouterr()
    assert mg("adult", "list", "--all") == 0
    assert "Girl" not in capsys.readouterr().out


def test_remembered_decision_makes_the_next_scan_pass(mg, capsys, tmp_path, sample_images, guard):
    """A reviewer marks a grouped person adult and remembers them; the next event's photo passes as known adult."""
    import json

    from consent_db import Register
    from minorguard.application.known_adults import EnrolProblem, remember_adult
    from minorguard.pipeline import Guard

    unsure = tmp_path / "unsure.toml"  # a policy under which the model is unsure about this adult
    unsure.write_text("[minor]\nrule = \"challenge_age\"\nchallenge_age = 80\n", encoding="utf-8")
    event1 = tmp_path / "ngjarja_1"
    event1.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (event1 / name).write_bytes((sample_images / PORTRAIT).read_bytes())
    report = tmp_path / "r1.json"
    assert mg("scan", str(event1), "--json", str(report), "--policy", str(unsure), "--lang", "en", "--workers", "1") == 2
    data = json.loads(report.read_text(encoding="utf-8"))
    (group,) = data["groups"]  # one person in both photos: one decision
    faces = []
    for member in group["faces"]:
        photo = next(p for p in data["photos"] if p["source"] == member["source"])
        assert photo["faces"][member["face_index"]]["face"] == member["face"]  # the number every page shows
        box = photo["faces"][member["face_index"]]["box"]
        faces.append((member["source"], Box(box["x"], box["y"], box["width"], box["height"])))
    scanning = Guard(policy=unsure, pack=guard.pack)
    with Register(None, actor="ana") as reg:
        with pytest.raises(EnrolProblem) as problem:
            remember_adult(reg, scanning, "Arben Çela", faces, role="minister", expires=date(2001, 1, 1))
        assert problem.value.code == "expired"
        assert reg.list_known_adults(include_expired=True) == []
        info = remember_adult(reg, scanning, "Arben Çela", faces, role="minister")
        assert info.count == 2
    event2 = tmp_path / "ngjarja_2"
    event2.mkdir()
    (event2 / "c.jpg").write_bytes((sample_images / PORTRAIT).read_bytes())
    report = tmp_path / "r2.json"
    assert mg("scan", str(event2), "--json", str(report), "--policy", str(unsure), "--lang", "en") == 0
    face = json.loads(report.read_text(encoding="utf-8"))["photos"][0]["faces"][0]
    assert face["reason"] == "known_adult" and "Arben Çela" in face["detail"]
    with Register(None, actor="ana") as reg:
        assert any(e["action"] == "scan_decision" for e in reg.audit_entries())


def test_real_fgnet_own_childhood_is_never_cleared(shared, guard):
    """The hardest cases of fgnet_dev: two people whose teenage photos match their own adult photos.

    Their adult photos (age >= 18) are enrolled as known adults; every childhood
    photo is scanned through the real pipeline at the default policy: none may pass
    as a known adult, although at least one matches its own record confidently.
    """
    import csv

    from minorguard.pipeline import Guard

    root = shared / "eval" / "age" / "fgnet_dev"
    with open(root / "labels.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["subject_id"] in ("12", "48")]
    refs = []
    for subject in ("12", "48"):
        vectors = []
        for row in rows:
            if row["subject_id"] == subject and int(row["age"]) >= 18:
                photo, faces, _ = _faces(guard, root / row["path"])
                if faces:
                    biggest = max(faces, key=lambda f: f.box.height)
                    vectors.append(guard.pack.embedder.embed(photo.pixels, [biggest])[0])
        refs.append(KnownAdultRef(f"ka-{subject}", f"subject {subject}", np.stack(vectors)))
    matcher = KnownAdultMatcher(refs, guard.policy)
    scanning = Guard(policy=guard.policy, pack=guard.pack, known_adults=matcher)
    childhood = [r for r in rows if int(r["age"]) < 18]
    assert len(childhood) >= 10
    matched_own = 0
    for row in childhood:
        photo, faces, _ = _faces(guard, root / row["path"])
        for face in faces:
            match = matcher.match(guard.pack.embedder.embed(photo.pixels, [face])[0], TODAY)
            matched_own += bool(match and match.confident and match.adult_id == f"ka-{row['subject_id']}")
        result = scanning.check(root / row["path"])
        assert all(f.reason is not ReasonCode.KNOWN_ADULT for f in result.faces), row["path"]
    assert matched_own >= 1, "no childhood face matched its own adult record: the test no longer exercises the gate"
