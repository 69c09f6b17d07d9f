"""Free text people typed (names, purposes), compared as a person would read it."""

from __future__ import annotations

import unicodedata

__all__ = ["folded_form", "same_text", "typed_form"]


def same_text(a: str, b: str) -> bool:
    """Case and extra spaces ignored, and "ë" typed as one character or as "e" plus a combining
    diaeresis (text pasted from some editors) alike."""
    return typed_form(a) == typed_form(b)


def typed_form(text: str) -> str:
    """The one form of ``text`` that ``same_text`` compares (a name's lookup index is taken of it)."""
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()


def folded_form(text: str) -> str:
    """``typed_form`` without accents: "Çlirim Këlliçi", "clirim kellici" and "CLIRIM  KËLLIÇI" alike. How a name
    is looked up: the review page's search by part of a name, `child list --name` and the check for a child added
    twice (an office types "ç" and "ë" either way)."""
    decomposed = unicodedata.normalize("NFKD", typed_form(str(text or "")))
    return "".join(c for c in decomposed if not unicodedata.combining(c))
