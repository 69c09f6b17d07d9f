"""The register from the command line: errors (exit 64, nothing written), export, import, audit,
and the communicator's whole path on the sample portrait with the real models."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import csv
import io
import json
import os
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from register_fixtures import PDF, PNG, register_env  # noqa: F401

from consent_db import Register
from minorguard.cli import EXIT_BLOCK, EXIT_USAGE, main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
OBAMA = SAMPLES / "faceaisharp_obama_family.jpg"


def run(env: dict, *args: str, lang: str = "en") -> int:
    return main([*args, "--db", env["url"], "--lang", lang])


def out(capsys) -> str:
    return capsys.readouterr().out.strip()


def _audit_entries(env: dict) -> int:
    from consent_db import Register

    with Register(env["url"]) as reg:
        return reg.audit_verify().entries


@pytest.fixture
def child(register_env, capsys) -> str:
    assert run(register_env, "child", "add", "Ana Hoxha", "--dob", "2015-03-02") == 0
    return out(capsys)


@pytest.fixture
def form(tmp_path) -> Path:
    path = tmp_path / "leje e nënshkruar ç.pdf"  # Albanian letters in the name
    path.write_bytes(PDF)
    return path


def test_add_consent_list_show_and_export_without_biometrics(register_env, child, form, tmp_path, capsys):
    assert run(register_env, "guardian", "add", child, "Drita Hoxha", "--relation", "mother", "--contact", "069 000 0000") == 0
    guardian = out(capsys)
    code = run(register_env, "consent", "add", child, "--document", str(form), "--signed", "2026-09-01",
               "--channel", "facebook,website", "--purpose", "school news", "--until", "2027-06-30", "--guardian", guardian)
    assert code == 0
    record = out(capsys)
    assert record.startswith("cr-")
    assert run(register_env, "consent", "list") == 0 and record in out(capsys)
    assert run(register_env, "child", "show", child) == 0
    shown = out(capsys)
    assert "Drita Hoxha" in shown and "facebook, website" in shown
    assert run(register_env, "child", "list") == 0 and "Ana Hoxha" in out(capsys)
    exported = tmp_path / "register.json"
    assert main(["register", "export", "--format", "json", "--output", str(exported), "--db", register_env["url"]]) == 0
    data = json.loads(exported.read_text(encoding="utf-8"))
    (c,) = data["children"]
    assert c["id"] == child and c["consents"][0]["id"] == record and c["consents"][0]["channels"] == ["facebook", "website"]
    text = exported.read_text(encoding="utf-8")
    assert "embedding" not in text and "document_enc" not in text and "photo_enc" not in text
    capsys.readouterr()
    assert main(["register", "export", "--format", "csv", "--db", register_env["url"]]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["consent_id"] == record and rows[0]["channels"] == "facebook;website" and rows[0]["status"] == "active"
    as_file = tmp_path / "regjistri.csv"  # a file is for Excel: UTF-8 with the byte-order mark; stdout stays plain
    assert main(["register", "export", "--format", "csv", "--output", str(as_file), "--db", register_env["url"]]) == 0
    assert as_file.read_bytes().startswith(b"\xef\xbb\xbf") and list(csv.DictReader(as_file.open(encoding="utf-8-sig"))) == rows
    assert run(register_env, "audit", "verify") == 0 and "intact" in out(capsys)


@pytest.mark.parametrize(
    "args, message",
    [
        (["consent", "add", "ch-00000000", "--document", "{form}", "--channel", "facebook"], "no child"),
        (["consent", "add", "{child}", "--channel", "facebook"], "signed document"),
        (["consent", "add", "{child}", "--document", "{form}", "--channel", "facebok"], "unknown channel"),
        (["consent", "add", "{child}", "--document", "{form}", "--channel", "all", "--signed", "2026-01-10", "--until", "2026-01-01"], "before start"),
        (["consent", "add", "{child}", "--document", "{text}", "--channel", "all"], "not a PDF"),
        (["consent", "add", "{child}", "--document", "{form}", "--channel", "all", "--signed", "01/09/2026"], "YYYY-MM-DD"),
        # a device or a pipe is refused unread (/dev/zero filled memory until the system killed the command)
        (["consent", "add", "{child}", "--document", "/dev/zero", "--channel", "all", "--signed", "2026-09-01"], "not a regular file"),
        (["consent", "add", "{child}", "--document", "{fifo}", "--channel", "all", "--signed", "2026-09-01"], "not a regular file"),
        (["consent", "withdraw", "cr-00000000", "--reason", "x"], "no consent record"),
        (["guardian", "add", "ch-00000000", "Drita"], "no child"),
        (["child", "show", "ch-00000000"], "no child"),
        (["child", "never-publish", "{child}"], "why"),
        (["register", "import", "/dev/zero"], "not a regular file"),
        # refused before the register is read, so no register_exported entry for an export never written
        (["register", "export", "--format", "json", "-o", "/nuk-ka/x.json"], "there is no folder"),
    ],
)
def test_bad_input_is_one_line_exit_64_and_nothing_written(register_env, child, form, tmp_path, capsys, args, message):
    text = tmp_path / "notes.txt"
    text.write_text("not a form", encoding="utf-8")
    fifo = tmp_path / "tub"
    os.mkfifo(fifo)
    before = _audit_entries(register_env)
    argv = [a.format(child=child, form=form, text=text, fifo=fifo) for a in args]
    assert run(register_env, *argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert message in error.replace("\n", " ") and "Traceback" not in error
    assert _audit_entries(register_env) == before


def test_a_document_larger_than_any_signed_form_is_refused_unread(register_env, child, form, tmp_path, capsys, monkeypatch):
    import consent_db.register as register_module

    monkeypatch.setattr(register_module, "MAX_DOCUMENT_BYTES", form.stat().st_size - 1)
    assert run(register_env, "consent", "add", child, "--document", str(form), "--channel", "all", "--signed", "2026-09-01") == EXIT_USAGE
    assert "larger than" in capsys.readouterr().err


def test_messages_in_albanian_by_default(register_env, child, form, tmp_path, capsys):
    text = tmp_path / "shënime.txt"
    text.write_text("jo formular", encoding="utf-8")
    assert main(["consent", "add", child, "--document", str(text), "--channel", "all", "--db", register_env["url"]]) == EXIT_USAGE
    assert "nuk është PDF ose imazh" in capsys.readouterr().err.replace("\n", " ")
    assert run(register_env, "consent", "add", child, "--document", str(form), "--channel", "facebok", lang="sq") == EXIT_USAGE
    assert "kanal i panjohur 'facebok'" in capsys.readouterr().err.replace("\n", " ")
    assert run(register_env, "child", "show", "ch-00000000", lang="sq") == EXIT_USAGE
    assert "nuk ka fëmijë me id 'ch-00000000'" in capsys.readouterr().err.replace("\n", " ")


def test_missing_key_is_a_usage_error(register_env, child, capsys):
    register_env["key"].unlink()
    assert run(register_env, "child", "list") == EXIT_USAGE
    assert "key is missing" in capsys.readouterr().err.replace("\n", " ")
    assert not register_env["key"].exists()


def _write_import(tmp_path: Path, rows: list[dict]) -> Path:
    from minorguard.cli.register import IMPORT_COLUMNS

    (tmp_path / "forms").mkdir(exist_ok=True)
    (tmp_path / "forms" / "a.pdf").write_bytes(PDF)
    (tmp_path / "forms" / "b.png").write_bytes(PNG)
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=IMPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_csv_all_or_nothing(register_env, tmp_path, capsys):
    good = [
        {"child_name": "Ana Hoxha", "date_of_birth": "2015-03-02", "guardian_name": "Drita Hoxha", "guardian_relation": "mother",
         "document": "forms/a.pdf", "date_signed": "2026-09-01", "channels": "facebook;website", "valid_until": "2027-06-30"},
        {"child_name": "Ana Hoxha", "date_of_birth": "2015-03-02", "guardian_name": "Drita Hoxha",
         "document": "forms/b.png", "date_signed": "2026-09-02", "channels": "print", "purposes": "yearbook"},
        {"child_name": "Besa Çela", "document": "forms/a.pdf", "date_signed": "2026-09-03", "channels": "all",
         "never_publish_reason": "custody case"},
    ]
    bad = [*good, {"child_name": "Dritan", "document": "forms/a.pdf", "date_signed": "2026-09-03", "channels": "telegram"}]
    before = _audit_entries(register_env)
    assert run(register_env, "register", "import", str(_write_import(tmp_path, bad))) == EXIT_USAGE
    assert "line 5" in capsys.readouterr().err and _audit_entries(register_env) == before
    assert run(register_env, "register", "import", str(_write_import(tmp_path, good))) == 0
    assert "3 consent record(s) for 2 child(ren)" in out(capsys)
    from consent_db import Register

    with Register(register_env["url"]) as reg:
        children = {c.name: c for c in reg.list_children()}
        assert len(children["Ana Hoxha"].consents) == 2 and len(children["Ana Hoxha"].guardians) == 1
        assert children["Besa Çela"].never_publish


def _class_photo(path: Path, fmt: str) -> Path:
    """The portrait enlarged twice, as a school's class photo would show the children (faces over 80 px)."""
    with Image.open(OBAMA) as image:
        image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def test_communicators_path_enrol_consent_scan_withdraw(register_env, tmp_path, capsys, guard):
    """README, "Consent register": a child passes because of consent (or goes to a person with it when she may be under 13), and blocks after withdrawal."""
    photos = tmp_path / "foto"
    photos.mkdir()
    (photos / "familja.jpg").write_bytes(OBAMA.read_bytes())
    first = tmp_path / "first.json"
    Register(register_env["url"]).close()  # made when the office started its register (a scan never makes one)
    code = main(["scan", str(photos), "--channel", "facebook", "--date", "2026-12-01", "--json", str(first), "--db", register_env["url"]])
    assert code == EXIT_BLOCK
    capsys.readouterr()
    faces = json.loads(first.read_text(encoding="utf-8"))["photos"][0]["faces"]
    left_to_right = sorted(faces, key=lambda f: f["box"]["x"])
    minors = [n + 1 for n, f in enumerate(left_to_right) if f["action"] == "block"]
    assert minors, "the sample portrait should block (two children)"
    ids, records = {}, {}
    for k, (face_number, fmt) in enumerate(zip(minors, ("JPEG", "PNG"))):
        name = f"child{k}"
        assert run(register_env, "child", "add", name) == 0
        ids[name] = out(capsys)
        class_photo = _class_photo(tmp_path / f"klasa_{k}.{fmt.lower()}", fmt)  # two files: two different sha256
        assert run(register_env, "child", "enrol", ids[name], str(class_photo)) == EXIT_USAGE  # several faces: which one?
        assert "--face" in capsys.readouterr().err
        assert run(register_env, "child", "enrol", ids[name], str(class_photo), "--face", str(face_number)) == 0
        assert "enrolled" in out(capsys)
        assert run(register_env, "child", "enrol", ids[name], str(class_photo), "--face", str(face_number)) == EXIT_USAGE
        assert "already enrolled" in capsys.readouterr().err
        form = tmp_path / f"form_{k}.pdf"
        form.write_bytes(PDF + name.encode())
        assert run(register_env, "consent", "add", ids[name], "--document", str(form), "--signed", "2026-09-01", "--channel", "facebook",
                   "--purpose", "school news") == 0
        records[name] = out(capsys)
    report = tmp_path / "scan.json"
    # the consents are limited to a purpose: a scan that does not say what the photos are for cannot rely on them
    assert main(["scan", str(photos), "--channel", "facebook", "--date", "2026-12-01", "--db", register_env["url"], "--lang", "en"]) == EXIT_BLOCK
    assert "say what the photos are for with --purpose" in " ".join(capsys.readouterr().out.split())
    code = main(["scan", str(photos), "--channel", "facebook", "--purpose", "school news", "--date", "2026-12-01", "--json", str(report),
                 "--db", register_env["url"], "--lang", "en"])
    # the older girl (face 2) passes on her consent; the younger may be under 13, where a person confirms the match
    assert code == 1
    faces = json.loads(report.read_text(encoding="utf-8"))["photos"][0]["faces"]
    matched = {f["consent"]["record_id"]: f["reason"] for f in faces if f.get("consent") and f["consent"]["record_id"]}
    assert matched == {records["child0"]: "consent", records["child1"]: "consent_young"}
    # `minorguard review FOLDER` scans with the same consents: the page does not ask about these children again
    from minorguard.cli.review import _scan_folder
    from minorguard.pipeline import CheckContext

    with Register(register_env["url"]) as reg:
        context = CheckContext(channel="facebook", when=date(2026, 12, 1), purpose="school news")
        reviewed, *_ = _scan_folder(photos, False, None, None, None, context, 1, reg, "en")
    assert {f.consent.record_id for f in reviewed[0].faces if f.consent and f.reason.value == "consent"} == {records["child0"]}
    # another channel is not covered
    assert main(["scan", str(photos), "--channel", "instagram", "--date", "2026-12-01", "--db", register_env["url"]]) == EXIT_BLOCK
    capsys.readouterr()
    # a stated purpose must be one the consents list (compared without case or extra spaces)
    same = ["scan", str(photos), "--channel", "facebook", "--date", "2026-12-01", "--db", register_env["url"], "--lang", "en"]
    assert main([*same, "--purpose", " School  News "]) == 1  # REVIEW, as above
    capsys.readouterr()
    campaign = tmp_path / "campaign.json"
    assert main([*same, "--purpose", "election campaign", "--json", str(campaign)]) == EXIT_BLOCK
    capsys.readouterr()
    notes = [f["consent"]["note"] for f in json.loads(campaign.read_text(encoding="utf-8"))["photos"][0]["faces"] if f.get("consent")]
    assert notes and all("election campaign" in n for n in notes)
    assert run(register_env, "consent", "withdraw", records["child0"], "--reason", "parent asked by phone") == 0
    assert "enrolment photos kept: 0" in out(capsys)
    assert main(["scan", str(photos), "--channel", "facebook", "--purpose", "school news", "--date", "2026-12-01", "--db", register_env["url"],
                 "--lang", "en"]) == EXIT_BLOCK
    assert "possible minor" in out(capsys)

    with Register(register_env["url"]) as reg:
        entries = reg.audit_entries()
        assert reg.audit_verify().ok
    decisions = [e for e in entries if e["action"] == "scan_decision"]
    assert len(decisions) >= 4 and all(e["photo_sha256"] for e in decisions)
    assert any(e["document_sha256"] for e in decisions)
    assert all("child0" not in e["details"] for e in decisions)  # names never in scan entries


