"""The command's --lang, and errors shown in that language.

Errors of the policy, the model pack, the register and event checks are
:class:`~minorguard.locale.coded_error.CodedError`: each names a catalogue key and
its values, so :func:`say` shows it in the reader's language. Any other error
keeps its own text: English is better than hiding what went wrong.
"""

from __future__ import annotations

import os
from enum import Enum

import typer

from minorguard.locale import LANGUAGES
from minorguard.locale.coded_error import CodedError

__all__ = ["LANG_ENV", "Lang", "LangOpt", "accept_lang", "current_lang", "default_lang", "lang_in_argv", "say"]

# The --lang choices of every command, from the message catalogue's languages.
Lang = Enum("Lang", {code: code for code in LANGUAGES}, type=str)
# Without --lang, messages (and --help) follow $MINORGUARD_LANG, else Albanian.
LANG_ENV = "MINORGUARD_LANG"
LangOpt = typer.Option(Lang("sq"), "--lang", envvar=LANG_ENV, help="Language of messages (sq or en).")


def default_lang() -> str:
    """$MINORGUARD_LANG when it names a language of the catalogue, else Albanian."""
    value = os.environ.get(LANG_ENV, "")
    return value if value in LANGUAGES else "sq"


def lang_in_argv(argv: list[str], default: str | None = None) -> str:
    """The --lang given on the command line: for messages after the command's context is gone (it failed)."""
    for i, arg in enumerate(argv):
        value = arg[len("--lang="):] if arg.startswith("--lang=") else (argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        if value in LANGUAGES:
            return value
    return default or default_lang()


def current_lang(default: str | None = None) -> str:
    """The --lang of the command now running (``default`` outside a command or without the option).

    Helpers that several commands share (dates, opening the register) read it here, so
    their callers need not pass it along.
    """
    fallback = default or default_lang()
    try:
        from typer._click.globals import get_current_context  # typer vendors click
    except ImportError:  # pragma: no cover - older typer: click itself
        try:
            from click import get_current_context
        except ImportError:
            return fallback
    ctx = get_current_context(silent=True)
    while ctx is not None:
        value = getattr(ctx.params.get("lang"), "value", ctx.params.get("lang"))
        if value in LANGUAGES:
            return str(value)
        ctx = ctx.parent
    return fallback


def say(error: BaseException, lang: str) -> str:
    """The one line for ``error`` (PolicyError, ModelError, RegisterError, EventInputError, ...) in ``lang``."""
    if isinstance(error, CodedError):
        return error.text(lang)
    return getattr(error, "message", None) or str(error)


def accept_lang(group: typer.Typer) -> None:
    """Let a command group take --lang too (``minorguard --help --lang en``, ``minorguard child --lang en --help``).

    The value reaches every sub-command through :func:`current_lang`, and --help
    is translated before parsing (``cli.main``), so --lang means the same wherever it is written.
    """

    @group.callback()
    def _group_lang(ctx: typer.Context, lang: Lang = LangOpt) -> None:
        source = ctx.get_parameter_source("lang")
        if source is not None and source.name in ("COMMANDLINE", "DEFAULT_MAP"):
            # `minorguard --lang en scan ...`: the sub-commands' own --lang defaults to it
            value = getattr(lang, "value", lang)
            ctx.default_map = {**(ctx.default_map or {}), **{name: {"lang": value} for name in getattr(ctx.command, "commands", {})}}
