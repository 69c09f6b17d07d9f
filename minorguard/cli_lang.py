"""The command's --lang, and the register's and event checks' English error texts in that language.

``consent_db`` and :mod:`minorguard.events` raise exceptions whose message is one
complete English line. A ``RegisterError`` with a ``code`` is shown through the
key ``register.<code>``. For the texts without a code, ``KNOWN`` lists message keys
whose English text *is* the exception's text, with ``{name}`` for the variable
parts: the text is matched against it and the values read back go into the
reader's language. A text nobody listed stays as written: English is better than
hiding what went wrong.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cache

import typer

from .locale import LANGUAGES, t
from .locale.coded_error import CodedError
from .locale.messages import MESSAGES

__all__ = ["KNOWN", "Lang", "LangOpt", "current_lang", "lang_in_argv", "say", "say_text"]

# The --lang choices of every command, from the message catalogue's languages.
Lang = Enum("Lang", {code: code for code in LANGUAGES}, type=str)
LangOpt = typer.Option(Lang("sq"), "--lang", help="Language of messages (sq or en).")

# Keys whose English text is an exception text (or an audit problem) word for word.
KNOWN: tuple[str, ...] = (
    # minorguard.events.EventInputError
    "event.bad_time_value", "event.unknown_tz", "event.bad_time", "event.no_name", "event.no_tz",
    "event.end_before_start", "event.bad_basis", "event.lat_lon_pair", "event.lat_range", "event.lon_range",
    "event.bad_radius", "event.radius_needs_place",
    # consent_db.Register: events
    "event.exists", "event.cannot_change", "event.is_closed", "event.reg_unknown_tz", "event.reg_not_datetime",
    "event.reg_end_before_start", "event.unknown_basis", "event.needs_justification", "event.lat_lon_range",
    "event.radius_positive",
    # consent_db: register, documents, store, key
    "register.empty_child_name", "register.empty_child_name_column", "register.empty_guardian_name",
    "register.empty_withdraw_reason", "register.empty_erase_reason", "register.empty_name", "register.empty_event_name",
    "register.no_signed_date", "register.document_folder", "register.document_unreadable", "register.document_empty",
    "register.cannot_create", "register.bad_url", "register.db_error", "register.key_env_bad", "register.key_damaged",
    "register.key_env_empty", "register.data_unknown_format", "register.key_not_opening", "register.bad_thresholds",
    # consent_db.audit.verify problems
    "register.audit_missing", "register.audit_broken_link", "register.audit_changed", "register.audit_removed",
    "register.audit_no_head",
)
_LINE_PREFIX = re.compile(r"line (?P<n>\d+|\?): ")  # consent_db's RegisterError.prefix for a CSV row


def lang_in_argv(argv: list[str], default: str = "sq") -> str:
    """The --lang given on the command line: for messages after the command's context is gone (it failed)."""
    for i, arg in enumerate(argv):
        value = arg[len("--lang="):] if arg.startswith("--lang=") else (argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        if value in LANGUAGES:
            return value
    return default


def current_lang(default: str = "sq") -> str:
    """The --lang of the command now running (``default`` outside a command or without the option).

    Helpers that several commands share (dates, opening the register) read it here, so
    their callers need not pass it along.
    """
    try:
        from typer._click.globals import get_current_context  # typer vendors click
    except ImportError:  # pragma: no cover - older typer: click itself
        try:
            from click import get_current_context
        except ImportError:
            return default
    ctx = get_current_context(silent=True)
    while ctx is not None:
        value = getattr(ctx.params.get("lang"), "value", ctx.params.get("lang"))
        if value in LANGUAGES:
            return str(value)
        ctx = ctx.parent
    return default


@cache
def _pattern(key: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", MESSAGES["en"][key])
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex, re.DOTALL)


def say_text(text: str, lang: str) -> str:
    """An English text from ``KNOWN`` in ``lang``; any other text as it is."""
    if lang == "en":
        return text
    for key in KNOWN:
        match = _pattern(key).fullmatch(text)
        if match:
            return t(key, lang, **match.groupdict())
    return text


def say(error: BaseException, lang: str) -> str:
    """The one line for ``error`` (PolicyError, ModelError, RegisterError, EventInputError, ...) in ``lang``."""
    if isinstance(error, CodedError):
        return error.text(lang)
    text = getattr(error, "message", None) or str(error)
    if lang == "en":
        return text
    prefix = getattr(error, "prefix", "") or ""
    body = text[len(prefix):] if prefix and text.startswith(prefix) else text
    where = _LINE_PREFIX.fullmatch(prefix)
    prefix = t("register.line_prefix", lang, n=where["n"]) if where else prefix
    code = getattr(error, "code", None)
    if code and f"register.{code}" in MESSAGES["en"]:
        return prefix + t(f"register.{code}", lang, **getattr(error, "params", {}))
    event_id = getattr(error, "event_id", None)
    if event_id is not None and isinstance(error, LookupError):  # minorguard.events.UnknownEventError
        return prefix + t("event.unknown_id", lang, id=event_id)
    return prefix + say_text(body, lang)
