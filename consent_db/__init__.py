"""consent_db: the register of written parental permissions, events and known adults.

Open it (SQLite in the user's data dir by default; a PostgreSQL URL via ``url=``
or $MINORGUARD_DB); migrations run on open, and the encryption key is created on
first use (``<data dir>/register.key``, mode 0600, or $MINORGUARD_KEY)::

    from consent_db import Register, RegisterError
    with Register(url=None, actor="ana") as reg:      # url: SQLAlchemy URL or a file path
        child = reg.add_child("Ana Hoxha", dob=date(2015, 3, 2))   # child.id e.g. "ch-1a2b3c4d"
        reg.add_guardian(child.id, "Drita Hoxha", relation="mother")
        rec = reg.add_consent(child.id, Path("form.pdf"), date_signed=date(2026, 9, 1),
                              channels=["facebook", "website"], valid_until=date(2027, 6, 30))
        reg.withdraw_consent(rec.id, reason="parent asked")   # erases the child's biometrics

The register stores embeddings it is handed and never computes one: enrolment and
checks live in minorguard's application layer, which opens the register, computes
the embedding as a check would and hands it to ``add_enrolment``::

    with open_checks(context=CheckContext(channel="facebook")) as checks:   # from minorguard
        checks.enrol(child.id, "portrait.jpg", face=2)    # refuses small, blurred, duplicate, adult
        result = checks.check("photo.jpg")                # consents matched, decisions audited

Events (for ``minorguard/rules/events.py``): all times are stored as naive UTC; a naive
datetime given to ``create_event``/``update_event`` is read in ``tz`` (one that ``tz`` skips or repeats at a
daylight-saving change is refused, ``RegisterError`` ``event.time_skipped``/``event.time_repeated``: give its offset).

- ``reg.create_event(name, start, end, *, tz="UTC", place="", lat=None, lon=None,
  radius_m=None, basis="none"|"public"|"outdoor", justification="", event_id=None) -> EventInfo``
  (basis other than "none" needs a justification; ``declared_by`` is the register's actor)
- ``reg.get_event(id) -> EventInfo`` (``NotFound`` if unknown), ``reg.list_events(include_closed=False)``
- ``reg.update_event(id, **changes) -> EventInfo`` (fields as in create_event with ``start``/``end``;
  audited with before/after; a change of basis re-stamps declared_by/declared_at)
- ``reg.close_event(id) -> EventInfo`` (closed events cannot be changed and are hidden from list_events; closing
  one already closed changes nothing and writes no audit entry), ``reg.event_closing(id)`` (who closed it and when)

``EventInfo``: id, name, start_utc, end_utc, tz, place, lat, lon, radius_m, basis, declared_by,
declared_at, justification, closed.

Known adults (staff whose faces may be recognised as adults):

- ``reg.add_known_adult(name, embeddings (N x D float32), role="", expires=None, embedder="") -> KnownAdultInfo``
- ``reg.list_known_adults(include_expired=False)``; ``reg.known_adult_embeddings(include_expired=False)
  -> [(KnownAdultInfo, ndarray)]`` (decrypted in memory only); ``reg.remove_known_adult(id)``

Audit: every change above appends to a hash-chained log in the same transaction;
``reg.audit_decision(photo_sha256, face_index, summary_dict)`` records a scan decision
that relied on the register; ``reg.audit_verify() -> AuditReport(ok, entries, head, problems)``.

Key rotation: ``reg.rotate_key() -> KeyRotation(key_file, retired_key_file, values)`` encrypts everything under a
new key in one transaction and replaces the key file; the old key is kept as ``<key>.retired-<UTC time>`` (it opens
earlier backups and the audit reasons sealed before). Another process that had the register open then refuses to go on
(``KeyProblem`` ``key_changed``): open it again.

Errors: ``RegisterError`` (bad input, one line, nothing written), its subclasses
``NotFound``, ``RegisterBusy`` (another writer held the lock too long: retry) and
``KeyProblem`` (missing or wrong key: the register refuses to open).
"""

from __future__ import annotations

# Loaded on first use (PEP 562): `import consent_db` must stay cheap, since a plain
# scan only asks whether a register exists (consent_db.paths) and most never open one.
_WHERE = {
    "AuditReport": "audit",
    "KeyProblem": "errors", "NotFound": "errors", "RegisterBusy": "errors", "RegisterError": "errors",
    "BASES": "records", "CHANNELS": "records", "ChildInfo": "records", "ConsentInfo": "records",
    "EventInfo": "records", "GuardianInfo": "records", "KnownAdultInfo": "records",
    "KeyRotation": "register", "Register": "register", "document_type": "register", "parse_channels": "register",
    "DATA_DIR_ENV": "paths", "DB_ENV": "paths", "data_dir": "paths", "resolve_url": "store",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'consent_db' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "BASES",
    "CHANNELS",
    "DATA_DIR_ENV",
    "DB_ENV",
    "AuditReport",
    "ChildInfo",
    "ConsentInfo",
    "EventInfo",
    "GuardianInfo",
    "KeyProblem",
    "KeyRotation",
    "KnownAdultInfo",
    "NotFound",
    "Register",
    "RegisterBusy",
    "RegisterError",
    "data_dir",
    "document_type",
    "parse_channels",
    "resolve_url",
]
