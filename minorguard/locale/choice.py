"""Which language a run speaks, read without the command line parser (the launcher needs it before any import)."""

from __future__ import annotations

import os

from minorguard.locale import LANGUAGES

__all__ = ["LANG_ENV", "default_lang", "lang_in_argv", "language"]

# Without --lang, messages (and --help) follow $MINORGUARD_LANG, else Albanian.
LANG_ENV = "MINORGUARD_LANG"


def language(value: object) -> str | None:
    """``value`` as a language of the catalogue, in any case (``EN``, ``Sq``), else None."""
    folded = value.casefold() if isinstance(value, str) else None
    return folded if folded in LANGUAGES else None


def default_lang() -> str:
    """$MINORGUARD_LANG when it names a language of the catalogue (in any case), else Albanian."""
    return language(os.environ.get(LANG_ENV, "")) or "sq"


def lang_in_argv(argv: list[str], default: str | None = None) -> str:
    """The --lang given on the command line: for messages after the command's context is gone (it failed)."""
    for i, arg in enumerate(argv):
        value = arg[len("--lang="):] if arg.startswith("--lang=") else (argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        if language(value):
            return language(value)
    return default or default_lang()
