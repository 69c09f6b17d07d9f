"""--help follows --lang like every other message: Albanian by default, English with --lang en."""

from __future__ import annotations

from pathlib import Path

import typer.main

from minorguard.cli import EXIT_USAGE, app, main
from minorguard.cli.help import HELP, same_help

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def _help_texts(command) -> set[str]:
    texts = {same_help(command.help)} if command.help else set()
    texts |= {same_help(p.help) for p in command.params if getattr(p, "help", None)}
    for sub in getattr(command, "commands", {}).values():
        texts |= _help_texts(sub)
    return texts


def test_every_help_text_has_an_albanian_translation_and_none_is_stale():
    texts = _help_texts(typer.main.get_command(app))
    translated = {same_help(k) for k in HELP["sq"]}
    assert len(texts) > 100
    assert sorted(texts - translated) == []  # an option whose English help has no Albanian entry
    assert sorted(translated - texts) == []  # an entry whose English text changed or went away


def _help(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main([*args, "--help"]) == 0
    return " ".join(capsys.readouterr().out.replace("│", " ").split())  # rich wraps long lines inside its boxes


def test_help_is_albanian_by_default_and_english_on_request(capsys):
    assert "Kontrollon fotot për të mitur që mund të identifikohen" in _help(capsys, "scan")
    assert "Përfshin edhe nëndosjet." in _help(capsys, "scan")
    english = _help(capsys, "scan", "--lang", "en")
    assert "Check photos for identifiable minors" in english and "Descend into sub-folders." in english
    assert "Tërheq një leje dhe liston fotot" in _help(capsys, "consent", "withdraw", "--lang", "sq")
    assert "Fëmijët në regjistrin e lejeve" in _help(capsys)  # the command list, in Albanian


def test_minorguard_lang_sets_the_default_language(capsys, monkeypatch):
    monkeypatch.setenv("MINORGUARD_LANG", "en")
    assert "Children in the consent register" in _help(capsys)  # the top level has no --lang of its own
    assert main(["scan", str(SAMPLES), "--date", "01/12/2026"]) == EXIT_USAGE
    assert "--date must be YYYY-MM-DD" in " ".join(capsys.readouterr().err.split())
    assert "Kontrollon fotot" in _help(capsys, "scan", "--lang", "sq")  # --lang still wins


def test_lang_is_taken_by_every_group_and_passed_down(capsys, monkeypatch):
    """`minorguard --help --lang en` and `minorguard child --help --lang en` were refused as unknown options."""
    from minorguard.cli import main

    monkeypatch.delenv("MINORGUARD_LANG", raising=False)
    assert main(["--help", "--lang", "en"]) == 0
    assert "keep identifiable minors out of published photos" in capsys.readouterr().out
    assert main(["child", "--help", "--lang", "en"]) == 0
    assert "Children in the consent register" in capsys.readouterr().out
    assert main(["--lang", "en", "scan", "/nowhere/at/all"]) == 64
    assert "path does not exist" in capsys.readouterr().err


def test_export_follows_minorguard_lang(capsys, monkeypatch, tmp_path):
    from minorguard.cli import main

    monkeypatch.setenv("MINORGUARD_LANG", "en")
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    assert main(["export", str(tmp_path / "nothing.jpg"), "--out", str(tmp_path / "out")]) == 64
    assert "path does not exist" in capsys.readouterr().err
