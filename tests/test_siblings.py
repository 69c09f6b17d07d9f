"""Siblings enrolled from one family photo, a face each (migration 0006), and a register written before the last two
migrations brought up to date with its data."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from register_fixtures import PDF, register_env  # noqa: F401

from consent_db import Register, RegisterError
from minorguard import CheckContext, Guard, Verdict, open_checks

ROOT = Path(__file__).resolve().parents[1]
FAMILY = ROOT / "sample_images" / "faceaisharp_obama_family.jpg"


def _family_photo_twice_as_large(folder: Path) -> Path:
    """The sample portrait enlarged so that the girls' faces (2 and 4) are big enough to enrol: one file for both."""
    path = folder / "familja_e_plotë.jpg"
    with Image.open(FAMILY) as image:
        image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(path, quality=95)
    return path


def test_both_girls_enrolled_from_one_family_photo_are_each_matched_to_their_consent(guard, tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    photo = _family_photo_twice_as_large(tmp_path)
    Register(tmp_path / "regjistri.sqlite3").close()
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    with open_checks(db=str(tmp_path / "regjistri.sqlite3"), context=context, guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        register = checks.register
        older, younger = register.add_child("Vajza e madhe Çelë"), register.add_child("Vajza e vogël Çelë")
        assert checks.enrol(older.id, photo, 2).face == 2
        assert checks.enrol(younger.id, photo, 4).face == 4  # refused before: "this photo is already enrolled"
        with pytest.raises(RegisterError) as taken:
            checks.enrol(register.add_child("Një tjetër").id, photo, 2)
        assert taken.value.code == "already_enrolled_face" and older.id in str(taken.value)
        copy = tmp_path / "familja_kopje.png"  # other bytes, the same faces: the older girl for a third child
        with Image.open(photo) as image:
            image.save(copy)
        with pytest.raises(RegisterError) as again:
            checks.enrol(register.add_child("E treta").id, copy, 2)
        assert again.value.code == "already_enrolled_face" and older.id in str(again.value)
        with pytest.raises(RegisterError) as twice:
            checks.enrol(younger.id, photo, 1, confirm_child=True)  # one child is one face of a photo
        assert twice.value.code == "already_enrolled_photo"
        sha = hashlib.sha256(photo.read_bytes()).hexdigest()
        assert register.enrolled_faces(sha) == {2: older.id, 4: younger.id}
        records = [register.add_consent(c.id, PDF + c.id.encode(), date(2026, 9, 1), ["facebook"]).id for c in (older, younger)]
        result = checks.check(FAMILY)
        # each girl is matched to her own consent; the younger may be under 13, where a person confirms the match
        assert result.verdict is Verdict.REVIEW, [(f.number, f.reason.value, f.detail) for f in result.faces]
        by_face = {f.number: (f.reason.value, f.consent.record_id) for f in result.faces if f.consent is not None}
        assert by_face == {2: ("consent", records[0]), 4: ("consent_young", records[1])}
        register.erase_biometrics(older.id, "prindi kërkoi fshirjen")  # one sister's erasure leaves the other's
        assert register.enrolled_faces(sha) == {4: younger.id}
        again = checks.check(FAMILY)
        assert again.verdict is Verdict.BLOCK
        assert {f.number: f.consent.record_id for f in again.faces if f.consent is not None} == {4: records[1]}


def test_the_command_says_which_child_a_face_is_enrolled_for(guard, tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    photo = _family_photo_twice_as_large(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINORGUARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("MINORGUARD_KEY", None)
    env.pop("MINORGUARD_DB", None)
    with Register(tmp_path / "data" / "register.sqlite3") as reg:
        first, second = reg.add_child("Ana"), reg.add_child("Bora")
    run = lambda child, face: subprocess.run(
        [sys.executable, "-m", "minorguard", "child", "enrol", child, str(photo), "--face", face, "--lang", "en"],
        env=env, capture_output=True, text=True, timeout=300)
    assert run(first.id, "2").returncode == 0
    refused = run(second.id, "2")
    assert refused.returncode == 64 and "Traceback" not in refused.stderr
    assert f"face 2 of this photo is already enrolled for child {first.id}" in refused.stderr
    assert run(second.id, "4").returncode == 0, "the sister's own face"


def _downgrade(url: str, revision: str) -> None:
    """Take a register back to an earlier revision, as an older minorguard left it."""
    from alembic import command
    from alembic.config import Config

    from consent_db.store import MIGRATIONS, Store

    store = Store(url, 30.0)
    try:
        with store.transaction() as session:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = session.connection()
            command.downgrade(config, revision)
    finally:
        store.close()


def test_a_register_from_before_migrations_0005_and_0006_keeps_its_data_and_takes_siblings(register_env):
    with Register(register_env["url"]) as reg:
        child = reg.add_child("Ëndrit Çani")
        reg.add_guardian(child.id, "Drita Çani")
        reg.add_enrolment(child.id, b"family photo", np.ones(8, np.float32), face_index=1, face_height_px=100, embedder="t")
        consent = reg.add_consent(child.id, PDF, date(2026, 9, 1), ["facebook"])
    _downgrade(register_env["url"], "0004")
    from sqlalchemy import create_engine, text

    engine = create_engine(register_env["url"])
    with engine.begin() as raw:  # what minorguard stored in clear before 0005
        raw.execute(text("UPDATE children SET dob = :d"), {"d": date(2015, 3, 2)})
        raw.execute(text("UPDATE guardians SET relation = 'nëna'"))
    engine.dispose()
    with Register(register_env["url"]) as reg:
        shown = reg.get_child(child.id)
        assert shown.dob == date(2015, 3, 2) and shown.guardians[0].relation == "nëna" and shown.enrolment_photos == 1
        assert reg.document(consent.id) == PDF
        sister = reg.add_child("Besa Çani")
        reg.add_enrolment(sister.id, b"family photo", np.zeros(8, np.float32), face_index=2, face_height_px=100, embedder="t")
        assert reg.enrolled_faces(hashlib.sha256(b"family photo").hexdigest()) == {1: child.id, 2: sister.id}
        with pytest.raises(RegisterError) as taken:
            reg.add_enrolment(reg.add_child("Tjetër").id, b"family photo", np.zeros(8, np.float32), face_index=1,
                              face_height_px=100, embedder="t")
        assert taken.value.code == "already_enrolled_face"
        assert reg.audit_verify().ok
    engine = create_engine(register_env["url"])
    with engine.connect() as raw:
        assert raw.execute(text("SELECT dob FROM children WHERE id = :i"), {"i": child.id}).scalar() is None
        assert raw.execute(text("SELECT relation FROM guardians")).scalar().startswith("enc1:")
    engine.dispose()
