"""Free text people typed (names, purposes), compared as a person would read it."""

from __future__ import annotations

import unicodedata

__all__ = ["same_text"]


def same_text(a: str, b: str) -> bool:
    """Case and extra spaces ignored, and "ë" typed as one character or as "e" plus a combining
    diaeresis (text pasted from some editors) alike."""
    return _typed(a) == _typed(b)


def _typed(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()