def test_audit_verify_command_detects_a_changed_entry(register_env, child, capsys):
    assert run(register_env, "audit", "verify") == 0
    capsys.readouterr()
    from sqlalchemy import create_engine, text

    engine = create_engine(register_env["url"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = '{}' WHERE seq = 2"))
    engine.dispose()
    assert run(register_env, "audit", "verify") == 1
    assert "entry 2" in capsys.readouterr().err


def test_a_face_number_means_the_same_face_in_scan_reports_and_enrolment(register_env, tmp_path, capsys):
    """Issue: the console counted in detection order, the CSV from 0, enrolment from the left; enrolling the
    console's number on the portrait enlarged 2x stored the mother's face under the girl's record."""
    big = _class_photo(tmp_path / "klasa.jpg", "JPEG")
    table, report = tmp_path / "f.csv", tmp_path / "f.json"
    Register(register_env["url"]).close()  # made when the office started its register (a scan never makes one)
    scan = ["scan", str(big), "--channel", "facebook", "--date", "2026-12-01", "--db", register_env["url"], "--lang", "en"]
    assert main([*scan, "--csv", str(table), "--json", str(report)]) == EXIT_BLOCK
    console = capsys.readouterr().out
    import re

    said = {int(n) for n in re.findall(r"face (\d+): possible minor", console)}
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8-sig"))))
    in_csv = {int(r["face"]) for r in rows if r["action"] == "block"}
    faces = json.loads(report.read_text(encoding="utf-8"))["photos"][0]["faces"]
    in_json = {f["face"] for f in faces if f["action"] == "block"}
    assert len(said) == 2 and said == in_csv == in_json
    assert [f["face"] for f in faces] == list(range(1, len(faces) + 1))
    assert [f["box"]["x"] for f in faces] == sorted(f["box"]["x"] for f in faces)  # 1 = leftmost
    where = {int(r["face"]): f"x={r['x']} y={r['y']}" for r in rows}
    # a photo is enrolled once, so the second girl comes from a PNG copy of the same enlargement
    copies = (big, _class_photo(tmp_path / "klasa.png", "PNG"))
    for k, (number, photo) in enumerate(zip(sorted(said), copies)):
        assert run(register_env, "child", "add", f"fëmija {k}") == 0
        child_id = out(capsys)
        assert run(register_env, "child", "enrol", child_id, str(photo), "--face", str(number)) == 0
        shown = " ".join(out(capsys).split())  # the console wraps long lines where the path's length puts them
        assert f"face {number} of {len(faces)}" in shown  # the person sees whom they enrolled ...
        if photo == big:
            assert where[number] in shown  # ... at the box the scan reported
        form = tmp_path / f"form_{k}.pdf"
        form.write_bytes(PDF + str(k).encode())
        assert run(register_env, "consent", "add", child_id, "--document", str(form), "--signed", "2026-09-01", "--channel", "facebook") == 0
        out(capsys)
    # an adult's face named for a child record asks for confirmation
    adult = next(f["face"] for f in faces if f["category"] == "adult")
    assert run(register_env, "child", "add", "gabim") == 0
    wrong_child = out(capsys)
    third = _class_photo(tmp_path / "klasa.tiff", "TIFF")
    assert run(register_env, "child", "enrol", wrong_child, str(third), "--face", str(adult)) == EXIT_USAGE
    assert "looks like an adult" in capsys.readouterr().err
    # both girls were enrolled by the scan's numbers, so each face is matched to her own consent (the younger, who may
    # be under 13, goes to a person with it)
    assert main([*scan, "--json", str(report)]) == 1
    faces = json.loads(report.read_text(encoding="utf-8"))["photos"][0]["faces"]
    assert {f["face"] for f in faces if f.get("consent") and f["consent"]["record_id"]} == said
    with Register(register_env["url"]) as reg:  # and the audit log names the same numbers
        enrolled = [json.loads(e["details"]) if isinstance(e["details"], str) else e["details"]
                    for e in reg.audit_entries() if e["action"] == "photo_enrolled"]
    assert sorted(d["face"] for d in enrolled) == sorted(said)


def test_enrolment_searches_with_the_scans_policy_and_models(register_env, child, tmp_path, capsys):
    """--face counts the faces a scan found; `child enrol` had no --policy and `adult add` no --models, so with
    another policy or pack the same number could name another person's face."""
    strict = tmp_path / "strict.toml"
    strict.write_text("[detection]\nthreshold = 1.5\n", encoding="utf-8")
    assert run(register_env, "child", "enrol", child, str(OBAMA), "--face", "2", "--policy", str(strict)) == EXIT_USAGE
    assert "threshold" in capsys.readouterr().err
    missing = tmp_path / "modelet-që-s'janë"
    assert run(register_env, "adult", "add", "Zyrtari", "--photo", str(OBAMA), "--face", "1", "--models", str(missing)) == EXIT_USAGE
    assert "modelet-që-s'janë" in " ".join(capsys.readouterr().err.split())
