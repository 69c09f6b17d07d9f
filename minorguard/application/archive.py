"""Incremental re-checks of an archive: judge again only the photos whose decision could have changed.

A result is kept with what it was judged under: the photo's sha256, the policy
version, the model pack and the channel (these change every face's judgement),
and, only where the register could change it, the marks of the register parts it
depended on. A photo whose faces are all too small to identify depends only on
reviewers' decisions about that photo; one with an adult-looking face also on the
enrolments and the never-publish list; a photo with a possible minor also on the
events, known adults, the publication date, purpose and event, and on the consent
records of the children its faces matched. So after one consent changes, only the
photos that matched that child are judged again.

The store is a SQLite file of its own (results hold boxes, ages and pseudonymous
child references, never embeddings or names). Every result is committed as soon as
it is judged, so a run that is killed loses nothing: the next one resumes. File
identity (path, size, modification and change times, inode) is kept beside the
sha256, so an unchanged file is not read again to be recognised; a file whose
identity changed is read and hashed, never taken for the one recorded. Results are
kept per register (and one without any): each was audited in the register it is
reused under when it was judged, and another register's marks say nothing here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minorguard.models.base import sha256_of_file
from minorguard.types import PhotoResult, to_jsonable

__all__ = ["RegisterMarks", "ResultStore", "RunSummary", "check_incrementally", "dependencies", "register_marks"]

# decisions a register can never change for that face (apart from a reviewer's decision about the photo)
SETTLED_REASONS = frozenset({"adult", "too_small", "too_blurred"})
# results kept under earlier decision rules are judged again; 2: adult-looking faces are matched against the register
DECISION_RULES = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    sha256 TEXT NOT NULL, fixed TEXT NOT NULL, deps TEXT NOT NULL, result TEXT NOT NULL, judged_at TEXT NOT NULL,
    PRIMARY KEY (sha256, fixed));
CREATE TABLE IF NOT EXISTS file_ids (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL, device INTEGER NOT NULL, sha256 TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class RegisterMarks:
    """For each part of the register a decision can depend on, the audit sequence number of its last change."""

    enrolments: int = 0  # an enrolment added: any face could now match a child
    never_publish: int = 0  # a child put on (or taken off) the never-publish list: a face like theirs blocks
    events: int = 0
    known_adults: int = 0
    children: dict[str, int] = field(default_factory=dict)  # a child's consents, never-publish flag, erasure
    reviews: dict[str, int] = field(default_factory=dict)  # reviewers' decisions, by photo sha256
    register: str = ""  # which register: the hash of its audit log's first entry ("" without one)

    @property
    def any_child(self) -> int:
        return max(self.children.values(), default=0)


def register_marks(register: Any) -> RegisterMarks:
    """One pass over the audit log (the register's own record of every change, kept through erasures)."""
    from consent_db.audit import details_of

    if register is None:
        return RegisterMarks()
    enrolments = events = known = never = 0
    children: dict[str, int] = {}
    reviews: dict[str, int] = {}
    entries = register.audit_entries()
    for e in entries:
        action, seq = e["action"], e["seq"]
        if action in ("photo_enrolled", "photo_redescribed"):  # a new description may match any open face
            enrolments = seq
        if action.startswith("never_publish_"):
            never = seq
        if action.startswith("event_"):
            events = seq
        elif action.startswith("known_adult_"):
            known = seq
        elif action.startswith(("consent_", "never_publish_", "biometrics_erased", "photo_enrolled", "photo_redescribed", "child_")):
            if e["subject"]:
                children[e["subject"]] = seq
        elif action.startswith("review_"):
            details = details_of(e)
            for face in details.get("faces") or [{"photo_sha256": e["photo_sha256"]}]:
                if face.get("photo_sha256"):
                    reviews[face["photo_sha256"]] = seq
        elif action == "register_imported":  # consents of many children at once: every open face may change
            enrolments = max(enrolments, seq)
    return RegisterMarks(enrolments=enrolments, never_publish=never, events=events, known_adults=known, children=children,
                         reviews=reviews, register=entries[0]["hash"] if entries else "")


def dependencies(result: PhotoResult, marks: RegisterMarks, context: Any) -> dict[str, Any]:
    """What ``result`` depended on, with the marks it was judged under."""
    deps: dict[str, Any] = {"reviews": marks.reviews.get(result.sha256 or "", 0)}
    if any(f.reason.value == "adult" for f in (*result.faces, *result.preview_faces)):
        # an adult-looking face is matched against the register too (an enrolled child, a never-publish one)
        deps["adult_faces"] = [marks.enrolments, marks.never_publish]
    open_faces = [f for f in (*result.faces, *result.preview_faces) if f.reason.value not in SETTLED_REASONS]
    if not open_faces:
        return deps
    deps.update(enrolments=marks.enrolments, events=marks.events, known_adults=marks.known_adults,
                date=context.when.isoformat() if context.when else None, purpose=context.purpose, event=context.event_id)
    matched = {f.consent.child_ref for f in open_faces if f.consent is not None}
    if any(f.consent is not None and (f.consent.ambiguous or not f.consent.confident) for f in open_faces):
        deps["any_child"] = marks.any_child  # an unsure match may turn out to be another child
    deps["children"] = {c: marks.children.get(c, 0) for c in sorted(matched)}
    return deps


def _why_changed(deps: dict[str, Any], marks: RegisterMarks, context: Any, sha256: str) -> str | None:
    """None when nothing ``deps`` names has changed; else the first reason, as a catalogue word."""
    if deps.get("reviews", 0) != marks.reviews.get(sha256, 0):
        return "reviews"
    if "adult_faces" in deps and deps["adult_faces"] != [marks.enrolments, marks.never_publish]:
        return "enrolments" if deps["adult_faces"][0] != marks.enrolments else "never_publish"
    if "enrolments" not in deps:
        return None
    for part in ("enrolments", "events", "known_adults"):
        if deps[part] != getattr(marks, part):
            return part
    if deps.get("date") != (context.when.isoformat() if context.when else None) or deps.get("purpose") != context.purpose \
            or deps.get("event") != context.event_id:
        return "context"
    if "any_child" in deps and deps["any_child"] != marks.any_child:
        return "consents"
    if any(marks.children.get(c, 0) != mark for c, mark in deps.get("children", {}).items()):
        return "consents"
    return None


class ResultStore:
    """Results by (sha256, policy, pack, channel), with the dependencies each was judged under; thread-safe."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a result reported as kept survives a crash
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def sha256_of(self, path: Path) -> str | None:
        """The sha256 recorded for this file when its identity is unchanged, else that of its bytes now (recorded
        for next time); None when it cannot be read (it is judged, and so reported).

        Size and modification time alone took an image edited in place at the same size, its time set back
        (``touch -r``, ``cp -p``, ``rsync -t``), for the photo judged before. The change time cannot be set back,
        and a file put in its place has another inode."""
        try:
            st = path.stat()
        except OSError:
            return None
        identity = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        with self._lock:
            row = self._db.execute("SELECT size, mtime_ns, ctime_ns, inode, device, sha256 FROM file_ids WHERE path = ?",
                                   (os.fsdecode(path),)).fetchone()
        if row and tuple(row[:5]) == identity:
            return row[5]
        try:
            sha = sha256_of_file(path)
        except OSError:
            return None
        self._remember(path, identity, sha)
        return sha

    def _remember(self, path: Path, identity: tuple[int, ...], sha256: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO file_ids VALUES (?, ?, ?, ?, ?, ?, ?)", (os.fsdecode(path), *identity, sha256))

    def known(self, sha256: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM results WHERE sha256 = ?", (sha256,)).fetchone() is not None


    def get(self, sha256: str, fixed: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT deps, result FROM results WHERE sha256 = ? AND fixed = ?", (sha256, fixed)).fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def put(self, path: Path | None, result: PhotoResult, fixed: str, deps: dict[str, Any]) -> None:
        """Keep ``result`` (committed before this returns); ERROR results are never kept: they are tried again.

        The file's identity is not taken here: ``sha256_of`` recorded it with the bytes it hashed, before the photo
        was judged. Taken after judging, a file rewritten meanwhile had its new identity stored with the old bytes'
        verdict, and the next run reused a PASS for the portrait put in its place (an audit); a file gone meanwhile
        stopped the run."""
        if result.sha256 is None or result.verdict.value == "ERROR":
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                                 (result.sha256, fixed, json.dumps(deps, sort_keys=True), json.dumps(to_jsonable(result)), now))
                self._db.execute("COMMIT")
            except BaseException:
                # a Ctrl-C that lands after COMMIT, or before BEGIN took effect, leaves nothing to undo: a ROLLBACK
                # then failed ("no transaction is active") and its error took the interrupt's place (exit 70)
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class RunSummary:
    """What an incremental run did: how many photos it judged, how many it reused, and why it judged each again."""

    judged: int = 0
    reused: int = 0
    why_judged: Counter = field(default_factory=Counter)  # new, policy, reviews, enrolments, events, known_adults, context, consents


def _speaks(data: Any) -> bool:
    """Whether a stored result holds words of the run that judged it: the notes of its event link, consent matches
    and known adults and the details quoted in its reasons are written in that run's language (the event hint is made
    of the event's note, found as a note; the other hints are kept in one form and said in the reader's language)."""
    if isinstance(data, dict):
        if any(isinstance(data.get(k), str) and data[k] for k in ("note", "detail")):
            return True
        return any(_speaks(v) for v in data.values() if isinstance(v, (dict, list)))
    if isinstance(data, list):
        return any(_speaks(v) for v in data)
    return False


def _fixed(checks: Any, marks: RegisterMarks) -> str:
    """What every face's judgement rests on. The register is one of them: a result judged without it (or with
    another) was never audited in it, and another register's marks are not this one's (two registers can both have
    their enrolments at entry 5)."""
    guard = checks.guard
    return json.dumps([guard.policy.version, guard.pack_label, checks.context.channel, DECISION_RULES, marks.register])


def check_incrementally(checks: Any, sources: Iterable[Path], store: ResultStore, summary: RunSummary,
                        workers: int | None = None, judge: Any = None) -> Iterator[PhotoResult]:
    """Results for ``sources`` in order: reused from ``store`` where nothing they depended on changed, judged
    otherwise. A judged result is audited and then kept before the next is yielded, so an interrupted run loses
    nothing; a reused one was audited when it was judged. ``checks.finish(results, audit=False)`` groups them.
    ``judge``: how the photos to judge are judged, in order, unaudited (default: this machine's threads; Ray)."""
    from pydantic import TypeAdapter

    checks.refresh()
    lang = getattr(checks, "lang", None)
    marks = register_marks(checks.register)
    fixed = _fixed(checks, marks)
    as_result = TypeAdapter(PhotoResult)
    items = list(sources)
    to_judge: list[Path] = []
    reused: dict[int, PhotoResult] = {}
    for n, path in enumerate(items):
        sha = store.sha256_of(path)
        if sha is None:
            summary.why_judged["new"] += 1
            to_judge.append(path)
            continue
        kept = store.get(sha, fixed)
        if kept is None:
            # a known photo judged under another policy, pack or channel; or one never judged
            summary.why_judged["policy" if store.known(sha) else "new"] += 1
            to_judge.append(path)
            continue
        deps, data = kept
        why = _why_changed(deps, marks, checks.context, sha)
        if why is None and deps.get("lang") != lang and _speaks(data):
            # its notes are in the language of the run that judged it: an English note in an Albanian run's output
            why = "language"
        if why is not None:
            summary.why_judged[why] += 1
            to_judge.append(path)
            continue
        reused[n] = as_result.validate_python({**data, "source": os.fsdecode(path)})
    summary.reused += len(reused)
    judged = judge(to_judge) if judge is not None else checks.guard.check_many(to_judge, checks.context, workers=workers)
    pending = iter(zip(to_judge, judged))
    for n in range(len(items)):
        if n in reused:
            yield reused[n]
            continue
        source, result = next(pending)
        checks.audit([result])  # the register's record first: a kept result was always audited
        store.put(source, result, fixed, {**dependencies(result, marks, checks.context), "lang": lang})
        summary.judged += 1
        yield result
