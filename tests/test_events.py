"""Public and outdoor events: linking photos by explicit id or EXIF time and GPS, and the exemption's policy.

Photos are copies of the Obama family portrait (two girls: BLOCK on their own)
carrying EXIF written with Pillow, checked by the real models.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from exif_photo import write_exif_photo
from hypothesis import given, settings
from hypothesis import strategies as st

from minorguard.pipeline import CheckContext, Guard
from minorguard.report.files import write_csv, write_json
from minorguard.rules.decide import decide_face
from minorguard.rules.events import (
    Event,
    EventInputError,
    RegisterEventLinker,
    UnknownEventError,
    check_event_fields,
    haversine_m,
    link_photo,
    parse_event_time,
)
from minorguard.rules.policy import Policy
from minorguard.types import (
    AgeEstimate,
    Box,
    ConsentEvidence,
    DetectedFace,
    EventEvidence,
    FaceAction,
    FaceAssessment,
    Identifiability,
    PhotoMetadata,
    ReasonCode,
    Verdict,
)

TIRANE = "Europe/Tirane"
SKANDERBEG = (41.3275, 19.8187)  # Skanderbeg Square, Tirana
DURRES = (41.3246, 19.4565)  # about 30 km west


def event(id="E1", start="2026-06-01T10:00", end="2026-06-01T12:00", tz=TIRANE, basis="public", place=SKANDERBEG, radius=300.0):
    lat, lon = place if place else (None, None)
    return Event(id, f"event {id}", parse_event_time(start, tz), parse_event_time(end, tz), tz, basis, lat, lon,
                 radius if place else None)


def meta(taken: datetime | None, gps=None, raw: str | None = None) -> PhotoMetadata:
    lat, lon = gps if gps else (None, None)
    return PhotoMetadata(datetime_original=taken, datetime_raw=raw or (taken and taken.strftime("%Y:%m:%d %H:%M:%S")),
                         gps_lat=lat, gps_lon=lon)


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# -- the real pipeline --------------------------------------------------------
@pytest.fixture(scope="module")
def guard_with(guard):
    """A Guard sharing the session's loaded models, with the given events and policy."""

    def make(events, policy: Policy | None = None) -> Guard:
        return Guard(policy=policy or guard.policy, pack=guard.pack, events=RegisterEventLinker(events))

    return make


def test_photo_inside_window_and_radius_is_exempt(tmp_path, guard, guard_with):
    photo = write_exif_photo(tmp_path / "ceremonia_shëtitore.jpg", "2026:06:01 11:00:00", "+02:00", SKANDERBEG)
    assert guard.check(photo).verdict is Verdict.BLOCK  # the two girls block without the event
    result = guard_with([event(), event("E2", "2026-06-02T10:00", "2026-06-02T12:00")]).check(photo)
    assert result.verdict is Verdict.PASS
    assert (result.event.event_id, result.event.basis, result.event.how) == ("E1", "public", "exif")
    exempt = [d for d in result.faces if d.reason is ReasonCode.EVENT_EXEMPT]
    assert len(exempt) == 2 and all(d.detail == "E1 (public)" for d in exempt)
    # the reports carry the event id
    write_json([result], tmp_path / "r.json")
    write_csv([result], tmp_path / "r.csv")
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["photos"][0]["event"]["event_id"] == "E1"
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
    assert {r["event_id"] for r in rows} == {"E1"}
    assert any("E1 (public)" in r["explanation"] for r in rows)


def test_photo_outside_radius_goes_to_review(tmp_path, guard_with):
    photo = write_exif_photo(tmp_path / "p.jpg", "2026:06:01 11:00:00", "+02:00", DURRES)
    result = guard_with([event()]).check(photo)
    assert result.verdict is Verdict.REVIEW
    assert result.event.ambiguous and result.event.event_id == "E1"
    minors = [d for d in result.faces if d.reason is ReasonCode.EVENT_AMBIGUOUS]
    assert len(minors) == 2 and "radius 300 m" in minors[0].detail
    assert any("GPS is" in h for h in result.hints)


def test_photo_without_exif_time_is_not_linked(tmp_path, guard_with):
    photo = write_exif_photo(tmp_path / "p.jpg", None, None, SKANDERBEG)
    result = guard_with([event()]).check(photo)
    assert result.verdict is Verdict.BLOCK
    assert result.event.event_id is None and result.event.how == "none"
    assert any("no EXIF capture time" in h and "--event" in h for h in result.hints)


