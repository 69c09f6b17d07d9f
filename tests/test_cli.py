"""The scan command as a communicator and a script use it: exit codes, reports, languages."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from minorguard.cli import EXIT_BLOCK, EXIT_PASS, EXIT_USAGE, main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
OBAMA = SAMPLES / "faceaisharp_obama_family.jpg"
BIDEN = SAMPLES / "faceaisharp_biden_7mpx.jpg"


def test_pass_exit_code(guard):
    assert main(["scan", str(BIDEN)]) == EXIT_PASS


def test_block_exit_code_and_reports(guard, tmp_path, capsys):
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    code = main(["scan", str(OBAMA), str(BIDEN), "--json", str(out_json), "--csv", str(out_csv), "--lang", "en"])
    assert code == EXIT_BLOCK
    text = capsys.readouterr().out
    assert "BLOCK" in text and "possible minor" in text
    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert [p["verdict"] for p in report["photos"]] == ["BLOCK", "PASS"]
    assert report["model_pack"] and report["policy_version"]
    # the groups name faces by the same number as the photos' faces (it was their index, one less)
    numbers = {(p["source"], f["face"]) for p in report["photos"] for f in p["faces"]}
    members = [m for g in report["groups"] for m in g["faces"]]
    assert members and all((m["source"], m["face"]) in numbers and m["face_index"] == m["face"] - 1 for m in members)
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (ë, ç) only with the mark
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig")))
    assert len(rows) == 5 and {r["verdict"] for r in rows} == {"BLOCK", "PASS"}


def test_albanian_messages(guard, capsys):
    main(["scan", str(OBAMA), "--lang", "sq"])
    text = capsys.readouterr().out
    assert "BLLOKOHET" in text and "i mitur" in text


def test_folder_scan_with_bad_files_and_loops(guard, tmp_path, capsys):
    folder = tmp_path / "ngjarja në shkollë"
    (folder / "nën").mkdir(parents=True)
    shutil.copy(OBAMA, folder / "nën" / "fëmijë.jpg")
    (folder / "bosh.jpg").write_bytes(b"")
    (folder / "nën" / "lak").symlink_to(folder, target_is_directory=True)  # loop
    (folder / "shënime.txt").write_text("not a photo", encoding="utf-8")
    shutil.copy(OBAMA, folder / "nën" / "lëvizje.gif")  # judged by its content, whatever its name says
    (folder / "nën" / "kamera.DNG").write_bytes(b"II*\0")
    (folder / "nën" / "festa.MP4").write_bytes(b"\0\0\0\x18ftypmp42")  # videos are published too: never a silent gap
    (folder / "nën" / "._fëmijë.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(80))  # macOS metadata twin: not a photo
    (folder / "._vetëm.jpg").write_bytes(b"\x00\x05\x16\x07")  # no twin: checked, and an ERROR
    out = tmp_path / "r.json"
    code = main(["scan", str(folder), "--recursive", "--json", str(out), "--lang", "en"])
    assert code == EXIT_BLOCK
    photos = json.loads(out.read_text(encoding="utf-8"))["photos"]
    verdicts = {Path(p["source"]).name: (p["verdict"], p["error_code"]) for p in photos}
    assert verdicts == {"bosh.jpg": ("ERROR", "empty_file"), "fëmijë.jpg": ("BLOCK", None),
                        "lëvizje.gif": ("BLOCK", None), "kamera.DNG": ("ERROR", "uncheckable_type"),
                        "._vetëm.jpg": ("ERROR", "not_an_image"), "festa.MP4": ("ERROR", "video")}


def test_folder_that_cannot_be_listed_is_an_error_not_a_silent_skip(guard, tmp_path, capsys, tree_with_closed_subfolder):
    """A subfolder the scan cannot open hides photos nobody checked: it is an ERROR, explained, never skipped."""
    folder, _ = tree_with_closed_subfolder
    out = tmp_path / "r.json"
    # the closed folder is simulated in this process (the tests run as root): the local engine judges here
    assert main(["scan", str(folder), "--recursive", "--json", str(out), "--lang", "sq", "--engine", "local"]) == EXIT_BLOCK
    photos = {Path(p["source"]).name: p for p in json.loads(out.read_text(encoding="utf-8"))["photos"]}
    assert {name: p["verdict"] for name, p in photos.items()} == {"mbyllur": "ERROR", "portret.jpg": "BLOCK"}
    assert photos["mbyllur"]["error_code"] == "folder_unreadable"
    assert "fotot në të nuk u kontrolluan" in " ".join(capsys.readouterr().out.split())


def test_bad_photos_are_explained_in_the_communicators_language(tmp_path, capsys):
    """One ERROR line per bad photo, in Albanian by default and in English on request; never a traceback."""
    folder = tmp_path / "dosja_ë"
    folder.mkdir()
    (folder / "bosh.jpg").write_bytes(b"")
    (folder / "tekst.jpg").write_text("nuk është foto", encoding="utf-8")
    (folder / "gjysmë.jpg").write_bytes(OBAMA.read_bytes()[:20000])
    expected = {
        "sq": ("skedar bosh (0 bajt)", "nuk është skedar imazhi", "skedari është i cunguar ose i dëmtuar"),
        "en": ("empty file (0 bytes)", "not an image file", "file is truncated or damaged"),
    }
    for lang, reasons in expected.items():
        assert main(["scan", str(folder), "--lang", lang, "--workers", "1"]) == EXIT_BLOCK
        captured = capsys.readouterr()
        lines = [line for line in captured.out.splitlines() if "bosh.jpg" in line or "tekst.jpg" in line or "gjysmë.jpg" in line]
        assert len(lines) == 3, captured.out
        for name, reason in zip(("bosh.jpg", "tekst.jpg", "gjysmë.jpg"), reasons):
            assert any(name in line and reason in line for line in lines), (lang, name, lines)
        assert "Traceback" not in captured.out + captured.err
        if lang == "sq":
            assert "empty file" not in captured.out and "truncated" not in captured.out


@pytest.mark.parametrize(
    "args",
    [["scan", "/no/such/folder"], ["scan"], ["scan", "--bogus", "x"], ["scan", str(OBAMA), "--date", "27/11/2026"],
     ["scan", str(OBAMA), "--date", "20261127"], ["scan", str(OBAMA), "--date", "2026-W48-5"], []],
    ids=["missing-path", "no-paths", "unknown-option", "bad-date", "date-without-dashes", "week-date", "no-command"],
)
def test_usage_errors_exit_64(args):
    assert main(args) == EXIT_USAGE


def test_bad_policy_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "p.toml"
    bad.write_text("[minor]\nchallenge_age = 5\n", encoding="utf-8")
    assert main(["scan", str(OBAMA), "--policy", str(bad)]) == EXIT_USAGE
    assert "challenge_age" in capsys.readouterr().err


def test_console_script_never_prints_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    (tmp_path / "x.jpg").write_text("jo foto", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "minorguard", "scan", str(tmp_path / "x.jpg")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == EXIT_BLOCK
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "x.jpg" in proc.stdout


def test_models_lists_files_with_hashes_and_licences(capsys):
    assert main(["models"]) == EXIT_PASS
    text = capsys.readouterr().out
    assert "CC0-1.0" in text and "MIT" in text
    assert "age-v1.onnx" in text.replace("\n", "") or "Cydral" in text
    assert "licenca" in text and "licence" not in text  # the headers in the reader's language (Albanian by default)


def test_scan_with_a_register_leaves_one_audit_entry_per_photo(guard, tmp_path, monkeypatch):
    """Every verdict is in the hash-chained log, without the file's name (it may name a child)."""
    from consent_db import Register

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    bad = tmp_path / "Ana Hoxha në klasë.jpg"
    bad.write_bytes(b"")
    db = tmp_path / "data" / "register.sqlite3"
    Register(db).close()  # made by the register commands; a scan never makes one
    assert main(["scan", str(OBAMA), str(BIDEN), str(bad), "--db", str(db), "--channel", "facebook", "--date", "2026-12-01"]) == EXIT_BLOCK
    with Register(db) as register:
        checked = [e for e in register.audit_entries() if e["action"] == "photo_checked"]
        assert sorted(e["subject"] for e in checked) == ["BLOCK", "ERROR", "PASS"]
        block = next(json.loads(e["details"]) for e in checked if e["subject"] == "BLOCK")
        assert [f[1:] for f in block["faces"]].count(["block", "possible_minor"]) == 2
        assert block["channel"] == "facebook" and block["date"] == "2026-12-01" and block["model_pack"]
        assert not any("Hoxha" in e["details"] or "Hoxha" in e["subject"] for e in checked)
        assert register.audit_verify().ok


