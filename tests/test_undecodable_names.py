"""File names that are not UTF-8 (a folder unpacked from an old Windows zip: "ë" as the byte 0xEB).

Before the fix, the scan's JSON report, the export's audit entry and the review's decisions failed on
such a name: exit code 70 and no report. Each way in is run for real here.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from consent_db import Register
from consent_db.reviews import Reviews
from minorguard.cli import EXIT_BLOCK, EXIT_PASS, main
from minorguard.photos.file_names import json_text, shown
from minorguard.publish.export import MANIFEST_NAME
from minorguard.report.results_json import read_report
from minorguard.review.app import ReviewApp

CP1252_NAME = b"f\xebmij\xeb.jpg"  # "fëmijë.jpg" as Windows-1252 wrote it


@pytest.fixture
def odd_folder(tmp_path, sample_images, monkeypatch) -> tuple[Path, Path]:
    """A folder holding the family portrait under a name that is not UTF-8; skips where the file system refuses one."""
    if sys.platform == "win32" or sys.getfilesystemencoding().lower() != "utf-8":
        pytest.skip("file names are bytes only on POSIX systems with a UTF-8 locale")
    folder = tmp_path / "dosja"
    folder.mkdir()
    target = os.path.join(os.fsencode(folder), CP1252_NAME)
    try:
        shutil.copyfile(os.fsencode(sample_images / "faceaisharp_obama_family.jpg"), target)
    except OSError:
        pytest.skip("this file system accepts only UTF-8 names (macOS)")
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINORGUARD_ACTOR", "ana")
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    return folder, Path(os.fsdecode(target))


def test_fsnames_shows_bytes_and_round_trips_json():
    name = os.fsdecode(CP1252_NAME)
    assert shown(name) == "f\\xebmij\\xeb.jpg" and shown("fëmijë.jpg") == "fëmijë.jpg"
    text = json_text({"source": name, "emri": "Çelë"})
    assert "Çelë" in text and text.encode("utf-8")  # valid UTF-8 all through
    assert json.loads(text)["source"] == name


def test_scan_reports_and_audit_keep_the_name(guard, odd_folder, tmp_path, capsys):
    folder, photo = odd_folder
    out = tmp_path / "r"
    Register(tmp_path / "data" / "register.sqlite3").close()  # named with --db: it must exist
    code = main(["scan", str(folder), "--json", f"{out}.json", "--csv", f"{out}.csv", "--html", f"{out}.html",
                 "--db", str(tmp_path / "data" / "register.sqlite3"), "--lang", "en"])
    assert code == EXIT_BLOCK, capsys.readouterr().err
    results, _ = read_report(f"{out}.json")
    assert [r.source for r in results] == [str(photo)] and Path(results[0].source).is_file()
    rows = list(csv.DictReader(open(f"{out}.csv", encoding="utf-8-sig")))
    assert rows[0]["source"].endswith("f\\xebmij\\xeb.jpg")
    assert "f\\xebmij\\xeb.jpg" in Path(f"{out}.html").read_text(encoding="utf-8")


def test_export_writes_the_copy_and_its_audit_entry(guard, odd_folder, tmp_path, capsys):
    folder, photo = odd_folder
    out = tmp_path / "dalje"
    Register(tmp_path / "data" / "register.sqlite3").close()  # named with --db: it must exist
    assert main(["export", str(folder), "--out", str(out), "--db", str(tmp_path / "data" / "register.sqlite3"), "--lang", "en"]) == EXIT_PASS, capsys.readouterr().err
    assert (out / photo.name).is_file()
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["photos"][0]["source"] == str(photo)
    with Register(tmp_path / "data" / "register.sqlite3") as register:
        exported = [e for e in register.audit_entries() if e["action"] == "photo_exported"]
        assert [e["subject"] for e in exported] == [manifest["photos"][0]["output_sha256"]]  # the copy, never its name
        assert register.audit_verify().ok


def test_review_decision_on_the_photo_is_kept(guard, odd_folder, tmp_path):
    _, photo = odd_folder
    result = guard.check(photo)
    with Register(tmp_path / "data" / "register.sqlite3") as register:
        app = ReviewApp([result], Reviews(register), guard.policy, lang="en")
        state = json.loads(json_text(app.state()))
        face = next(f for f in state["photos"][0]["faces"] if f["flagged"])
        app.decide({"photo": state["photos"][0]["id"], "face": face["index"], "kind": "hide", "reviewer": "Ana"})
        assert register.audit_verify().ok