def test_explicit_event_links_a_photo_without_exif_time(tmp_path, guard_with):
    photo = write_exif_photo(tmp_path / "p.jpg")
    result = guard_with([event()]).check(photo, CheckContext(event_id="E1"))
    assert result.verdict is Verdict.PASS and result.event.how == "explicit"


def test_two_overlapping_events_give_review(tmp_path, guard_with):
    photo = write_exif_photo(tmp_path / "p.jpg", "2026:06:01 11:00:00", "+02:00", SKANDERBEG)
    both = [event("E1"), event("E2", "2026-06-01T09:00", "2026-06-01T11:30", basis="outdoor")]
    result = guard_with(both).check(photo)
    assert result.verdict is Verdict.REVIEW
    assert result.event.ambiguous and result.event.event_id is None
    assert "E1" in result.event.note and "E2" in result.event.note


def test_exemption_disabled_by_policy_file(tmp_path, guard, guard_with):
    strict = tmp_path / "strict.toml"
    strict.write_text("[events]\nexemption_enabled = false\n", encoding="utf-8")
    from minorguard.rules.policy import load_policy

    photo = write_exif_photo(tmp_path / "p.jpg", "2026:06:01 11:00:00", "+02:00", SKANDERBEG)
    result = guard_with([event()], load_policy(strict)).check(photo)
    assert result.verdict is Verdict.BLOCK
    assert result.event.event_id == "E1"  # linked, but the office does not exempt


# -- the pure decision ------------------------------------------------------------
def child() -> FaceAssessment:
    return FaceAssessment(0, DetectedFace(Box(10, 10, 80, 80), 0.99), Identifiability(True, 80.0, 50.0),
                          AgeEstimate(10.0, 6.0, 14.0, 0.95, "test"))


LINKED = EventEvidence("E1", "public", "exif")


def test_exemption_allows_a_possible_minor():
    d = decide_face(child(), Policy())
    assert d.action is FaceAction.BLOCK
    d = decide_face(child(), Policy(), event=LINKED)
    assert (d.action, d.reason, d.detail) == (FaceAction.ALLOW, ReasonCode.EVENT_EXEMPT, "E1 (public)")


def test_never_publish_beats_exemption():
    never = ConsentEvidence("child-7", 0.9, None, confident=True, ambiguous=False, never_publish=True)
    d = decide_face(child(), Policy(), consent=never, event=LINKED)
    assert (d.action, d.reason) == (FaceAction.BLOCK, ReasonCode.NEVER_PUBLISH)


def test_exemption_disabled_by_policy():
    d = decide_face(child(), Policy(exemption_enabled=False), event=LINKED)
    assert (d.action, d.reason) == (FaceAction.BLOCK, ReasonCode.POSSIBLE_MINOR)
    d = decide_face(child(), Policy(exemption_enabled=False), event=EventEvidence("E1", "public", "exif", ambiguous=True))
    assert d.action is FaceAction.BLOCK


def test_only_bases_the_policy_lists_exempt():
    outdoor = EventEvidence("E1", "outdoor", "explicit")
    assert decide_face(child(), Policy(exempt_bases=("public",)), event=outdoor).action is FaceAction.BLOCK
    assert decide_face(child(), Policy(), event=EventEvidence("E1", None, "explicit")).action is FaceAction.BLOCK


def test_ambiguous_link_reviews_only_when_a_candidate_could_exempt():
    # fixed defect: an ambiguous link between events the policy does not exempt turned BLOCK into REVIEW
    outdoor_only = EventEvidence(None, "outdoor", "exif", ambiguous=True, note="two events")
    assert decide_face(child(), Policy(exempt_bases=("public",)), event=outdoor_only).action is FaceAction.BLOCK
    unknown = EventEvidence(None, None, "exif", ambiguous=True, note="two events")  # candidates unknown: a person
    assert decide_face(child(), Policy(), event=unknown).action is FaceAction.REVIEW
    mixed = EventEvidence(None, "outdoor/public", "exif", ambiguous=True, note="two events")
    d = decide_face(child(), Policy(exempt_bases=("outdoor",)), event=mixed)
    assert (d.action, d.reason) == (FaceAction.REVIEW, ReasonCode.EVENT_AMBIGUOUS)


