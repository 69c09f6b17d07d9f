"""Rotating the register's key: everything sealed is encrypted again under a new key, the key file is replaced only
after the data committed, a crash at either side of the commit leaves a key that opens the register, and a process
that opened the register before refuses to write anything under the old key."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from register_fixtures import PDF, PNG, register_env  # noqa: F401

from consent_db import KeyProblem, Register

ROOT = Path(__file__).resolve().parents[1]


def _fill(reg: Register) -> dict:
    """A register with something in every sealed column; what it holds, as read through the API."""
    child = reg.add_child("Çlirim Këlliçi", dob=date(2015, 3, 2))
    reg.add_guardian(child.id, "Drita Këlliçi", relation="mother", contact="+355 69 000 0000")
    consent = reg.add_consent(child.id, PDF, date(2026, 9, 1), ["facebook"])
    embedding = np.linspace(-1, 1, 128, dtype=np.float32)
    reg.add_enrolment(child.id, PNG, embedding, face_index=1, face_height_px=120.0, embedder="test-embedder")
    hidden = reg.add_child("Ema Gjoni")
    reg.set_never_publish(hidden.id, True, "masë mbrojtëse e gjykatës")
    left = reg.add_child("Besa Hoxha")
    withdrawn = reg.add_consent(left.id, PDF + b" ", date(2026, 9, 1), ["website"])
    reg.withdraw_consent(withdrawn.id, reason="prindi e tërhoqi")
    reg.add_known_adult("Arben Çela", np.ones((2, 128), dtype=np.float32), role="mësues")
    return _held(reg) | {"child": child.id, "consent": consent.id, "withdrawn": withdrawn.id}


def _held(reg: Register) -> dict:
    children = {c.id: reg.get_child(c.id) for c in reg.list_children()}
    return {
        "children": children,
        "documents": {c.id: reg.document(c.id) for c in reg.list_consents()},
        "embeddings": {k: v.tolist() for k, v in reg.enrolment_embeddings().items()},
        "adults": [(a.name, a.role, m.tolist()) for a, m in reg.known_adult_embeddings()],
    }


def _sealed_columns(url: str) -> dict[str, object]:
    """Every stored ciphertext and lookup digest, as the database file holds them (SQLite)."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        rows = {}
        for table, columns in {
            "children": ("name", "name_index", "never_publish_reason", "dob_sealed"), "guardians": ("name", "contact", "relation"),
            "consents": ("document_enc", "withdrawn_reason"), "enrolments": ("photo_enc", "embedding_enc"),
            "known_adults": ("name", "name_index", "embeddings_enc"),
        }.items():
            for row in db.execute(f"SELECT id, {', '.join(columns)} FROM {table}"):
                for column, value in zip(columns, row[1:], strict=True):
                    if value:
                        rows[f"{table}.{column}:{row[0]}"] = value
        rows["meta.key_check"] = db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()[0]
    return rows


