"""Linking photos to declared events: the exemption of rule 5, kept deliberate.

A person declares an event (time window with time zone, optional place with a
radius, a basis: public, outdoor or none); this module decides which event a
photo belongs to. It is pure: events and the photo's metadata in, an
:class:`~minorguard.types.EventEvidence` out. The register (``consent_db``)
stores events; :class:`RegisterEventLinker` adapts it to the Guard.

Fail closed: a photo is linked automatically only on a trustworthy EXIF
capture time. No time, a malformed one, one in the future or before 2000
(a camera whose clock was never set) never links; a photo that fits two
events, or fits the time but lies outside the place, is *ambiguous* and the
decision sends it to a person instead of exempting it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from minorguard.locale import t
from minorguard.locale.coded_error import CodedError
from minorguard.types import EventEvidence, PhotoMetadata

__all__ = [
    "BASES",
    "DEFAULT_RADIUS_M",
    "Event",
    "EventInputError",
    "RegisterEventLinker",
    "UnknownEventError",
    "check_event_fields",
    "haversine_m",
    "link_photo",
    "parse_event_time",
    "photo_time_problem",
    "unclear_wall_clock",
    "wall_clock_readings",
    "zone",
]

BASES = ("public", "outdoor")
# A declared place without a radius still needs one to compare GPS against; a
# kilometre covers a stadium or a town square plus phone GPS error (tens of m).
DEFAULT_RADIUS_M = 1000.0
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1)
# A camera in UTC+14 writes local times up to 14 h ahead of UTC; anything past
# that (plus a few minutes of clock drift) is in the future wherever it was taken.
_FUTURE_SLACK_NAIVE = timedelta(hours=14, minutes=5)
_FUTURE_SLACK_AWARE = timedelta(minutes=5)


class EventInputError(CodedError, ValueError):
    """An event that cannot be stored as given; the message is one clear line (keys ``event.<code>``)."""

    catalogue = "event"


class UnknownEventError(CodedError, LookupError):
    """An explicit event id that the register does not hold."""

    catalogue = "event"

    def __init__(self, event_id: str):
        super().__init__("unknown_id", id=event_id)
        self.event_id = event_id


@dataclass(frozen=True, slots=True)
class Event:
    """What linking needs to know about a declared event."""

    id: str
    name: str
    start: datetime  # aware
    end: datetime  # aware
    tz: str
    basis: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    place: str = ""
    closed: bool = False

    @property
    def has_place(self) -> bool:
        return self.lat is not None and self.lon is not None

    @classmethod
    def from_record(cls, record: Any) -> Event:
        """An Event from a register row or mapping (attribute or key access).

        Accepts the usual spellings (``id``/``event_id``, ``tz``/``timezone``,
        ``radius_m``/``radius``, ``starts_at``/``start``) so the register can
        grow without this module changing.
        """

        def get(*names: str, default: Any = None) -> Any:
            for name in names:
                if isinstance(record, dict):
                    if name in record and record[name] is not None:
                        return record[name]
                elif getattr(record, name, None) is not None:
                    return getattr(record, name)
            return default

        tz = get("tz", "timezone", "time_zone", default="UTC")
        zinfo = zone(tz)
        if get("start_utc") is not None:  # consent_db stores naive UTC
            start, end = _as_aware(get("start_utc"), UTC), _as_aware(get("end_utc"), UTC)
        else:
            start = _as_aware(get("start", "starts_at", "start_at"), zinfo)
            end = _as_aware(get("end", "ends_at", "end_at"), zinfo)
        status = get("status", default="")
        closed = bool(get("closed", default=False)) or get("closed_at") is not None or str(status) == "closed"
        radius = get("radius_m", "radius")
        return cls(
            id=str(get("id", "event_id")),
            name=str(get("name", default="")),
            start=start,
            end=end,
            tz=str(tz),
            basis=None if get("basis") in (None, "", "none") else str(get("basis")),
            lat=_float_or_none(get("lat", "latitude")),
            lon=_float_or_none(get("lon", "longitude")),
            radius_m=_float_or_none(radius),
            place=str(get("place", "place_name", default="")),
            closed=closed,
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _as_aware(value: Any, zinfo: tzinfo) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise EventInputError("bad_time_value", value=repr(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=zinfo)


# -- validation of what a person declares ------------------------------------
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; EventInputError when it does not exist."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise EventInputError("unknown_tz", name=repr(name)) from None


MAX_RADIUS_M = 50_000.0


def parse_event_time(text: str, tz: str) -> datetime:
    """``2026-10-25T10:00`` (local to ``tz``) or with an explicit offset, as an aware datetime.

    A local time that the zone skips or repeats at a daylight-saving change is refused (EventInputError): read one
    way or the other, the window could be an hour wider than the person meant. With an offset it is taken as given.
    """
    zinfo = zone(tz)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EventInputError("bad_time", text=repr(text)) from None
    if moment.tzinfo is not None:
        return moment
    unclear = unclear_wall_clock(moment, tz)
    if unclear is not None:
        raise EventInputError(unclear[0], **unclear[1])
    return moment.replace(tzinfo=zinfo)


def wall_clock_readings(moment: datetime, zinfo: tzinfo) -> tuple[datetime, ...]:
    """The instant(s), in UTC, that a time without offset names in ``zinfo``: one, or two in the hour a
    daylight-saving change repeats (both happen) or skips (neither does; PEP 495's two folds)."""
    # to UTC at once: aware datetimes sharing one tzinfo compare by wall clock, fold ignored
    first = moment.replace(tzinfo=zinfo, fold=0).astimezone(UTC)
    second = moment.replace(tzinfo=zinfo, fold=1).astimezone(UTC)
    return (first,) if first == second else (first, second)


def unclear_wall_clock(moment: datetime, tz: str) -> tuple[str, dict[str, str]] | None:
    """Why a declared time without offset names no single instant in ``tz``, as an ``event.<code>`` and its values
    (the time, the zone and the same time with each offset the zone had that night); None when it names one."""
    zinfo = zone(tz)
    if moment.tzinfo is not None or len(wall_clock_readings(moment, zinfo)) == 1:
        return None
    spec = "minutes" if not (moment.second or moment.microsecond) else "auto"
    first, second = (moment.replace(tzinfo=timezone(moment.replace(tzinfo=zinfo, fold=fold).utcoffset() or timedelta(0)))
                     .isoformat(timespec=spec) for fold in (0, 1))
    values = {"time": moment.isoformat(timespec=spec), "tz": str(tz), "first": first, "second": second}
    # skipped: the time read with the offset before the change lands after it on the zone's own clock
    skipped = moment.replace(tzinfo=zinfo).astimezone(UTC).astimezone(zinfo).replace(tzinfo=None) != moment
    return ("time_skipped" if skipped else "time_repeated"), values


def check_event_fields(
    *,
    start: datetime,
    end: datetime,
    tz: str,
    basis: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_m: float | None = None,
    name: str | None = "x",
) -> None:
    """Raise EventInputError on the first field a register must refuse."""
    zone(tz)
    if name is not None and not str(name).strip():
        raise EventInputError("no_name")
    if not (2000 <= start.year and end.year <= 2200):  # year 9999 overflowed in the zone conversion: exit 70
        raise EventInputError("bad_year", start=start.isoformat(), end=end.isoformat())
    if start.tzinfo is None or end.tzinfo is None:
        raise EventInputError("no_tz")
    if end.astimezone(UTC) <= start.astimezone(UTC):
        # both on the event's own clock: a stored end (UTC) beside a start as typed read as hours apart
        raise EventInputError("end_before_start", end=end.astimezone(zone(tz)).isoformat(), start=start.astimezone(zone(tz)).isoformat())
    if basis not in (None, *BASES):
        raise EventInputError("bad_basis", allowed=", ".join(BASES), basis=repr(basis))
    if (lat is None) != (lon is None):
        raise EventInputError("lat_lon_pair")
    if lat is not None and not (math.isfinite(lat) and -90 <= lat <= 90):
        raise EventInputError("lat_range", lat=lat)
    if lon is not None and not (math.isfinite(lon) and -180 <= lon <= 180):
        raise EventInputError("lon_range", lon=lon)
    if radius_m is not None:
        # a radius of the size of the Earth turns the place check off (an audit's 1e308)
        if not math.isfinite(radius_m) or not 0 <= radius_m <= MAX_RADIUS_M:
            raise EventInputError("bad_radius", radius=radius_m)
        if lat is None:
            raise EventInputError("radius_needs_place")


# -- geometry ----------------------------------------------------------------
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (mean Earth radius; ample for event places)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


# -- linking -----------------------------------------------------------------
def photo_time_problem(meta: PhotoMetadata | None, now: datetime | None = None, lang: str = "en") -> str | None:
    """Why the photo's capture time cannot be trusted for linking (in ``lang``), or None when it can."""
    if meta is None or meta.datetime_original is None:
        if meta is not None and meta.datetime_raw:
            return t("note.time_malformed", lang, raw=repr(meta.datetime_raw))
        return t("note.time_missing", lang)
    moment = meta.datetime_original
    if moment.replace(tzinfo=None) < EARLIEST_PLAUSIBLE:
        return t("note.time_before_2000", lang, time=moment.isoformat())
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        if moment > now.astimezone(UTC).replace(tzinfo=None) + _FUTURE_SLACK_NAIVE:
            return t("note.time_future", lang, time=moment.isoformat())
    elif moment > now + _FUTURE_SLACK_AWARE:
        return t("note.time_future", lang, time=moment.isoformat())
    return None


def _instants(moment: datetime, event: Event) -> tuple[datetime, ...]:
    """The instant(s) a capture time may denote for this event.

    With an offset in the file there is one. Without, the time is read in the
    event's zone; in the repeated hour of a daylight-saving change (or the
    skipped one) a wall-clock time has two readings, and both are returned.
    """
    if moment.tzinfo is not None:
        return (moment.astimezone(UTC),)
    return wall_clock_readings(moment, zone(event.tz))


def _fmt(moment: datetime, tz: str) -> str:
    """The window as the event's own clock shows it, beside a photo time read on that clock (the register keeps
    UTC: 08:00+00:00 beside a photo at 10:30 in Tirana read as if the photo were hours late)."""
    return moment.astimezone(zone(tz)).isoformat(timespec="minutes")


@dataclass(frozen=True, slots=True)
class _Fit:
    event: Event
    in_window: bool  # every reading of the time is inside the window
    partly: bool  # only one reading of a DST-ambiguous time is inside
    distance_m: float | None  # None when either side has no GPS
    radius_m: float | None

    @property
    def outside_place(self) -> bool:
        return self.distance_m is not None and self.radius_m is not None and self.distance_m > self.radius_m


def _distance(event: Event, meta: PhotoMetadata | None) -> tuple[float, float] | None:
    """(the photo's GPS distance from the event's place, the event's radius) in metres, when both are known."""
    if meta is None or not event.has_place or meta.gps_lat is None or meta.gps_lon is None:
        return None
    radius = DEFAULT_RADIUS_M if event.radius_m is None else event.radius_m
    return haversine_m(meta.gps_lat, meta.gps_lon, event.lat, event.lon), radius  # type: ignore[arg-type]


def _fit(event: Event, meta: PhotoMetadata) -> _Fit:
    assert meta.datetime_original is not None
    readings = _instants(meta.datetime_original, event)
    start, end = event.start.astimezone(UTC), event.end.astimezone(UTC)
    inside = [start <= r <= end for r in readings]
    distance, radius = _distance(event, meta) or (None, None)
    return _Fit(event, all(inside), any(inside) and not all(inside), distance, radius)


def _joined_basis(events: Iterable[Event]) -> str | None:
    """Every basis among candidates, so the decision knows whether any of them could exempt."""
    bases = sorted({e.basis for e in events if e.basis})
    return "/".join(bases) or None


def _uncertain(event_id: str | None, basis: str | None, how: str, note: str, lang: str) -> EventEvidence:
    """A doubtful link. It matters only if a candidate declares a basis: with none, no exemption
    is at stake, so the photo stays unlinked and its block stands (the decision reads an
    ambiguous link without a basis as "unknown" and sends it to a person)."""
    if basis is None:
        return EventEvidence(None, None, how, note=t("note.event_no_basis", lang, note=note))
    return EventEvidence(event_id, basis, how, ambiguous=True, note=note)


def link_photo(
    events: Sequence[Event],
    meta: PhotoMetadata | None,
    explicit_event: str | None = None,
    now: datetime | None = None,
    lang: str = "en",
) -> EventEvidence | None:
    """The event a photo belongs to, or None when nothing links it.

    An explicit id wins over automatic linking (UnknownEventError when the
    register lacks it), but when the photo's own trustworthy time or GPS
    contradicts the declared event, the link is marked ambiguous: a photo of
    a classroom visit must not ride on a street festival's id unseen. The
    evidence's note says why, in ``lang``.
    """
    by_id = {e.id: e for e in events}
    problem = photo_time_problem(meta, now, lang)
    if explicit_event is not None:
        event = by_id.get(explicit_event)
        if event is None:
            raise UnknownEventError(explicit_event)
        if problem is not None:
            # no time to check, but a GPS position still contradicts the declaration (an audit passed a photo taken
            # in New York, its time missing or in 2099, on a Tirana square's festival)
            distance = _distance(event, meta)
            if distance is not None and distance[0] > distance[1]:
                return _uncertain(
                    event.id, event.basis, "explicit",
                    t("note.event_outside_place", lang, distance=f"{distance[0]:.0f}", id=event.id, radius=f"{distance[1]:.0f}"),
                    lang,
                )
            return EventEvidence(event.id, event.basis, "explicit",
                                 note=t("note.event_declared_unchecked", lang, name=event.name, problem=problem))
        if problem is None:
            assert meta is not None
            fit = _fit(event, meta)
            if fit.partly:
                return _uncertain(
                    event.id, event.basis, "explicit",
                    t("note.event_dst", lang, time=meta.datetime_original.isoformat(), tz=event.tz, id=event.id),  # type: ignore[union-attr]
                    lang,
                )
            if not fit.in_window:
                return _uncertain(
                    event.id, event.basis, "explicit",
                    t("note.event_outside_window", lang, time=meta.datetime_original.isoformat(), id=event.id,  # type: ignore[union-attr]
                      start=_fmt(event.start, event.tz), end=_fmt(event.end, event.tz)),
                    lang,
                )
            if fit.outside_place:
                return _uncertain(
                    event.id, event.basis, "explicit",
                    t("note.event_outside_place", lang, distance=f"{fit.distance_m:.0f}", id=event.id, radius=f"{fit.radius_m:.0f}"),
                    lang,
                )
        return EventEvidence(event.id, event.basis, "explicit", note=t("note.event_declared", lang, name=event.name))

    if not events:
        return None
    if problem is not None:
        return EventEvidence(None, None, "none", note=t("note.event_no_auto", lang, problem=problem))
    assert meta is not None
    fits = [_fit(e, meta) for e in events]
    clean = [f for f in fits if f.in_window and not f.outside_place]
    # a clock time in a repeated or skipped hour that fits another event one way is that event's photo as well as this
    # one's (an audit linked a 02:30 photo to a public night event although one reading fit a private class)
    partly = [f for f in fits if f.partly and not f.outside_place]
    if len(clean) == 1 and partly:
        ids = ", ".join(f.event.id for f in clean + partly)
        return _uncertain(None, _joined_basis(f.event for f in clean + partly), "exif",
                          t("note.event_many", lang, n=len(clean) + len(partly), ids=ids), lang)
    if len(clean) == 1:
        f = clean[0]
        note = (t("note.event_exif_gps", lang, distance=f"{f.distance_m:.0f}") if f.distance_m is not None
                else t("note.event_exif", lang))
        return EventEvidence(f.event.id, f.event.basis, "exif", note=note)
    if len(clean) > 1:
        ids = ", ".join(f.event.id for f in clean)
        return _uncertain(None, _joined_basis(f.event for f in clean), "exif",
                          t("note.event_many", lang, n=len(clean), ids=ids), lang)
    doubtful = [f for f in fits if (f.in_window and f.outside_place) or f.partly]
    if not doubtful:
        return None
    notes = []
    for f in doubtful:
        if f.partly:
            notes.append(t("note.event_dst", lang, time=meta.datetime_original.isoformat(), tz=f.event.tz, id=f.event.id))  # type: ignore[union-attr]
        else:
            notes.append(t("note.event_gps_away", lang, id=f.event.id, distance=f"{f.distance_m:.0f}", radius=f"{f.radius_m:.0f}"))
    single = doubtful[0].event if len(doubtful) == 1 else None
    return _uncertain(
        single.id if single else None,
        single.basis if single else _joined_basis(f.event for f in doubtful),
        "exif",
        "; ".join(notes),
        lang,
    )


@dataclass(frozen=True)
class UnrecognisedNeverPublish:
    """An event linker whose links cannot exempt without a person: some never-publish children cannot be recognised
    (enrolled with another face embedder), so a child the exemption would let through may be one of them."""

    linker: Any
    children: int
    lang: str = "en"

    def link(self, photo: Any, explicit_event: str | None) -> EventEvidence | None:
        evidence = self.linker.link(photo, explicit_event)
        if evidence is None or evidence.basis is None or evidence.ambiguous:
            return evidence
        note = t("note.event_never_publish_unrecognised", self.lang, n=self.children, note=evidence.note)
        return replace(evidence, ambiguous=True, note=note)

    def __getattr__(self, name: str) -> Any:  # get(), events: the wrapped linker's
        if name == "linker":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.linker, name)


