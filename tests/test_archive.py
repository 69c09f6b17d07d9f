"""Incremental re-checks (issue 20): only what could have changed is judged again, and a killed run loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from register_fixtures import consent_for_the_portraits_girls

from minorguard.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
FAMILY_NAME = "faceaisharp_obama_family.jpg"


@pytest.fixture
def archive(guard, tmp_path, monkeypatch):
    from consent_db import Register
    from minorguard import CheckContext, Guard, open_checks

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    db = str(tmp_path / "data" / "regjistri.sqlite3")
    Register(db).close()  # the office's register; a check never makes one
    folder = tmp_path / "arkivi"
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns("*.txt", "*.md"))
    with open_checks(db=db, context=CheckContext(channel="facebook"), tool="test", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        records = consent_for_the_portraits_girls(checks, tmp_path, ["facebook"])
    return {"db": db, "folder": folder, "records": records, "store": tmp_path / "rezultatet.sqlite3", "tmp": tmp_path}


def _scan(archive, capsys, *extra: str) -> tuple[int, dict, str]:
    report = archive["tmp"] / "raporti.json"
    capsys.readouterr()
    code = main(["scan", str(archive["folder"]), "--channel", "facebook", "--date", "2026-12-01", "--db", archive["db"],
                 "--incremental", str(archive["store"]), "--json", str(report), "--no-group", "--lang", "en", *extra])
    err = capsys.readouterr().err
    return code, json.loads(report.read_text(encoding="utf-8")), " ".join(err.split())


def _verdicts(report: dict) -> dict[str, str]:
    return {Path(p["source"]).name: p["verdict"] for p in report["photos"]}


def test_a_re_run_judges_only_what_a_change_could_alter(archive, capsys):
    from consent_db import Register
    from consent_db.reviews import Reviews

    photos = len([p for p in archive["folder"].iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")])
    code, first, err = _scan(archive, capsys)
    assert f"{photos} photo(s) judged (new {photos}); 0 reused" in err
    assert _verdicts(first)[FAMILY_NAME] == "REVIEW"  # the older girl's consent; the younger (under 13?) to a person
    code, again, err = _scan(archive, capsys)
    assert f"0 photo(s) judged (-); {photos} reused unchanged" in err
    same = lambda r: [{k: v for k, v in p.items() if k != "timings_ms"} for p in r["photos"]]
    assert same(again) == same(first)  # a full report, the same results
    # one consent withdrawn: only the portrait that relied on it is judged again
    with Register(archive["db"]) as reg:
        reg.withdraw_consent(archive["records"][0], "prindi e tërhoqi")
    code, after, err = _scan(archive, capsys)
    assert f"1 photo(s) judged (a child's consents 1); {photos - 1} reused" in err
    assert _verdicts(after)[FAMILY_NAME] == "BLOCK" and code == 2
    # a reviewer's decision about one photo: that photo alone
    astronaut = next(p for p in after["photos"] if "astronaut" in p["source"])
    face = astronaut["faces"][0]
    with Register(archive["db"]) as reg:
        box = face["box"]
        Reviews(reg).record(astronaut["sha256"], face["index"], (box["x"], box["y"], box["width"], box["height"]), "adult",
                            "Ana", "the astronaut is an adult")
    code, reviewed, err = _scan(archive, capsys)
    assert f"1 photo(s) judged (a reviewer's decision 1); {photos - 1} reused" in err
    assert next(p for p in reviewed["photos"] if "astronaut" in p["source"])["faces"][0]["reason"] == "reviewer"
    # another date: only the photos with a face the register could decide
    _, _, err = _scan(archive, capsys, "--date", "2026-12-02")
    open_photos = sum(any(f["reason"] not in ("adult", "too_small", "too_blurred") for f in p["faces"]) for p in reviewed["photos"])
    assert f"{open_photos} photo(s) judged (another date, purpose or event {open_photos})" in err
    # another channel: every photo (faces are judged at the channel's size)
    code, _, err = _scan(archive, capsys, "--channel", "website")
    assert f"{photos} photo(s) judged (another policy, model pack, channel or register {photos})" in err


def test_a_killed_run_resumes_and_loses_nothing(archive, tmp_path):
    """kill -9 in the middle of an archive: the re-run reuses every result kept before the kill and finishes."""
    folder = archive["folder"]
    for photo in list(folder.iterdir()):
        if photo.suffix.lower() in (".jpg", ".jpeg"):
            for k in range(1, 4):  # the same picture, other bytes after the end of the image: other photos to the archive
                (folder / f"{photo.stem}_{k}{photo.suffix}").write_bytes(photo.read_bytes() + b"\0" * k)
    total = len([p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")])
    env = {**os.environ, "MINORGUARD_LANG": "en"}
    command = [sys.executable, "-m", "minorguard", "scan", str(folder), "--channel", "facebook", "--date", "2026-12-01",
               "--db", archive["db"], "--incremental", str(archive["store"]), "--workers", "1", "--no-group"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kept = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if archive["store"].exists():
            try:
                with sqlite3.connect(archive["store"]) as db:
                    kept = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                continue
            if kept >= 3:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the scan ended before it could be killed"
    assert 3 <= kept < total
    report = tmp_path / "pas.json"
    done = subprocess.run([*command, "--json", str(report)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1, 2), done.stderr
    line = " ".join(done.stderr.split())
    reused = int(line.split(" reused unchanged")[0].rsplit("; ", 1)[1])
    assert reused >= kept  # nothing kept before the kill is judged again
    photos = json.loads(report.read_text(encoding="utf-8"))["photos"]
    assert len(photos) == total and all(p["verdict"] != "ERROR" for p in photos)
    with sqlite3.connect(archive["store"]) as db:
        assert db.execute("SELECT COUNT(DISTINCT sha256) FROM results").fetchone()[0] == total
    from consent_db import Register

    with Register(archive["db"]) as reg:
        checked = {e["photo_sha256"] for e in reg.audit_entries() if e["action"] == "photo_checked"}
        assert reg.audit_verify().ok
    assert {p["sha256"] for p in photos} <= checked  # every kept result was audited when it was judged


def test_a_results_file_that_is_not_one_stops_the_scan(archive, capsys):
    archive["store"].write_bytes(b"not a database at all" * 100)
    code = main(["scan", str(archive["folder"]), "--db", archive["db"], "--incremental", str(archive["store"]), "--lang", "en"])
    # the reason was SQLite's English, "file is not a database"
    assert code == 64 and " ".join(capsys.readouterr().err.split()) == (
        f"error: the results file {archive['store']} cannot be used: it is not a results file (not a SQLite database); "
        "name a new file, or the one an earlier --incremental run wrote")


@pytest.mark.parametrize("option, name", [("--incremental", "r.sqlite3"), ("--incremental", "nen/r.sqlite3"), ("--json", "nen/r.json")])
def test_a_results_file_under_a_file_says_it_is_a_file_not_that_there_is_no_folder(tmp_path, monkeypatch, capsys, option, name):
    """`--incremental afile/r.sqlite3`, ``afile`` a regular file, said "there is no folder afile": there is, as a file."""
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    afile = tmp_path / "afile"
    afile.touch()
    for lang, said in (("sq", f"gabim: {afile / name} nuk mund të shkruhet ({afile} është skedar, jo dosje); asgjë nuk u kontrollua"),
                       ("en", f"error: cannot write {afile / name} ({afile} is a file, not a folder); nothing was checked")):
        capsys.readouterr()
        assert main(["scan", str(SAMPLES / FAMILY_NAME), "--engine", "local", option, str(afile / name), "--lang", lang]) == 64
        assert " ".join(capsys.readouterr().err.split()) == said


@pytest.mark.parametrize("where", ["after COMMIT", "before BEGIN"])
def test_ctrl_c_while_a_result_is_kept_stays_an_interrupt(tmp_path, where):
    """Ctrl-C that landed after COMMIT (or before BEGIN took effect) met a ROLLBACK with no transaction to undo:
    "cannot rollback - no transaction is active" took the interrupt's place, and the scan ended with exit 70."""
    from minorguard.application.archive import ResultStore
    from minorguard.types import PhotoResult, Verdict

    class CtrlC:
        """The store's connection, with the key pressed at ``where``."""

        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __getattr__(self, name: str):
            return getattr(self.db, name)

        def execute(self, sql: str, *args):
            if where == "before BEGIN" and sql.startswith("BEGIN"):
                raise KeyboardInterrupt
            done = self.db.execute(sql, *args)
            if where == "after COMMIT" and sql == "COMMIT":
                raise KeyboardInterrupt
            return done

    store = ResultStore(tmp_path / "rezultatet.sqlite3")
    real = store._db
    store._db = CtrlC(real)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.put(None, PhotoResult(source="foto.jpg", verdict=Verdict.PASS, sha256="0" * 64), "fixed", {})
    finally:
        store._db = real
    assert not real.in_transaction and store.count() == (1 if where == "after COMMIT" else 0)
    store.close()


