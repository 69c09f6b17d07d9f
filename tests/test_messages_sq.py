"""Every line a communicator reads from the CLI exists in Albanian and English, chosen by --lang.

The commands run for real (``minorguard.cli.main``) against a register in a temporary
data folder; bad input must give the line in the asked language, exit code 64 and no
traceback. The register and event checks raise English exception texts: these tests
also catch a text that changed and no longer finds its Albanian message.
"""

from __future__ import annotations

import csv
import string
import sys
from pathlib import Path

import pytest

from minorguard.cli import EXIT_USAGE, main
from minorguard.locale import t
from minorguard.locale.messages import MESSAGES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
OBAMA = SAMPLES / "faceaisharp_obama_family.jpg"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

EVENT = ["event", "add", "--name", "Dita e sportit, Tiranë", "--start", "2026-10-25T10:00", "--end", "2026-10-25T13:00",
         "--basis", "outdoor", "--justification", "në fushë të hapur", "--id", "sport"]


@pytest.fixture
def mg(tmp_path, monkeypatch, capsys):
    """Run `minorguard ...` in-process on a register in tmp_path; returns (exit code, stderr)."""
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINORGUARD_ACTOR", "ana")
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        run.out = " ".join(captured.out.split())
        return code, " ".join(captured.err.split())  # rich wraps long lines

    return run


def _placeholders(text: str) -> set[tuple[str, str | None, str]]:
    return {(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(text) if name is not None}


def test_every_message_exists_in_both_languages_with_the_same_placeholders():
    en, sq = MESSAGES["en"], MESSAGES["sq"]
    assert sorted(set(en) - set(sq)) == []
    assert sorted(set(sq) - set(en)) == []
    differing = {key: (en[key], sq[key]) for key in en if _placeholders(en[key]) != _placeholders(sq[key])}
    assert differing == {}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "--date duhet të jetë VVVV-MM-DD, u dha '01/12/2026'"), ("en", "--date must be YYYY-MM-DD, got '01/12/2026'")],
)
def test_scan_bad_date(mg, lang, expected):
    code, err = mg("scan", str(OBAMA), "--date", "01/12/2026", "--lang", lang)
    assert code == EXIT_USAGE and expected in err


@pytest.mark.parametrize(
    ("change", "lang", "expected"),
    [
        ({"--start": "2026-10-25T10:00", "--tz": "Europe/Tirana_Old"}, "sq", "zonë kohore e panjohur 'Europe/Tirana_Old' (përdorni një emër IANA"),
        ({"--start": "2026-10-25T10:00", "--tz": "Europe/Tirana_Old"}, "en", "unknown time zone 'Europe/Tirana_Old' (use an IANA name"),
        ({"--end": "2026-10-25T09:00"}, "sq", "ngjarja mbaron (2026-10-25T09:00:00+01:00) para se të fillojë (2026-10-25T10:00:00+01:00)"),
        ({"--end": "2026-10-25T09:00"}, "en", "event ends (2026-10-25T09:00:00+01:00) before it starts (2026-10-25T10:00:00+01:00)"),
        ({"--start": "25/10/2026"}, "sq", "koha '25/10/2026' nuk është në formatin ISO 8601"),
        ({"--lat": "91", "--lon": "19.8"}, "sq", "gjerësia gjeografike 91.0 është jashtë kufijve (-90..90)"),
        ({"--lat": "41.3"}, "sq", "jepni edhe gjerësinë edhe gjatësinë gjeografike, ose asnjërën"),
        ({"--justification": ""}, "sq", "për ta deklaruar një ngjarje publike ose në ambient të hapur duhet një arsyetim"),
        ({"--justification": ""}, "en", "declaring an event public or outdoor needs a justification"),
    ],
)
def test_event_add_bad_input(mg, tmp_path, change, lang, expected):
    args = list(EVENT)
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    code, err = mg(*args, "--lang", lang)
    assert code == EXIT_USAGE and expected in err
    # nothing written, not even a register: listing then says there is none yet (and makes none either)
    code, err = mg("event", "list", "--all", "--lang", lang)
    assert code == EXIT_USAGE and ("ende nuk ka regjistër" if lang == "sq" else "no register yet") in err
    assert not (tmp_path / "data" / "register.sqlite3").exists()


