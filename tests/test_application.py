"""The application layer as a publishing tool uses it: the same register, decisions and audit trail as the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from register_fixtures import consent_for_the_portraits_girls

from minorguard import CheckContext, Checks, Guard, RegisterUnavailable, Verdict, open_checks

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
FAMILY = SAMPLES / "faceaisharp_obama_family.jpg"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    return tmp_path / "data"


def _fresh(guard: Guard) -> Guard:
    """A guard of its own on the session's models: open_checks replaces a guard's collaborators."""
    return Guard(policy=guard.policy, pack=guard.pack)


def test_a_reviewers_hide_and_the_audit_reach_a_library_caller(guard, data_dir):
    """Guard() alone passes the portrait's mother; a reviewer hid her face in the register: a tool must see that."""
    from consent_db import Register
    from consent_db.reviews import FaceRef, Reviews

    plain = guard.check(FAMILY)
    adult = next(f for f in plain.faces if f.action.value == "allow")
    with Register(None, actor="zyra") as reg:
        ref = FaceRef(plain.sha256, adult.index, (adult.box.x, adult.box.y, adult.box.width, adult.box.height), "familja.jpg")
        Reviews(reg).record_group([ref], "hide", "Ana", "asked not to be shown")
    with open_checks(context=CheckContext(channel="facebook"), tool="cms-uebfaqja", guard=_fresh(guard)) as checks:
        assert isinstance(checks, Checks) and checks.register is not None
        result = checks.check(FAMILY)
    hidden = result.faces[adult.index]
    assert hidden.action.value == "block" and hidden.reason.value == "reviewer"
    assert result.verdict is Verdict.BLOCK
    with Register(None) as reg:
        checked = [e for e in reg.audit_entries() if e["action"] == "photo_checked"]
        assert reg.audit_verify().ok
    assert len(checked) == 1
    details = checked[0]["details"] if isinstance(checked[0]["details"], dict) else json.loads(checked[0]["details"])
    assert details["tool"] == "cms-uebfaqja" and details["channel"] == "facebook" and details["verdict"] == "BLOCK"
    assert "familja" not in json.dumps(details)  # never the file name, which may name a child


def test_without_any_register_a_tool_checks_with_none_and_writes_nothing(guard, data_dir):
    with open_checks(tool="cms", guard=_fresh(guard)) as checks:
        assert checks.register is None
        assert checks.check(FAMILY).verdict is Verdict.BLOCK  # the girls: nothing can allow them
    assert not (data_dir / "register.sqlite3").exists()


def test_a_register_that_cannot_be_opened_stops_a_tool_too(guard, data_dir):
    from consent_db import Register

    Register(None).close()  # a register exists in the data folder ...
    (data_dir / "register.key").write_bytes(b"not the key")  # ... and its key is wrong
    with pytest.raises(RegisterUnavailable) as error:
        open_checks(tool="cms", guard=_fresh(guard))
    assert "no photo was checked" in str(error.value)
    assert "asnjë foto" in error.value.text("sq")


def test_a_register_whose_file_is_gone_but_whose_key_is_there_stops_a_check(guard, data_dir, capsys):
    """The audit's case: with register.sqlite3 moved away and its key left, scan ran with no register at all, so a
    reviewer's hide and the never-publish list were silently not applied."""
    from consent_db import Register
    from minorguard.cli import main

    Register(None).close()
    (data_dir / "register.sqlite3").rename(data_dir / "kopje.sqlite3")
    with pytest.raises(RegisterUnavailable) as error:
        open_checks(tool="cms", guard=_fresh(guard))
    assert "key is in" in str(error.value) and "çelësi i regjistrit" in error.value.text("sq")
    assert main(["scan", str(FAMILY), "--lang", "en"]) == 64
    assert "key is in" in " ".join(capsys.readouterr().err.split())
    assert not (data_dir / "register.sqlite3").exists()  # and no new, empty register in its place