# -- linking, pure ------------------------------------------------------------------
def test_link_inside_window_and_radius():
    ev = link_photo([event()], meta(datetime(2026, 6, 1, 11, 0), SKANDERBEG), now=NOW)
    assert (ev.event_id, ev.how, ev.ambiguous) == ("E1", "exif", False)
    # without GPS on the photo the time alone links
    assert link_photo([event()], meta(datetime(2026, 6, 1, 11, 0)), now=NOW).event_id == "E1"
    # outside the window: nothing
    assert link_photo([event()], meta(datetime(2026, 6, 1, 12, 1)), now=NOW) is None


def test_doubtful_links_to_events_without_a_basis_leave_the_photo_unlinked():
    plain = [event("A", basis=None), event("B", basis=None)]
    ev = link_photo(plain, meta(datetime(2026, 6, 1, 11, 0)), now=NOW)
    assert ev.event_id is None and not ev.ambiguous and "no candidate event declares a basis" in ev.note
    assert decide_face(child(), Policy(), event=ev).action is FaceAction.BLOCK
    # one exempting candidate among them keeps the doubt (and the review)
    ev = link_photo([*plain, event("C")], meta(datetime(2026, 6, 1, 11, 0)), now=NOW)
    assert ev.ambiguous and ev.basis == "public"


def test_one_event_in_place_wins_over_one_elsewhere_at_the_same_time():
    elsewhere = event("E2", place=DURRES)
    ev = link_photo([event(), elsewhere], meta(datetime(2026, 6, 1, 11, 0), SKANDERBEG), now=NOW)
    assert (ev.event_id, ev.ambiguous) == ("E1", False)


@pytest.mark.parametrize(
    ("taken", "raw", "why"),
    [
        (None, "2026:13:45 99:00:00", "malformed"),
        (datetime(2099, 6, 1, 11, 0), None, "future"),
        (datetime(1980, 1, 1, 0, 0), None, "before 2000"),
        (None, None, "no EXIF capture time"),
    ],
)
def test_untrustworthy_times_never_link(taken, raw, why):
    always = event(start="1970-01-01T00:00", end="2100-01-01T00:00", place=None)
    ev = link_photo([always], meta(taken, raw=raw), now=NOW)
    assert ev.event_id is None and not ev.ambiguous and why in ev.note


def test_explicit_event_wins_and_unknown_id_is_a_clear_error():
    other = event("E2", "2026-06-01T10:00", "2026-06-01T12:00")
    ev = link_photo([event(), other], meta(datetime(2026, 6, 1, 11, 0)), "E2", now=NOW)
    assert (ev.event_id, ev.how, ev.ambiguous) == ("E2", "explicit", False)
    with pytest.raises(UnknownEventError, match="unknown event id 'E9'"):
        link_photo([event()], meta(None), "E9")


def test_explicit_event_contradicted_by_the_photo_is_ambiguous():
    # a classroom visit a week later must not ride on the festival's id unseen
    ev = link_photo([event()], meta(datetime(2026, 6, 8, 9, 0)), "E1", now=NOW)
    assert ev.ambiguous and "outside event E1" in ev.note
    # the window on the event's own clock, as the photo's time is read (the register keeps UTC)
    stored = Event.from_record({"id": "E1", "start_utc": datetime(2026, 6, 1, 8, 0), "end_utc": datetime(2026, 6, 1, 10, 0),
                                "tz": TIRANE, "basis": "public"})
    ev = link_photo([stored], meta(datetime(2026, 6, 8, 9, 0)), "E1", now=NOW)
    assert "(2026-06-01T10:00+02:00 to 2026-06-01T12:00+02:00)" in ev.note
    ev = link_photo([event()], meta(datetime(2026, 6, 1, 11, 0), DURRES), "E1", now=NOW)
    assert ev.ambiguous and "radius 300 m" in ev.note
    # the note is quoted in the reason a communicator reads: in the run's language
    ev = link_photo([event()], meta(datetime(2026, 6, 8, 9, 0)), "E1", now=NOW, lang="sq")
    assert ev.ambiguous and ev.note.startswith("fotoja u bë më 2026-06-08T09:00") and "jashtë ngjarjes E1" in ev.note
    assert link_photo([event()], meta(None), now=NOW, lang="sq").note.startswith("fotoja nuk ka orë fotografimi EXIF; nuk u lidh")


