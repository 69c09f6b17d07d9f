"""Erasing a child's record on request (`child erase`): everything that names or shows the child goes, in one
transaction; the pseudonymous id and the consents' dates and form digests stay, so the audit log still resolves."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from register_fixtures import PDF, register_env  # noqa: F401

from consent_db import Register, RegisterError

ROOT = Path(__file__).resolve().parents[1]
NAME, GUARDIAN, CONTACT, RELATION = "Ëndrit Çani", "Drita Çani", "drita.cani@shembull.al", "nëna"
FORM = b"%PDF-1.4\n% leje e nenshkruar nga Drita Cani per Endrit Canin\n%%EOF\n"


def _family(reg: Register) -> dict:
    child = reg.add_child(NAME, dob=date(2015, 3, 2))
    guardian = reg.add_guardian(child.id, GUARDIAN, relation=RELATION, contact=CONTACT)
    old = reg.add_consent(child.id, PDF, date(2025, 9, 1), ["website"])
    reg.withdraw_consent(old.id, "prindi ndryshoi mendje", on=date(2026, 1, 5))
    active = reg.add_consent(child.id, FORM, date(2026, 9, 1), ["facebook"])
    reg.add_enrolment(child.id, b"family photo", np.ones(8, np.float32), face_index=1, face_height_px=100, embedder="t")
    sister = reg.add_child("Besa Çani")
    sisters = reg.add_consent(sister.id, PDF + b" ", date(2026, 9, 1), ["facebook"])
    reg.add_enrolment(sister.id, b"family photo", np.zeros(8, np.float32), face_index=2, face_height_px=100, embedder="t")
    return {"child": child.id, "guardian": guardian.id, "old": old.id, "active": active.id, "sister": sister.id, "sisters": sisters.id}


def test_the_record_is_erased_and_what_stays_names_no_one(register_env):
    with Register(register_env["url"]) as reg:
        ids = _family(reg)
        erased = reg.erase_child(ids["child"], "kërkesë me shkrim e nënës, 2026-12-01")
        assert erased.erased_at is not None and erased.name == "" and erased.dob is None and erased.enrolment_photos == 0
        assert [(g.id, g.name, g.relation, g.contact) for g in erased.guardians] == [(ids["guardian"], "", "", "")]
        assert [(c.id, c.status, c.withdrawn_reason) for c in erased.consents] == [(ids["old"], "withdrawn", None), (ids["active"], "withdrawn", None)]
        assert erased.consents[1].document_sha256 == hashlib.sha256(FORM).hexdigest()  # the evidence that it was held
        for record in (ids["old"], ids["active"]):
            with pytest.raises(RegisterError) as gone:
                reg.document(record)
            assert gone.value.code == "document_erased"
        assert reg.find_children(NAME) == [] and ids["child"] not in reg.enrolment_embeddings()
        for write in (lambda: reg.add_consent(ids["child"], PDF, date(2026, 9, 1), ["facebook"]),
                      lambda: reg.add_guardian(ids["child"], "Dikush"), lambda: reg.erase_child(ids["child"], "përsëri"),
                      lambda: reg.add_enrolment(ids["child"], b"another", np.ones(8, np.float32), face_index=1, face_height_px=100, embedder="t"),
                      lambda: reg.set_never_publish(ids["child"], True, "arsye")):
            with pytest.raises(RegisterError) as refused:
                write()
            assert refused.value.code == "child_erased"
        sister = reg.get_child(ids["sister"])  # the sister in the same family photo keeps everything
        assert sister.name == "Besa Çani" and sister.enrolment_photos == 1 and sister.consents[0].status == "active"
        assert reg.document(ids["sisters"]) == PDF + b" "
        entry = reg.audit_entries()[-1]
        assert entry["action"] == "child_erased" and entry["subject"] == ids["child"]
        assert "kërkesë" not in str(entry["details"])  # the reason is sealed like every reason in the log
        assert reg.audit_verify().ok
        # a new permission from the family is a new record, found by name again
        again = reg.add_child(NAME, dob=date(2015, 3, 2))
        assert again.id != ids["child"] and [c.id for c in reg.find_children(NAME)] == [again.id]
    if register_env["backend"] == "sqlite":
        path = register_env["url"].removeprefix("sqlite:///")
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT length(document_enc) FROM consents WHERE child_id = ?", (ids["child"],)).fetchall() == [(0,), (0,)]
            assert raw.execute("SELECT name, name_index, dob, dob_sealed FROM children WHERE id = ?", (ids["child"],)).fetchone() == ("", None, None, None)


def test_opening_and_rotating_an_erased_record_changes_nothing_more(register_env):
    with Register(register_env["url"]) as reg:
        ids = _family(reg)
        reg.erase_child(ids["child"], "kërkesë e nënës")
        entries = reg.audit_verify().entries
    for _ in range(2):  # an empty name is not a name left in clear: no sealing entry at each opening
        with Register(register_env["url"]) as reg:
            assert reg.audit_verify().entries == entries
    with Register(register_env["url"]) as reg:
        reg.rotate_key()  # an erased form has nothing to encrypt again
    with Register(register_env["url"]) as reg:
        assert reg.get_child(ids["child"]).erased_at is not None
        assert reg.document(ids["sisters"]) == PDF + b" "


def test_a_child_on_the_never_publish_list_is_not_erased(register_env):
    with Register(register_env["url"]) as reg:
        child = reg.add_child(NAME)
        reg.set_never_publish(child.id, True, "urdhër gjykate")
        reg.add_enrolment(child.id, b"photo", np.ones(8, np.float32), face_index=1, face_height_px=100, embedder="t")
        with pytest.raises(RegisterError) as refused:
            reg.erase_child(child.id, "kërkesë")
        assert refused.value.code == "erase_child_never_publish"
        kept = reg.get_child(child.id)
        assert kept.name == NAME and kept.enrolment_photos == 1 and kept.erased_at is None


def test_the_register_files_keep_nothing_of_the_erased_child(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "regjistri.sqlite3"
    with Register(str(path)) as reg:
        ids = _family(reg)
        sealed = {}
        with sqlite3.connect(path) as raw:
            for column in ("name", "contact", "relation"):
                sealed[column] = raw.execute(f"SELECT {column} FROM guardians WHERE id = ?", (ids["guardian"],)).fetchone()[0]
            sealed["form"] = raw.execute("SELECT document_enc FROM consents WHERE id = ?", (ids["active"],)).fetchone()[0]
            sealed["photo"] = raw.execute("SELECT photo_enc FROM enrolments WHERE child_id = ?", (ids["child"],)).fetchone()[0]
        reg.erase_child(ids["child"], "kërkesë e nënës")
    files = b"".join(p.read_bytes() for p in tmp_path.glob("regjistri.sqlite3*"))
    for what, value in sealed.items():  # not even the ciphertexts: a key that leaks later opens nothing of them
        assert (value.encode() if isinstance(value, str) else value) not in files, what


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(data)}
    env.pop("MINORGUARD_KEY", None)
    env.pop("MINORGUARD_DB", None)
    return subprocess.run([sys.executable, "-m", "minorguard", *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_command_asks_for_yes_and_a_reason_and_says_what_went(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(data))
    with Register(data / "register.sqlite3") as reg:
        ids = _family(reg)
    unsure = _cli(data, "child", "erase", ids["child"], "--reason", "kërkesë e nënës", "--lang", "en")
    assert unsure.returncode == 64 and "add --yes" in unsure.stderr and "Traceback" not in unsure.stderr
    no_reason = _cli(data, "child", "erase", ids["child"], "--yes", "--lang", "en")
    assert no_reason.returncode == 64 and "reason" in no_reason.stderr
    with Register(data / "register.sqlite3") as reg:
        assert reg.get_child(ids["child"]).erased_at is None
    done = _cli(data, "child", "erase", ids["child"], "--reason", "kërkesë e nënës", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"{ids['child']}: regjistrimi u fshi" in done.stdout and "1 leje në fuqi" in done.stdout
    listed = _cli(data, "child", "list", "--lang", "en")
    assert "(erased " in listed.stdout and NAME not in listed.stdout and "Besa" in listed.stdout
    shown = _cli(data, "child", "show", ids["child"], "--lang", "en")
    assert shown.returncode == 0 and "(erased " in shown.stdout and GUARDIAN not in shown.stdout
    again = _cli(data, "child", "erase", ids["child"], "--reason", "përsëri", "--yes", "--lang", "en")
    assert again.returncode == 64 and "was erased on" in again.stderr
