"""Fixtures for the register tests: every register test runs on SQLite, and on
PostgreSQL too when $MINORGUARD_TEST_PG_URL names a server (scripts/start_test_postgres.sh).
Each PostgreSQL test gets its own schema, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

PG_URL = os.environ.get("MINORGUARD_TEST_PG_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# smallest files that pass the document check: complete documents (a PDF ends with %%EOF, an image decodes in full);
# a PDF made unique by a few bytes after its end still has the marker within its last 1024 bytes
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


def _pg_schema_url(schema: str) -> str:
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _pg_drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def register_env(request, tmp_path: Path, monkeypatch) -> dict:
    """Environment for one register: data dir, key path and database URL."""
    data = tmp_path / "data"
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(data))
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.setenv("MINORGUARD_ACTOR", "tester")
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("PostgreSQL not available: set MINORGUARD_TEST_PG_URL (scripts/start_test_postgres.sh)")
        schema = "t_" + secrets.token_hex(6)
        url = _pg_schema_url(schema)
        request.addfinalizer(lambda: _pg_drop(schema))
    else:
        url = f"sqlite:///{tmp_path / 'data' / 'register.sqlite3'}"
    return {"url": url, "data": data, "key": data / "register.key", "backend": request.param}


@pytest.fixture
def register(register_env):
    from consent_db import Register

    reg = Register(register_env["url"])
    yield reg
    reg.close()


def consent_for_the_portraits_girls(checks, folder: Path, channels: list[str]) -> list[str]:
    """Enrol both girls of the sample portrait (faces 2 and 4) from class photos (the portrait twice as large, one
    file per child) and record a consent for each on ``channels``; the consent records' ids, left girl first."""
    from datetime import date

    from PIL import Image

    portrait = Path(__file__).resolve().parents[1] / "sample_images" / "faceaisharp_obama_family.jpg"
    records = []
    for k, number in enumerate((2, 4)):
        enlarged = folder / f"klasa_{k}.{('jpg', 'png')[k]}"
        with Image.open(portrait) as image:
            image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(enlarged)
        child = checks.register.add_child(f"Vajza {k} Çelë")
        enrolled = checks.enrol(child.id, enlarged, number)
        assert enrolled.face == number
        form = b"%PDF-1.4\n% leje me shkrim " + child.id.encode() + b"\n%%EOF\n"
        records.append(checks.register.add_consent(child.id, form, date(2026, 9, 1), channels).id)
    return records
