"""File names that are not valid UTF-8, in the text minorguard writes.

A POSIX file name is bytes. Python turns the bytes that are not UTF-8 into lone
surrogates (PEP 383): a folder unpacked from an old Windows zip, where "ë" is the
single byte 0xEB, gives a name no UTF-8 file, database or web page can hold, and
writing the scan's report failed on it. Reports that are read back (JSON) keep the
name exactly; text for people shows each such byte as ``\\xNN``.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, TextIO

__all__ = ["SHOWN", "json_text", "show_on", "shown", "visible"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SHOWN = "minorguard.shown"  # codec error handler: what cannot be encoded, as \xNN (a name's byte) or \uNNNN


def _escape(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}" for c in chunk), error.end


codecs.register_error(SHOWN, _escape)


def shown(text: str) -> str:
    """``text`` with each byte of a name that was not UTF-8 written as ``\\xNN``; other text unchanged."""
    if not _LONE_SURROGATE.search(text):
        return text
    return text.encode("utf-8", SHOWN).decode("utf-8")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str) -> str:
    """``text`` for a terminal: each control character written as ``\\n``, ``\\xNN`` (a file name holding
    ESC [2K ESC [1A erased the BLOCK line above it; one holding a newline printed a fake PASS line)."""
    return _CONTROL.sub(lambda found: _NAMED.get(found.group(), f"\\x{ord(found.group()):02x}"), shown(text))


def show_on(stream: TextIO) -> None:
    """Let ``stream`` (stdout, stderr) print such names as ``shown`` does, and any letter its encoding lacks as ``\\uNNNN``.

    Python prints them with ``errors="strict"`` under most locales: a scan line
    naming the photo would stop the command.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors=SHOWN)


def json_text(payload: Any, **options: Any) -> str:
    """``json.dumps`` with non-ASCII letters kept, lone surrogates as ``\\udcNN`` escapes: ``json.loads`` gives them back."""
    text = json.dumps(payload, ensure_ascii=False, **options)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