@pytest.mark.parametrize("named", ["argument", "environment", "event"])
def test_a_named_register_that_does_not_exist_stops_the_check_and_is_not_created(guard, data_dir, tmp_path, monkeypatch, named):
    """A mistyped --db used to create an empty register (and a key beside the real one's) and judge against it:
    a reviewer's hide, known adults and events were silently gone."""
    from consent_db import Register

    Register(tmp_path / "regjistri.sqlite3").close()  # the office's register, under another name
    key = (data_dir / "register.key").read_bytes()
    typo = tmp_path / "regjistr.sqlite3"
    if named == "environment":
        monkeypatch.setenv("MINORGUARD_DB", str(typo))
    with pytest.raises(RegisterUnavailable) as error:
        open_checks(db=str(typo) if named == "argument" else None, tool="cms", guard=_fresh(guard),
                    context=CheckContext(event_id="flamuri") if named == "event" else None)
    if named == "event":  # nothing named: the data folder holds the other register's key, and no register
        assert "key is in" in str(error.value)
    else:
        assert "no register at" in str(error.value) and "nuk ka regjistër" in error.value.text("sq")
    assert not typo.exists() and not (data_dir / "register.sqlite3").exists()
    assert (data_dir / "register.key").read_bytes() == key  # no key of an empty register beside the real one's
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite3") == ["regjistri.sqlite3"]


def test_a_database_file_without_a_register_in_it_is_not_turned_into_one(guard, data_dir, tmp_path):
    empty = tmp_path / "bosh.sqlite3"
    empty.touch()
    with pytest.raises(RegisterUnavailable, match="no register at"):
        open_checks(db=str(empty), tool="cms", guard=_fresh(guard))
    assert empty.stat().st_size == 0


def test_a_channel_means_the_same_with_a_register_or_without(guard, data_dir, tmp_path):
    """A misspelt channel was judged at full size without a register and refused with one; the office's own
    channel (sized in its policy) was refused as soon as a register existed."""
    from consent_db import Register, RegisterError
    from minorguard.rules.policy import load_policy

    office = tmp_path / "zyra.toml"
    office.write_text('[identifiability]\nchannel_long_side = { gazeta-lokale = 3000 }\n', encoding="utf-8")
    policy = load_policy(office)
    for with_register in (False, True):
        if with_register:
            Register(None).close()
        with pytest.raises(RegisterError, match="unknown channel"):
            open_checks(context=CheckContext(channel="facebok"), guard=_fresh(guard))
        with open_checks(context=CheckContext(channel="gazeta-lokale"), guard=Guard(policy=policy, pack=guard.pack)) as checks:
            assert (checks.register is not None) is with_register
        # as `consent add --channel Facebook` stores it (facebook): a consent for it covers a check for "FaceBook"
        with open_checks(context=CheckContext(channel=" FaceBook"), guard=Guard(policy=policy, pack=guard.pack)) as checks:
            assert checks.context.channel == "facebook"


def test_an_unknown_event_or_channel_is_refused_before_any_photo(guard, data_dir):
    from consent_db import Register, RegisterError
    from minorguard.rules.events import UnknownEventError

    Register(None).close()
    with pytest.raises(UnknownEventError):
        open_checks(context=CheckContext(event_id="nuk-ekziston"), guard=_fresh(guard))
    with pytest.raises(RegisterError, match="unknown channel"):
        open_checks(context=CheckContext(channel="facebok"), guard=_fresh(guard))


def test_a_tool_gets_a_publishable_copy_as_bytes_and_an_audit_entry(guard, data_dir):
    """The portrait's copy: minorguard's own re-check finds no identifiable girl; the original bytes are untouched."""
    from consent_db import Register

    Register(None).close()
    original = FAMILY.read_bytes()
    with open_checks(context=CheckContext(channel="facebook"), tool="cms-uebfaqja", guard=_fresh(guard)) as checks:
        copy, photo, entry = checks.export_bytes(original, "familja_ë.jpg")
        assert copy is not None and photo.status.value == "exported" and len(photo.hidden) >= 2
        assert entry["output_sha256"] == photo.output_sha256 and sum(f["hidden"] for f in entry["faces"]) >= 2
        assert entry["source"] == photo.source == "familja_ë.jpg"  # not the temporary folder's path
        again = checks.guard.check(copy)
    assert again.verdict is Verdict.PASS, [(f.number, f.reason.value) for f in again.faces]
    assert FAMILY.read_bytes() == original
    with Register(None) as reg:
        exported = [e for e in reg.audit_entries() if e["action"] == "photo_exported"]
    details = exported[0]["details"] if isinstance(exported[0]["details"], dict) else json.loads(exported[0]["details"])
    assert len(exported) == 1 and details["tool"] == "cms-uebfaqja"


