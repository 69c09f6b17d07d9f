"""Real processes against one register: concurrent writers, a writer held too long, a writer killed mid-add."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from register_fixtures import PDF, register_env  # noqa: F401

from consent_db import Register, RegisterBusy

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import date
    from consent_db import Register
    url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Register(url) as reg:
        for i in range(n):
            child = reg.add_child(f"{tag}-{i}")
            reg.add_consent(child.id, b"%PDF-1.4 " + f"{tag}-{i}".encode() + b" %%EOF", date(2026, 9, 1), ["facebook"])
    print("done", tag)
    """
)


def _env(register_env: dict, **extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(register_env["data"]), "MINORGUARD_ACTOR": "tester"}
    env.pop("MINORGUARD_KEY", None)
    env.update(extra)
    return env


def test_two_processes_writing_at_once_both_succeed(register_env):
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, register_env["url"], tag, "15"], env=_env(register_env),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag in ("left", "right")
    ]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, stderr[-2000:]
        assert stdout.startswith("done")
    with Register(register_env["url"]) as reg:
        names = sorted(c.name for c in reg.list_children())
        assert len(names) == 30 and len(reg.list_consents()) == 30
        report = reg.audit_verify()
        assert report.ok, report.problems
        assert report.entries == 1 + 60  # register_created once, then child + consent per row


def _pause_in_consent_add(register_env: dict, child_id: str, marker: Path, form: Path) -> subprocess.Popen:
    """`minorguard consent add` as a real process that stops after writing the record, before the commit."""
    env = _env(register_env, MINORGUARD_TEST_PAUSE_AT="consent_add", MINORGUARD_TEST_PAUSE_MARKER=str(marker), MINORGUARD_TEST_PAUSE_S="60")
    proc = subprocess.Popen(
        [sys.executable, "-m", "minorguard", "consent", "add", child_id, "--document", str(form), "--channel", "all",
         "--signed", (date.today() - timedelta(days=1)).isoformat(), "--db", register_env["url"]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"writer ended early: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("writer never reached the pause point")
        time.sleep(0.05)
    return proc


def test_process_killed_mid_add_leaves_register_as_before(register_env, tmp_path):
    with Register(register_env["url"]) as reg:
        child = reg.add_child("Ana")
        before = reg.audit_verify().entries
    form = tmp_path / "form.pdf"
    form.write_bytes(PDF)
    proc = _pause_in_consent_add(register_env, child.id, tmp_path / "paused", form)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Register(register_env["url"], busy_timeout_s=10) as reg:
        assert reg.list_consents() == []  # not half a record: none
        report = reg.audit_verify()
        assert report.ok and report.entries == before
        # the lock died with the process: the next write goes through whole
        record = reg.add_consent(child.id, form, date.today() - timedelta(days=1), ["all"])
        assert [c.id for c in reg.list_consents()] == [record.id]
        assert reg.audit_verify().ok


def test_writer_held_too_long_gives_busy_retry(register_env, tmp_path):
    with Register(register_env["url"]) as setup:
        child = setup.add_child("Ana")
    waiting = Register(register_env["url"], busy_timeout_s=0.5)
    form = tmp_path / "form.pdf"
    form.write_bytes(PDF)
    proc = _pause_in_consent_add(register_env, child.id, tmp_path / "paused", form)
    try:
        started = time.monotonic()
        with pytest.raises(RegisterBusy, match="busy.*retry"):
            waiting.add_child("Besa")
        assert time.monotonic() - started < 20
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert [c.name for c in waiting.list_children()] == ["Ana"]
    waiting.add_child("Besa")  # retry succeeds once the other writer is gone
    waiting.close()


def test_a_new_register_file_is_wal_before_any_connection_opens_it(tmp_path):
    """Two processes creating one register at once both switched a 0-byte file to WAL, and SQLite answers that
    change "database is locked" at once while another connection holds the file (CI: one writer stopped "busy")."""
    from consent_db.store import make_engine

    path = tmp_path / "data" / "register.sqlite3"
    engine = make_engine(f"sqlite:///{path}", 5.0)
    try:
        header = path.read_bytes()[:100]
        assert header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"  # the WAL marks
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert sorted(p.name for p in path.parent.iterdir()) == ["register.sqlite3"]  # no spare file left behind
    finally:
        engine.dispose()


def test_opening_a_register_not_yet_in_wal_waits_for_a_writer_instead_of_busy(tmp_path):
    import sqlite3
    import threading

    from consent_db.store import Store

    path = tmp_path / "register.sqlite3"
    path.touch(mode=0o600)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE other (x)")  # a rollback-journal writer holds the file for a moment

    def finish() -> None:
        time.sleep(1.0)
        writer.execute("COMMIT")
        writer.close()

    thread = threading.Thread(target=finish)
    thread.start()
    try:
        store = Store(f"sqlite:///{path}", busy_timeout_s=20.0)
        store.migrate()
        assert store.state() == ""
        store.close()
    finally:
        thread.join()
    assert path.read_bytes()[18:20] == b"\x02\x02"