def test_scan_whose_audit_entries_cannot_be_written_fails(guard, tmp_path, monkeypatch, capsys):
    from consent_db import Register, RegisterError

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)

    def refuse(self, checks):
        raise RegisterError("busy")

    Register(tmp_path / "data" / "register.sqlite3").close()
    monkeypatch.setattr(Register, "audit_checks", refuse)
    assert main(["scan", str(BIDEN), "--db", str(tmp_path / "data" / "register.sqlite3"), "--lang", "en"]) == EXIT_USAGE
    assert "could not be written to the audit log" in " ".join(capsys.readouterr().err.split())


def test_every_picture_in_a_folder_is_checked_or_listed(guard, tmp_path, capsys, monkeypatch):
    """Issue: .mpo, .ppm, .qoi, .apng, .avifs and pictures whose names do not say so were neither checked nor listed."""
    from PIL import Image

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "dosja"
    (folder / "nën").mkdir(parents=True)
    family = OBAMA.read_bytes()
    (folder / "familja.jpg.bak").write_bytes(family)  # a JPEG whose name does not say so: judged
    (folder / "IMG_0001").write_bytes(family)  # no suffix at all: judged
    (folder / "kamera.mpo").write_bytes(family)  # a camera's multi-picture JPEG: judged
    with Image.open(OBAMA) as image:
        image.save(folder / "foto.ppm")
    for name in ("lëvizje.apng", "sekuencë.avifs", "foto.qoi"):
        (folder / name).write_bytes(b"not decoded here")  # listed as pictures that cannot be checked
    (folder / "shënime.txt").write_text("not a picture", encoding="utf-8")
    (folder / "nën" / "fëmijë.jpg").write_bytes(family)  # a sub-folder without --recursive
    report = tmp_path / "r.json"
    assert main(["scan", str(folder), "--json", str(report), "--lang", "en"]) == EXIT_BLOCK
    err = capsys.readouterr().err
    photos = {Path(p["source"]).name: p for p in json.loads(report.read_text(encoding="utf-8"))["photos"]}
    assert set(photos) == {"familja.jpg.bak", "IMG_0001", "kamera.mpo", "foto.ppm", "lëvizje.apng", "sekuencë.avifs", "foto.qoi"}
    assert {photos[n]["verdict"] for n in ("familja.jpg.bak", "IMG_0001", "kamera.mpo")} == {"BLOCK"}
    assert all(photos[n]["verdict"] == "ERROR" for n in ("foto.ppm", "lëvizje.apng", "sekuencë.avifs", "foto.qoi"))
    assert "1 sub-folder(s) were not searched" in err
    # export says the same of the sub-folder it left out
    assert main(["export", str(folder), "--out", str(tmp_path / "kopje"), "--lang", "en"]) in (0, 1, 2)
    assert "1 sub-folder(s) were not searched" in capsys.readouterr().err