def test_a_publishing_tool_enrols_consents_checks_withdraws_and_finds_both_in_the_audit(guard, data_dir, tmp_path):
    """Issue 18's path with the public API only: what the CLI test does, done by a tool that imports minorguard."""
    from datetime import date

    from consent_db import Register

    Register(tmp_path / "regjistri.sqlite3").close()  # made beforehand: a check never makes a register
    context = CheckContext(channel="facebook", when=date(2026, 12, 1), purpose="lajme")
    with open_checks(db=str(tmp_path / "regjistri.sqlite3"), context=context, tool="cms-uebfaqja", guard=_fresh(guard)) as checks:
        first = checks.check(FAMILY)
        girls = [f.number for f in first.faces if f.action.value == "block"]
        assert first.verdict is Verdict.BLOCK and len(girls) == 2
        assert girls == [2, 4]
        records = consent_for_the_portraits_girls(checks, tmp_path, ["facebook"])
        allowed = checks.check(FAMILY)  # the register changed: the same open checks see the new consents
        # the older girl passes on her consent; the younger may be under 13 (her estimate's low end is 10), where a match
        # alone cannot tell children apart: a person confirms it, starting from the consent the match pointed to
        assert allowed.verdict is Verdict.REVIEW, [(f.number, f.reason.value, f.detail) for f in allowed.faces]
        assert {f.number: f.consent.record_id for f in allowed.faces if f.reason.value == "consent"} == {2: records[0]}
        young = allowed.faces[3]
        assert (young.reason.value, young.consent.record_id) == ("consent_young", records[1])
        checks.register.withdraw_consent(records[0], "prindi e tërhoqi me telefon", on=date(2026, 11, 1))
        withdrawn = checks.check(FAMILY)
        assert withdrawn.verdict is Verdict.BLOCK
        assert {f.number for f in withdrawn.faces if f.reason.value == "consent"} == set()
        entries = checks.register.audit_entries()
        assert checks.register.audit_verify().ok
    checked = [json.loads(e["details"]) if isinstance(e["details"], str) else e["details"]
               for e in entries if e["action"] == "photo_checked"]  # oldest first
    assert [c["verdict"] for c in checked] == ["BLOCK", "REVIEW", "BLOCK"] and {c["tool"] for c in checked} == {"cms-uebfaqja"}
    relied = [json.loads(e["details"]) if isinstance(e["details"], str) else e["details"]
              for e in entries if e["action"] == "scan_decision"]
    assert {d["record"] for d in relied if "record" in d} == set(records)
    assert not any("Vajza" in json.dumps(d, ensure_ascii=False) for d in relied)  # names never in decisions


def test_a_child_enrolled_although_the_models_read_an_adult_is_recognised_as_that_child(guard, data_dir, tmp_path):
    """The audit's case: a face the office enrolled with confirm_child (the models call it adult) and put on the
    never-publish list passed every check, since only faces not called adult were matched against the register."""
    from consent_db import Register

    Register(tmp_path / "regjistri.sqlite3").close()
    with open_checks(db=str(tmp_path / "regjistri.sqlite3"), tool="cms", guard=_fresh(guard)) as checks:
        before = checks.check(FAMILY)
        adults = [f.number for f in before.faces if f.reason.value == "adult"]
        assert len(adults) == 2
        child = checks.register.add_child("Djali Çelë")
        checks.enrol(child.id, FAMILY, adults[0], confirm_child=True)
        unconsented = checks.check(FAMILY)
        assert [(f.number, f.reason.value) for f in unconsented.faces if f.number in adults] == \
            [(adults[0], "consent_out_of_scope"), (adults[1], "adult")]  # the other adult is not taken for the child
        checks.register.set_never_publish(child.id, True, "çështje kujdestarie")
        never = checks.check(FAMILY).faces[adults[0] - 1]
        assert (never.action.value, never.reason.value, never.detail) == ("block", "never_publish", child.id)
        # taken off the list with no consent in force: the enrolment photo that recognised the child is erased
        assert checks.register.set_never_publish(child.id, False).enrolment_photos == 0


