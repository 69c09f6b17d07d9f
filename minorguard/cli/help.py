"""--help in the reader's language.

The help texts are written in English beside the commands and options they
describe (typer reads them when the module is imported); :func:`localise_help`
swaps each for its translation in the click command tree that one run uses, so
``minorguard scan --help`` speaks Albanian by default and English with
``--lang en``, like every other message. Typer's and click's own words (Usage,
Options, [default: ...], the --help option's line) come from ``FRAMEWORK``, keyed
by their English text as the help texts are, and each option's value gets a
placeholder in the same language (TEXT, PATH, sq|en) instead of typer's Python
type (``<str>``, ``<list[Path]>``, ``<bool>`` for a flag that takes no value).

Typer reads help texts as rich markup: each is escaped here, so a bracket in
one (``pip install 'minorguard[ray]'``) is shown, not swallowed as a style tag.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from minorguard.locale.help_sq import FRAMEWORK_SQ, HELP_SQ

__all__ = ["FRAMEWORK", "HELP", "localise_help", "placeholder", "same_help"]

HELP: dict[str, dict[str, str]] = {"sq": HELP_SQ}
FRAMEWORK: dict[str, dict[str, str]] = {"sq": FRAMEWORK_SQ}

# typer.rich_utils' words, read when a help page is printed: set for each run's language
_RICH_WORDS = ("DEPRECATED_STRING", "DEFAULT_STRING", "ENVVAR_STRING", "REQUIRED_LONG_STRING", "ARGUMENTS_PANEL_TITLE",
               "OPTIONS_PANEL_TITLE", "COMMANDS_PANEL_TITLE", "ERRORS_PANEL_TITLE", "ABORTED_TEXT", "RICH_HELP")
_ENGLISH_RICH_WORDS: dict[str, str] = {}


def same_help(text: str) -> str:
    """Help texts compared without their line breaks and indentation (docstrings keep both)."""
    return " ".join(text.split())


def _one_line_paragraphs(text: str) -> str:
    """A docstring's paragraphs each on one line: typer keeps a docstring's line breaks in the command list."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _set_rich_words(word: Any) -> None:
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich prints click's plain help
        return
    if not _ENGLISH_RICH_WORDS:
        _ENGLISH_RICH_WORDS.update({name: getattr(rich_utils, name) for name in _RICH_WORDS if hasattr(rich_utils, name)})
    for name, english in _ENGLISH_RICH_WORDS.items():
        setattr(rich_utils, name, word(english))


def placeholder(param: Any, english_help: str = "") -> str | None:
    """The value's placeholder in English (a FRAMEWORK key), ``""`` for a flag, None where typer's own is kept."""
    from pathlib import PurePath
    from typing import get_args

    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return None
    if getattr(param, "is_flag", False):
        return ""  # --recursive, --group/--no-group, --help: nothing to write after them
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if "YYYY-MM-DDTHH:MM" in english_help:
        return "YYYY-MM-DDTHH:MM"
    if "YYYY-MM-DD" in english_help:
        return "YYYY-MM-DD"
    annotation = desc.annotation
    if desc.is_list:
        inner = get_args(annotation)
        annotation = inner[0] if len(inner) == 1 else annotation
    if desc.is_path or (isinstance(annotation, type) and issubclass(annotation, PurePath)):
        kind = desc.path_type if desc.is_path else "path"
        return {"file": "FILE", "directory": "FOLDER"}.get(kind, "PATH")
    return {str: "TEXT", int: "INTEGER", float: "NUMBER", bool: ""}.get(annotation)


def localise_help(command: Any, lang: str) -> None:
    """Replace the help of ``command`` (a click command or group), its options and its sub-commands, typer's
    own words and the values' placeholders by those of ``lang`` (English ones for English)."""
    table = {same_help(k): v for k, v in HELP.get(lang, {}).items()}
    words = FRAMEWORK.get(lang, {})

    def word(english: str) -> str:
        return words.get(english, english)

    _set_rich_words(word)

    def text(cmd: Any, english: str) -> str:
        said = _one_line_paragraphs(table.get(same_help(english), english))
        if getattr(cmd, "rich_markup_mode", None) == "rich":
            from rich.markup import escape

            said = escape(said)
        return said

    def dress(cmd: Any, param: Any) -> None:
        english = getattr(param, "help", None) or ""
        label = placeholder(param, english)
        if label is not None:
            shown = word(label)
            if shown and param.param_type_name == "option" and param.type_descriptor.is_list:
                shown += "..."  # an option that may be given again (--channel facebook --channel instagram)
            # instance attribute: this run's command tree only; typer asks it for the placeholder column
            param.display_type_rich = lambda ctx, shown=shown: shown
        if english:
            param.help = text(cmd, english)

    def usage(self: Any, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=word("Usage: "))

    def walk(cmd: Any) -> None:
        if cmd.help:
            cmd.help = text(cmd, cmd.help)
        if getattr(cmd, "short_help", None):
            cmd.short_help = text(cmd, cmd.short_help)
        for param in cmd.params:
            dress(cmd, param)
        if getattr(cmd, "options_metavar", None):
            cmd.options_metavar = word(cmd.options_metavar)
        if getattr(cmd, "subcommand_metavar", None):
            cmd.subcommand_metavar = word(cmd.subcommand_metavar)
        cmd.format_usage = types.MethodType(usage, cmd)
        made = cmd.get_help_option

        def help_option(ctx: Any, made: Any = made, cmd: Any = cmd) -> Any:
            option = made(ctx)  # click makes it on first use, in English
            if option is not None and not getattr(option, "_minorguard_dressed", False):
                option._minorguard_dressed = True
                option.help = None
                dress(cmd, option)
                option.help = word("Show this message and exit.")
            return option

        cmd.get_help_option = help_option
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)