def test_event_refusals_of_the_register(mg):
    assert mg(*EVENT)[0] == 0
    assert mg(*EVENT, "--lang", "sq") == (EXIT_USAGE, "gabim: një ngjarje me id 'sport' ekziston tashmë")
    assert mg(*EVENT, "--lang", "en") == (EXIT_USAGE, "error: an event with id 'sport' already exists")
    assert mg("event", "show", "nope", "--lang", "sq") == (EXIT_USAGE, "gabim: nuk ka ngjarje me id 'nope'")
    assert mg("event", "show", "nope", "--lang", "en") == (EXIT_USAGE, "error: no event with id 'nope'")
    assert mg("event", "close", "sport")[0] == 0
    assert mg("event", "update", "sport", "--place", "Durrës", "--lang", "sq") == (EXIT_USAGE, "gabim: ngjarja sport është e mbyllur")
    assert mg("event", "update", "sport", "--place", "Durrës", "--lang", "en") == (EXIT_USAGE, "error: event sport is closed")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "nuk ka ngjarje me id 'nope' (shihni `minorguard event list`)"), ("en", "unknown event id 'nope' (see `minorguard event list`)")],
)
def test_scan_unknown_event(mg, lang, expected):
    assert mg(*EVENT)[0] == 0
    code, err = mg("scan", str(OBAMA), "--event", "nope", "--lang", lang)
    assert code == EXIT_USAGE and expected in err


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "regjistri i ngjarjeve nuk është i disponueshëm:"), ("en", "the event register is not available:")],
)
def test_register_package_missing(mg, monkeypatch, lang, expected):
    monkeypatch.setitem(sys.modules, "consent_db", None)  # `import consent_db` now raises ImportError
    code, err = mg("event", "list", "--lang", lang)
    assert code == EXIT_USAGE and expected in err


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "skedari i çelësit"), ("en", "key file")],
)
def test_damaged_key(mg, tmp_path, lang, expected):
    assert mg(*EVENT)[0] == 0
    (tmp_path / "data" / "register.key").write_bytes(b"not the key")
    code, err = mg("child", "list", "--lang", lang)
    assert code == EXIT_USAGE and expected in err
    assert ("është i dëmtuar" if lang == "sq" else "is damaged") in err


def test_register_refusals_without_a_code(mg):
    assert mg("child", "add", " ", "--lang", "sq") == (EXIT_USAGE, "gabim: emri i fëmijës nuk mund të jetë bosh")
    assert mg("child", "add", " ", "--lang", "en") == (EXIT_USAGE, "error: child name must not be empty")


@pytest.fixture
def register_csv(tmp_path):
    def write(rows: list[dict], header=None, name: str = "leje.csv") -> Path:
        from minorguard.cli.register import IMPORT_COLUMNS

        (tmp_path / "a.pdf").write_bytes(PDF)
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header or IMPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return path

    return write


def test_csv_import_errors(mg, register_csv, tmp_path):
    row = {"child_name": "Ana Hoxha", "document": "a.pdf", "date_signed": "2026-09-01", "channels": "facebook"}
    bad_channel = register_csv([row, {**row, "channels": "telegram"}])
    code, err = mg("register", "import", str(bad_channel), "--lang", "sq")
    assert code == EXIT_USAGE and "leje.csv rreshti 3: kanal i panjohur 'telegram'; përdorni një nga:" in err
    code, err = mg("register", "import", str(bad_channel), "--lang", "en")
    assert code == EXIT_USAGE and "leje.csv line 3: unknown channel 'telegram'; use one of:" in err

    no_document = register_csv([{**row, "document": ""}])
    code, err = mg("register", "import", str(no_document), "--lang", "sq")
    assert code == EXIT_USAGE and "leje.csv rreshti 2: mungon dokumenti (çdo rresht kërkon skedarin e formularit të nënshkruar)" in err

    missing = register_csv([{"child_name": "Ana", "document": "a.pdf"}], header=["child_name", "document"])
    code, err = mg("register", "import", str(missing), "--lang", "sq")
    assert code == EXIT_USAGE and "mungojnë kolonat channels, date_signed; priten child_ref" in err
    code, err = mg("register", "import", str(missing), "--lang", "en")
    assert code == EXIT_USAGE and "missing column(s) channels, date_signed; expected child_ref" in err

    empty = register_csv([])
    code, err = mg("register", "import", str(empty), "--lang", "sq")
    assert code == EXIT_USAGE and "asnjë rresht për të importuar" in err

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("child_name,document,date_signed,channels\nAna Çela,a.pdf,2026-09-01,facebook\n".encode("latin-1"))
    code, err = mg("register", "import", str(latin1), "--lang", "sq")
    assert code == EXIT_USAGE and "nuk është tekst UTF-8 (ruajeni tabelën si 'CSV UTF-8')" in err
    code, err = mg("register", "import", str(latin1), "--lang", "en")
    assert code == EXIT_USAGE and "is not UTF-8 text (save the spreadsheet as 'CSV UTF-8')" in err

    code, err = mg("register", "import", str(tmp_path / "mungon.csv"), "--lang", "sq")
    assert code == EXIT_USAGE and "mungon.csv nuk lexohet dot:" in err