def test_unknown_explicit_event_in_the_pipeline_is_an_error_not_a_pass(tmp_path, guard_with):
    result = guard_with([event()]).check(write_exif_photo(tmp_path / "p.jpg"), CheckContext(event_id="nope"))
    assert result.verdict is Verdict.ERROR and "unknown event id 'nope'" in result.error


# -- time zones across the end of daylight-saving time ---------------------------------
# Europe/Tirane leaves summer time on 2026-10-25: 03:00 CEST (+02:00) becomes 02:00 CET (+01:00),
# so local 02:00-02:59 happens twice.
def test_event_window_spans_the_dst_change():
    night = event("N", "2026-10-24T22:00", "2026-10-25T04:00", place=None)
    # 22:00 CEST .. 04:00 CET is 7 hours (in UTC: aware datetimes sharing a zone subtract by wall clock, 6 h)
    assert night.end.astimezone(UTC) - night.start.astimezone(UTC) == timedelta(hours=7)
    assert link_photo([night], meta(datetime(2026, 10, 25, 3, 30)), now=NOW).event_id == "N"
    # the same wall-clock time written with the summer offset by a camera never switched
    assert link_photo([night], meta(datetime(2026, 10, 25, 3, 30, tzinfo=timezone(timedelta(hours=2)))), now=NOW).event_id == "N"
    assert link_photo([night], meta(datetime(2026, 10, 25, 4, 30)), now=NOW) is None


def test_repeated_hour_is_resolved_by_the_offset_and_doubtful_without():
    # ends 02:45 CEST = 00:45 UTC, before the clocks go back
    early = event("S", "2026-10-25T00:00+02:00", "2026-10-25T02:45+02:00", place=None)
    cest = link_photo([early], meta(datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=2)))), now=NOW)
    assert cest.event_id == "S" and not cest.ambiguous
    cet = link_photo([early], meta(datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=1)))), now=NOW)
    assert cet is None
    naive = link_photo([early], meta(datetime(2026, 10, 25, 2, 30)), now=NOW)
    assert naive.ambiguous and naive.event_id == "S" and "daylight-saving" in naive.note
    # the same with the window's start declared in local time (its end, in the repeated hour, needs its offset)
    local = event("L", "2026-10-25T00:00", "2026-10-25T02:45+02:00", place=None)
    assert link_photo([local], meta(datetime(2026, 10, 25, 2, 30)), now=NOW).ambiguous
    explicit = link_photo([local], meta(datetime(2026, 10, 25, 2, 30)), "L", now=NOW)
    assert explicit.ambiguous and "daylight-saving" in explicit.note


def test_naive_time_is_read_in_each_events_own_zone():
    # 11:00 on a camera without offset fits both a Tirana and a New York event at 10-12 local: a person decides
    ny = event("NY", tz="America/New_York", place=None)
    ti = event("TI", place=None)
    both = link_photo([ny, ti], meta(datetime(2026, 6, 1, 11, 0)), now=NOW)
    assert both.ambiguous and both.event_id is None
    assert link_photo([ti], meta(datetime(2026, 6, 1, 11, 0)), now=NOW).event_id == "TI"
    assert link_photo([ny], meta(datetime(2026, 6, 1, 11, 0, tzinfo=timezone(timedelta(hours=2)))), now=NOW) is None


def test_dst_photo_through_the_pipeline(tmp_path, guard_with):
    # an autumn sports day declared in local time after the change, photo with the camera's CET offset
    sports = event("SD", "2026-10-25T10:00", "2026-10-25T13:00", basis="outdoor")
    photo = write_exif_photo(tmp_path / "p.jpg", "2026:10:25 12:30:00", "+01:00", SKANDERBEG)
    assert guard_with([sports]).check(photo).verdict is Verdict.PASS
    late = write_exif_photo(tmp_path / "late.jpg", "2026:10:25 13:30:00", "+01:00", SKANDERBEG)
    assert guard_with([sports]).check(late).verdict is Verdict.BLOCK


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": "2026-06-01T12:00", "end": "2026-06-01T10:00"}, "before it starts"),
        ({"tz": "Europe/Tirana_Old"}, "unknown time zone"),
        ({"lat": 91.0, "lon": 19.0}, "latitude 91.0 is out of range"),
        ({"lat": 41.0, "lon": -181.0}, "longitude -181.0 is out of range"),
        ({"lat": 41.0, "lon": 19.0, "radius_m": -5.0}, "radius must be 0 to 50000 metres"),
        ({"basis": "indoor"}, "basis must be one of"),
        ({"lat": 41.0}, "both latitude and longitude"),
    ],
)
def test_bad_event_fields_are_refused(fields, message):
    tz = fields.pop("tz", TIRANE)
    start = fields.pop("start", "2026-06-01T10:00")
    end = fields.pop("end", "2026-06-01T12:00")
    with pytest.raises(EventInputError, match=message):
        check_event_fields(start=parse_event_time(start, "UTC"), end=parse_event_time(end, "UTC"), tz=tz, **fields)


