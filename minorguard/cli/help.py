"""--help in the reader's language.

The help texts are written in English beside the commands and options they
describe (typer reads them when the module is imported); :func:`localise_help`
swaps each for its translation in the click command tree that one run uses, so
``minorguard scan --help`` speaks Albanian by default and English with
``--lang en``, like every other message. Typer's own words (Usage, Options) stay
as typer writes them.
"""

from __future__ import annotations

from typing import Any

from minorguard.locale.help_sq import HELP_SQ

__all__ = ["HELP", "localise_help", "same_help"]

HELP: dict[str, dict[str, str]] = {"sq": HELP_SQ}


def same_help(text: str) -> str:
    """Help texts compared without their line breaks and indentation (docstrings keep both)."""
    return " ".join(text.split())


def localise_help(command: Any, lang: str) -> None:
    """Replace the help of ``command`` (a click command or group), its options and its sub-commands."""
    table = {same_help(k): v for k, v in HELP.get(lang, {}).items()}
    if not table:
        return

    def walk(cmd: Any) -> None:
        if cmd.help:
            cmd.help = table.get(same_help(cmd.help), cmd.help)
        for param in cmd.params:
            if getattr(param, "help", None):
                param.help = table.get(same_help(param.help), param.help)
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)
