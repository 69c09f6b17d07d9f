"""Messages a communicator reads, in Albanian (sq, default) and English (en)."""

from __future__ import annotations

from minorguard.locale.messages import MESSAGES

__all__ = ["LANGUAGES", "t"]

LANGUAGES = ("sq", "en")


def t(key: str, lang: str = "sq", /, **values: object) -> str:
    """The message ``key`` in ``lang``, falling back to English, then the key itself."""
    table = MESSAGES.get(lang) or MESSAGES["en"]
    text = table.get(key) or MESSAGES["en"].get(key) or key
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text
