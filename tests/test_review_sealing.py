"""Reviewers' reasons and the file names they saw are sealed at rest, in the decisions and in the audit log: both can
name a child ("Ana Hoxha, the head teacher's daughter"; "ana_hoxha_klasa_3.jpg"), and the log is never erased."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import date
from pathlib import Path

from register_fixtures import PDF

from consent_db import Register
from consent_db.reviews import FaceRef, Reviews

REASON = "Ana Hoxha, vajza e drejtoreshës"
SOURCE = "ana_hoxha_klasa_3.jpg"
SHA = hashlib.sha256(b"class photo").hexdigest()


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_reasons_and_file_names_are_sealed_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "regjistri.sqlite3"
    with Register(str(path)) as reg:
        child = reg.add_child("Ana Hoxha")
        consent = reg.add_consent(child.id, PDF, date(2026, 9, 1), ["facebook"])
        reviews = Reviews(reg)
        single = reviews.record(SHA, 1, (10, 10, 50, 60), "consent", "Mira", REASON, consent_id=consent.id, source=SOURCE)
        group = reviews.record_group([FaceRef(SHA, 2, (80, 10, 50, 60), "mesuesja_" + SOURCE)], "adult", "Mira", "mësuesja " + REASON)
        assert (single.reason, single.source) == (REASON, SOURCE)
        assert [(r.reason, r.source) for r in reviews.for_photo(SHA)] == [(REASON, SOURCE), ("mësuesja " + REASON, "mesuesja_" + SOURCE)]
        assert group[0].reason == "mësuesja " + REASON
        logged = [e for e in reg.audit_entries() if e["action"] in ("review_consent", "review_group_adult")]
        assert len(logged) == 2 and all('"reason":"enc1:' in e["details"] for e in logged)
        assert reg.audit_verify().ok
        reg.store.scrub()
    files = _files(path)
    for clear in (REASON, SOURCE, "Ana Hoxha"):
        assert clear.encode("utf-8") not in files, clear


def test_decisions_an_older_register_stored_in_clear_are_sealed_when_opened(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "regjistri.sqlite3"
    with Register(str(path)) as reg:
        Reviews(reg).record(SHA, 1, (10, 10, 50, 60), "hide", "Mira", "placeholder", source="placeholder.jpg")
    with sqlite3.connect(path) as raw:  # as minorguard stored them before
        raw.execute("UPDATE review_decisions SET reason = ?, source = ?", (REASON, SOURCE))
    with Register(str(path)) as reg:
        assert [(r.reason, r.source) for r in Reviews(reg).for_photo(SHA)] == [(REASON, SOURCE)]
        assert reg.audit_verify().ok
    with sqlite3.connect(path) as raw:
        reason, source = raw.execute("SELECT reason, source FROM review_decisions").fetchone()
    assert reason.startswith("enc1:") and source.startswith("enc1:")
    for clear in (REASON, SOURCE):
        assert clear.encode("utf-8") not in _files(path), clear


def test_a_rotation_and_an_erasure_reach_the_decisions(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "regjistri.sqlite3"
    with Register(str(path)) as reg:
        child = reg.add_child("Ana Hoxha")
        consent = reg.add_consent(child.id, PDF, date(2026, 9, 1), ["facebook"])
        Reviews(reg).record(SHA, 1, (10, 10, 50, 60), "consent", "Mira", REASON, consent_id=consent.id, source=SOURCE)
        Reviews(reg).record(SHA, 2, (80, 10, 50, 60), "hide", "Mira", "prindi i mësueses nuk do", source=SOURCE)
        reg.rotate_key()
    with Register(str(path)) as reg:
        assert [r.reason for r in Reviews(reg).for_photo(SHA)] == [REASON, "prindi i mësueses nuk do"]
        reg.erase_child(child.id, "kërkesë e prindit")
        kept = Reviews(reg).for_photo(SHA)
        assert [(r.kind, r.reason, r.source) for r in kept] == [("consent", "", ""), ("hide", "prindi i mësueses nuk do", SOURCE)]