def test_bad_event_time_text():
    with pytest.raises(EventInputError, match="not ISO 8601"):
        parse_event_time("01/06/2026 10:00", TIRANE)


def test_haversine_tirana_durres():
    assert 29_000 < haversine_m(*SKANDERBEG, *DURRES) < 32_000
    assert haversine_m(*SKANDERBEG, *SKANDERBEG) == 0


def test_event_from_register_rows():
    row = {"id": "7", "name": "Festa", "start": "2026-06-01T10:00", "end": "2026-06-01T12:00", "timezone": TIRANE,
           "basis": "outdoor", "latitude": 41.3, "longitude": 19.8, "radius": 200, "status": "closed"}
    ev = Event.from_record(row)
    assert ev.start.utcoffset() == timedelta(hours=2) and ev.closed and ev.radius_m == 200.0
    linker = RegisterEventLinker(lambda: [row])
    assert linker.link(meta(datetime(2026, 6, 1, 11, 0)), None).event_id == "7"


# -- the command line ----------------------------------------------------------------------
@pytest.fixture
def mg(tmp_path, monkeypatch):
    """Run `minorguard ...` in-process against a register in tmp_path; returns (exit code, stdout + stderr)."""
    from minorguard import cli

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MINORGUARD_ACTOR", "ana")
    monkeypatch.delenv("MINORGUARD_DB", raising=False)

    def run(*args: str, capsys=None) -> int:
        return cli.main(list(args))

    return run


SPORTS = ["event", "add", "--name", "Dita e sportit, Tiranë", "--start", "2026-10-25T10:00", "--end", "2026-10-25T13:00",
          "--tz", TIRANE, "--lat", "41.3275", "--lon", "19.8187", "--radius", "500", "--basis", "outdoor",
          "--justification", "sports day on the open field", "--id", "sport", "--lang", "en"]


def test_cli_declares_lists_updates_and_closes_events(mg, capsys):
    assert mg(*SPORTS) == 0
    assert "event declared: sport" in capsys.readouterr().err
    assert mg("event", "list", "--lang", "en") == 0
    out = capsys.readouterr().out
    assert "sport" in out and "2026-10-25 10:00" in out  # in the event's own zone
    assert mg("event", "show", "sport", "--lang", "en") == 0
    assert "2026-10-25T10:00+01:00" in capsys.readouterr().out  # winter time: the DST change was at 03:00
    assert mg("event", "update", "sport", "--radius", "800", "--by", "drita", "--lang", "en") == 0
    assert "800" in capsys.readouterr().out
    from consent_db import Register

    with Register(actor="test") as reg:
        changes = [e for e in reg.audit_entries() if e["action"] == "event_updated"]
        assert changes and changes[-1]["actor"] == "drita"
    assert mg("event", "close", "sport") == 0
    assert mg("event", "update", "sport", "--radius", "100", "--lang", "en") == 64  # closed events cannot change
    assert "closed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--end": "2026-10-25T09:00"}, "before it starts"),
        ({"--tz": "Europe/Tirana_Old"}, "unknown time zone"),
        ({"--lat": "91"}, "latitude 91.0 is out of range"),
        ({"--lon": "200"}, "longitude 200.0 is out of range"),
        ({"--radius": "-1"}, "radius must be 0 to 50000 metres"),
        ({"--radius": "1e308"}, "radius must be 0 to 50000 metres"),  # the Earth's size: no place check at all
        ({"--start": "9999-12-31T20:00", "--end": "9999-12-31T21:00"}, "between the years 2000 and 2200"),  # was exit 70
        ({"--start": "25/10/2026"}, "not ISO 8601"),
    ],
)
def test_cli_bad_event_is_one_line_exit_64_and_nothing_written(mg, capsys, tmp_path, change, message):
    args = list(SPORTS)
    for flag, value in change.items():
        args[args.index(flag) + 1] = value
    assert mg(*args) == 64
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    # nothing written, not even a register: listing then says there is none yet (and makes none either)
    assert mg("event", "list", "--all", "--lang", "en") == 64
    assert "no register yet" in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "data" / "register.sqlite3").exists() and not (tmp_path / "data" / "register.key").exists()


