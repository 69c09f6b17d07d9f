"""Declaring events, from a walkthrough audit: a window is never silently wider than the person declared.

Each test names the defect it guards: a local time that a daylight-saving change skips (moved an hour on) or repeats
(the first reading taken) stored without a word; the end-before-start refusal showing the stored end in UTC beside a
start typed in Tirana time; closing a closed event saying "closed" again and writing a second audit entry.
"""

# ruff: noqa: F811  (the mg fixture is imported from test_language_fixes)
from __future__ import annotations

from datetime import datetime

import pytest
from test_language_fixes import mg  # noqa: F401  (fixture: `minorguard ...` in-process, data folder in tmp_path)

from minorguard.cli import EXIT_USAGE
from minorguard.rules.events import EventInputError, parse_event_time

TIRANE = "Europe/Tirane"
# Europe/Tirane goes to summer time on 2026-03-29 (02:00 CET becomes 03:00 CEST: 02:30 never happens) and back on
# 2026-10-25 (03:00 CEST becomes 02:00 CET: 02:30 happens twice)
SKIPPED, REPEATED = "2026-03-29T02:30", "2026-10-25T02:30"


def _add(event_id: str, start: str, end: str, *more: str) -> list[str]:
    return ["event", "add", "--id", event_id, "--name", "Festa", "--start", start, "--end", end, "--basis", "outdoor",
            "--justification", "në shesh", *more]


def _audit(action: str) -> list[dict]:
    from consent_db import Register

    with Register(actor="test", create=False) as reg:
        return [e for e in reg.audit_entries() if e["action"] == action]


# -- 1. a local time in a daylight-saving change ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "end", "lang", "said"),
    [
        (SKIPPED, "2026-03-29T04:00", "sq",
         "gabim: ora 2026-03-29T02:30 nuk ekziston në Europe/Tirane (atë natë orët kalojnë një orë përpara"),
        (SKIPPED, "2026-03-29T04:00", "en", "error: 2026-03-29T02:30 does not exist in Europe/Tirane"),
        ("2026-10-25T01:00", REPEATED, "sq", "gabim: ora 2026-10-25T02:30 ndodh dy herë në Europe/Tirane"),
        ("2026-10-25T01:00", REPEATED, "en",
         "error: 2026-10-25T02:30 happens twice in Europe/Tirane (the clocks go back that night): give it with an explicit "
         "offset, 2026-10-25T02:30+02:00 (the first time) or 2026-10-25T02:30+01:00 (the second)"),
    ],
)
def test_event_add_refuses_a_local_time_the_clock_change_skips_or_repeats(mg, tmp_path, start, end, lang, said):
    code, _, err = mg(*_add("dst", start, end, "--lang", lang))
    assert code == EXIT_USAGE and err.startswith(said) and "Traceback" not in err
    assert err.count("gabim:" if lang == "sq" else "error:") == 1  # one line
    assert not (tmp_path / "data" / "register.sqlite3").exists()  # nothing written, not even a register


def test_event_update_refuses_it_too_and_an_explicit_offset_is_taken_as_given(mg):
    assert mg(*_add("vjeshte", "2026-10-25T00:00", "2026-10-25T01:30"))[0] == 0
    code, _, err = mg("event", "update", "vjeshte", "--end", REPEATED, "--by", "drita")
    assert code == EXIT_USAGE and "ora 2026-10-25T02:30 ndodh dy herë në Europe/Tirane" in err
    assert not _audit("event_updated")
    code, out, _ = mg("event", "update", "vjeshte", "--end", "2026-10-25T02:30+01:00", "--by", "drita")
    assert code == 0 and "2026-10-25T02:30+01:00" in out  # the second 02:30, as written
    code, out, _ = mg(*_add("pranvere", "2026-03-29T01:00", "2026-03-29T03:30+02:00"))
    assert code == 0 and "2026-03-29T03:30+02:00" in out


def test_the_library_refuses_such_times_as_well(tmp_path):
    from consent_db import Register, RegisterError

    with pytest.raises(EventInputError, match="does not exist in Europe/Tirane"):
        parse_event_time(SKIPPED, TIRANE)
    with pytest.raises(EventInputError, match="happens twice in Europe/Tirane"):
        parse_event_time(REPEATED, TIRANE)
    assert parse_event_time(REPEATED + "+01:00", TIRANE).utcoffset().total_seconds() == 3600
    assert parse_event_time("2026-10-25T03:30", TIRANE).isoformat() == "2026-10-25T03:30:00+01:00"  # after the change
    with Register(tmp_path / "register.sqlite3", actor="test") as reg:
        for start, end in ((datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 4)),
                           (datetime(2026, 10, 25, 1), datetime(2026, 10, 25, 2, 30))):
            with pytest.raises(RegisterError) as refused:
                reg.create_event("Festa", start, end, tz=TIRANE)
            assert refused.value.code in ("event.time_skipped", "event.time_repeated")
        assert reg.list_events(include_closed=True) == []


# -- 2. end before start, on the event's own clock -------------------------------------------------------------------

def test_end_before_start_shows_both_times_in_the_events_zone(mg):
    assert mg(*_add("flamuri-2026", "2026-11-28T10:00", "2026-11-28T13:00"))[0] == 0
    code, _, err = mg("event", "update", "flamuri-2026", "--start", "2026-11-28T14:00", "--by", "drita")
    assert code == EXIT_USAGE
    assert err == "gabim: ngjarja mbaron (2026-11-28T13:00:00+01:00) para se të fillojë (2026-11-28T14:00:00+01:00)"


# -- 4. closing a closed event ---------------------------------------------------------------------------------------

def test_closing_a_closed_event_says_so_writes_nothing_and_exits_0(mg):
    assert mg(*_add("flamuri-2026", "2026-11-28T10:00", "2026-11-28T13:00"))[0] == 0
    code, _, err = mg("event", "close", "flamuri-2026")
    assert code == 0 and "ngjarja u mbyll: flamuri-2026" in err
    (closing,) = _audit("event_closed")
    when = datetime.fromisoformat(closing["at"]).astimezone(parse_event_time("2026-11-28T10:00", TIRANE).tzinfo)
    code, _, err = mg("event", "close", "flamuri-2026", "--by", "drita")
    assert code == 0 and "u mbyll:" not in err
    assert err.startswith(f"ngjarja flamuri-2026 ishte mbyllur tashmë më {when.isoformat(timespec='minutes')} nga ana: "
                          "asgjë nuk ndryshoi")
    code, _, err = mg("event", "close", "flamuri-2026", "--lang", "en")
    assert code == 0 and err.startswith("event flamuri-2026 was already closed on ")
    assert len(_audit("event_closed")) == 1  # no second entry


def test_the_register_closes_an_event_once(tmp_path):
    from consent_db import Register

    with Register(tmp_path / "register.sqlite3", actor="test") as reg:
        event = reg.create_event("Festa", datetime(2026, 6, 1, 10), datetime(2026, 6, 1, 12), tz=TIRANE)
        assert reg.event_closing(event.id) is None
        assert reg.close_event(event.id).closed and reg.close_event(event.id).closed
        assert [e["action"] for e in reg.audit_entries()].count("event_closed") == 1
        assert reg.event_closing(event.id)["actor"] == "test"