def test_an_exemption_waits_for_a_person_while_a_never_publish_child_cannot_be_recognised(guard, data_dir, tmp_path):
    """The audit's case: a never-publish child enrolled with another embedder (a legacy register) is not recognised,
    and the public event exempted both girls: PASS, exit 0. A person must now look."""
    from datetime import datetime

    import numpy as np

    from consent_db import Register

    Register(tmp_path / "regjistri.sqlite3").close()
    with Register(tmp_path / "regjistri.sqlite3") as reg:
        event = reg.create_event("Festa e Flamurit", datetime(2026, 11, 28, 10), datetime(2026, 11, 28, 13), tz="Europe/Tirane",
                                 basis="public", justification="në shesh")
        child = reg.add_child("Vajza Çelë")
        vector = np.random.default_rng(3).normal(size=128).astype(np.float32)
        reg.add_enrolment(child.id, b"foto", vector / np.linalg.norm(vector), face_index=1, face_height_px=120,
                          embedder="dlib-resnet-v1")
        reg.set_never_publish(child.id, True, "çështje kujdestarie")
    context = CheckContext(event_id=event.id)
    with open_checks(db=str(tmp_path / "regjistri.sqlite3"), context=context, tool="cms", guard=_fresh(guard)) as checks:
        result = checks.check(FAMILY)
    girls = [f for f in result.faces if f.category.value != "adult"]
    assert girls and all((f.action.value, f.reason.value) == ("review", "event_ambiguous") for f in girls)
    assert result.verdict is Verdict.REVIEW and "never-publish" in girls[0].detail


@pytest.mark.parametrize("enrolled_other", [False, True])
def test_an_exemption_waits_for_a_person_while_a_never_publish_child_has_no_enrolment_photo(guard, data_dir, tmp_path, enrolled_other):
    """A walkthrough's case: a child put on the never-publish list before any photo of her was enrolled (or after a
    withdrawal erased them) cannot be recognised, and the public event exempted the girls: PASS, exit 0, no word.
    A person must look, whether or not other children of the register have enrolment photos, and the scan says why."""
    from datetime import datetime

    import numpy as np

    from consent_db import Register

    Register(tmp_path / "regjistri.sqlite3").close()
    with Register(tmp_path / "regjistri.sqlite3") as reg:
        event = reg.create_event("Festa e Flamurit", datetime(2026, 11, 28, 10), datetime(2026, 11, 28, 13), tz="Europe/Tirane",
                                 basis="public", justification="në shesh")
        if enrolled_other:
            other = reg.add_child("Djali Çelë")
            vector = np.random.default_rng(3).normal(size=128).astype(np.float32)
            reg.add_enrolment(other.id, b"foto", vector / np.linalg.norm(vector), face_index=1, face_height_px=120,
                              embedder=guard.pack.consent_embedder.name)
        child = reg.add_child("Vajza Çelë")
        reg.set_never_publish(child.id, True, "çështje kujdestarie")
    context = CheckContext(event_id=event.id)
    with open_checks(db=str(tmp_path / "regjistri.sqlite3"), context=context, tool="cms", guard=_fresh(guard), lang="en") as checks:
        result = checks.check(FAMILY)
        notices = list(checks.notices)
    girls = [f for f in result.faces if f.category.value != "adult"]
    assert girls and all((f.action.value, f.reason.value) == ("review", "event_ambiguous") for f in girls)
    assert result.verdict is Verdict.REVIEW and "no enrolment photo" in girls[0].detail
    assert any("1 child(ren) on the never-publish list cannot be recognised" in n for n in notices), notices


def test_one_checks_shared_by_threads_gives_each_photo_the_answer_one_thread_gives(guard, data_dir):
    """A web server's threads share one Checks: same results as one by one, every check audited, the chain intact."""
    from concurrent.futures import ThreadPoolExecutor

    from consent_db import Register

    Register(None).close()
    photos = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert len(photos) >= 3
    with open_checks(context=CheckContext(channel="facebook"), tool="web", guard=_fresh(guard)) as checks:
        alone = {p: checks.check(p) for p in photos}
        with ThreadPoolExecutor(max_workers=4) as pool:
            shared = list(pool.map(lambda p: (p, checks.check(p)), photos * 3))
        entries = checks.register.audit_entries()
        assert checks.register.audit_verify().ok
    for photo, result in shared:
        expected = alone[photo]
        assert result.verdict is expected.verdict and result.sha256 == expected.sha256
        assert [(f.number, f.action, f.reason) for f in result.faces] == [(f.number, f.action, f.reason) for f in expected.faces]
    assert sum(e["action"] == "photo_checked" for e in entries) == 4 * len(photos)