def test_cli_scan_links_by_event_and_by_exif(mg, capsys, tmp_path):
    assert mg(*SPORTS) == 0
    folder = tmp_path / "foto"
    folder.mkdir()
    write_exif_photo(folder / "fusha_1.jpg", "2026:10:25 11:00:00", None, SKANDERBEG)  # naive: read in Europe/Tirane
    write_exif_photo(folder / "pa_kohë.jpg")
    report = tmp_path / "r.json"
    # automatic: the photo with EXIF time links, the one without does not
    assert mg("scan", str(folder), "--json", str(report), "--lang", "en") == 2
    photos = {p["source"].rsplit("/", 1)[-1]: p for p in json.loads(report.read_text(encoding="utf-8"))["photos"]}
    assert photos["fusha_1.jpg"]["verdict"] == "PASS" and photos["fusha_1.jpg"]["event"]["event_id"] == "sport"
    assert photos["pa_kohë.jpg"]["verdict"] == "BLOCK"
    # explicit: both
    capsys.readouterr()
    assert mg("scan", str(folder), "--event", "sport", "--lang", "en") == 0
    # unknown id: usage error before any photo
    assert mg("scan", str(folder), "--event", "nope", "--lang", "en") == 64
    assert "unknown event id 'nope'" in capsys.readouterr().err
    # the audit log records the decisions the event changed
    from consent_db import Register

    with Register(actor="test") as reg:
        audited = [json.loads(e["details"]) for e in reg.audit_entries() if e["action"] == "scan_decision"]
    assert audited and all(d["event_id"] == "sport" and d["reason"] == "event_exempt" for d in audited)


@pytest.mark.parametrize("damage", ["wrong key", "key moved away"])
def test_a_register_that_cannot_be_opened_stops_scan_export_and_review(mg, capsys, tmp_path, monkeypatch, damage):
    """Fail closed: without the register, consents' limits, events, known adults and reviewers' *hide*
    decisions would be missing and nothing audited, so a photo a reviewer hid could pass and be exported."""
    assert mg(*SPORTS) == 0
    key = tmp_path / "data" / "register.key"
    if damage == "wrong key":
        key.write_bytes(b"not the key")
    else:
        key.rename(tmp_path / "elsewhere.key")
    (tmp_path / "fotot").mkdir()
    photo = write_exif_photo(tmp_path / "fotot" / "p.jpg", "2026:10:25 11:00:00", "+01:00", SKANDERBEG)
    out = tmp_path / "kopje"
    for args in (["scan", str(photo)], ["export", str(photo), "--out", str(out)], ["review", str(photo.parent), "--no-open"]):
        capsys.readouterr()
        assert mg(*args, "--lang", "en") == 64, args
        assert "the register cannot be opened, so no photo was checked" in capsys.readouterr().err
    assert not out.exists()  # nothing exported
    # the same through $MINORGUARD_DB, with no default register
    moved = tmp_path / "moved"
    (tmp_path / "data").rename(moved)
    monkeypatch.setenv("MINORGUARD_DB", str(moved / "register.sqlite3"))
    assert mg("scan", str(photo), "--lang", "sq") == 64
    assert "regjistri nuk hapet dot" in capsys.readouterr().err


def test_with_no_register_anywhere_a_scan_checks_without_one(mg, capsys, tmp_path):
    photo = write_exif_photo(tmp_path / "p.jpg", "2026:10:25 11:00:00", "+01:00", SKANDERBEG)
    assert mg("scan", str(photo), "--lang", "en") == 2  # BLOCK: no consent, no event, nothing allows the child
    assert not (tmp_path / "data" / "register.sqlite3").exists()  # a plain scan creates no register