def test_animated_and_bmp_pictures_are_judged_and_the_worst_frame_is_named(guard, tmp_path, capsys, monkeypatch):
    """Issue: GIF and BMP were refused, animations too, although a post's GIF can show a child."""
    from PIL import Image

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    with Image.open(BIDEN) as adult, Image.open(OBAMA) as family:
        first, second = adult.convert("RGB").resize((600, 800)), family.convert("RGB").resize((600, 400))
    first.save(tmp_path / "urim.gif", save_all=True, append_images=[second], duration=200)  # the girls in frame 2
    first.save(tmp_path / "zyrtar.bmp")
    second.save(tmp_path / "familja.gif")  # one frame: judged, and copied with the girls hidden
    report, table = tmp_path / "r.json", tmp_path / "r.csv"
    assert main(["scan", str(tmp_path / "urim.gif"), str(tmp_path / "zyrtar.bmp"), "--json", str(report), "--csv", str(table),
                 "--lang", "en"]) == EXIT_BLOCK
    assert "(frame 2 of 2)" in capsys.readouterr().out
    rows = list(csv.DictReader(table.open(encoding="utf-8-sig")))  # the CSV says which frame its faces are from
    assert {(Path(r["source"]).name, r["frame"], r["frames"]) for r in rows} == {("urim.gif", "2", "2"), ("zyrtar.bmp", "", "")}
    photos = {Path(p["source"]).name: p for p in json.loads(report.read_text(encoding="utf-8"))["photos"]}
    assert (photos["urim.gif"]["verdict"], photos["urim.gif"]["frame"], photos["urim.gif"]["frames"]) == ("BLOCK", 1, 2)
    assert photos["zyrtar.bmp"]["verdict"] == "PASS"
    # export refuses the animation with its reason (a copy would keep one frame), and copies the BMP
    assert main(["export", str(tmp_path / "urim.gif"), str(tmp_path / "zyrtar.bmp"), "--out", str(tmp_path / "kopje"), "--lang", "en"]) == 2
    manifest = json.loads((tmp_path / "kopje" / "minorguard-manifest.json").read_text(encoding="utf-8"))
    codes = {Path(p["source"]).name: (p["status"], p.get("code")) for p in manifest["photos"]}
    assert codes["urim.gif"] == ("error", "multi_frame") and codes["zyrtar.bmp"][0] == "exported"
    assert main(["export", str(tmp_path / "familja.gif"), "--out", str(tmp_path / "kopje2"), "--lang", "en"]) == 0
    assert main(["scan", str(tmp_path / "kopje2" / "familja.gif"), "--lang", "en"]) == EXIT_PASS  # re-checked: no girl left


