"""Hints for the communicator that never change a verdict (for example, 'looks outdoor')."""

from __future__ import annotations

from collections.abc import Sequence

from minorguard.rules.outdoor import guess_outdoor
from minorguard.types import EventEvidence, FaceDecision, PhotoMetadata

__all__ = ["OUTDOOR_NO_EVENT", "PREVIEW_DIFFERS", "hint_text", "photo_hints"]

OUTDOOR_NO_EVENT = "looks outdoor; no event declared"
# the file carries a preview picture that is not this picture scaled down (judged as well)
PREVIEW_DIFFERS = "preview differs"


def photo_hints(meta: PhotoMetadata | None, decisions: Sequence[FaceDecision], event: EventEvidence | None) -> tuple[str, ...]:
    hints: list[str] = []
    if meta is not None:
        hints.extend(f"metadata: {p}" for p in meta.problems)
    if event is not None and event.note and (event.ambiguous or event.event_id is None):
        hints.append(f"event: {event.note}")
    guess = guess_outdoor(meta)
    linked = event is not None and event.event_id is not None and not event.ambiguous
    undeclared = event is None or (event.event_id is None and not event.ambiguous)
    if guess.setting == "outdoor" and undeclared:
        hints.append(f"{OUTDOOR_NO_EVENT} ({guess.summary})")
    elif guess.setting == "indoor" and linked and event is not None and event.basis == "outdoor":
        # a declared outdoor event whose photo looks like a room deserves a second look
        hints.append(f"looks indoor ({guess.summary}) but event {event.event_id} is declared outdoor")
    return tuple(hints)


def hint_text(hint: str, lang: str) -> str:
    """A photo hint in the reader's language (those minorguard writes; others stay as written)."""
    from minorguard.locale import t

    if hint.startswith(OUTDOOR_NO_EVENT):
        return t("hint.outdoor_no_event", lang) + hint[len(OUTDOOR_NO_EVENT):]
    if hint == PREVIEW_DIFFERS:
        return t("hint.preview_differs", lang)
    return hint
