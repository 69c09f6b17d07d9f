"""The register API: every read and write of consent, events and known adults.

Each public method is one serialised transaction; the register change and its
audit entry commit together or not at all. Input is validated before anything
is written, and every refusal is a :class:`RegisterError` with one clear line.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_db import audit
from consent_db.crypto import (
    KEY_ENV,
    Cipher,
    create_key,
    finish_rotation,
    key_file_in_use,
    load_key,
    next_key_path,
    read_key_file,
    write_key_file,
)
from consent_db.errors import KeyProblem, NotFound, RegisterError
from consent_db.records import BASES, CHANNELS, ChildInfo, ConsentInfo, EventInfo, GuardianInfo, KnownAdultInfo
from consent_db.schema import AuditEntry, Child, Consent, Enrolment, Event, Guardian, KnownAdult, Meta, ReviewRow
from consent_db.store import Store, data_dir
from minorguard.locale.coded_error import Problem
from minorguard.locale.os_reasons import os_reason
from minorguard.locale.typed_text import folded_form

__all__ = ["KEY_FILE_NAME", "KeyRotation", "Register", "document_complete", "document_type", "parse_channels"]

KEY_FILE_NAME = "register.key"
_SEALED = "enc1:"  # a sealed name or contact: this prefix, then base64 of its AES-GCM blob
_KEY_CHECK = "key_check"
_KEY_CHECK_PLAIN = b"minorguard consent register"
_NAME_INDEX = "name_index_form"  # Meta: which form of a name its lookup digest is taken of
_NAME_INDEX_FORM = "folded1"  # minorguard.locale.typed_text.folded_form: case, spaces and accents ignored
GRACE_ENV = "MINORGUARD_GRACE_DAYS"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _seal_with(cipher: Cipher, text: str, context: str) -> str:
    """``text`` encrypted for the row and column ``context`` names (a copied value does not open elsewhere)."""
    if not text:
        return text
    return _SEALED + base64.urlsafe_b64encode(cipher.encrypt(text.encode("utf-8"), context)).decode("ascii")


def _unseal_with(cipher: Cipher, value: str | None, context: str) -> str:
    if not value or not value.startswith(_SEALED):
        return value or ""
    return cipher.decrypt(base64.urlsafe_b64decode(value[len(_SEALED):]), context).decode("utf-8")


def _opens(key: bytes, check: str) -> bool:
    try:
        return Cipher(key).decrypt(bytes.fromhex(check), "meta.key_check") == _KEY_CHECK_PLAIN
    except (KeyProblem, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """What ``Register.rotate_key`` did: the key file now holding the new key, the file keeping the old one, and how
    many sealed values were encrypted again."""

    key_file: Path
    retired_key_file: Path | None
    values: int


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def document_type(data: bytes) -> str | None:
    """pdf / jpeg / png / tiff / webp / heif by magic bytes; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return "heif"
    return None


_KIND_NAMES = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "webp": "WebP", "heif": "HEIC/HEIF"}
# where a PDF's last %%EOF marker must lie: within the last 1024 bytes (the PDF reference's reading rule)
_PDF_TAIL = 1024


# pages of a scanned form decoded at most (the photo decoder's MAX_FRAMES; the register never imports the decoder)
_MAX_PAGES = 300


def document_complete(data: bytes, kind: str) -> bool:
    """Whether a document of ``kind`` (:func:`document_type`) is whole, not just its first bytes: a PDF ends with an
    ``%%EOF`` marker (a cut-short download or a file of a header alone has none), an image decodes in full, every
    page of it, within the photos' pixel limit (the policy's default ``limits.max_pixels``: a decompression bomb is
    refused before a pixel of it is decoded)."""
    if kind == "pdf":
        return b"%%EOF" in data[max(len(b"%PDF-"), len(data) - _PDF_TAIL):]
    import io
    import warnings

    from PIL import Image

    from minorguard.rules.policy import Policy

    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pragma: no cover - only without pillow-heif: a HEIC form is then refused, never taken unread
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                pages = int(getattr(image, "n_frames", 1) or 1)
                if pages > _MAX_PAGES:
                    return False
                for page in range(pages):
                    image.seek(page)
                    if image.width * image.height > Policy.max_pixels:
                        return False
                    image.load()  # a file cut short or damaged fails here (truncated images are never loaded)
    except MemoryError:
        raise
    except Exception:  # any decoder's failure (libheif raises RuntimeError, TIFF TypeError): not a whole image
        return False
    return True


def parse_channels(values: Iterable[str]) -> tuple[str, ...]:
    """Channel names (comma-separated allowed), lower-cased and checked against CHANNELS."""
    out: list[str] = []
    for value in values:
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in CHANNELS:
                raise RegisterError("unknown_channel", name=name, allowed=", ".join(CHANNELS))
            if name not in out:
                out.append(name)
    if not out:
        raise RegisterError("no_channel", allowed=", ".join(CHANNELS))
    return tuple(out)


