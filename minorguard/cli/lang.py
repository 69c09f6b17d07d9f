"""The command's --lang, and errors shown in that language.

Errors of the policy, the model pack, the register and event checks are
:class:`~minorguard.locale.coded_error.CodedError`: each names a catalogue key and
its values, so :func:`say` shows it in the reader's language. Any other error
keeps its own text: English is better than hiding what went wrong.

The command line parser's own errors (typer's click, values checked with pydantic)
are said by :func:`say_usage_error` from the error's option, value and source: the
option as written and the values it takes, and $MINORGUARD_LANG named only when the
value came from it. ``--lang`` and $MINORGUARD_LANG take ``EN`` as ``en``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer

from minorguard.locale import LANGUAGES, t
from minorguard.locale.choice import LANG_ENV, default_lang, lang_in_argv
from minorguard.locale.choice import language as _language
from minorguard.locale.coded_error import CodedError

__all__ = [
    "LANG_ENV", "Lang", "LangOpt", "accept_lang", "current_lang", "default_lang", "lang_any_case", "lang_in_argv", "say",
    "say_usage_error",
]

# The --lang choices of every command, from the message catalogue's languages.
Lang = Enum("Lang", {code: code for code in LANGUAGES}, type=str)
LangOpt = typer.Option(Lang("sq"), "--lang", envvar=LANG_ENV, help="Language of messages (sq or en).")


def lang_any_case(command: Any) -> None:
    """Let every --lang of ``command``'s tree (a click command or group) take ``EN`` or ``Sq`` as ``en`` and ``sq``,
    on the command line and in $MINORGUARD_LANG alike (each run's own command tree: an instance attribute)."""

    def walk(cmd: Any) -> None:
        for param in cmd.params:
            if param.name == "lang":
                def process_value(ctx: Any, value: Any, given: Any = param.process_value) -> Any:
                    return given(ctx, _language(value) or value)

                param.process_value = process_value
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)


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


def _option_name(param: Any) -> str:
    """How the reader wrote (or would write) ``param``: its long option, or an argument's name."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")] or list(getattr(param, "opts", ())) or [param.name]
    return opts[0] if getattr(param, "param_type_name", "") == "option" else (getattr(param, "metavar", None) or param.name)


def _choices(param: Any) -> list[str]:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or not desc.is_choice:
        return []
    return [str(getattr(c, "value", c)) for c in desc.choices or ()]


# pydantic's error types (typer checks each value with it) and the catalogue's phrase for each
_LIMITS = {"greater_than_equal": ("ge", "cli.click.at_least"), "less_than_equal": ("le", "cli.click.at_most"),
           "greater_than": ("gt", "cli.click.more_than"), "less_than": ("lt", "cli.click.less_than")}
_NOT_A = {"int_parsing": "cli.click.whole_number", "int_from_float": "cli.click.whole_number", "int_type": "cli.click.whole_number",
          "float_parsing": "cli.click.a_number", "float_type": "cli.click.a_number", "finite_number": "cli.click.a_number"}


def _bad_value(error: Any, lang: str) -> str:
    param = error.param
    source = error.ctx.get_parameter_source(param.name) if error.ctx is not None else None
    cause = error.__cause__
    details = cause.errors() if hasattr(cause, "errors") else []
    if not details:  # not a value typer checked with pydantic (a file it could not open): the parser's own words
        return t("cli.click.invalid_value", lang, name=_option_name(param), detail=error.message)
    detail = details[0]
    kind = detail.get("type", "")
    choices = _choices(param)
    if choices:
        problem = t("cli.click.choose", lang, choices=", ".join(choices))
    elif kind in _LIMITS:
        bound, key = _LIMITS[kind]
        problem = t(key, lang, limit=(detail.get("ctx") or {}).get(bound, "?"))
    elif kind in _NOT_A:
        problem = t(_NOT_A[kind], lang)
    else:  # a form of typer's this catalogue does not know: its own words, after the localised start
        problem = str(error.message)
    value = detail.get("input", "")
    shown = repr(str(value)) if not isinstance(value, (list, tuple)) else ", ".join(repr(str(v)) for v in value)
    envvar = getattr(param, "envvar", None)
    if source is not None and source.name == "ENVIRONMENT" and isinstance(envvar, str):
        return t("cli.click.bad_value_env", lang, name=_option_name(param), env=envvar, value=shown, problem=problem)
    return t("cli.click.bad_value", lang, name=_option_name(param), value=shown, problem=problem)


def say_usage_error(error: BaseException, lang: str) -> str | None:
    """The one line for a usage error of the command line parser (typer's click) in ``lang``: the option named as
    it is written, the values it takes, and $MINORGUARD_LANG only where the value came from there; None for a form
    this does not know (the caller keeps the parser's own words)."""
    import re

    kind = type(error).__name__
    try:
        if kind == "NoSuchOption":
            line = t("cli.click.no_such_option", lang, name=error.option_name)
            hints = sorted(getattr(error, "possibilities", None) or ())
            return line + ("; " + t("cli.click.did_you_mean", lang, hint=", ".join(hints)) if hints else "")
        if kind == "BadOptionUsage":
            if re.fullmatch(r"Option '.*' requires (an argument|\d+ arguments)\.", error.message or ""):
                return t("cli.click.needs_value", lang, name=error.option_name)
            if re.fullmatch(r"Option '.*' does not take a value\.", error.message or ""):
                return t("cli.click.takes_no_value", lang, name=error.option_name)
            return None
        param = getattr(error, "param", None)
        if kind == "MissingParameter" and param is not None:
            key = "cli.click.missing_option" if param.param_type_name == "option" else "cli.click.missing_argument"
            line = t(key, lang, name=_option_name(param))
            choices = _choices(param)
            return line + ("; " + t("cli.click.choose", lang, choices=", ".join(choices)) if choices else "")
        if kind == "BadParameter" and param is not None:
            return _bad_value(error, lang)
        # typer adds its suggestion to click's message: "No such command 'scann'. Did you mean 'scan'?"
        found = re.fullmatch(r"No such command '(?P<name>[^']+)'\.(?: Did you mean (?P<hint>.+)\?)?", str(getattr(error, "message", "")))
        if found:
            line = t("cli.click.no_such_command", lang, name=found["name"])
            return line + ("; " + t("cli.click.did_you_mean", lang, hint=found["hint"]) if found["hint"] else "")
    except Exception:  # never a traceback for a mistyped option: the parser's own words instead
        return None
    return None
