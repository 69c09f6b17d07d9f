"""`minorguard event add/list/show/update/close`: declare the public and outdoor events of rule 5.

Parsing and rendering only: validation and storage belong to ``consent_db``
(every change audited there), linking to :mod:`minorguard.rules.events`. Bad input
is one line and exit code 64, with nothing written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minorguard.cli.common import fail
from minorguard.cli.lang import Lang, LangOpt, current_lang, say
from minorguard.locale import t
from minorguard.rules.events import EventInputError, check_event_fields, parse_event_time, zone

__all__ = ["event_app", "open_register"]

event_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Declare public/outdoor events (rule 5's exemption) and list them.")
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DEFAULT_TZ = "Europe/Tirane"


class Basis(str, Enum):
    public = "public"
    outdoor = "outdoor"
    none = "none"




def _refuse(error: BaseException, lang: str | None = None) -> None:
    """A register or event error as the usage error's one line, in the command's language."""
    fail(say(error, lang or current_lang()))


def open_register(db: str | None, actor: str | None = None, lang: str | None = None, *, create: bool = True) -> Any:
    """The register at ``db`` (path or URL; default $MINORGUARD_DB or the user's data dir).

    ``create=False`` for a command that only reads the register or changes what is already in it (lists, show,
    export, audit, withdraw, ...): a register that does not exist stops it with one line (exit 64) and nothing is
    made, no file and no key, by the rule `scan` uses (``application.checks``): a mistyped --db must not leave a new,
    empty register that later checks would accept. Registers are made by the commands that add to them."""
    lang = lang or current_lang()
    try:
        from consent_db import Register, RegisterError
    except ImportError as error:  # the store is a separate package directory that may be missing
        fail(t("event.register_unavailable", lang, error=error))
    if not create:
        _refuse_no_register(db, lang)
    try:
        return Register(db, actor=actor, create=create)
    except RegisterError as error:
        if error.code == "missing":  # named (--db, $MINORGUARD_DB) but never made
            fail(t("register.missing_read", lang, **error.problems[0].params))
        _refuse(error, lang)


def _refuse_no_register(db: str | None, lang: str) -> None:
    """The data folder's register, when no other is named: none there yet, or its key without it (moved or deleted),
    is one line, as `scan` says it (``application.checks._data_folder_register``)."""
    from minorguard.application.checks import _data_folder_register, key_without_register

    found = _data_folder_register() if db is None else None
    if found is None:
        return  # named: Register(create=False) says when it does not exist
    folder, has_register, has_key = found
    if has_key and not has_register:
        _refuse(key_without_register(folder), lang)
    if not has_register:
        fail(t("register.none_yet", lang, folder=folder))


def _register_errors() -> tuple[type[BaseException], ...]:
    from consent_db import RegisterError

    return (RegisterError, EventInputError)


def _local(moment: datetime, tz: str) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone(tz)).isoformat(timespec="minutes")


def _fields(
    tz: str,
    start: str | None,
    end: str | None,
    lat: float | None,
    lon: float | None,
    radius: float | None,
) -> dict[str, Any]:
    """Parsed start/end (aware, in ``tz`` unless an offset is written) and place, checked before any write."""
    out: dict[str, Any] = {}
    try:
        zone(tz)
        if start is not None:
            out["start"] = parse_event_time(start, tz)
        if end is not None:
            out["end"] = parse_event_time(end, tz)
    except EventInputError as error:
        _refuse(error)
    for key, value in (("lat", lat), ("lon", lon), ("radius_m", radius)):
        if value is not None:
            out[key] = value
    return out


def _check(info: dict[str, Any]) -> None:
    try:
        check_event_fields(start=info["start"], end=info["end"], tz=info["tz"],
                           basis=None if info.get("basis") in (None, "none") else info["basis"],
                           lat=info.get("lat"), lon=info.get("lon"), radius_m=info.get("radius_m"), name=info.get("name"))
    except EventInputError as error:
        _refuse(error)


def _show(event: Any, lang: str) -> None:
    table = Table(title=t("event.title", lang, id=event.id), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("name", event.name),
        ("start", _local(event.start_utc, event.tz)),
        ("end", _local(event.end_utc, event.tz)),
        ("tz", event.tz),
        ("place", event.place),
        ("lat_lon", "" if event.lat is None else f"{event.lat:.6f}, {event.lon:.6f}"),
        ("radius_m", "" if event.radius_m is None else f"{event.radius_m:g}"),
        ("basis", event.basis),
        ("justification", event.justification),
        ("declared_by", f"{event.declared_by} ({_local(event.declared_at, 'UTC')})"),
        ("closed", t("cli.yes" if event.closed else "cli.no", lang)),
    ]
    for key, value in rows:
        table.add_row(t(f"col.{key}", lang), escape(str(value)))
    console.print(table)


DbOpt = typer.Option(None, "--db", help="Register: file path or database URL (default $MINORGUARD_DB or the user's data folder).")
ByOpt = typer.Option(None, "--by", help="Who declares or changes it (default $MINORGUARD_ACTOR or the login name).")
BasisOpt = typer.Option(Basis.none, "--basis", help="Basis of the exemption: public, outdoor or none.")
NewBasisOpt = typer.Option(None, "--basis", help="New basis: public, outdoor or none (a new declaration).")


@event_app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="Name of the event."),
    start: str = typer.Option(..., "--start", help="Start, YYYY-MM-DDTHH:MM (in --tz unless an offset is written)."),
    end: str = typer.Option(..., "--end", help="End, YYYY-MM-DDTHH:MM."),
    tz: str = typer.Option(DEFAULT_TZ, "--tz", help="IANA time zone of the event."),
    place: str = typer.Option("", "--place", help="Name of the place."),
    lat: float | None = typer.Option(None, "--lat", help="Latitude of the place (-90..90)."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude of the place (-180..180)."),
    radius: float | None = typer.Option(None, "--radius", help="Radius around lat/lon in metres (default 1000 when linking)."),
    basis: Basis = BasisOpt,
    justification: str = typer.Option("", "--justification", help="Why the event is public or outdoor (required with a basis)."),
    event_id: str | None = typer.Option(None, "--id", help="Id to give the event (default: generated)."),
    db: str | None = DbOpt,
    by: str | None = ByOpt,
    lang: Lang = LangOpt,
) -> None:
    """Declare an event; with --basis public or outdoor its photos are exempt from rule 5."""
    fields = _fields(tz, start, end, lat, lon, radius)
    _check({"name": name, "tz": tz, "basis": basis.value, **fields})
    try:  # everything the register would refuse, before it is opened: a refused event must not leave a new register
        from consent_db import Register

        Register.check_event(name, fields["start"], fields["end"], tz=tz, place=place, basis=basis.value, justification=justification,
                             **{k: v for k, v in fields.items() if k not in ("start", "end")})
    except ImportError:
        pass  # open_register says the register cannot be used
    except _register_errors() as error:
        _refuse(error, lang.value)
    with open_register(db, by) as reg:
        try:
            event = reg.create_event(name, fields.pop("start"), fields.pop("end"), tz=tz, place=place, basis=basis.value,
                                     justification=justification, event_id=event_id, **fields)
        except _register_errors() as error:
            _refuse(error, lang.value)
    err.print(t("event.added", lang.value, id=event.id))
    _show(event, lang.value)


@event_app.command("list")
def list_cmd(
    all_: bool = typer.Option(False, "--all", help="Include closed events."),
    db: str | None = DbOpt,
    lang: Lang = LangOpt,
) -> None:
    """Events in the register, earliest first."""
    with open_register(db, lang=lang.value, create=False) as reg:
        events = reg.list_events(include_closed=all_)
    table = Table(title=t("event.list_title", lang.value))
    # local wall-clock times keep the table readable in 80 columns; `show` gives the offset
    for column in ("id", "start", "end", "basis", "name"):
        table.add_column(column if column == "id" else t(f"col.{column}", lang.value), overflow="fold", no_wrap=column != "name")
    closed = " " + t("event.closed_mark", lang.value)
    for e in events:
        local = [_local(m, e.tz).replace("T", " ")[:16] for m in (e.start_utc, e.end_utc)]
        table.add_row(e.id + (closed if e.closed else ""), *local, e.basis, escape(f"{e.name} ({e.tz})"))
    console.print(table)


@event_app.command("show")
def show(event_id: str = typer.Argument(..., help="Event id."), db: str | None = DbOpt, lang: Lang = LangOpt) -> None:
    """One event with who declared it, when, and why."""
    with open_register(db, lang=lang.value, create=False) as reg:
        try:
            event = reg.get_event(event_id)
        except _register_errors() as error:
            _refuse(error, lang.value)
    _show(event, lang.value)


@event_app.command("update")
def update(
    event_id: str = typer.Argument(..., help="Event id."),
    name: str | None = typer.Option(None, "--name"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    tz: str | None = typer.Option(None, "--tz", help="New time zone; --start/--end are read in it."),
    place: str | None = typer.Option(None, "--place"),
    lat: float | None = typer.Option(None, "--lat"),
    lon: float | None = typer.Option(None, "--lon"),
    radius: float | None = typer.Option(None, "--radius"),
    basis: Basis | None = NewBasisOpt,
    justification: str | None = typer.Option(None, "--justification"),
    db: str | None = DbOpt,
    by: str | None = ByOpt,
    lang: Lang = LangOpt,
) -> None:
    """Change an event (every change is audited; a new basis is a new declaration)."""
    with open_register(db, by, lang.value, create=False) as reg:
        try:
            current = reg.get_event(event_id)
            new_tz = tz or current.tz
            changes = _fields(new_tz, start, end, lat, lon, radius)
            if tz is not None:
                changes["tz"] = tz
            for key, value in (("name", name), ("place", place), ("justification", justification)):
                if value is not None:
                    changes[key] = value
            if basis is not None:
                changes["basis"] = basis.value
            if not changes:
                fail(t("event.nothing_to_change", lang.value))
            merged = {
                "name": current.name, "tz": new_tz, "basis": current.basis, "lat": current.lat, "lon": current.lon,
                "radius_m": current.radius_m, "start": current.start_utc.replace(tzinfo=UTC),
                "end": current.end_utc.replace(tzinfo=UTC), **changes,
            }
            _check(merged)
            event = reg.update_event(event_id, **changes)
        except _register_errors() as error:
            _refuse(error, lang.value)
    err.print(t("event.updated", lang.value, id=event.id))
    _show(event, lang.value)


@event_app.command("close")
def close(event_id: str = typer.Argument(..., help="Event id."), db: str | None = DbOpt, by: str | None = ByOpt,
          lang: Lang = LangOpt) -> None:
    """Close an event: no more changes; its photos still link to it. Lists the photos checked or exported under its
    exemption (`minorguard audit relied --event ID` gives the list again, as CSV or JSON too)."""
    from consent_db.reliance import relying_on
    from minorguard.cli.relied import print_relied

    with open_register(db, by, lang.value, create=False) as reg:
        try:
            current = reg.get_event(event_id)
            if current.closed:  # closed before: nothing is written, said once more (idempotent)
                _say_already_closed(reg, current, lang.value)
                return
            event = reg.close_event(event_id)
            relied = relying_on(reg, event=event_id)
        except _register_errors() as error:
            _refuse(error, lang.value)
    err.print(t("event.closed", lang.value, id=event.id))
    console.print(t("relied.closed_list", lang.value))
    print_relied(relied, {}, lang.value, what=event.id)


def _say_already_closed(reg: Any, event: Any, lang: str) -> None:
    """An event closed before: who closed it and when (on the event's own clock), from the audit log."""
    closing = reg.event_closing(event.id)
    if closing is None:  # closed without an entry saying so (a register of an earlier version)
        err.print(escape(t("event.already_closed_unrecorded", lang, id=event.id)))
        return
    when = _local(datetime.fromisoformat(closing["at"]), event.tz)
    err.print(escape(t("event.already_closed", lang, id=event.id, when=when, by=closing["actor"])))