def test_the_dates_of_consents_count(archive, capsys):
    """A consent signed for a date range: a re-run for a date outside it judges the portrait again and blocks it."""
    _, before, _ = _scan(archive, capsys)  # the fixture's consents start 2026-09-01 and have no end
    assert _verdicts(before)[FAMILY_NAME] == "REVIEW"  # the older girl on her consent, the younger to a person
    _, earlier, _ = _scan(archive, capsys, "--date", "2026-08-01")
    assert _verdicts(earlier)[FAMILY_NAME] == "BLOCK"


def test_an_enrolment_or_a_never_publish_flag_judges_adult_looking_faces_again(archive, capsys):
    """Adult-looking faces are matched against the register too (a child enrolled with confirm_child, a never-publish
    child), so a change there judges again every photo with such a face, and only those."""
    from consent_db import Register

    _, first, _ = _scan(archive, capsys)
    with_adults = {Path(p["source"]).name for p in first["photos"] if any(f["reason"] == "adult" for f in p["faces"])}
    assert FAMILY_NAME in with_adults and len(with_adults) < len(first["photos"])
    with Register(archive["db"]) as reg:
        child = next(c for c in reg.list_children())
        reg.set_never_publish(child.id, True, "çështje kujdestarie")
    _, after, err = _scan(archive, capsys)
    assert f"{len(with_adults)} photo(s) judged (the never-publish list {len(with_adults)})" in err
    assert _verdicts(after)[FAMILY_NAME] == "BLOCK"  # the girl herself