@pytest.mark.parametrize("option", ["--json", "--csv", "--html", "--jsonl", "--incremental"])
def test_a_report_named_like_a_photo_being_checked_is_refused_before_anything_is_judged(tmp_path, capsys, option):
    """`scan a.jpg --json a.jpg` used to write the report over the original photo."""
    photo = tmp_path / "foto_çelë.jpg"
    shutil.copy(OBAMA, photo)
    before = photo.read_bytes()
    assert main(["scan", str(tmp_path), option, str(tmp_path / "." / photo.name), "--lang", "en"]) == EXIT_USAGE
    assert "is one of the photos being checked" in " ".join(capsys.readouterr().err.split())
    assert photo.read_bytes() == before


def test_report_paths_that_cannot_be_written_are_refused_before_the_scan(tmp_path, capsys):
    fifo = tmp_path / "tub"
    os.mkfifo(fifo)
    for args, said in [
        (["--json", str(tmp_path / "nuk-ka" / "r.json")], "there is no folder"),
        (["--csv", str(tmp_path)], "it is a folder"),
        (["--json", str(tmp_path / "r"), "--html", str(tmp_path / "r")], "named for two outputs"),
        # a rename over a device replaced it with the report (the audit's `--json /dev/full`, as root)
        (["--json", str(fifo)], "not a regular file"),
        (["--csv", "/dev/null"], "not a regular file"),
    ]:
        assert main(["scan", str(BIDEN), *args, "--lang", "en"]) == EXIT_USAGE
        assert said in " ".join(capsys.readouterr().err.split())
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_report_written_through_a_symbolic_link_keeps_the_link(tmp_path):
    from minorguard.report.files import atomic_write_text

    target = tmp_path / "raportet" / "raporti.json"
    target.parent.mkdir()
    target.write_text("{}", encoding="utf-8")
    link = tmp_path / "i_fundit.json"
    link.symlink_to(target)
    atomic_write_text(link, "[1]")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "[1]"