def test_rotation_encrypts_everything_again_and_only_the_new_key_opens_it(register_env, monkeypatch):
    with Register(register_env["url"]) as reg:
        before = _fill(reg)
    key = register_env["key"]
    old_key = key.read_bytes()
    stored = _sealed_columns(register_env["url"]) if register_env["backend"] == "sqlite" else {}
    with Register(register_env["url"]) as reg:
        done = reg.rotate_key()
        assert done.key_file == key
        assert done.values >= 12  # names, contacts, relation, date of birth, reasons, the forms, the photo, the embeddings
        assert _held(reg) == {k: before[k] for k in ("children", "documents", "embeddings", "adults")}  # this process goes on
    assert key.read_bytes() != old_key
    assert done.retired_key_file is not None and done.retired_key_file.read_bytes() == old_key
    for path in (key, done.retired_key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not key.with_name(key.name + ".next").exists()
    with Register(register_env["url"]) as reg:
        assert _held(reg) == {k: before[k] for k in ("children", "documents", "embeddings", "adults")}
        assert [c.id for c in reg.find_children("clirim kellici")] == [before["child"]]  # lookup digests taken again
        report = reg.audit_verify()
        assert report.ok, report.problems
        assert reg.audit_entries()[-1]["action"] == "key_rotated"
    if stored:
        after = _sealed_columns(register_env["url"])
        assert after.keys() == stored.keys()
        unchanged = [k for k in stored if stored[k] == after[k]]
        assert unchanged == []
    monkeypatch.setenv("MINORGUARD_KEY", str(done.retired_key_file))  # another computer's copy of the old key
    with pytest.raises(KeyProblem) as refused:
        Register(register_env["url"])
    assert refused.value.code == "key_replaced" and "tester" in str(refused.value)  # who replaced it, and when


def test_a_process_that_opened_the_register_before_refuses_to_write_after(register_env):
    with Register(register_env["url"]) as first, Register(register_env["url"]) as second:
        child = first.add_child("Ana Hoxha")
        second.rotate_key()
        for write in (lambda: first.add_child("Beni Hoxha"), lambda: first.add_guardian(child.id, "Drita", relation="mother"),
                      lambda: first.add_consent(child.id, PDF, date(2026, 9, 1), ["facebook"])):
            with pytest.raises(KeyProblem) as refused:
                write()
            assert refused.value.code == "key_changed"
        with pytest.raises(KeyProblem):
            first.list_children()  # nor read what it could no longer open
    with Register(register_env["url"]) as reg:
        assert [c.name for c in reg.list_children()] == ["Ana Hoxha"]
        assert reg.get_child(child.id).guardians == ()


def _rotation_paused_at(point: str, register_env: dict, marker: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(register_env["data"]), "MINORGUARD_ACTOR": "tester",
           "MINORGUARD_TEST_PAUSE_AT": point, "MINORGUARD_TEST_PAUSE_MARKER": str(marker), "MINORGUARD_TEST_PAUSE_S": "60"}
    env.pop("MINORGUARD_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "minorguard", "register", "rotate-key", "--db", register_env["url"], "--lang", "en"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"rotation ended early: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("rotation never reached the pause point")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc


def test_killed_after_the_commit_the_new_key_is_found_and_put_in_place(register_env, tmp_path):
    with Register(register_env["url"]) as reg:
        before = _fill(reg)
    key = register_env["key"]
    old_key = key.read_bytes()
    _rotation_paused_at("key_rotation_committed", register_env, tmp_path / "paused")
    next_file = key.with_name(key.name + ".next")
    assert key.read_bytes() == old_key and next_file.exists()  # the data is under the key in .next alone
    with Register(register_env["url"]) as reg:
        assert reg.get_child(before["child"]) == before["children"][before["child"]]
        assert reg.document(before["consent"]) == PDF
    assert not next_file.exists() and key.read_bytes() != old_key
    assert [p.read_bytes() for p in key.parent.glob("register.key.retired-*")] == [old_key]


def test_killed_before_the_commit_the_register_is_as_before_and_rotates_again(register_env, tmp_path):
    with Register(register_env["url"]) as reg:
        before = _fill(reg)
        entries = reg.audit_verify().entries
    key = register_env["key"]
    old_key = key.read_bytes()
    _rotation_paused_at("key_rotation_before_commit", register_env, tmp_path / "paused")
    next_file = key.with_name(key.name + ".next")
    assert next_file.exists()  # the new key was on disk before the data was encrypted under it
    with Register(register_env["url"]) as reg:
        assert key.read_bytes() == old_key  # the leftover is not taken for the key
        assert reg.get_child(before["child"]) == before["children"][before["child"]]
        assert reg.audit_verify().entries == entries
        reg.rotate_key()
    assert not next_file.exists() and key.read_bytes() != old_key
    with Register(register_env["url"]) as reg:
        assert reg.document(before["consent"]) == PDF


def test_a_key_given_in_the_environment_itself_is_not_rotated(register_env, monkeypatch):
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
    monkeypatch.setenv("MINORGUARD_KEY", register_env["key"].read_text().strip())
    with Register(register_env["url"]) as reg, pytest.raises(KeyProblem) as refused:
        reg.rotate_key()
    assert refused.value.code == "rotate_env_key"
    monkeypatch.delenv("MINORGUARD_KEY")
    with Register(register_env["url"]) as reg:
        assert [c.name for c in reg.list_children()] == ["Ana Hoxha"]


def test_a_key_file_named_in_the_environment_is_the_one_replaced(register_env, tmp_path, monkeypatch):
    elsewhere = tmp_path / "vault" / "çelësi.key"
    elsewhere.parent.mkdir()
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
    elsewhere.write_bytes(register_env["key"].read_bytes())
    register_env["key"].unlink()
    monkeypatch.setenv("MINORGUARD_KEY", str(elsewhere))
    old_key = elsewhere.read_bytes()
    with Register(register_env["url"]) as reg:
        done = reg.rotate_key()
    assert done.key_file == elsewhere and elsewhere.read_bytes() != old_key
    assert done.retired_key_file.parent == elsewhere.parent and done.retired_key_file.read_bytes() == old_key
    assert not register_env["key"].exists()
    with Register(register_env["url"]) as reg:
        assert [c.name for c in reg.list_children()] == ["Ana Hoxha"]


def _cli(register_env: dict, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(register_env["data"]), "MINORGUARD_ACTOR": "tester"}
    env.pop("MINORGUARD_KEY", None)
    if key is not None:
        env["MINORGUARD_KEY"] = key
    return subprocess.run([sys.executable, "-m", "minorguard", "register", "rotate-key", "--db", register_env["url"], *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_command_says_where_each_key_is_in_albanian_and_english(register_env):
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
    done = _cli(register_env)
    assert done.returncode == 0, done.stderr
    assert "çelës të ri" in done.stdout and str(register_env["key"]) in done.stdout
    assert "register.key.retired-" in done.stderr and "kopjet rezervë" in done.stderr
    again = _cli(register_env, "--lang", "en")
    assert again.returncode == 0, again.stderr
    assert "encrypted under a new key" in again.stdout and "backups" in again.stderr
    assert len(list(register_env["key"].parent.glob("register.key.retired-*"))) == 2


def test_the_command_refuses_a_key_in_the_environment_with_one_line(register_env):
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
    refused = _cli(register_env, "--lang", "en", key=register_env["key"].read_text().strip())
    assert refused.returncode == 64
    assert "MINORGUARD_KEY holds the key itself" in refused.stderr and "Traceback" not in refused.stderr
    assert not list(register_env["key"].parent.glob("register.key.*"))


def test_the_command_needs_a_register(tmp_path, monkeypatch):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("MINORGUARD_KEY", None)
    env.pop("MINORGUARD_DB", None)
    done = subprocess.run([sys.executable, "-m", "minorguard", "register", "rotate-key", "--lang", "en"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 64 and "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "register.key").exists()


def test_a_later_rotations_key_is_never_put_in_place_by_an_earlier_one(tmp_path):
    """The audit's race: rotation X, committed, finished after rotation Y had written its own next key (not yet
    committed); X installed Y's key, Y was killed, and the register opened with no key file."""
    from consent_db.crypto import finish_rotation, next_key_path, read_key_file, write_key_file

    key = tmp_path / "register.key"
    old, ours, later = (bytes([n]) * 32 for n in (1, 2, 3))
    write_key_file(key, old)
    write_key_file(next_key_path(key), later)
    assert finish_rotation(key, next_key_path(key), "20261207T000000Z", expected=ours) is None
    assert read_key_file(key) == old and read_key_file(next_key_path(key)) == later
    assert not list(tmp_path.glob("register.key.retired-*"))


def test_two_rotations_in_one_second_keep_both_old_keys(register_env):
    keys = []
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
        for _ in range(3):
            keys.append(register_env["key"].read_bytes())
            reg.rotate_key()
    retired = sorted(p.read_bytes() for p in register_env["key"].parent.glob("register.key.retired-*"))
    assert retired == sorted(keys) and len(set(retired)) == 3
    with Register(register_env["url"]) as reg:
        assert [c.name for c in reg.list_children()] == ["Ana Hoxha"]


def test_a_key_file_that_is_a_link_is_replaced_where_it_points(register_env, tmp_path):
    with Register(register_env["url"]) as reg:
        reg.add_child("Ana Hoxha")
    vault = tmp_path / "vault"
    vault.mkdir()
    real = vault / "real.key"
    real.write_bytes(register_env["key"].read_bytes())
    register_env["key"].unlink()
    register_env["key"].symlink_to(real)
    old = real.read_bytes()
    with Register(register_env["url"]) as reg:
        done = reg.rotate_key()
    assert register_env["key"].is_symlink() and real.read_bytes() != old
    assert done.retired_key_file.parent == vault and done.retired_key_file.read_bytes() == old
    assert not list(register_env["key"].parent.glob("register.key.*"))
    with Register(register_env["url"]) as reg:
        assert [c.name for c in reg.list_children()] == ["Ana Hoxha"]


def test_another_register_on_the_same_key_file_names_the_retired_key(register_env, tmp_path, monkeypatch):
    """The audit's case: two registers (--db) shared the data folder's key file; rotating one left the other with
    "the key does not belong to this register" and a retired file the command said to delete."""
    if register_env["backend"] != "sqlite":
        pytest.skip("two registers side by side: SQLite files")
    second = f"sqlite:///{tmp_path / 'shkolla_2.sqlite3'}"
    with Register(register_env["url"]) as first, Register(second) as other:
        first.add_child("Ana Hoxha")
        other.add_child("Besa Gjoni")
        done = first.rotate_key()
    with pytest.raises(KeyProblem) as refused:
        Register(second)
    assert refused.value.code == "key_retired_opens" and str(done.retired_key_file) in str(refused.value)
    monkeypatch.setenv("MINORGUARD_KEY", str(done.retired_key_file))
    with Register(second) as other:
        assert [c.name for c in other.list_children()] == ["Besa Gjoni"]


def test_the_state_a_service_reads_for_its_health_refuses_after_a_rotation(register_env):
    with Register(register_env["url"]) as serving, Register(register_env["url"]) as other:
        assert serving.state()
        other.rotate_key()
        with pytest.raises(KeyProblem) as refused:
            serving.state()
        assert refused.value.code == "key_changed"