# -- properties ---------------------------------------------------------------------------
_instant = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(
    windows=st.lists(st.tuples(_instant, st.integers(1, 48 * 60), st.sampled_from([None, "public", "outdoor"])),
                     min_size=1, max_size=4),
    taken=_instant,
    offset_h=st.integers(-12, 14),
)
def test_a_clean_automatic_link_always_contains_the_photo_time(windows, taken, offset_h):
    events = [Event(f"E{i}", "e", start, start + timedelta(minutes=minutes), "UTC", basis)
              for i, (start, minutes, basis) in enumerate(windows)]
    local = taken.astimezone(timezone(timedelta(hours=offset_h)))
    ev = link_photo(events, meta(local), now=NOW)
    inside = [e for e in events if e.start <= taken <= e.end]
    if ev is None:
        assert not inside
    elif ev.event_id is not None and not ev.ambiguous:
        chosen = next(e for e in events if e.id == ev.event_id)
        assert chosen.start <= taken <= chosen.end and len(inside) == 1
    else:
        assert len(inside) > 1


# -- the audit's fail-open links (plain data) ---------------------------------------
@pytest.mark.parametrize("taken", [None, datetime(2099, 1, 1, 12, 0), datetime(1998, 1, 1, 12, 0)])
def test_a_declared_event_is_contradicted_by_gps_even_when_the_photo_has_no_usable_time(taken):
    """--event on a photo taken in Durrës whose time is missing, in the future or before 2000 was a clean link: the GPS
    check ran only with a trusted time."""
    away = link_photo([event()], meta(taken, gps=DURRES), "E1", NOW)
    assert away.event_id == "E1" and away.ambiguous and "m from event E1" in away.note
    there = link_photo([event()], meta(taken, gps=SKANDERBEG), "E1", NOW)
    assert there.event_id == "E1" and not there.ambiguous and "could not be checked" in there.note


def test_a_clock_time_in_a_repeated_hour_that_fits_another_event_one_way_is_not_a_clean_link():
    """The audit's night of 25 October: 02:30 without an offset fits the public night event and, read one way, a
    private class evening; the public one was taken cleanly (a plain overlap asked a person)."""
    public = event("nata", "2026-10-25T00:00", "2026-10-25T05:00", place=None)
    private = event("klasa", "2026-10-25T01:45", "2026-10-25T02:45+02:00", basis=None, place=None)
    link = link_photo([public, private], meta(datetime(2026, 10, 25, 2, 30)), None, NOW)
    assert link.ambiguous and link.event_id is None and "nata" in link.note and "klasa" in link.note


def test_an_exemption_waits_for_a_person_while_never_publish_children_cannot_be_recognised():
    """A never-publish child enrolled with another face embedder is not recognised, so she was exempted at a public
    event like any child; the exemption now needs a person, and says why."""
    from minorguard.rules.events import UnrecognisedNeverPublish

    linker = UnrecognisedNeverPublish(RegisterEventLinker([event()], now=lambda: NOW), 1)
    link = linker.link(meta(datetime(2026, 6, 1, 11, 0), gps=SKANDERBEG), None)
    assert link.event_id == "E1" and link.ambiguous and "never-publish" in link.note
    d = decide_face(FaceAssessment(0, DetectedFace(Box(0, 0, 80, 80), 0.9), Identifiability(True, 80.0, 50.0, None),
                                   AgeEstimate(9.0, 6.0, 12.0, 0.9, "test")), Policy(), None, link)
    assert (d.action, d.reason) == (FaceAction.REVIEW, ReasonCode.EVENT_AMBIGUOUS)
    assert linker.get("E1").id == "E1"  # the rest of the linker is the wrapped one's
    private = UnrecognisedNeverPublish(RegisterEventLinker([event(basis=None)], now=lambda: NOW), 1)
    assert not private.link(meta(datetime(2026, 6, 1, 11, 0)), None).ambiguous  # no exemption at stake: left as it was


@pytest.mark.parametrize("offset, hours", [("+02:00", 2), ("+0530", 5.5), ("-05", -5), (None, None), ("", None),
                                           ("+25:00", "unusable"), ("bogus", "unusable"), ("+02:75", "unusable")])
def test_an_exif_offset_is_read_in_each_form_cameras_write_and_an_unreadable_one_makes_the_time_unusable(offset, hours):
    """The audit's case: '+0530' and '+25:00' were dropped without a word, and the time read in the event's zone."""
    from minorguard.photos.metadata import parse_exif_datetime

    moment = parse_exif_datetime("2026:11:28 11:00:00", offset)
    if hours == "unusable":
        assert moment is None
    elif hours is None:
        assert moment is not None and moment.tzinfo is None
    else:
        assert moment.utcoffset() == timedelta(hours=hours)
