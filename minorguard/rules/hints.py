"""Hints for the communicator that never change a verdict (for example, 'looks outdoor')."""

from __future__ import annotations

import re
from collections.abc import Sequence

from minorguard.rules.outdoor import guess_outdoor
from minorguard.types import EventEvidence, FaceDecision, PhotoMetadata

__all__ = ["HIDDEN_COLOUR_DIFFERS", "OUTDOOR_NO_EVENT", "PREVIEW_DIFFERS", "hint_text", "photo_hints"]

OUTDOOR_NO_EVENT = "looks outdoor; no event declared"
# the file carries a preview picture that is not this picture scaled down (judged as well)
PREVIEW_DIFFERS = "preview differs"
HIDDEN_COLOUR_DIFFERS = "colour under the transparency differs"


def photo_hints(
    meta: PhotoMetadata | None, decisions: Sequence[FaceDecision], event: EventEvidence | None, lang: str = "en"
) -> tuple[str, ...]:
    """The photo's hints in their stored forms; ``lang`` is the event note's (the event linker's): its hint is said
    in it, prefix and note alike, as the console says it (an Albanian note behind "event: " read as two languages)."""
    from minorguard.locale import t

    hints: list[str] = []
    if meta is not None:
        hints.extend(f"metadata: {p}" for p in meta.problems)
    if event is not None and event.note and (event.ambiguous or event.event_id is None):
        hints.append(t("hint.event", lang, note=event.note))
    guess = guess_outdoor(meta)
    linked = event is not None and event.event_id is not None and not event.ambiguous
    undeclared = event is None or (event.event_id is None and not event.ambiguous)
    if guess.setting == "outdoor" and undeclared:
        hints.append(f"{OUTDOOR_NO_EVENT} ({guess.summary})")
    elif guess.setting == "indoor" and linked and event is not None and event.basis == "outdoor":
        # a declared outdoor event whose photo looks like a room deserves a second look
        hints.append(f"looks indoor ({guess.summary}) but event {event.event_id} is declared outdoor")
    return tuple(hints)


# the hints' stored (English) forms, said in the reader's language when shown: a results file, a report or an
# incremental run's stored result keeps these, whatever language the run that wrote them spoke
_METADATA, _EVENT = "metadata: ", "event: "
_INDOOR = re.compile(r"looks indoor \((?P<summary>.*)\) but event (?P<id>.+) is declared outdoor")
_CUES = {"no exposure data": "hint.no_exposure", "from BrightnessValue": "hint.from_brightness", "flash fired": "hint.flash_fired",
         "has GPS": "hint.has_gps"}
_PROBLEMS = (
    (re.compile(r"unreadable EXIF \((?P<error>.*)\)"), "hint.exif_unreadable"),
    (re.compile(r"malformed DateTimeOriginal (?P<raw>.*)"), "hint.exif_bad_time"),
    (re.compile(r"GPS out of range \((?P<lat>[^,]*), (?P<lon>.*)\)"), "hint.gps_out_of_range"),
)


def _event_prefixes() -> tuple[str, ...]:
    """"event: " and the same in every language of the messages: how an event hint starts."""
    from minorguard.locale.messages import MESSAGES

    found = {_EVENT} | {table["hint.event"].split("{note}")[0] for table in MESSAGES.values() if "hint.event" in table}
    return tuple(sorted(found, key=len, reverse=True))


def _summary_text(summary: str, lang: str) -> str:
    """An outdoor guess's summary ("EV100 13.2, flash fired, has GPS") in ``lang``."""
    from minorguard.locale import t

    return ", ".join(t(_CUES[cue], lang) if cue in _CUES else cue for cue in summary.split(", "))


def _problem_text(problem: str, lang: str) -> str:
    from minorguard.locale import t

    for pattern, key in _PROBLEMS:
        found = pattern.fullmatch(problem)
        if found:
            return t(key, lang, **found.groupdict())
    return problem


def hint_text(hint: str, lang: str) -> str:
    """A photo hint in the reader's language (those minorguard writes; others stay as written)."""
    from minorguard.locale import t

    if hint.startswith(OUTDOOR_NO_EVENT):
        rest = hint[len(OUTDOOR_NO_EVENT):]
        if rest.startswith(" (") and rest.endswith(")"):
            rest = f" ({_summary_text(rest[2:-1], lang)})"
        return t("hint.outdoor_no_event", lang) + rest
    if hint == HIDDEN_COLOUR_DIFFERS:
        return t("hint.hidden_colour_differs", lang)
    if hint == PREVIEW_DIFFERS:
        return t("hint.preview_differs", lang)
    if hint.startswith(_METADATA):
        return t("hint.metadata", lang, problem=_problem_text(hint[len(_METADATA):], lang))
    for prefix in _event_prefixes():  # the event's note is in the language of the run that linked it
        if hint.startswith(prefix):
            return t("hint.event", lang, note=hint[len(prefix):])
    indoor = _INDOOR.fullmatch(hint)
    if indoor:
        return t("hint.indoor_outdoor_event", lang, summary=_summary_text(indoor["summary"], lang), id=indoor["id"])
    return hint