def test_export_written_and_audit_problems(mg, tmp_path):
    assert mg("child", "add", "Ana Hoxha")[0] == 0
    assert mg("child", "add", "Besa Çela")[0] == 0
    out = tmp_path / "eksport.json"
    assert mg("register", "export", "--output", str(out), "--lang", "sq") == (0, f"u shkrua: {out}")
    assert mg("register", "export", "--output", str(out), "--lang", "en") == (0, f"written: {out}")

    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'register.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = '{}' WHERE seq = 2"))
    engine.dispose()
    code, err = mg("audit", "verify", "--lang", "sq")
    assert code == 1 and "auditimi: regjistrimi 2: përmbajtja është ndryshuar (hash-i nuk përputhet)" in err
    code, err = mg("audit", "verify", "--lang", "en")
    assert code == 1 and "audit: entry 2: content was changed (hash mismatch)" in err


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "faqja e shqyrtimit nuk mund të hapet në 127.0.0.1:{port}: porta është tashmë në përdorim"),
     ("en", "cannot listen on 127.0.0.1:{port}: the port is already in use")],
)
def test_review_port_taken(mg, tmp_path, lang, expected):
    import socket

    report = tmp_path / "rezultati.json"
    report.write_text('{"minorguard_report": 1, "photos": []}', encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = mg("review", str(report), "--port", str(port), "--no-open", "--lang", lang)
    assert code == EXIT_USAGE and expected.format(port=port) in err


def test_child_show_and_lists_follow_lang(mg, tmp_path):
    assert mg("child", "add", "Ana Hoxha", "--dob", "2015-03-02")[0] == 0
    child = mg.out
    assert mg("guardian", "add", child, "Drita Hoxha", "--relation", "nëna")[0] == 0
    form = tmp_path / "leje ç.pdf"
    form.write_bytes(PDF)
    assert mg("consent", "add", child, "--document", str(form), "--channel", "facebook", "--signed", "2026-09-01")[0] == 0
    record = mg.out

    assert mg("child", "show", child, "--lang", "sq")[0] == 0
    assert "Ana Hoxha datëlindja 2015-03-02 foto regjistrimi: 0" in mg.out
    assert "prindi/kujdestari" in mg.out and "Drita Hoxha (nëna)" in mg.out
    assert f"leja {record}: facebook; nga 2026-09-01 deri më pa afat; nënshkruar më 2026-09-01; aktive; dokumenti" in mg.out
    assert mg("child", "show", child, "--lang", "en")[0] == 0
    assert "Ana Hoxha born 2015-03-02 enrolment photos: 0" in mg.out
    assert f"consent {record}: facebook; 2026-09-01 to open; signed 2026-09-01; active; document" in mg.out

    assert mg("child", "list", "--lang", "sq")[0] == 0 and "fëmijët" in mg.out
    assert mg("child", "list", "--lang", "en")[0] == 0 and "children" in mg.out
    assert mg("consent", "withdraw", record, "--reason", "prindi e tërhoqi", "--date", "2026-10-01")[0] == 0
    assert mg("child", "show", child, "--lang", "sq")[0] == 0
    assert "e tërhequr më 2026-10-01: prindi e tërhoqi" in mg.out
    assert mg("consent", "list", "--lang", "sq")[0] == 0 and "lejet" in mg.out
    assert mg("consent", "list", "--lang", "en")[0] == 0 and "consents" in mg.out

    assert mg(*EVENT)[0] == 0
    assert mg("event", "show", "sport", "--lang", "sq")[0] == 0
    assert "fillimi" in mg.out and "arsyetimi" in mg.out and "deklaruar nga" in mg.out
    assert mg("event", "show", "sport", "--lang", "en")[0] == 0
    assert "justification" in mg.out and "declared by" in mg.out
    assert mg("event", "close", "sport")[0] == 0
    assert mg("event", "list", "--all", "--lang", "sq")[0] == 0 and "(e mbyllur)" in mg.out
    assert mg("event", "list", "--all", "--lang", "en")[0] == 0 and "(closed)" in mg.out


@pytest.mark.parametrize(
    ("lang", "warning", "channel"),
    [
        ("sq", "paralajmërim: 1 foto regjistrimi janë bërë me një model fytyrash të ndryshëm nga", "kanal i panjohur 'telegram'; përdorni një nga:"),
        ("en", "warning: 1 enrolment photo(s) were made with another face embedder than", "unknown channel 'telegram'; use one of:"),
    ],
)
def test_scan_with_the_register_warns_and_refuses_in_lang(mg, tmp_path, lang, warning, channel):
    """The scan's register lines: enrolments by another embedder (warning), an unknown --channel (usage error)."""
    import numpy as np
    from PIL import Image

    assert mg("child", "add", "Ana Hoxha")[0] == 0
    child = mg.out
    from consent_db import Register

    with Register(None, actor="test") as reg:
        reg.add_enrolment(child, b"reference photo", np.ones(512, dtype=np.float32), face_index=1, face_height_px=200.0,
                          embedder="another-embedder")
    blank = tmp_path / "pa fytyrë ë.jpg"  # no face: the scan itself says nothing, only the register lines matter
    Image.new("RGB", (320, 240), (120, 160, 200)).save(blank)
    code, err = mg("scan", str(blank), "--lang", lang, "--workers", "1")
    assert code == 0 and warning in err
    code, err = mg("scan", str(blank), "--channel", "telegram", "--lang", lang, "--workers", "1")
    assert code == EXIT_USAGE and channel in err


def test_export_says_in_albanian_why_a_photo_was_not_exported(mg, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "çështje.jpg").write_text("jo foto", encoding="utf-8")
    (first / "dita.jpg").write_text("jo foto", encoding="utf-8")
    (second / "dita.jpg").write_text("jo foto", encoding="utf-8")
    code, _ = mg("export", str(first / "çështje.jpg"), str(first / "dita.jpg"), str(second / "dita.jpg"),
                 "--out", str(tmp_path / "botim"), "--lang", "sq")
    assert code == 2
    assert "çështje.jpg — fotoja nuk mund të kontrollohej: " in mg.out and "nuk është skedar imazhi" in mg.out
    assert f"një foto tjetër ka të njëjtin emër dalje: {first / 'dita.jpg'}" in mg.out
    assert "cannot" not in mg.out and "same output name" not in mg.out
    manifest = (tmp_path / "botim" / "minorguard-manifest.json").read_text(encoding="utf-8")
    assert '"code": "not_checked"' in manifest and '"code": "same_output_name"' in manifest
    mg("export", str(first / "çështje.jpg"), "--out", str(tmp_path / "en"), "--lang", "en")
    assert "not an image file" in mg.out  # English keeps the full message


def test_every_coded_error_raised_in_the_code_has_its_message():
    """Policy, model, report, register and event errors build their line from a catalogue key:
    a code with no entry in both languages would show the bare key to a communicator."""
    import re

    from minorguard.models.base import ModelError
    from minorguard.rules.policy import PolicyError

    catalogue = {"PolicyError": PolicyError.catalogue, "Problem": None, "ModelError": ModelError.catalogue,
                 "ResultsFileError": "results", "RegisterError": "register", "NotFound": "register",
                 "KeyProblem": "register", "RegisterBusy": "register", "_require_text": "register", "_get": "register",
                 "EventInputError": "event"}
    root = Path(__file__).resolve().parents[1]
    raised = set()
    pattern = re.compile(r"\b(" + "|".join(catalogue) + r")\((?:[^()\"]*, )?\s*\"([\w.]+)\"")
    for source in [*(root / "minorguard").rglob("*.py"), *(root / "consent_db").rglob("*.py")]:
        text = source.read_text("utf-8")
        for kind, code in pattern.findall(text):
            if kind == "Problem":  # policy problems; audit findings (consent_db) are register keys
                kind = "PolicyError" if source.name == "policy.py" else "RegisterError"
            raised.add(code if "." in code else f"{catalogue[kind]}.{code}")
    assert len(raised) >= 110  # the scan finds the raise sites of every kind
    assert sorted(k for k in raised if k not in MESSAGES["en"] or k not in MESSAGES["sq"]) == []


def test_coded_errors_are_english_in_str_and_albanian_in_text():
    from consent_db import RegisterError
    from minorguard.rules.events import EventInputError

    error = RegisterError("no_face", label="foto_ë.jpg")
    assert str(error) == error.message == "foto_ë.jpg: no face found; use a clear, front-facing photo of the child alone"
    assert error.text("sq").startswith("foto_ë.jpg: nuk u gjet asnjë fytyrë")
    error.at_line(7)
    assert str(error).startswith("line 7: foto_ë.jpg: no face") and error.text("sq").startswith("rreshti 7: foto_ë.jpg:")
    assert str(RegisterError("event.exists", id="'sport'")) == "an event with id 'sport' already exists"
    assert EventInputError("lat_range", lat=91).text("sq") == t("event.lat_range", "sq", lat=91) != str(EventInputError("lat_range", lat=91))


def _bad_policy(tmp_path: Path) -> list[str]:
    policy = tmp_path / "politika.toml"
    policy.write_text('[minor]\nreview_probability = "e ulët"\n', encoding="utf-8")
    return ["scan", str(OBAMA), "--policy", str(policy)]


def _no_pack(tmp_path: Path) -> list[str]:
    return ["scan", str(OBAMA), "--models", str(tmp_path / "s'ka këtu")]


def _not_a_report(tmp_path: Path) -> list[str]:
    report = tmp_path / "raport.json"
    report.write_text('{"diçka": 1}', encoding="utf-8")
    return ["review", str(report), "--no-open"]


@pytest.mark.parametrize(
    ("command", "lang", "expected"),
    [
        (_bad_policy, "sq", "minor.review_probability duhet të jetë numër"),
        (_bad_policy, "en", "minor.review_probability must be a number"),
        (_no_pack, "sq", "nuk është as 'default' as dosje"),
        (_no_pack, "en", "is neither 'default' nor a folder"),
        (_not_a_report, "sq", "nuk është rezultat skanimi i minorguard"),
        (_not_a_report, "en", "is not a minorguard scan result"),
    ],
)
def test_policy_model_and_report_errors_follow_lang(mg, tmp_path, command, lang, expected):
    code, err = mg(*command(tmp_path), "--lang", lang)
    assert code == EXIT_USAGE
    assert expected in err


def test_policy_with_several_bad_values_names_each_in_albanian(mg, tmp_path):
    policy = tmp_path / "politika.toml"
    policy.write_text("[minor]\nchallenge_age = 12\n[limits]\nmax_pixels = 0\n", encoding="utf-8")
    code, err = mg("scan", str(OBAMA), "--policy", str(policy), "--lang", "sq")
    assert code == EXIT_USAGE
    assert "minor.challenge_age duhet të jetë midis 25 dhe 100; limits.max_pixels duhet të jetë midis 1 dhe 2000000000" in err


def test_models_folder_without_onnx_in_albanian(mg, tmp_path):
    folder = tmp_path / "modelë"
    folder.mkdir()
    code, err = mg("models", "--models", str(folder), "--lang", "sq")
    assert code == EXIT_USAGE
    assert f"nuk ka skedarë .onnx në {folder}" in err


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("sq", "deklaruar për këtë skanim: Dita e sportit, Tiranë (koha e vetë fotos nuk u kontrollua dot: "),
     ("en", "declared for this scan: Dita e sportit, Tiranë (the photo's own time could not be checked: ")],
)
def test_scan_quotes_the_event_link_in_lang(mg, tmp_path, lang, expected):
    """The event link's note is quoted in each face's reason: it follows --lang like the reason around it."""
    import json

    assert mg(*EVENT)[0] == 0
    report = tmp_path / "raporti.json"
    code, _ = mg("scan", str(OBAMA), "--event", "sport", "--json", str(report), "--lang", lang)
    assert code in (0, 1, 2)
    photo = json.loads(report.read_text(encoding="utf-8"))["photos"][0]
    assert photo["event"]["note"].startswith(expected)  # the portrait has no EXIF time: the note says so, in lang


def test_the_systems_reasons_are_said_in_the_readers_language():
    import errno

    from consent_db.errors import RegisterError
    from minorguard.locale.os_reasons import os_reason, say_os_error

    denied = PermissionError(errno.EACCES, "Permission denied")
    error = RegisterError("document_unreadable", path="leja.pdf", error=os_reason(denied))
    assert error.text("sq") == "dokumenti leja.pdf nuk lexohet dot: nuk ka leje"
    assert str(error) == "cannot read document leja.pdf: permission denied"
    assert say_os_error(OSError(errno.ENOSPC, "No space left on device"), "sq") == "nuk ka më hapësirë në disk"
    # a reason without a phrase keeps the system's words rather than none
    assert say_os_error(OSError(errno.ETIMEDOUT, "Connection timed out"), "sq") == "Connection timed out"
