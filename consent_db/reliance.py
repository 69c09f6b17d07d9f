"""What rests on a consent, an event or a reviewer's decision: every photo checked, exported or reviewed
while relying on it, read from the audit log.

When a parent withdraws consent, the office must find every photo of that child it has
already published; when an event is closed or corrected, or a reviewer's decision is
undone, the same. The audit log records, for every decision that used the register,
the photo's sha256 and the record it relied on, and it is kept when the child's
biometric data is erased, so the list survives the erasure. File names are not in
the audit log's check entries (a name may name a child); reports and export
manifests that know them can be given to name the photos.

    relied = relying_on(register, consent="cr-1a2b3c4d")
    names = names_from(reports=["scan.json"], manifests=["kopje/minorguard-manifest.json"])
    for r in relied: print(r.photo_sha256, r.how, r.channel, r.date, names.get(r.photo_sha256))
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from consent_db.audit import details_of
from consent_db.errors import RegisterError
from consent_db.register import Register

__all__ = ["Reliance", "names_from", "relying_on"]


@dataclass(frozen=True, slots=True)
class Reliance:
    """One photo that a decision resting on the record let through (or would have), as the audit log has it."""

    photo_sha256: str
    how: str  # checked | exported | reviewed
    at: str  # the audit entry's time (UTC)
    tool: str | None  # the command or calling tool that asked
    channel: str | None
    date: str | None  # publication date the check was for
    faces: tuple[int, ...]  # face numbers (1 = leftmost, as every command shows them) that relied on it, where recorded
    action: str | None  # what was decided for those faces: allow, block, review
    output: str | None  # the exported copy, where one was written
    source: str | None  # the file name, where the entry itself knows it (exports, reviews)
    audit_seq: int

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) if f != "faces" else list(self.faces) for f in self.__slots__}



def relying_on(register: Register, *, consent: str | None = None, event: str | None = None,
               review: int | None = None) -> list[Reliance]:
    """Every photo checked, exported or reviewed while relying on one consent record, event or review decision."""
    if sum(x is not None for x in (consent, event, review)) != 1:
        raise ValueError("name exactly one of consent, event, review")
    entries = register.audit_entries()
    if consent is not None:
        register.get_consent(consent)  # an unknown id: NotFound, not an empty list
        return _named_by_reviews(register, _rows(entries, lambda d: d.get("record") == consent,
                                                 lambda f: f.get("consent_record") == consent, lambda d: d.get("consent") == consent))
    if event is not None:
        register.get_event(event)
        return _rows(entries, lambda d: d.get("event_id") == event, lambda f: f.get("event_id") == event, lambda d: False)
    return _review_rows(entries, int(review))


def _named_by_reviews(register: Register, rows: list[Reliance]) -> list[Reliance]:
    """A reviewed photo named as its reviewer saw it: the reviews table keeps the file name, the audit log never
    does (entries written before 2026-12-07 did, and keep it)."""
    from dataclasses import replace

    from consent_db.reviews import Reviews

    unnamed = [r.photo_sha256 for r in rows if r.how == "reviewed" and not r.source]
    if not unnamed:
        return rows
    seen = Reviews(register).for_photos(unnamed)
    names = {sha: ", ".join(sorted({d.source for d in decisions if d.source})) for sha, decisions in seen.items()}
    return [replace(r, source=names.get(r.photo_sha256) or None) if r.how == "reviewed" and not r.source else r for r in rows]


def _rows(entries: list[dict[str, Any]], decided, exported_face, reviewed) -> list[Reliance]:
    out: dict[tuple, Reliance] = {}
    for e in entries:
        action, details = e["action"], details_of(e)
        if action == "scan_decision" and decided(details):
            key = ("checked", e["photo_sha256"], details.get("channel"), details.get("date"), details.get("tool"), e["at"][:19])
            previous = out.get(key)
            number = details.get("face")  # entries written before face numbers were recorded have none
            faces = (previous.faces if previous else ()) + ((int(number),) if number is not None else ())
            out[key] = Reliance(e["photo_sha256"] or "", "checked", e["at"], details.get("tool"), details.get("channel"),
                                details.get("date"), tuple(sorted(set(faces))), details.get("action"), None, None, e["seq"])
        elif action == "photo_exported":
            faces = [f for f in details.get("faces", []) if exported_face(f)]
            if faces:
                out[("exported", e["seq"])] = Reliance(
                    e["photo_sha256"] or "", "exported", e["at"], details.get("tool"), _channel(details), _date(details),
                    tuple(int(f["face"]) for f in faces if f.get("face") is not None), faces[0].get("action"),
                    _output(details), details.get("source"), e["seq"])
        elif action.startswith("review_") and reviewed(details):
            for face in details.get("faces") or [{**details, "photo_sha256": e["photo_sha256"]}]:
                out[("reviewed", e["seq"], face.get("decision"))] = Reliance(
                    face.get("photo_sha256") or "", "reviewed", e["at"], e["actor"], None, None,
                    (), action.removeprefix("review_group_").removeprefix("review_"),
                    None, face.get("source") or None, e["seq"])
    return sorted(out.values(), key=lambda r: (r.audit_seq, r.photo_sha256))


def _review_rows(entries: list[dict[str, Any]], decision: int) -> list[Reliance]:
    """Checks and exports after review decision ``decision`` of the faces it settled, where a reviewer's decision decided."""
    settled: set[tuple[str, int]] = set()
    found = False
    out: list[Reliance] = []
    for e in entries:
        action, details = e["action"], details_of(e)
        if action.startswith("review_"):
            for face in details.get("faces") or [{**details, "photo_sha256": e["photo_sha256"]}]:
                if face.get("decision") == decision:
                    settled.add((face.get("photo_sha256") or "", int(face.get("face_index", -1))))
                    found = True
            continue
        if not settled:
            continue
        if action == "photo_checked":
            numbers = details.get("face_numbers") or [None] * len(details.get("faces", []))
            matched = [n for (i, _act, reason), n in zip(details.get("faces", []), numbers)
                       if reason == "reviewer" and (e["photo_sha256"], i) in settled]
            if matched:
                out.append(Reliance(e["photo_sha256"] or "", "checked", e["at"], details.get("tool"), details.get("channel"),
                                    details.get("date"), tuple(n for n in matched if n is not None), details.get("verdict"),
                                    None, None, e["seq"]))
        elif action == "photo_exported":
            faces = tuple(int(f.get("face") or 0) for f in details.get("faces", [])
                          if f.get("reason") == "reviewer" and (e["photo_sha256"], int(f.get("index", -1))) in settled)
            if faces:
                out.append(Reliance(e["photo_sha256"] or "", "exported", e["at"], details.get("tool"), _channel(details), _date(details),
                                    faces, None, _output(details), details.get("source"), e["seq"]))
    if not found:
        raise RegisterError("review_unknown_decision", id=decision)  # none at all: not "none for this photo"
    return out


