"""A data-protection audit of the register: a signed form is a whole document (not its first five bytes), a
withdrawal is dated when it can have happened, and a child's biometric data can be erased on demand and is erased
when the never-publish flag that kept it is cleared with no consent in force."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from register_fixtures import PDF, PNG, register, register_env  # noqa: F401

from consent_db import Register, RegisterError
from minorguard.cli import EXIT_USAGE, main

TODAY = date.today()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
OBAMA = SAMPLES / "faceaisharp_obama_family.jpg"


def run(env: dict, *args: str, lang: str = "en") -> int:
    return main([*args, "--db", env["url"], "--lang", lang])


def _said(capsys) -> tuple[str, str]:
    """(standard output, standard error), each on one line as a person reads it (rich wraps long lines)."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return " ".join(captured.out.split()), " ".join(captured.err.split())


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def _enrol(reg: Register, child_id: str, n: int) -> None:
    for k in range(n):
        reg.add_enrolment(child_id, f"foto-{child_id}-{k}".encode(), _vec(k), face_index=1, face_height_px=120, embedder="t")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _pages(fmt: str, n: int) -> bytes:
    buffer = io.BytesIO()
    pages = [Image.new("RGB", (40, 30), (k, 0, 0)) for k in range(n)]
    pages[0].save(buffer, fmt, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


# -- 2. a signed form is a complete document -----------------------------------------------------------------------
INCOMPLETE = {
    "the audit's five bytes": b"%PDF-",
    "a PDF header alone": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "a PDF cut short": PDF[: PDF.index(b"%%EOF")],
    "a PNG signature and zeros": b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
    "a JPEG cut in half": _jpeg()[: len(_jpeg()) // 2],
    "a real photo cut short": OBAMA.read_bytes()[:20000],
    "a scan of three pages cut short": _pages("TIFF", 3)[:-200],
    "a decompression bomb": _png(Image.new("1", (12000, 12000))),  # 144 million pixels in 17 KB
}


@pytest.mark.parametrize("data", INCOMPLETE.values(), ids=INCOMPLETE.keys())
def test_an_incomplete_document_is_refused_by_the_library_and_nothing_written(register, data):
    child = register.add_child("Ana Hoxha")
    before = register.audit_verify().entries
    with pytest.raises(RegisterError) as refused:
        register.add_consent(child.id, data, TODAY - timedelta(days=3), ["facebook"])
    assert refused.value.code == "document_incomplete"
    assert "the consent document is not a complete document" in refused.value.text("en")
    assert "dokumenti i lejes nuk është dokument i plotë" in refused.value.text("sq")
    assert register.list_consents() == [] and register.audit_verify().entries == before


@pytest.mark.parametrize("data", [PDF, PDF + b"ch-1234", b"%PDF-1.4\n%%EOF\n", PNG, _jpeg(), OBAMA.read_bytes(), _pages("TIFF", 3),
                                  _pages("WEBP", 1)],
                         ids=["pdf", "pdf-bytes-after-eof", "pdf-minimal", "png", "jpeg", "photo", "tiff-3-pages", "webp"])
def test_a_complete_document_is_recorded(register, data):
    child = register.add_child("Ana Hoxha")
    record = register.add_consent(child.id, data, TODAY - timedelta(days=3), ["facebook"])
    assert register.document(record.id) == data


def test_consent_add_refuses_a_five_byte_pdf_in_one_line_naming_it(register_env, tmp_path, capsys):
    """The audit: `printf '%PDF-' > tiny.pdf; minorguard consent add CHILD --document tiny.pdf ...` succeeded."""
    assert run(register_env, "child", "add", "Ana Hoxha") == 0
    child = capsys.readouterr().out.strip()
    tiny = tmp_path / "leja e vogël.pdf"
    tiny.write_bytes(b"%PDF-")
    args = ("consent", "add", child, "--document", str(tiny), "--channel", "facebook", "--signed", "2026-09-01")
    assert run(register_env, *args) == EXIT_USAGE
    _out, err = _said(capsys)
    assert f"{tiny} is not a complete document" in err and "%%EOF" in err and err.count("error") == 1
    assert run(register_env, *args, lang="sq") == EXIT_USAGE
    assert f"{tiny} nuk është dokument i plotë" in _said(capsys)[1]
    with Register(register_env["url"]) as reg:
        assert reg.list_consents() == []


def test_register_import_refuses_an_incomplete_document_and_imports_nothing(register_env, tmp_path, capsys):
    from test_register_cli import _write_import

    path = _write_import(tmp_path, [
        {"child_name": "Ana Hoxha", "document": "forms/a.pdf", "date_signed": "2026-09-01", "channels": "facebook"},
        {"child_name": "Besa Çela", "document": "forms/c.png", "date_signed": "2026-09-01", "channels": "facebook"},
    ])
    (tmp_path / "forms" / "c.png").write_bytes(PNG[: len(PNG) - 20])  # cut before its end
    assert run(register_env, "register", "import", str(path)) == EXIT_USAGE
    err = _said(capsys)[1]
    assert "line 3" in err and f"{tmp_path / 'forms' / 'c.png'} is not a complete document" in err
    assert "PNG image cannot be decoded in full" in err
    with Register(register_env["url"]) as reg:
        assert reg.list_children() == []


# -- 3. a withdrawal is dated when it can have happened ---------------------------------------------------------------
@pytest.mark.parametrize("on, code", [(date(1999, 1, 1), "withdrawn_before_signed"), (TODAY - timedelta(days=6), "withdrawn_before_signed"),
                                      (TODAY + timedelta(days=1), "withdrawn_future")])
def test_a_withdrawal_before_the_signature_or_in_the_future_is_refused(register, on, code):
    child = register.add_child("Ana Hoxha")
    record = register.add_consent(child.id, PDF, TODAY - timedelta(days=5), ["facebook"], valid_from=TODAY - timedelta(days=2))
    _enrol(register, child.id, 1)
    with pytest.raises(RegisterError) as refused:
        register.withdraw_consent(record.id, "test", on)
    assert refused.value.code == code
    assert register.get_consent(record.id).status == "active" and register.get_child(child.id).enrolment_photos == 1


def test_a_withdrawal_on_the_signing_day_before_validity_begins_or_today_is_taken(register):
    child = register.add_child("Ana Hoxha")
    signed = TODAY - timedelta(days=5)
    first = register.add_consent(child.id, PDF, signed, ["facebook"], valid_from=TODAY + timedelta(days=30))
    second = register.add_consent(child.id, PDF, signed, ["print"])
    assert register.withdraw_consent(first.id, "parent asked before it began", signed).withdrawn_on == signed
    assert register.withdraw_consent(second.id, "parent asked").withdrawn_on == TODAY


def test_consent_withdraw_with_a_date_before_signing_is_one_line_exit_64(register_env, tmp_path, capsys):
    """The audit: `consent withdraw ID --reason test --date 1999-01-01` on a consent signed 2026-12-01 printed
    "withdrawn on 1999-01-01"."""
    signed = TODAY - timedelta(days=3)
    with Register(register_env["url"]) as reg:
        child = reg.add_child("Ana Hoxha")
        record = reg.add_consent(child.id, PDF, signed, ["facebook"]).id
    assert run(register_env, "consent", "withdraw", record, "--reason", "test", "--date", "1999-01-01") == EXIT_USAGE
    out, err = _said(capsys)
    assert f"withdrawal date 1999-01-01 is before consent {record} was signed ({signed})" in err and "withdrawn on" not in out
    later = (TODAY + timedelta(days=2)).isoformat()
    assert run(register_env, "consent", "withdraw", record, "--reason", "test", "--date", later, lang="sq") == EXIT_USAGE
    assert f"data e tërheqjes {later} është në të ardhmen" in _said(capsys)[1]
    with Register(register_env["url"]) as reg:
        assert reg.get_consent(record).status == "active"


# -- 4. erasing a child's biometric data ------------------------------------------------------------------------------
@pytest.fixture
def scrubs(monkeypatch) -> list[str]:
    """Every Store.scrub (the write-ahead log emptied after an erasure), by the register it scrubbed."""
    from consent_db.store import Store

    done: list[str] = []
    real = Store.scrub
    monkeypatch.setattr(Store, "scrub", lambda self: (done.append(self.label), real(self))[1])
    return done


def test_child_erase_photos_erases_audits_and_scrubs(register_env, capsys, scrubs):
    with Register(register_env["url"]) as reg:
        child = reg.add_child("Ana Hoxha").id
        _enrol(reg, child, 2)
    assert run(register_env, "child", "erase-photos", child) == 0
    out, _ = _said(capsys)
    assert f"{child}: 2 enrolment photo(s) and their face embeddings erased" in out
    assert len(scrubs) == 1
    with Register(register_env["url"]) as reg:
        info = reg.get_child(child)
        assert info.enrolment_photos == 0 and info.biometrics_erased_at is not None and reg.enrolment_embeddings() == {}
        entry = reg.audit_entries()[-1]
        assert (entry["action"], entry["subject"], json.loads(entry["details"])["photos"]) == ("biometrics_erased", child, 2)
        assert reg.audit_verify().ok
    assert run(register_env, "child", "erase-photos", child, lang="sq") == 0
    assert f"{child} nuk ka foto regjistrimi: nuk ka asgjë për të fshirë" in _said(capsys)[0]


def test_child_erase_photos_keeps_a_never_publish_childs_photos(register_env, capsys):
    with Register(register_env["url"]) as reg:
        child = reg.add_child("Ana Hoxha").id
        _enrol(reg, child, 1)
        reg.set_never_publish(child, True, "custody case")
    assert run(register_env, "child", "erase-photos", child) == EXIT_USAGE
    assert f"{child} is on the never-publish list" in _said(capsys)[1]
    assert run(register_env, "child", "erase-photos", "ch-00000000") == EXIT_USAGE
    assert "no child with id 'ch-00000000'" in _said(capsys)[1]
    with Register(register_env["url"]) as reg:
        assert reg.get_child(child).enrolment_photos == 1


def test_never_publish_off_without_a_consent_in_force_erases_the_photos(register_env, capsys, scrubs):
    """The audit: a child with enrolment photos and no consent, on the never-publish list and then taken off it, kept
    them for ever (purge_expired skips children with no consents)."""
    with Register(register_env["url"]) as reg:
        alone = reg.add_child("Ana Hoxha").id
        consented = reg.add_child("Besa Çela").id
        reg.add_consent(consented, PDF, TODAY - timedelta(days=3), ["facebook"])
        for child in (alone, consented):
            _enrol(reg, child, 2)
            reg.set_never_publish(child, True, "custody case")
    assert run(register_env, "child", "never-publish", consented, "--off") == 0
    assert "erased" not in _said(capsys)[0]
    assert run(register_env, "child", "never-publish", alone, "--off") == 0
    out, _ = _said(capsys)
    assert f"{alone}: never publish off" in out and f"{alone}: no consent in force, so its 2 enrolment photo(s)" in out
    assert len(scrubs) == 1
    with Register(register_env["url"]) as reg:
        assert reg.get_child(alone).enrolment_photos == 0 and reg.get_child(consented).enrolment_photos == 2
        assert set(reg.enrolment_embeddings()) == {consented}
        assert [e["action"] for e in reg.audit_entries()[-2:]] == ["never_publish_cleared", "biometrics_erased"]
        assert reg.audit_verify().ok


def test_the_library_clears_the_flag_and_erases_in_one_step(register):
    child = register.add_child("Ana Hoxha")
    _enrol(register, child.id, 1)
    register.set_never_publish(child.id, True, "custody case")
    assert register.get_child(child.id).enrolment_photos == 1  # kept while on the list: they recognise her
    cleared = register.set_never_publish(child.id, False)
    assert not cleared.never_publish and cleared.enrolment_photos == 0 and cleared.biometrics_erased_at is not None