@pytest.mark.parametrize("engine", ["local", "isolated"])
def test_a_reader_that_goes_away_leaves_the_verdicts_exit_code_and_every_audit_entry(tmp_path, engine):
    """`scan ... | head` closed the pipe: rich exited 1 mid-run and a local run had audited nothing."""
    from consent_db import Register

    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "MINORGUARD_DATA_DIR": str(tmp_path / "data")}
    env.pop("MINORGUARD_DB", None)
    env.pop("MINORGUARD_KEY", None)
    db = tmp_path / "data" / "register.sqlite3"
    Register(db, key_path=tmp_path / "data" / "register.key").close()
    proc = subprocess.Popen([sys.executable, "-m", "minorguard", "scan", str(OBAMA), str(BIDEN), "--engine", engine, "--lang", "en"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the first line
    _, errors = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_BLOCK, errors.decode("utf-8", "replace")[-800:]
    assert b"Traceback" not in errors
    with Register(db, key_path=tmp_path / "data" / "register.key") as reg:
        assert [e["subject"] for e in reg.audit_entries() if e["action"] == "photo_checked"].count("BLOCK") == 1
        assert len([e for e in reg.audit_entries() if e["action"] == "photo_checked"]) == 2


def test_a_photo_named_like_a_formula_stays_text_in_the_csv(guard, tmp_path):
    """The CSV is for Excel: a cell starting with = is run as a formula there."""
    folder = tmp_path / "foto"
    folder.mkdir()
    shutil.copy(BIDEN, folder / "=cmd|' calc'!A1.jpg")
    table = tmp_path / "r.csv"
    assert main(["scan", str(folder), "--csv", str(table), "--lang", "en"]) == EXIT_PASS
    rows = list(csv.DictReader(table.open(encoding="utf-8-sig")))
    assert rows and all(not r["source"].startswith("=") and "=cmd" in r["source"] for r in rows)


def test_a_damaged_register_file_is_one_line_and_exit_64(tmp_path, monkeypatch, capsys):
    from consent_db import Register

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    db = tmp_path / "data" / "register.sqlite3"
    Register(db).close()
    with db.open("r+b") as damaged:
        damaged.write(b"\x00not a database\x00" * 512)
    assert main(["scan", str(BIDEN), "--lang", "en", "--engine", "local"]) == EXIT_USAGE
    said = capsys.readouterr().err
    assert "register database error" in said and "Traceback" not in said and len(said.strip().splitlines()) <= 3


def test_the_parsers_own_usage_errors_are_in_the_readers_language(capsys):
    assert main(["export", str(OBAMA)]) == EXIT_USAGE  # --out missing; Albanian by default
    assert "mungon opsioni '--out'" in capsys.readouterr().err
    assert main(["scan", "--bogus", "x", "--lang", "en"]) == EXIT_USAGE
    assert "no such option: --bogus" in capsys.readouterr().err
    assert main(["scan", str(OBAMA), "--workers", "shumë"]) == EXIT_USAGE
    assert "vlerë e pavlefshme për '--workers'" in capsys.readouterr().err


def test_a_language_the_environment_names_wrongly_is_a_usage_error_said_in_albanian(capsys, monkeypatch):
    monkeypatch.setenv("MINORGUARD_LANG", "fr")
    assert main(["scan", str(OBAMA)]) == EXIT_USAGE
    said = " ".join(capsys.readouterr().err.split())
    assert "vlerë e pavlefshme në $MINORGUARD_LANG (që cakton '--lang'): 'fr'; zgjidhni një nga: sq, en" in said


def test_the_incremental_results_file_may_name_a_folder_still_to_be_made(guard, tmp_path):
    store = tmp_path / "arkivi" / "rezultatet.sqlite3"  # the results file makes its own folder, as before
    assert main(["scan", str(BIDEN), "--incremental", str(store), "--engine", "local", "--lang", "en"]) == EXIT_PASS
    assert store.is_file()


def test_a_file_name_cannot_write_control_codes_or_fake_lines_on_the_terminal(tmp_path, capsys):
    """The audit's case: a name holding ESC [2K ESC [1A erased the BLOCK line on screen, and one holding a newline
    printed a line that began with PASS. Control characters are shown as \\xNN and \\n; markup as text."""
    for name in ("a\x1b[2K\x1b[1Ab.jpg", "c\nPASS d.jpg", "[green]e.jpg"):
        shutil.copy(OBAMA, tmp_path / name)
    assert main(["scan", str(tmp_path), "--lang", "en", "--engine", "local"]) == EXIT_BLOCK
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2K\\x1b[1Ab.jpg" in out and "c\\nPASS d.jpg" in out and "[green]e.jpg" in out
    assert not any(line.startswith("PASS") for line in out.splitlines())


def test_folders_left_unsearched_are_named_in_the_json_report(tmp_path, capsys):
    """The audit's point: without -r, a sub-folder's photos were never judged and only the console said so."""
    (tmp_path / "klasa ç").mkdir()
    shutil.copy(OBAMA, tmp_path / "klasa ç" / "festë.jpg")
    shutil.copy(BIDEN, tmp_path / "zyrtar.jpg")
    report = tmp_path / "raporti.json"
    assert main(["scan", str(tmp_path), "--json", str(report), "--lang", "en", "--engine", "local"]) == 0
    payload = json.loads(report.read_text(encoding="utf-8"))
    assert payload["folders_not_searched"] == [str(tmp_path / "klasa ç")] and len(payload["photos"]) == 1


_CTRL_C_WHILE_LOADING = """
import os, signal, sys

class CtrlCWhileLoading:
    # the key pressed while the command line's libraries load: the SIGINT arrives as minorguard.cli is imported
    def find_spec(self, name, path=None, target=None):
        if name == "minorguard.cli":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCWhileLoading())
sys.argv = ["minorguard", "scan", ".", "--lang", sys.argv[1]]
from minorguard.launch import run
run()
"""


@pytest.mark.parametrize(("lang", "line"), [("en", "interrupted"), ("sq", "u ndërpre")])
def test_ctrl_c_while_the_command_loads_is_interrupted_not_a_traceback(lang, line):
    """A Ctrl-C in the second the command spends loading OpenCV and ONNX Runtime printed Python's traceback and ended
    with the signal's status (-2); the launcher says "interrupted" in the run's language and exits 130."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_LOADING, lang], capture_output=True, text=True,
                          encoding="utf-8", timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 130, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and done.stderr.strip() == line


def test_importing_the_package_loads_no_model_library():
    """What the launcher's guard rests on: `import minorguard` alone is light; its names load on first use."""
    code = ("import sys, minorguard; heavy = [m for m in ('cv2', 'onnxruntime', 'sqlalchemy', 'typer') if m in sys.modules]; "
            "print(','.join(heavy)); assert sorted(minorguard.__all__) == sorted(minorguard._HOMES); "
            "from minorguard import Guard, open_checks, Verdict; print(Guard.__module__, Verdict.BLOCK.value)")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    heavy, loaded = done.stdout.splitlines()
    assert heavy == "" and loaded == "minorguard.pipeline BLOCK"


def test_a_jsonl_report_is_said_written_like_the_others(tmp_path, capsys):
    """`--json`, `--csv` and `--html` each said "written: FILE"; `--jsonl` wrote its file without a word."""
    lines = tmp_path / "rezultatet ç.jsonl"
    assert main(["scan", str(BIDEN), "--jsonl", str(lines), "--engine", "local", "--lang", "en"]) == EXIT_PASS
    assert f"written: {lines}" in " ".join(capsys.readouterr().err.split())
    assert json.loads(lines.read_text(encoding="utf-8").splitlines()[0])["verdict"] == "PASS"
    assert main(["scan", str(BIDEN), "--jsonl", str(lines), "--engine", "local"]) == EXIT_PASS  # Albanian by default
    assert f"u shkrua: {lines}" in " ".join(capsys.readouterr().err.split())


def test_the_jsonl_stream_is_owner_only_as_the_other_reports(guard, tmp_path):
    """The audit: `scan --jsonl FILE` was written -rw-r--r-- (child refs, consent ids and paths in it) while --json,
    --csv and --html are 0600; a file there already kept its mode too."""
    new, old = tmp_path / "rezultatet.jsonl", tmp_path / "e vjetra.jsonl"
    old.write_text("rreshti i vjetër\n" * 50, encoding="utf-8")
    old.chmod(0o644)
    mask = os.umask(0o022)
    try:
        for path in (new, old):
            assert main(["scan", str(BIDEN), "--jsonl", str(path), "--lang", "en"]) == EXIT_PASS
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            lines = path.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 1 and json.loads(lines[0])["verdict"] == "PASS"  # streamed in full, the old lines gone
    finally:
        os.umask(mask)