def _channel(details: dict[str, Any]) -> str | None:
    return details.get("channel") or (details.get("context") or {}).get("channel")


def _date(details: dict[str, Any]) -> str | None:
    """The publication date an export was made for (entries of an export keep it beside the channel)."""
    return details.get("date") or (details.get("context") or {}).get("date")


def _output(details: dict[str, Any]) -> str | None:
    """Where the copy went: its folder (entries since 2026-12-07 name no file; the manifest does), or the folder and
    file an older entry named."""
    output, folder = details.get("output"), details.get("out_dir")
    if not output:
        return folder or None
    return os.path.join(folder, output) if folder else output


def names_from(reports: Iterable[str | os.PathLike] = (), manifests: Iterable[str | os.PathLike] = ()) -> dict[str, list[str]]:
    """sha256 -> the file names that JSON reports (``scan --json``) and export manifests give it."""
    names: dict[str, set[str]] = {}
    for path in reports:
        for photo in _read(path).get("photos", []):
            if photo.get("sha256") and photo.get("source"):
                names.setdefault(photo["sha256"], set()).add(photo["source"])
    for path in manifests:
        for photo in _read(path).get("photos", []):
            if photo.get("source_sha256") and photo.get("source"):
                names.setdefault(photo["source_sha256"], set()).add(photo["source"])
    return {k: sorted(v) for k, v in names.items()}


def _read(path: str | os.PathLike) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise RegisterError("reliance_unreadable", path=os.fsdecode(path), error=str(error)) from None
    if not isinstance(data, dict):
        raise RegisterError("reliance_unreadable", path=os.fsdecode(path), error="not a minorguard report or manifest")
    return data