class RegisterEventLinker:
    """Satisfies :class:`minorguard.pipeline.EventLinker` from a list of events.

    ``source`` returns the register's events (rows or :class:`Event`); it is
    read once, on first use, so a batch of photos sees one consistent register
    and threads do not hit the database per photo.
    """

    def __init__(
        self, source: Callable[[], Iterable[Any]] | Iterable[Any], now: Callable[[], datetime] | None = None, lang: str = "en"
    ):
        self._source = source
        self.lang = lang  # of the links' notes, which the reasons a communicator reads quote
        self._events: tuple[Event, ...] | None = None
        self._lock = threading.Lock()
        self._now = now

    @property
    def events(self) -> tuple[Event, ...]:
        with self._lock:
            if self._events is None:
                rows = self._source() if callable(self._source) else self._source
                self._events = tuple(r if isinstance(r, Event) else Event.from_record(r) for r in rows)
            return self._events

    @classmethod
    def from_register(cls, register: Any, lang: str = "en") -> RegisterEventLinker:
        """Events of a ``consent_db.Register``, closed ones included: a closed event's photos still belong to it."""
        return cls(lambda: register.list_events(include_closed=True), lang=lang)

    def get(self, event_id: str) -> Event:
        for event in self.events:
            if event.id == event_id:
                return event
        raise UnknownEventError(event_id)

    def link(self, photo: Any, explicit_event: str | None) -> EventEvidence | None:
        meta = photo.metadata if hasattr(photo, "metadata") else photo
        return link_photo(self.events, meta, explicit_event, self._now() if self._now else None, self.lang)
