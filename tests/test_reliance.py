"""What rests on a consent (issue 20): a withdrawal lists exactly the photos checked, exported or reviewed under it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from register_fixtures import consent_for_the_portraits_girls

from minorguard.cli import EXIT_USAGE, main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
FAMILY = SAMPLES / "faceaisharp_obama_family.jpg"
ASTRONAUT = SAMPLES / "skimage_astronaut.png"
BIDEN = next(SAMPLES.glob("*biden*"))


@pytest.fixture
def world(guard, tmp_path, monkeypatch):
    """A register where both girls of the portrait are enrolled with consents for facebook, and the photos that used them."""
    from consent_db import Register
    from consent_db.reviews import Reviews
    from minorguard import CheckContext, Guard, open_checks
    from minorguard.report.files import write_json

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    db = str(tmp_path / "data" / "regjistri.sqlite3")
    Register(db).close()  # the office's register; a check never makes one
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    with open_checks(db=db, context=context, tool="cms", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        records = consent_for_the_portraits_girls(checks, tmp_path, ["facebook"])
        family = checks.check(FAMILY)  # relies on both consents
        biden = checks.check(BIDEN)  # relies on none
        # the older girl passes on her consent, the younger (under 13?) goes to a person with hers named
        assert family.verdict.value == "REVIEW" and biden.verdict.value == "PASS"
        summary = checks.export([FAMILY], tmp_path / "kopje")
        assert summary.photos[0].status.value == "exported"
        astronaut = checks.guard.check(ASTRONAUT, context)
        face = astronaut.faces[0]
        Reviews(checks.register).record(astronaut.sha256, face.index, (face.box.x, face.box.y, face.box.width, face.box.height),
                                        "consent", "Ana", "the form covers this photo too", consent_id=records[0],
                                        source="astronauti.png")
    report = tmp_path / "skanimi.json"
    write_json([family, biden], report)
    return {"db": db, "records": records, "family": family.sha256, "biden": biden.sha256, "astronaut": astronaut.sha256,
            "report": report, "manifest": tmp_path / "kopje" / "minorguard-manifest.json", "out": tmp_path / "kopje"}


def test_a_withdrawal_lists_exactly_the_photos_that_relied_on_the_consent(world, tmp_path, capsys):
    from consent_db import Register

    first, second = world["records"]
    listed = tmp_path / "hiqni.json"
    code = main(["consent", "withdraw", first, "--reason", "prindi e tërhoqi", "--db", world["db"], "--lang", "en",
                 "--json", str(listed), "--report", str(world["report"])])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "take down" in out, out
    rows = json.loads(listed.read_text(encoding="utf-8"))["photos"]
    assert {(r["photo_sha256"], r["how"]) for r in rows} == {
        (world["family"], "checked"), (world["family"], "exported"), (world["astronaut"], "reviewed")}
    checked = next(r for r in rows if r["how"] == "checked")
    assert checked["channel"] == "facebook" and checked["date"] == "2026-12-01" and checked["tool"] == "cms"
    assert checked["faces"] in ([2], [4]) and "faceaisharp_obama_family.jpg" in " ".join(checked["file_names"])
    exported = next(r for r in rows if r["how"] == "exported")
    assert exported["output"] == str(world["out"].resolve())  # the copy's folder: the log never names a file
    assert exported["channel"] == "facebook" and exported["date"] == "2026-12-01"  # the date the copy was made for
    with Register(world["db"]) as reg:
        logged = json.dumps([e["details"] for e in reg.audit_entries()], ensure_ascii=False)
    assert "faceaisharp_obama_family" not in logged and "astronauti" not in logged
    reviewed = next(r for r in rows if r["how"] == "reviewed")
    assert reviewed["file_names"] == ["astronauti.png"]
    # the other girl's consent: the portrait, not the astronaut; never the photo that relied on nothing
    csv_out = tmp_path / "tjetra.csv"
    assert main(["audit", "relied", "--consent", second, "--db", world["db"], "--csv", str(csv_out), "--lang", "en"]) == 0
    text = csv_out.read_text(encoding="utf-8-sig")
    assert world["family"] in text and world["astronaut"] not in text and world["biden"] not in text
    assert text.splitlines()[0].startswith("photo_sha256,how,at,tool")


def test_the_list_survives_the_erasure_of_the_childs_biometric_data(world, tmp_path, capsys):
    from consent_db import Register

    first, _ = world["records"]
    with Register(world["db"]) as reg:
        reg.withdraw_consent(first, "prindi e tërhoqi")
        assert reg.get_child(reg.get_consent(first).child_id).enrolment_photos == 0  # erased
    listed = tmp_path / "pas.json"
    assert main(["audit", "relied", "--consent", first, "--db", world["db"], "--json", str(listed),
                 "--manifest", str(world["manifest"]), "--lang", "sq"]) == 0
    rows = json.loads(listed.read_text(encoding="utf-8"))["photos"]
    assert {r["photo_sha256"] for r in rows} == {world["family"], world["astronaut"]}
    assert "u mbështetën" in capsys.readouterr().out


def test_a_reviewers_decision_lists_the_checks_that_applied_it(world, guard, tmp_path, monkeypatch):
    from consent_db import Register
    from consent_db.reviews import Reviews
    from minorguard import CheckContext, Guard, open_checks

    with Register(world["db"]) as reg:
        (decision,) = [r.seq for r in Reviews(reg).for_photo(world["astronaut"])]
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    with open_checks(db=world["db"], context=context, tool="cms", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        result = checks.check(ASTRONAUT)
        checks.check(BIDEN)
    assert [f.reason.value for f in result.faces] == ["reviewer"]
    listed = tmp_path / "vendimi.json"
    assert main(["audit", "relied", "--review", str(decision), "--db", world["db"], "--json", str(listed), "--lang", "en"]) == 0
    rows = json.loads(listed.read_text(encoding="utf-8"))["photos"]
    assert [(r["photo_sha256"], r["how"], r["faces"]) for r in rows] == [(world["astronaut"], "checked", [1])]


def test_asking_about_nothing_or_an_unknown_record_is_a_usage_error(world, capsys):
    assert main(["audit", "relied", "--db", world["db"], "--lang", "en"]) == EXIT_USAGE
    assert "--consent" in capsys.readouterr().err
    assert main(["audit", "relied", "--consent", "cr-nukeshte", "--db", world["db"], "--lang", "en"]) == EXIT_USAGE
    assert main(["audit", "relied", "--consent", world["records"][0], "--report", "/nuk/ekziston.json", "--db", world["db"]]) == EXIT_USAGE
    assert "nuk lexohet" in capsys.readouterr().err
