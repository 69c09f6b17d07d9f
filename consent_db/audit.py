"""The hash-chained, append-only audit log.

Each entry's hash is sha256 over the previous entry's hash and the canonical
JSON of its own fields, so changing or removing any entry breaks every later
link. The newest sequence number and hash are also kept in ``meta`` so that
removing entries from the end is detected too (an attacker with write access
to the database can still rewrite the whole chain; export the head hash
elsewhere to anchor it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_db.schema import AuditEntry, Meta
from minorguard.locale.coded_error import Problem, say_problem
from minorguard.photos.file_names import json_text, shown

__all__ = ["GENESIS", "RECORD_ACTIONS", "STATE", "AuditReport", "append", "details_of", "verify"]

GENESIS = "0" * 64
_HEAD = "audit_head"
# The register's state: the last entry that changed what a check may decide (a consent,
# an enrolment, an event, a reviewer's decision, a known adult). Entries that only record
# what was decided leave it alone, so a running service re-reads the register exactly
# when a decision could differ (a withdrawal takes effect on the next photo).
STATE = "register_state"
RECORD_ACTIONS = frozenset({"scan_decision", "photo_checked", "photo_exported", "register_exported", "api_key_created", "api_key_revoked"})


def details_of(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's details (``Register.audit_entries`` gives the stored JSON text) as a dict; {} if unreadable."""
    value = entry["details"]
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value or "{}")
    except ValueError:
        return {}


def _canonical(details: Any) -> str:
    # json_text: a photo's file name that is not UTF-8 must hash (and store) like any other
    return json_text(details, sort_keys=True, separators=(",", ":"), default=str)


def _entry_hash(entry: AuditEntry) -> str:
    body = _canonical(
        {
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "subject": entry.subject,
            "details": entry.details,
            "photo_sha256": entry.photo_sha256,
            "document_sha256": entry.document_sha256,
        }
    )
    return hashlib.sha256((entry.prev_hash + "|" + body).encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor: str,
    action: str,
    subject: str = "",
    details: dict | None = None,
    photo_sha256: str | None = None,
    document_sha256: str | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction (which holds the register's write lock)."""
    last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one_or_none()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=datetime.now(UTC).isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        subject=shown(subject),  # a file name that is not UTF-8 cannot be stored as it is
        details=_canonical(details or {}),
        photo_sha256=photo_sha256,
        document_sha256=document_sha256,
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    entry.hash = _entry_hash(entry)
    session.add(entry)
    head = session.get(Meta, _HEAD)
    value = f"{entry.seq}:{entry.hash}"
    if head is None:
        session.add(Meta(key=_HEAD, value=value))
    else:
        head.value = value
    if action not in RECORD_ACTIONS:
        state = session.get(Meta, STATE)
        if state is None:
            session.add(Meta(key=STATE, value=value))
        else:
            state.value = value
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Result of :func:`verify`: ``ok`` and, if not, the first problems found."""

    ok: bool
    entries: int
    head: str
    findings: tuple[Problem, ...] = ()  # catalogue keys register.<code>

    @property
    def problems(self) -> tuple[str, ...]:
        return self.lines("en")

    def lines(self, lang: str) -> tuple[str, ...]:
        """Each problem as one line in ``lang``."""
        return tuple(say_problem(p, "register", lang) for p in self.findings)


def verify(session: Session) -> AuditReport:
    problems: list[Problem] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        count += 1
        if entry.seq != expected_seq:
            problems.append(Problem("audit_missing", {"first": expected_seq, "last": entry.seq - 1}))
        if entry.prev_hash != prev:
            problems.append(Problem("audit_broken_link", {"n": entry.seq}))
        if _entry_hash(entry) != entry.hash:
            problems.append(Problem("audit_changed", {"n": entry.seq}))
        prev, expected_seq = entry.hash, entry.seq + 1
    head = session.get(Meta, _HEAD)
    if head is not None and head.value != f"{expected_seq - 1}:{prev}":
        problems.append(Problem("audit_removed", {"head": head.value.split(":")[0], "last": expected_seq - 1}))
    if head is None and count:
        problems.append(Problem("audit_no_head"))
    return AuditReport(not problems, count, prev, tuple(problems[:20]))