def test_a_file_rewritten_at_the_same_size_with_its_time_set_back_is_judged_again(guard, tmp_path, monkeypatch, capsys):
    """The audit's case: a blank BMP scanned, then overwritten by the family portrait at the same byte size and its
    modification time restored (``touch -r``, ``cp -p``): the blank's PASS was reused."""
    from PIL import Image

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    folder = tmp_path / "arkivi"
    folder.mkdir()
    photo = folder / "foto_çelë.bmp"
    with Image.open(SAMPLES / FAMILY_NAME) as family:
        portrait = family.convert("RGB")
    Image.new("RGB", portrait.size, (200, 200, 200)).save(photo)
    store = str(tmp_path / "rezultatet.sqlite3")
    scan = ["scan", str(folder), "--incremental", store, "--no-group", "--lang", "en"]
    assert main(scan) == 0
    times = photo.stat()
    portrait.save(photo)
    assert photo.stat().st_size == times.st_size
    os.utime(photo, ns=(times.st_atime_ns, times.st_mtime_ns))
    capsys.readouterr()
    assert main(scan) == 2
    assert "1 photo(s) judged (new 1)" in " ".join(capsys.readouterr().err.split())


def test_a_result_judged_without_the_register_or_with_another_is_judged_again_and_audited(archive, capsys, tmp_path):
    """The audit's case: results judged with no register (or another one) were reused without any record in the
    register the run reported under; and two registers' change marks (audit entry numbers) are not comparable."""
    from consent_db import Register

    store = str(tmp_path / "elsewhere.sqlite3")
    other = str(tmp_path / "tjetri.sqlite3")
    Register(other).close()
    base = ["scan", str(archive["folder"]), "--channel", "facebook", "--date", "2026-12-01", "--incremental", store,
            "--no-group", "--lang", "en"]
    main([*base, "--db", other])
    photos = len([p for p in archive["folder"].iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")])

    def checked() -> int:
        with Register(archive["db"]) as reg:
            return sum(e["action"] == "photo_checked" for e in reg.audit_entries())

    before = checked()
    capsys.readouterr()
    main([*base, "--db", archive["db"]])
    assert f"{photos} photo(s) judged (another policy, model pack, channel or register {photos})" in " ".join(capsys.readouterr().err.split())
    assert checked() == before + photos  # each result recorded in this register
    main([*base, "--db", archive["db"]])
    assert f"0 photo(s) judged (-); {photos} reused" in " ".join(capsys.readouterr().err.split())
    assert checked() == before + photos  # a reused result was recorded when it was judged


@pytest.mark.parametrize("change", ["rewritten", "removed"])
def test_a_file_rewritten_or_removed_while_it_is_judged_is_never_taken_for_what_was_judged(guard, tmp_path, monkeypatch, change):
    """The audit's race: the file's identity was taken after judging and stored with the verdict on the bytes read
    before, so the portrait written in place meanwhile was reused as the blank's PASS; a file removed meanwhile
    stopped the whole run."""
    import numpy as np
    from PIL import Image

    from minorguard import Guard, open_checks
    from minorguard.application.archive import ResultStore, RunSummary, check_incrementally

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    photo = tmp_path / "foto_ë.jpg"
    Image.fromarray(np.full((400, 600, 3), 128, np.uint8)).save(photo)
    with open_checks(tool="test", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        store = ResultStore(tmp_path / "rezultatet.sqlite3")

        def judge(paths):
            for result in checks.guard.check_many(paths, checks.context, workers=1):
                if change == "rewritten":  # in place, as a sync client writes: the same inode
                    with open(photo, "r+b") as handle:
                        handle.write((SAMPLES / FAMILY_NAME).read_bytes())
                        handle.truncate()
                else:
                    photo.unlink()
                yield result

        [first] = check_incrementally(checks, [photo], store, RunSummary(), judge=judge)
        assert first.verdict.value == "PASS"
        if change == "rewritten":
            summary = RunSummary()
            [again] = check_incrementally(checks, [photo], store, summary)
            assert again.verdict.value == "BLOCK" and summary.judged == 1
        store.close()