def _clean(values: Iterable[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or ():
        for part in str(value).split(","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return tuple(out)


def _require_text(value: str | None, code: str) -> str:
    """``value`` stripped; empty or missing: RegisterError ``code`` (which names the field)."""
    if value is None or not str(value).strip():
        raise RegisterError(code)
    return str(value).strip()


def _pause_for_tests(point: str) -> None:
    """Fault-injection hook: lets a test kill a real process in the middle of a write."""
    if os.environ.get("MINORGUARD_TEST_PAUSE_AT") == point:
        marker = os.environ.get("MINORGUARD_TEST_PAUSE_MARKER")
        if marker:
            Path(marker).write_text("paused", encoding="utf-8")
        time.sleep(float(os.environ.get("MINORGUARD_TEST_PAUSE_S", "60")))


class Register:
    """The consent register. Open once, use, close (or use as a context manager).

    ``url``: a SQLAlchemy URL or a file path (SQLite); default $MINORGUARD_DB or
    ``<data dir>/register.sqlite3``. ``key_path``: default ``<data dir>/register.key``
    (or $MINORGUARD_KEY). ``actor``: who is acting, written to the audit log.
    ``create``: False where a register is only read to judge photos: one never created raises
    ``RegisterError("missing")`` and nothing (file, tables, key) is made.
    """

    def __init__(
        self,
        url: str | os.PathLike | None = None,
        *,
        key_path: str | os.PathLike | None = None,
        actor: str | None = None,
        grace_days: int | None = None,
        busy_timeout_s: float = 30.0,
        create: bool = True,
    ) -> None:
        self.actor = actor or _default_actor()
        self.grace_days = int(grace_days if grace_days is not None else os.environ.get(GRACE_ENV, "30"))
        self.key_path = Path(key_path) if key_path is not None else data_dir() / KEY_FILE_NAME
        self.store = Store(url, busy_timeout_s, create=create)
        self._create = create
        try:
            self.store.migrate()
            self._cipher = self._open_key()
            self._seal_legacy()
            self._index_names()
            self.purge_expired()
        except BaseException:
            self.store.close()
            raise

    # -- plumbing -----------------------------------------------------------
    def _open_key(self) -> Cipher:
        with self.store.transaction() as session:
            check = session.get(Meta, _KEY_CHECK)
            key = load_key(self.key_path)
            if check is not None:
                self._key_check = check.value
                return self._key_opening(session, check.value, key)
            if not self._create:  # tables without a key check: never finished being created
                raise RegisterError("missing", register=self.store.label)
            if key is None:
                key = create_key(self.key_path)
            cipher = Cipher(key)
            self._key_check = cipher.encrypt(_KEY_CHECK_PLAIN, "meta.key_check").hex()
            session.add(Meta(key=_KEY_CHECK, value=self._key_check))
            session.add(Meta(key=_NAME_INDEX, value=_NAME_INDEX_FORM))
            audit.append(session, self.actor, "register_created", details={"database": self.store.label})
            return cipher

    def _key_opening(self, session: Session, check: str, key: bytes | None) -> Cipher:
        """The cipher of the key that opens the register's key check: the key file's, or the new key of a rotation
        that committed but had not yet replaced the key file (a crash, or a rotation finishing at this moment)."""
        if key is not None and _opens(key, check):
            return Cipher(key)
        file = key_file_in_use(self.key_path)
        if file is not None:
            next_file = next_key_path(file)
            try:
                new = read_key_file(next_file)
            except KeyProblem:
                new = None  # a damaged leftover: the rotation that wrote it never committed with it
            if new is not None and _opens(new, check):
                finish_rotation(file, next_file, _stamp(), new)
                return Cipher(new)
            again = load_key(self.key_path)  # replaced while this process read it
            if again is not None and _opens(again, check):
                return Cipher(again)
        if key is None:
            raise KeyProblem("key_missing", register=self.store.label, path=str(self.key_path))
        # another computer sharing the register (PostgreSQL) still holds the key from before a rotation
        if file is not None:  # the key file was rotated for another register that shares it (another --db)
            for retired in sorted(file.parent.glob(file.name + ".retired-*"), reverse=True):
                try:
                    opens = _opens(read_key_file(retired) or b"", check)
                except KeyProblem:
                    continue
                if opens:
                    raise KeyProblem("key_retired_opens", path=str(retired), env=KEY_ENV)
        rotated = session.execute(select(AuditEntry).where(AuditEntry.action == "key_rotated").order_by(AuditEntry.seq.desc()).limit(1)).scalar()
        if rotated is not None:
            raise KeyProblem("key_replaced", at=rotated.at[:16].replace("T", " "), actor=rotated.actor)
        raise KeyProblem("key_wrong")

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """The store's transaction, refused when the register's key was replaced after this process opened it: what
        it sealed under the old key would no longer open (``rotate_key``)."""
        with self.store.transaction() as session:
            self._check_key(session)
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self.store.read() as session:
            self._check_key(session)
            yield session

    def _check_key(self, session: Session) -> None:
        check = session.get(Meta, _KEY_CHECK)
        if check is None or check.value != self._key_check:
            raise KeyProblem("key_changed", register=self.store.label)

    def rotate_key(self) -> KeyRotation:
        """Encrypt the whole register under a new key (names, contacts, reasons, documents, enrolment photos, face
        embeddings, lookup digests) in one transaction, then replace the key file. The old key is kept beside it as a
        retired file: backups made before open only with it, and so do the reasons sealed in audit entries written
        before (the hash-chained log is never rewritten). Processes that opened the register before refuse to go on
        (``key_changed``) rather than seal anything under the old key."""
        file = key_file_in_use(self.key_path)
        if file is None:
            raise KeyProblem("rotate_env_key", env=KEY_ENV)
        new_key = secrets.token_bytes(32)
        new = Cipher(new_key)
        next_file = next_key_path(file)
        with self._transaction() as session:
            # under the write lock, with the key file's key still opening the register: a leftover is a rotation's
            # that stopped before it committed
            next_file.unlink(missing_ok=True)
            try:
                write_key_file(next_file, new_key)
            except OSError as error:
                raise KeyProblem("key_cannot_create", path=next_file, error=os_reason(error)) from None
            values = self._reseal(session, new)
            check = new.encrypt(_KEY_CHECK_PLAIN, "meta.key_check").hex()
            session.get(Meta, _KEY_CHECK).value = check
            audit.append(session, self.actor, "key_rotated", "", {"values": values})
            _pause_for_tests("key_rotation_before_commit")
        # committed: the data opens only with the key in next_file from here on
        self._cipher, self._key_check = new, check
        _pause_for_tests("key_rotation_committed")
        retired = finish_rotation(file, next_file, _stamp(), new_key)
        self.store.scrub()  # the old ciphertexts leave the write-ahead log
        return KeyRotation(file, retired, values)

    def _reseal(self, session: Session, new: Cipher) -> int:
        """Every sealed value of the register opened with the current key and sealed under ``new``, in place; how many."""
        old, count = self._cipher, 0

        def text(value: str | None, context: str) -> str | None:
            nonlocal count
            if not value or not value.startswith(_SEALED):
                return value
            count += 1
            return _seal_with(new, _unseal_with(old, value, context), context)

        def blob(value: bytes, context: str) -> bytes:
            nonlocal count
            if not value:  # an erased form
                return value
            count += 1
            return new.encrypt(old.decrypt(value, context), context)

        for child in session.execute(select(Child)).scalars():
            if child.name:  # an erased record has no name, nor digest
                child.name_index = new.index(folded_form(self._unseal(child.name, f"children.name:{child.id}")))
            child.name = text(child.name, f"children.name:{child.id}")
            child.never_publish_reason = text(child.never_publish_reason, f"children.never_publish_reason:{child.id}")
            child.dob_sealed = text(child.dob_sealed, f"children.dob:{child.id}")
        for guardian in session.execute(select(Guardian)).scalars():
            guardian.name = text(guardian.name, f"guardians.name:{guardian.id}")
            guardian.contact = text(guardian.contact, f"guardians.contact:{guardian.id}")
            guardian.relation = text(guardian.relation, f"guardians.relation:{guardian.id}")
        for consent in session.execute(select(Consent)).scalars():
            consent.document_enc = blob(consent.document_enc, f"consents.document:{consent.id}")
            consent.withdrawn_reason = text(consent.withdrawn_reason, f"consents.withdrawn_reason:{consent.id}")
            session.flush()
            session.expire(consent, ["document_enc"])  # one signed form in memory at a time
        for enrolment in session.execute(select(Enrolment)).scalars():
            enrolment.photo_enc = blob(enrolment.photo_enc, f"enrolments.photo:{enrolment.id}")
            enrolment.embedding_enc = blob(enrolment.embedding_enc, f"enrolments.embedding:{enrolment.id}")
            session.flush()
            session.expire(enrolment, ["photo_enc"])
        for review in session.execute(select(ReviewRow)).scalars():
            review.reason = text(review.reason, f"review_decisions.reason:{review.seq}")
            review.source = text(review.source, f"review_decisions.source:{review.seq}")
        for adult in session.execute(select(KnownAdult)).scalars():
            adult.name_index = new.index(folded_form(self._unseal(adult.name, f"known_adults.name:{adult.id}")))
            adult.name = text(adult.name, f"known_adults.name:{adult.id}")
            adult.embeddings_enc = blob(adult.embeddings_enc, f"known_adults.embeddings:{adult.id}")
        session.flush()
        return count

    # -- names and contacts, sealed at rest ------------------------------------------
    def _seal(self, text: str, context: str) -> str:
        return _seal_with(self._cipher, text, context)

    def _unseal(self, value: str | None, context: str) -> str:
        return _unseal_with(self._cipher, value, context)

    def name_index(self, name: str) -> str:
        """The keyed digest a name is found by (case, spaces and accents do not matter: "Clirim Kellici" finds
        "Çlirim Këlliçi", as the review page's search does)."""
        return self._cipher.index(folded_form(name))

    def _index_names(self) -> None:
        """Lookup digests a register took of another form of the names (before accents were folded): taken again,
        once, from the sealed names, so `child list --name` and the check for a child added twice find them."""
        with self._read() as session:
            row = session.get(Meta, _NAME_INDEX)
            if row is not None and row.value == _NAME_INDEX_FORM:
                return
        with self._transaction() as session:
            row = session.get(Meta, _NAME_INDEX)
            if row is not None and row.value == _NAME_INDEX_FORM:
                return  # another process did it meanwhile
            for model in (Child, KnownAdult):
                for item in session.execute(select(model).where(model.name != "")).scalars():
                    item.name_index = self.name_index(self._unseal(item.name, f"{model.__tablename__}.name:{item.id}"))
            if row is None:
                session.add(Meta(key=_NAME_INDEX, value=_NAME_INDEX_FORM))
            else:
                row.value = _NAME_INDEX_FORM

    def _seal_legacy(self) -> None:
        """Names, contacts, dates of birth, guardians' relations and the never-publish and withdrawal reasons a register
        stored before they were sealed: sealed now, in one transaction."""
        with self._transaction() as session:
            plain = [row for model in (Child, Guardian, KnownAdult)
                     for row in session.execute(select(model).where(model.name != "", ~model.name.startswith(_SEALED))).scalars()]
            plain += [g for g in session.execute(select(Guardian).where(Guardian.contact != "", ~Guardian.contact.startswith(_SEALED))).scalars()
                      if g not in plain]
            for child in session.execute(select(Child).where(Child.dob.is_not(None))).scalars():
                child.dob_sealed, child.dob = self._seal(child.dob.isoformat(), f"children.dob:{child.id}"), None
                if child not in plain:
                    plain.append(child)
            # reviewers' words and file names were in clear before 2026-12-07 too
            for model, column in ((Child, "never_publish_reason"), (Consent, "withdrawn_reason"), (Guardian, "relation"),
                                  (ReviewRow, "reason"), (ReviewRow, "source")):
                field = getattr(model, column)
                for row in session.execute(select(model).where(field.is_not(None), field != "", ~field.startswith(_SEALED))).scalars():
                    key = row.seq if model is ReviewRow else row.id
                    setattr(row, column, self._seal(getattr(row, column), f"{model.__tablename__}.{column}:{key}"))
                    if row not in plain:
                        plain.append(row)
            for row in plain:
                table = row.__tablename__
                if table in ("consents", "review_decisions"):
                    continue  # their reasons and sources, above, are all they had in clear
                if not row.name.startswith(_SEALED):
                    if table != "guardians":
                        row.name_index = self.name_index(row.name)
                    row.name = self._seal(row.name, f"{table}.name:{row.id}")
                if table == "guardians" and row.contact and not row.contact.startswith(_SEALED):
                    row.contact = self._seal(row.contact, f"guardians.contact:{row.id}")
            if plain:
                audit.append(session, self.actor, "names_sealed", "", {"rows": len(plain)})
        if plain:
            self.store.scrub()  # the clear text's old pages leave the write-ahead log too

    def find_children(self, name: str) -> list[ChildInfo]:
        """Children whose name is ``name`` as a person would read it, accents typed either way, found by the keyed
        index (names stay sealed)."""
        with self._transaction() as session:
            rows = session.execute(select(Child).where(Child.name_index == self.name_index(name)).order_by(Child.created_at)).scalars()
            return [self._child_info(c, full=True) for c in rows]

    def child_names(self) -> list[tuple[str, str, bool]]:
        """(id, name, never publish) of every child, names opened: a search by part of a name reads them all."""
        with self._transaction() as session:
            rows = session.execute(select(Child.id, Child.name, Child.never_publish).where(Child.erased_at.is_(None))).all()
        return [(cid, self._unseal(name, f"children.name:{cid}"), bool(never)) for cid, name, never in rows]

    def _guardian_info(self, g: Guardian) -> GuardianInfo:
        return GuardianInfo(g.id, g.child_id, self._unseal(g.name, f"guardians.name:{g.id}"), self._unseal(g.relation, f"guardians.relation:{g.id}"),
                            self._unseal(g.contact, f"guardians.contact:{g.id}"))

    def _consent_info(self, c: Consent) -> ConsentInfo:
        return ConsentInfo(
            id=c.id, child_id=c.child_id, guardian_id=c.guardian_id, document_sha256=c.document_sha256, document_type=c.document_type,
            date_signed=c.date_signed, recorded_by=c.recorded_by, recorded_at=c.recorded_at, channels=tuple(c.channels),
            purposes=tuple(c.purposes), event_ids=tuple(c.event_ids), valid_from=c.valid_from, valid_until=c.valid_until,
            status=c.status, withdrawn_on=c.withdrawn_on,
            withdrawn_reason=self._unseal(c.withdrawn_reason, f"consents.withdrawn_reason:{c.id}") or None,
        )

    def _child_info(self, c: Child, full: bool = False) -> ChildInfo:
        return ChildInfo(
            id=c.id, name=self._unseal(c.name, f"children.name:{c.id}"), dob=self._child_dob(c), never_publish=bool(c.never_publish),
            never_publish_reason=self._unseal(c.never_publish_reason, f"children.never_publish_reason:{c.id}") or None, enrolment_photos=len(c.enrolments), biometrics_erased_at=c.biometrics_erased_at,
            guardians=tuple(self._guardian_info(g) for g in c.guardians) if full else (),
            consents=tuple(self._consent_info(x) for x in c.consents) if full else (), erased_at=c.erased_at,
        )

    def _known_adult_info(self, row: KnownAdult, count: int) -> KnownAdultInfo:
        return KnownAdultInfo(row.id, self._unseal(row.name, f"known_adults.name:{row.id}"), row.role, row.added_by, row.added_at,
                              row.expires, row.embedder, count)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def label(self) -> str:
        return self.store.label

    def _child(self, session: Session, child_id: str, live: bool = False) -> Child:
        """The child; with ``live``, one whose record was not erased (nothing is added to an erased record: it names
        no one, and a consent or photo added to it would belong to no child)."""
        child = _get(session, Child, child_id, "not_found_child")
        if live and child.erased_at is not None:
            raise RegisterError("child_erased", id=child_id, on=child.erased_at.date().isoformat())
        return child

    # -- children -----------------------------------------------------------
    def add_child(self, name: str, dob: date | None = None, *, another_child: bool = False) -> ChildInfo:
        """A new child. A child of the same name (as :meth:`find_children` compares it) and date of birth is
        refused, naming the child already there (a second record would split consents, photos and never-publish
        between two ids), unless ``another_child``: the person says it is a different child."""
        name = self.check_child(name, dob)
        with self._transaction() as session:
            if not another_child:
                same = self._same_child(session, name, dob)
                if same is not None:
                    raise RegisterError("child_exists", id=same.id)
            return self._child_info(self._add_child(session, name, dob))

    @staticmethod
    def check_child(name: str, dob: date | None = None) -> str:
        """The name, stripped, when a child of that name and date of birth may be added; RegisterError otherwise.
        Needs no database: a command checks it before it opens (and so makes) a register."""
        name = _require_text(name, "empty_child_name")
        if dob is not None and dob > date.today():
            raise RegisterError("dob_future", date=str(dob))
        return name

    def _same_child(self, session: Session, name: str, dob: date | None) -> Child | None:
        """The first child already registered with this name (accents, case and spaces ignored) and date of birth; a
        record without a date of birth on either side is taken as the same child too (the date was left out once, not
        a second child: two records would split consents and never-publish between two ids)."""
        query = select(Child).where(Child.name_index == self.name_index(name)).order_by(Child.created_at)
        for child in session.execute(query).scalars():  # the dates are sealed: compared once opened, among the few
            known = self._child_dob(child)
            if dob is None or known is None or known == dob:
                return child
        return None

    def _child_dob(self, child: Child) -> date | None:
        if child.dob_sealed:
            return date.fromisoformat(self._unseal(child.dob_sealed, f"children.dob:{child.id}"))
        return child.dob  # a register not yet sealed (opened without its key: never; kept for the type)

    def _add_child(self, session: Session, name: str, dob: date | None) -> Child:
        child_id = _new_id("ch")
        child = Child(id=child_id, name=self._seal(name, f"children.name:{child_id}"), name_index=self.name_index(name), dob=None,
                      dob_sealed=self._seal(dob.isoformat(), f"children.dob:{child_id}") if dob is not None else None, never_publish=False, created_at=_now(), created_by=self.actor)
        session.add(child)
        session.flush()
        audit.append(session, self.actor, "child_added", child.id, {"dob_given": dob is not None})
        return child

    def get_child(self, child_id: str) -> ChildInfo:
        with self._transaction() as session:
            return self._child_info(self._child(session, child_id), full=True)

    def list_children(self) -> list[ChildInfo]:
        with self._transaction() as session:
            return [self._child_info(c, full=True) for c in session.execute(select(Child).order_by(Child.created_at)).scalars()]

    def set_never_publish(self, child_id: str, flag: bool = True, reason: str = "") -> ChildInfo:
        """Put a child on the never-publish list, or take it off (``flag=False``). Its enrolment photos are kept while
        it is on the list (they are what recognises the child); taken off with no consent in force, the child's
        enrolment photos and embeddings are erased in the same transaction (nothing else allows keeping them)."""
        if flag and not reason.strip():
            raise RegisterError("never_publish_reason")
        erased = 0
        with self._transaction() as session:
            child = self._child(session, child_id, live=True)
            was_on = bool(child.never_publish)
            self._set_never_publish(session, child, flag, reason)
            if was_on and not flag and not _consents_in_force(child):
                erased = self._erase(session, child, "taken off the never-publish list, no consent in force")
            info = self._child_info(child, full=True)
        if erased:
            self.store.scrub()
        return info

    def _set_never_publish(self, session: Session, child: Child, flag: bool, reason: str) -> Child:
        child.never_publish = flag
        # why a child must never be published (a custody case, a court order) is sealed like a name, in the row and
        # in the audit log (the log keeps it for good; it was readable in the file)
        child.never_publish_reason = self._seal(reason.strip(), f"children.never_publish_reason:{child.id}") or None
        audit.append(session, self.actor, "never_publish_set" if flag else "never_publish_cleared", child.id,
                     {"reason": self._seal(reason.strip(), f"audit.never_publish_reason:{child.id}")})
        return child

    def add_guardian(self, child_id: str, name: str, relation: str = "", contact: str = "") -> GuardianInfo:
        name = _require_text(name, "empty_guardian_name")
        with self._transaction() as session:
            self._child(session, child_id, live=True)
            return self._guardian_info(self._add_guardian(session, child_id, name, relation, contact))

    def _add_guardian(self, session: Session, child_id: str, name: str, relation: str, contact: str) -> Guardian:
        guardian_id = _new_id("g")
        guardian = Guardian(id=guardian_id, child_id=child_id, name=self._seal(name, f"guardians.name:{guardian_id}"),
                            relation=self._seal(relation.strip(), f"guardians.relation:{guardian_id}"),
                            contact=self._seal(contact.strip(), f"guardians.contact:{guardian_id}"), created_at=_now())
        session.add(guardian)
        session.flush()
        # "legal guardian (social services)" says a child is in care: sealed in the log too
        audit.append(session, self.actor, "guardian_added", child_id,
                     {"guardian": guardian.id, "relation": self._seal(relation.strip(), f"audit.guardian_relation:{guardian_id}")})
        return guardian

    # -- consent ------------------------------------------------------------
    def add_consent(
        self,
        child_id: str,
        document: bytes | os.PathLike | str,
        date_signed: date,
        channels: Sequence[str],
        purposes: Sequence[str] = (),
        event_ids: Sequence[str] = (),
        valid_from: date | None = None,
        valid_until: date | None = None,
        guardian_id: str | None = None,
    ) -> ConsentInfo:
        """Record a signed form. The document (PDF or image scan) is stored encrypted with its sha256."""
        checked = self.check_consent(document, date_signed, channels, purposes, event_ids, valid_from, valid_until)
        with self._transaction() as session:
            return self._consent_info(self._add_consent(session, child_id, checked, guardian_id))

    @staticmethod
    def check_consent(
        document: bytes | os.PathLike | str | None,
        date_signed: date | None,
        channels: Sequence[str],
        purposes: Sequence[str] = (),
        event_ids: Sequence[str] = (),
        valid_from: date | None = None,
        valid_until: date | None = None,
    ) -> dict[str, Any]:
        """Everything about a consent that can be checked without the database (raises RegisterError); a static
        method, so that a file to import is checked before any register is opened (a refused file makes none)."""
        data = _read_document(document)
        kind = document_type(data)
        if kind is None:
            raise RegisterError("not_document")
        if not document_complete(data, kind):
            named = Problem("register.the_document") if isinstance(document, (bytes, bytearray, memoryview)) else str(document)
            why = Problem("register.incomplete_pdf") if kind == "pdf" else Problem("register.incomplete_image", {"kind": _KIND_NAMES[kind]})
            raise RegisterError("document_incomplete", path=named, why=why)
        scope = parse_channels(channels)
        if date_signed is None:
            raise RegisterError("no_signed_date")
        if date_signed > date.today():
            raise RegisterError("signed_future", date=str(date_signed))
        valid_from = valid_from or date_signed
        if valid_from < date_signed:
            raise RegisterError("before_signed", start=str(valid_from), signed=str(date_signed))
        if valid_until is not None and valid_until < valid_from:
            raise RegisterError("end_before_start", end=str(valid_until), start=str(valid_from))
        return {"data": data, "sha256": hashlib.sha256(data).hexdigest(), "kind": kind, "date_signed": date_signed, "channels": scope,
                "purposes": _clean(purposes), "event_ids": _clean(event_ids), "valid_from": valid_from, "valid_until": valid_until}

    def _add_consent(self, session: Session, child_id: str, checked: dict[str, Any], guardian_id: str | None) -> Consent:
        self._child(session, child_id, live=True)
        if guardian_id is not None:
            guardian = session.get(Guardian, guardian_id)
            if guardian is None or guardian.child_id != child_id:
                raise NotFound("not_found_guardian", id=guardian_id, child=child_id)
        for event_id in checked["event_ids"]:
            if session.get(Event, event_id) is None:
                raise NotFound("not_found_event", id=event_id)
        record_id = _new_id("cr")
        consent = Consent(
            id=record_id,
            child_id=child_id,
            guardian_id=guardian_id,
            document_enc=self._cipher.encrypt(checked["data"], f"consents.document:{record_id}"),
            document_sha256=checked["sha256"],
            document_type=checked["kind"],
            date_signed=checked["date_signed"],
            recorded_by=self.actor,
            recorded_at=_now(),
            channels=list(checked["channels"]),
            purposes=list(checked["purposes"]),
            event_ids=list(checked["event_ids"]),
            valid_from=checked["valid_from"],
            valid_until=checked["valid_until"],
            status="active",
        )
        session.add(consent)
        session.flush()
        _pause_for_tests("consent_add")
        until = checked["valid_until"]
        audit.append(
            session,
            self.actor,
            "consent_added",
            child_id,
            {"record": record_id, "channels": list(checked["channels"]), "valid_from": str(checked["valid_from"]), "valid_until": str(until) if until else None},
            document_sha256=checked["sha256"],
        )
        return consent

    def withdraw_consent(self, record_id: str, reason: str, on: date | None = None) -> ConsentInfo:
        """Withdraw a consent; the child's biometric data is erased unless another consent is still in force.
        ``on`` (default today) is neither before the form was signed nor after today: a withdrawal dated before the
        signature, or one yet to come, is not one that happened."""
        today = date.today()
        on = on or today
        with self._transaction() as session:
            consent = _get(session, Consent, record_id, "not_found_record")  # an unknown id is said first, not the reason
            if consent.status == "withdrawn":
                raise RegisterError("already_withdrawn", id=record_id, on=str(consent.withdrawn_on))
            reason = _require_text(reason, "empty_withdraw_reason")
            if on > today:
                raise RegisterError("withdrawn_future", on=str(on), today=str(today))
            if on < consent.date_signed:
                raise RegisterError("withdrawn_before_signed", on=str(on), id=record_id, signed=str(consent.date_signed))
            consent.status, consent.withdrawn_on = "withdrawn", on
            consent.withdrawn_reason = self._seal(reason, f"consents.withdrawn_reason:{consent.id}")  # a parent's words
            audit.append(session, self.actor, "consent_withdrawn", consent.child_id,
                         {"record": record_id, "on": str(on), "reason": self._seal(reason, f"audit.withdrawn_reason:{record_id}")},
                         document_sha256=consent.document_sha256)
            child = consent.child
            erased = 0
            if not _consents_in_force(child) and not child.never_publish:
                erased = self._erase(session, child, f"consent {record_id} withdrawn")
            info = self._consent_info(consent)
        if erased:
            self.store.scrub()
        return info

    def get_consent(self, record_id: str) -> ConsentInfo:
        with self._transaction() as session:
            consent = _get(session, Consent, record_id, "not_found_record")
            return self._consent_info(consent)

    def list_consents(self, child_id: str | None = None) -> list[ConsentInfo]:
        with self._transaction() as session:
            query = select(Consent).order_by(Consent.recorded_at)
            if child_id is not None:
                self._child(session, child_id)
                query = query.where(Consent.child_id == child_id)
            return [self._consent_info(c) for c in session.execute(query).scalars()]

    def document(self, record_id: str) -> bytes:
        """The signed form, decrypted (for a person to read; never exported)."""
        with self._transaction() as session:
            consent = _get(session, Consent, record_id, "not_found_record")
            if not consent.document_enc:
                raise RegisterError("document_erased", id=record_id, child=consent.child_id)
            return self._cipher.decrypt(consent.document_enc, f"consents.document:{record_id}")

    def import_rows(self, rows: Sequence[dict[str, Any]], source: str = "") -> list[ConsentInfo]:
        """Add many consents in ONE transaction: all rows or none.

        Each row: ``child_ref`` (existing id) or ``child_name`` (+ optional ``dob``; rows with the
        same name, as :meth:`find_children` compares it, and dob become one new child; a child of that name and dob
        already in the register refuses the whole import, naming its id: a file imported twice made every child
        twice), optional ``guardian`` dict (name, relation,
        contact), ``never_publish_reason`` (sets the flag), and ``consent``: the dict from
        :meth:`check_consent` (validated beforehand). ``line`` numbers the row for messages.
        """
        added: list[ConsentInfo] = []
        with self._transaction() as session:
            made: dict[tuple[str, date | None], Child] = {}
            for row in rows:
                try:
                    if row.get("child_ref"):
                        child = self._child(session, row["child_ref"], live=True)
                    else:
                        name = _require_text(row["child_name"], "empty_child_name_column")
                        key = (folded_form(name), row.get("dob"))
                        if key not in made:
                            same = self._same_child(session, name, row.get("dob"))
                            if same is not None:
                                raise RegisterError("import_child_exists", id=same.id)
                            made[key] = self._add_child(session, name, row.get("dob"))
                        child = made[key]
                    guardian_id = None
                    if row.get("guardian"):
                        g = row["guardian"]
                        existing = next((x for x in session.execute(select(Guardian).where(Guardian.child_id == child.id)).scalars()
                                         if self._unseal(x.name, f"guardians.name:{x.id}") == g["name"]), None)
                        guardian_id = (existing or self._add_guardian(session, child.id, g["name"], g.get("relation", ""), g.get("contact", ""))).id
                    if row.get("never_publish_reason") and not child.never_publish:
                        self._set_never_publish(session, child, True, row["never_publish_reason"])
                    added.append(self._consent_info(self._add_consent(session, child.id, row["consent"], guardian_id)))
                except RegisterError as error:
                    error.at_line(row.get("line", "?"))
                    raise
            audit.append(session, self.actor, "register_imported", "", {"source": source, "consents": len(added)})
        return added

    def export(self) -> dict[str, Any]:
        """The register without biometric data or documents (their hashes only); the export is audited."""
        children = self.list_children()
        with self._transaction() as session:
            audit.append(session, self.actor, "register_exported", "", {"children": len(children)})
        return {"register": self.label, "exported_at": _now().isoformat(timespec="seconds") + "Z", "children": children}

    # -- biometrics ---------------------------------------------------------
    def add_enrolment(
        self, child_id: str, photo: bytes, embedding: np.ndarray, *, face_index: int, face_height_px: float, embedder: str
    ) -> str:
        """Store one reference photo and its embedding (both encrypted). The embedding comes from ``minorguard.application.enrolment``."""
        sha = hashlib.sha256(photo).hexdigest()
        vector = np.asarray(embedding, dtype=np.float32).ravel()
        with self._transaction() as session:
            child = self._child(session, child_id, live=True)
            # one photo may enrol siblings, a face each; not one child twice, nor one face for two children
            for existing in session.execute(select(Enrolment).where(Enrolment.photo_sha256 == sha)).scalars():
                if existing.child_id == child_id:
                    raise RegisterError("already_enrolled", child=existing.child_id)
                if existing.face_index == face_index:
                    raise RegisterError("already_enrolled_face", label=f"sha256 {sha[:12]}", face=face_index, child=existing.child_id)
            enrol_id = _new_id("en")
            session.add(
                Enrolment(
                    id=enrol_id,
                    child_id=child_id,
                    photo_sha256=sha,
                    photo_enc=self._cipher.encrypt(photo, f"enrolments.photo:{enrol_id}"),
                    embedding_enc=self._cipher.encrypt(vector.tobytes(), f"enrolments.embedding:{enrol_id}"),
                    embedder=embedder,
                    face_index=face_index,
                    face_height_px=float(face_height_px),
                    created_at=_now(),
                    created_by=self.actor,
                )
            )
            child.biometrics_erased_at = None
            try:
                session.flush()
            except IntegrityError:  # a concurrent enrolment of the same face
                raise RegisterError("already_enrolled", child="?") from None
            # "face": the face's number as every page shows it (1 = leftmost); entries before 2026-12-07 said
            # "face_index" for the same number, where scan decisions' "face_index" counts from 0
            audit.append(session, self.actor, "photo_enrolled", child_id, {"enrolment": enrol_id, "face": face_index, "embedder": embedder}, photo_sha256=sha)
            return enrol_id

    def enrolled_faces(self, photo_sha256: str) -> dict[int, str]:
        """{face number: child id} of each face of a photo that is enrolled."""
        with self._transaction() as session:
            rows = session.execute(select(Enrolment.face_index, Enrolment.child_id).where(Enrolment.photo_sha256 == photo_sha256)
                                   .order_by(Enrolment.created_at)).all()
            return {int(face): child for face, child in rows}

    def enrolment_embeddings(self, embedder: str | None = None) -> dict[str, np.ndarray]:
        """{child id: N x D float32} of every enrolled child, decrypted in memory only."""
        out: dict[str, list[np.ndarray]] = {}
        with self._transaction() as session:
            for row in session.execute(select(Enrolment).order_by(Enrolment.created_at)).scalars():
                if embedder is not None and row.embedder != embedder:
                    continue
                raw = self._cipher.decrypt(row.embedding_enc, f"enrolments.embedding:{row.id}")
                out.setdefault(row.child_id, []).append(np.frombuffer(raw, dtype=np.float32))
        return {k: np.stack(v) for k, v in out.items()}

    def enrolments_described_otherwise(self, embedder: str) -> list[tuple[str, str, bytes, int, str, np.ndarray]]:
        """``(enrolment id, child id, photo, face number, embedder, vector)`` of each enrolment made with another
        embedder than ``embedder``, decrypted in memory only: what ``redescribe_enrolment`` needs."""
        out = []
        with self._transaction() as session:
            for row in session.execute(select(Enrolment).where(Enrolment.embedder != embedder).order_by(Enrolment.created_at)).scalars():
                photo = self._cipher.decrypt(row.photo_enc, f"enrolments.photo:{row.id}")
                raw = self._cipher.decrypt(row.embedding_enc, f"enrolments.embedding:{row.id}")
                out.append((row.id, row.child_id, photo, row.face_index, row.embedder, np.frombuffer(raw, dtype=np.float32)))
        return out

    def redescribe_enrolment(self, enrolment_id: str, embedding: np.ndarray, embedder: str) -> None:
        """Replace an enrolment's embedding with one of ``embedder`` computed from its own stored photo."""
        vector = np.asarray(embedding, dtype=np.float32).ravel()
        with self._transaction() as session:
            row = session.get(Enrolment, enrolment_id)
            if row is None:
                raise NotFound("not_found_enrolment", id=enrolment_id)
            old = row.embedder
            row.embedding_enc = self._cipher.encrypt(vector.tobytes(), f"enrolments.embedding:{row.id}")
            row.embedder = embedder
            session.flush()
            audit.append(session, self.actor, "photo_redescribed", row.child_id, {"enrolment": row.id, "from": old, "embedder": embedder},
                         photo_sha256=row.photo_sha256)

    def match_view(self, embedder: str | None = None) -> tuple[dict[str, np.ndarray], dict[str, ChildInfo]]:
        """Embeddings plus the children (with consents) in one read, for the scan-time matcher."""
        vectors = self.enrolment_embeddings(embedder)
        children = {c.id: c for c in self.list_children()}
        return vectors, children

    def erase_biometrics(self, child_id: str, reason: str) -> int:
        """Delete every enrolment photo and embedding of a child (how many); the audit trail stays, and a SQLite
        register's write-ahead log is emptied of them. A child on the never-publish list is refused: its photos are
        what recognises it (taking it off the list erases them when no consent is in force)."""
        reason = _require_text(reason, "empty_erase_reason")
        with self._transaction() as session:
            child = self._child(session, child_id)
            if child.never_publish:
                raise RegisterError("erase_never_publish", id=child_id)
            erased = self._erase(session, child, reason)
        if erased:
            self.store.scrub()
        return erased

    def erase_child(self, child_id: str, reason: str) -> ChildInfo:
        """Erase a child's record on request, in one transaction: the name and its lookup digest, the date of birth,
        the guardians' names, contacts and relations, every signed form, the enrolment photos and face embeddings,
        the reasons written about the child. Consents still in force are withdrawn first, so nothing the record
        allowed is allowed any more. What stays: the pseudonymous id, and each consent's dates, channels, status and
        the sha256 of its form, so the audit log's references (which decision relied on which consent) still
        resolve; the audit log itself is never rewritten (the reasons it holds are sealed). Refused for a child on
        the never-publish list: that record is what blocks the child's photos."""
        reason = _require_text(reason, "empty_erase_reason")
        now = _now()
        with self._transaction() as session:
            child = self._child(session, child_id, live=True)
            if child.never_publish:
                raise RegisterError("erase_child_never_publish", id=child_id)
            withdrawn = []
            for consent in child.consents:
                if consent.status != "withdrawn":
                    consent.status, consent.withdrawn_on = "withdrawn", now.date()
                    withdrawn.append(consent.id)
                consent.withdrawn_reason = None
                consent.document_enc = b""  # the signed form; its sha256 stays as the evidence that it was held
            photos = self._erase(session, child, "child record erased")
            for guardian in child.guardians:
                guardian.name, guardian.contact, guardian.relation = "", "", ""
            for review in session.execute(select(ReviewRow).where(ReviewRow.child_id == child.id)).scalars():
                review.reason, review.source = "", ""  # a reviewer's words and a file name may name the child
            child.name, child.name_index, child.dob, child.dob_sealed, child.never_publish_reason = "", None, None, None, None
            child.erased_at = now
            audit.append(session, self.actor, "child_erased", child.id,
                         {"reason": self._seal(reason, f"audit.child_erasure_reason:{child.id}"), "withdrawn": withdrawn,
                          "forms": len(child.consents), "guardians": len(child.guardians), "photos": photos})
            info = self._child_info(child, full=True)
        self.store.scrub()  # no copy left in the write-ahead log
        return info

    def _erase(self, session: Session, child: Child, reason: str) -> int:
        rows = list(child.enrolments)
        if not rows:
            return 0
        hashes = [r.photo_sha256 for r in rows]
        for row in rows:
            session.delete(row)
        child.biometrics_erased_at = _now()
        session.flush()
        session.expire(child, ["enrolments"])  # read again: the child's info counts none left
        audit.append(session, self.actor, "biometrics_erased", child.id,
                     {"reason": self._seal(reason, f"audit.erasure_reason:{child.id}"), "photos": len(rows), "photo_sha256s": hashes})
        return len(rows)

    def purge_expired(self, today: date | None = None) -> list[str]:
        """Erase biometric data collected under consents that ended more than ``grace_days`` ago.

        A child on the never-publish list keeps its data: it is what blocks the child's photos.
        """
        today = today or date.today()
        grace = timedelta(days=self.grace_days)
        erased: list[str] = []
        with self._transaction() as session:
            children = session.execute(select(Child).where(Child.never_publish.is_(False)).join(Enrolment).distinct()).scalars().all()
            for child in children:
                if not child.consents:
                    continue  # enrolled before the form was recorded: nothing has ended yet
                ends = []
                for c in child.consents:
                    if c.status == "withdrawn":
                        ends.append(c.withdrawn_on or today)
                    elif c.valid_until is None:
                        ends.append(None)
                    else:
                        ends.append(c.valid_until + grace)
                if any(e is None or e >= today for e in ends):
                    continue
                last_end = max(e for e in ends if e is not None)
                old = [r for r in child.enrolments if r.created_at.date() <= last_end]
                if old:
                    for row in old:
                        session.delete(row)
                    child.biometrics_erased_at = _now()
                    session.flush()
                    audit.append(session, self.actor, "biometrics_erased", child.id, {"reason": f"consent ended {last_end - grace} (+{self.grace_days} days grace)", "photos": len(old), "photo_sha256s": [r.photo_sha256 for r in old]})
                    erased.append(child.id)
        if erased:
            self.store.scrub()
        return erased

    # -- events (rule 5's exemption) ------------------------------------------
    def create_event(
        self,
        name: str,
        start: datetime,
        end: datetime,
        *,
        tz: str = "UTC",
        place: str = "",
        lat: float | None = None,
        lon: float | None = None,
        radius_m: float | None = None,
        basis: str = "none",
        justification: str = "",
        event_id: str | None = None,
    ) -> EventInfo:
        fields = _event_fields(name=name, start=start, end=end, tz=tz, place=place, lat=lat, lon=lon, radius_m=radius_m, basis=basis, justification=justification)
        with self._transaction() as session:
            event_id = event_id.strip() if event_id else _new_id("ev")
            if session.get(Event, event_id) is not None:
                raise RegisterError("event.exists", id=repr(event_id))
            row = Event(id=event_id, declared_by=self.actor, declared_at=_now(), closed=False, **fields)
            session.add(row)
            session.flush()
            audit.append(session, self.actor, "event_created", event_id, _event_audit(row))
            return _event_info(row)

    @staticmethod
    def check_event(name: str, start: datetime, end: datetime, *, tz: str = "UTC", place: str = "", lat: float | None = None,
                    lon: float | None = None, radius_m: float | None = None, basis: str = "none", justification: str = "") -> None:
        """Everything about a new event that can be checked without the database (raises RegisterError): a command
        checks it before it opens (and so makes) a register."""
        _event_fields(name=name, start=start, end=end, tz=tz, place=place, lat=lat, lon=lon, radius_m=radius_m, basis=basis,
                      justification=justification)

    def get_event(self, event_id: str) -> EventInfo:
        with self._transaction() as session:
            row = _get(session, Event, event_id, "not_found_event")
            return _event_info(row)

    def list_events(self, include_closed: bool = False) -> list[EventInfo]:
        with self._transaction() as session:
            query = select(Event).order_by(Event.start_utc)
            if not include_closed:
                query = query.where(Event.closed.is_(False))
            return [_event_info(e) for e in session.execute(query).scalars()]

    def update_event(self, event_id: str, **changes: Any) -> EventInfo:
        """Change any of name, start, end, tz, place, lat, lon, radius_m, basis, justification (audited)."""
        allowed = {"name", "start", "end", "tz", "place", "lat", "lon", "radius_m", "basis", "justification"}
        unknown = set(changes) - allowed
        if unknown:
            raise RegisterError("event.cannot_change", fields=", ".join(sorted(unknown)))
        with self._transaction() as session:
            row = _get(session, Event, event_id, "not_found_event")
            if row.closed:
                raise RegisterError("event.is_closed", id=event_id)
            current = {
                "name": row.name, "start": row.start_utc.replace(tzinfo=UTC), "end": row.end_utc.replace(tzinfo=UTC),
                "tz": row.tz, "place": row.place, "lat": row.lat, "lon": row.lon, "radius_m": row.radius_m,
                "basis": row.basis, "justification": row.justification,
            }
            before = _event_audit(row)
            fields = _event_fields(**{**current, **changes})
            for key, value in fields.items():
                setattr(row, key, value)
            # a change of basis is a new declaration: record who made it and when
            if "basis" in changes:
                row.declared_by, row.declared_at = self.actor, _now()
            session.flush()
            after = _event_audit(row)
            audit.append(session, self.actor, "event_updated", event_id, {k: [before[k], after[k]] for k in after if before[k] != after[k]})
            return _event_info(row)

    def close_event(self, event_id: str) -> EventInfo:
        """Close an event (audited); one already closed stays as it is and no second entry is written."""
        with self._transaction() as session:
            row = _get(session, Event, event_id, "not_found_event")
            if not row.closed:
                row.closed = True
                audit.append(session, self.actor, "event_closed", event_id)
            return _event_info(row)

    def event_closing(self, event_id: str) -> dict[str, Any] | None:
        """The audit entry that closed the event (``at``: ISO time in UTC, ``actor``), or None when none did."""
        with self._transaction() as session:
            query = (select(AuditEntry).where(AuditEntry.action == "event_closed", AuditEntry.subject == event_id)
                     .order_by(AuditEntry.seq.desc()).limit(1))
            entry = session.execute(query).scalar_one_or_none()
            return None if entry is None else {"at": entry.at, "actor": entry.actor}

    # -- known adults -------------------------------------------------------
    def add_known_adult(self, name: str, embeddings: np.ndarray, role: str = "", expires: date | None = None, embedder: str = "",
                        actor: str | None = None) -> KnownAdultInfo:
        """``actor``: who enrols the person where it is not this register's user (a reviewer on the review page)."""
        name = _require_text(name, "empty_name")
        actor = " ".join((actor or "").split()) or self.actor
        matrix = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if matrix.size == 0:
            raise RegisterError("adult_no_embedding")
        with self._transaction() as session:
            row_id = _new_id("ka")
            blob = np.array(matrix.shape, dtype=np.int32).tobytes() + matrix.tobytes()
            row = KnownAdult(id=row_id, name=self._seal(name, f"known_adults.name:{row_id}"), name_index=self.name_index(name), role=role.strip(), added_by=actor, added_at=_now(), expires=expires,
                             embeddings_enc=self._cipher.encrypt(blob, f"known_adults.embeddings:{row_id}"), embedder=embedder)
            session.add(row)
            session.flush()
            audit.append(session, actor, "known_adult_added", row_id, {"role": row.role, "expires": str(expires) if expires else None, "count": int(matrix.shape[0])})
            return self._known_adult_info(row, int(matrix.shape[0]))

    def list_known_adults(self, include_expired: bool = False, today: date | None = None) -> list[KnownAdultInfo]:
        return [info for info, _ in self.known_adult_embeddings(include_expired, today)]

    def known_adult_embeddings(self, include_expired: bool = False, today: date | None = None) -> list[tuple[KnownAdultInfo, np.ndarray]]:
        today = today or date.today()
        out = []
        with self._transaction() as session:
            for row in session.execute(select(KnownAdult).order_by(KnownAdult.added_at)).scalars():
                if not include_expired and row.expires is not None and row.expires < today:
                    continue
                blob = self._cipher.decrypt(row.embeddings_enc, f"known_adults.embeddings:{row.id}")
                rows, cols = np.frombuffer(blob[:8], dtype=np.int32)
                matrix = np.frombuffer(blob[8:], dtype=np.float32).reshape(int(rows), int(cols))
                out.append((self._known_adult_info(row, int(rows)), matrix))
        return out

    def remove_known_adult(self, adult_id: str) -> None:
        with self._transaction() as session:
            row = _get(session, KnownAdult, adult_id, "not_found_adult")
            session.delete(row)
            audit.append(session, self.actor, "known_adult_removed", adult_id)

    # -- audit --------------------------------------------------------------
    def audit_decision(self, photo_sha256: str | None, face_index: int, decision_summary: dict | str) -> None:
        """Record a scan decision that relied on the register (called once per such face)."""
        self.audit_decisions([(photo_sha256, face_index, decision_summary)])

    def audit_decisions(self, decisions: Sequence[tuple[str | None, int, dict | str]]) -> int:
        """Many scan decisions in one transaction (a batch scan): all recorded or none.

        A ``document_sha256`` key in a summary goes to the entry's document hash column.
        """
        with self._transaction() as session:
            for photo_sha256, face_index, decision_summary in decisions:
                details = dict(decision_summary) if isinstance(decision_summary, dict) else {"summary": str(decision_summary)}
                document = details.pop("document_sha256", None)
                audit.append(
                    session, self.actor, "scan_decision", str(details.get("child_ref", "")), {"face_index": face_index, **details},
                    photo_sha256=photo_sha256, document_sha256=document,
                )
        return len(decisions)

    def audit_checks(self, checks: Sequence[tuple[str | None, dict]]) -> int:
        """One ``photo_checked`` entry per photo a scan judged, all in one transaction.

        The subject is the verdict, not the file name: a name can carry a child's
        name, and this log is never erased.
        """
        with self._transaction() as session:
            for photo_sha256, details in checks:
                audit.append(session, self.actor, "photo_checked", str(details.get("verdict", "")), details, photo_sha256=photo_sha256)
        return len(checks)

    def state(self) -> str:
        """Changes whenever the register changes what a check may decide (``audit.STATE``); checking and exporting leave it."""
        with self._read() as session:
            row = session.get(Meta, audit.STATE)
            return row.value if row is not None else ""

    def audit_verify(self) -> audit.AuditReport:
        with self._transaction() as session:
            return audit.verify(session)

    def audit_entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._transaction() as session:
            query = select(AuditEntry).order_by(AuditEntry.seq.desc())
            if limit:
                query = query.limit(limit)
            return [
                {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "details": e.details,
                 "photo_sha256": e.photo_sha256, "document_sha256": e.document_sha256, "hash": e.hash}
                for e in session.execute(query).scalars()
            ][::-1]


def _get(session: Session, model: type, key: str, missing: str) -> Any:
    """The row ``key`` of ``model``; NotFound with code ``missing`` when there is none."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(missing, id=key)
    return row


def _default_actor() -> str:
    try:
        return os.environ.get("MINORGUARD_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no login name (containers): still say something
        return "unknown"


# a signed form scanned at 600 dpi in colour is a few MB; the document is kept encrypted in the register
MAX_DOCUMENT_BYTES = 64 << 20


def _read_document(document: bytes | os.PathLike | str | None) -> bytes:
    if document is None:
        raise RegisterError("no_document")
    if isinstance(document, (bytes, bytearray, memoryview)):
        data = bytes(document)
    else:
        path = Path(document)
        try:
            # a device or a pipe is never read: /dev/zero filled memory until the system killed the command
            kind = path.stat().st_mode
            if stat.S_ISDIR(kind):
                raise RegisterError("document_folder", path=str(path))
            if not stat.S_ISREG(kind):
                raise RegisterError("document_not_regular", path=str(path))
            with open(path, "rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
        except FileNotFoundError:
            raise RegisterError("document_missing", path=str(path)) from None
        except IsADirectoryError:
            raise RegisterError("document_folder", path=str(path)) from None
        except OSError as error:
            raise RegisterError("document_unreadable", path=str(path), error=os_reason(error)) from None
        if len(data) > MAX_DOCUMENT_BYTES:
            raise RegisterError("document_too_large", path=str(path), limit=MAX_DOCUMENT_BYTES >> 20)
    if not data:
        raise RegisterError("document_empty")
    return data



def _consents_in_force(child: Child) -> list[Consent]:
    """The child's consents not withdrawn and not ended (one that starts later counts: it was given)."""
    today = date.today()
    return [c for c in child.consents if c.status == "active" and (c.valid_until is None or c.valid_until >= today)]






def _to_utc(value: datetime, tz: str) -> datetime:
    """Naive UTC for the database; a time without offset is read in ``tz``, and refused when that zone skips or
    repeats it (a daylight-saving change): either reading could widen the event's window by an hour."""
    from zoneinfo import ZoneInfo

    from minorguard.rules.events import unclear_wall_clock

    if value.tzinfo is None:
        unclear = unclear_wall_clock(value, tz)
        if unclear is not None:
            raise RegisterError(f"event.{unclear[0]}", **unclear[1])
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC).replace(tzinfo=None)


def _event_fields(*, name, start, end, tz, place, lat, lon, radius_m, basis, justification) -> dict[str, Any]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = _require_text(name, "empty_event_name")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise RegisterError("event.reg_unknown_tz", tz=repr(tz)) from None
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise RegisterError("event.reg_not_datetime")
    start_utc, end_utc = _to_utc(start, tz), _to_utc(end, tz)
    if end_utc < start_utc:  # both on the event's own clock
        local = [m.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).isoformat() for m in (end_utc, start_utc)]
        raise RegisterError("event.reg_end_before_start", end=local[0], start=local[1])
    if basis not in BASES:
        raise RegisterError("event.unknown_basis", basis=repr(basis), allowed=", ".join(BASES))
    if basis != "none" and not str(justification or "").strip():
        raise RegisterError("event.needs_justification")
    if (lat is None) != (lon is None):
        raise RegisterError("event.lat_lon_pair")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RegisterError("event.lat_lon_range", lat=lat, lon=lon)
    if radius_m is not None and radius_m <= 0:
        raise RegisterError("event.radius_positive")
    return {"name": name, "start_utc": start_utc, "end_utc": end_utc, "tz": tz, "place": (place or "").strip(),
            "lat": lat, "lon": lon, "radius_m": radius_m, "basis": basis, "justification": (justification or "").strip()}


def _event_audit(row: Event) -> dict[str, Any]:
    return {"name": row.name, "start_utc": row.start_utc.isoformat(), "end_utc": row.end_utc.isoformat(), "tz": row.tz, "place": row.place,
            "lat": row.lat, "lon": row.lon, "radius_m": row.radius_m, "basis": row.basis, "justification": row.justification}


def _event_info(row: Event) -> EventInfo:
    return EventInfo(row.id, row.name, row.start_utc, row.end_utc, row.tz, row.place, row.lat, row.lon, row.radius_m,
                     row.basis, row.declared_by, row.declared_at, row.justification, bool(row.closed))


