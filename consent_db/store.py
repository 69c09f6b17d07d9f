"""Where the register lives and how it is opened: engine, locking, migrations.

SQLite (default): a file in the user's data directory, WAL journal, and every
transaction begins IMMEDIATE so two writers queue on the file lock instead of
failing half-way; a writer that waits longer than the busy timeout gets
:class:`RegisterBusy` ("busy, retry"). PostgreSQL: every transaction takes one
advisory lock first, which serialises writers (the audit chain needs a single
order) with a lock timeout mapped to the same error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from consent_db.errors import RegisterBusy, RegisterError
from consent_db.paths import DATA_DIR_ENV, DB_ENV, data_dir
from minorguard.locale.os_reasons import os_reason

__all__ = ["DATA_DIR_ENV", "DB_ENV", "Store", "data_dir", "default_url", "make_engine", "resolve_url"]

_ADVISORY_KEY = 0x6D696E6F  # "mino": one lock for the whole register
# what SQLite says of a file it may not open or write: its folder or the file read-only or not the user's (WAL needs
# to write beside the file even to read it)
_FILE_PROBLEMS = (("unable to open database file", "file_unopenable"), ("readonly database", "file_read_only"))
MIGRATIONS = Path(__file__).with_name("migrations")


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'register.sqlite3'}"


def resolve_url(url: str | os.PathLike | None) -> str:
    """``--db`` value, else $MINORGUARD_DB, else the default SQLite file; a plain path means SQLite."""
    value = os.fspath(url) if url is not None else os.environ.get(DB_ENV) or default_url()
    if "://" not in value:
        value = f"sqlite:///{Path(value).expanduser().resolve()}"
    if value.startswith(("postgresql://", "postgres://")):
        value = "postgresql+psycopg://" + value.split("://", 1)[1]  # psycopg 3 is the driver we ship
    return value


def _sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; None for an in-memory or server database."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1]
    return path if path and path != ":memory:" else None


def _sqlite_register_in(path: str) -> bool:
    """Whether the SQLite file at ``path`` exists and holds the register's tables (opened read-only)."""
    import sqlite3

    if not Path(path).is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)) as db:
            return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is not None
    except sqlite3.DatabaseError:  # not a database, or unreadable: the register's own opening says which
        return True


def _create_sqlite_file(path: str) -> None:
    """Create the register's file, owner-only, already in WAL mode, unless it exists.

    Two processes opening a register that did not exist yet (CI: two writers started at once) both found a
    0-byte file and both switched it to WAL; SQLite answers a journal-mode change that meets another connection's
    lock with "database is locked" at once, without waiting, and one of them stopped "busy". The file is therefore
    made complete under a private name and linked into place: another process sees no file or a WAL one.
    """
    import sqlite3

    if Path(path).exists():
        return
    folder = Path(path).parent
    spare = folder / f".{Path(path).name}.{os.getpid()}.{os.urandom(4).hex()}.new"
    # names and dates of birth are personal data: owner-only like the key
    os.close(os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with closing(sqlite3.connect(spare, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # writes the header that marks the file WAL
        try:
            os.link(spare, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the register
        except OSError:
            # a file system without hard links: create it in place (the journal-mode change then waits, below)
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
    finally:
        for leftover in (spare, Path(f"{spare}-wal"), Path(f"{spare}-shm")):
            leftover.unlink(missing_ok=True)


def _wait_for_wal(cursor, busy_timeout_s: float) -> None:
    """Switch a register that is not yet WAL to WAL, waiting while another connection holds it.

    SQLite's busy timeout does not cover a journal-mode change: it fails at once while another connection
    writes. A register already in WAL (every one this version created) is only read here.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + busy_timeout_s
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error).lower() or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def make_engine(url: str, busy_timeout_s: float) -> Engine:
    try:
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path:
                try:  # the data folder too: a part of its path a file, a folder without leave to write
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    _create_sqlite_file(path)
                except OSError as error:
                    raise RegisterError("cannot_create", path=path, error=os_reason(error)) from None
            engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
            _sqlite_hooks(engine, busy_timeout_s)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as error:
        raise RegisterError("bad_url", url=_safe(url), error=error) from None
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url


def _sqlite_hooks(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it and make DDL non-transactional).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Erased biometric data must leave the file: deleted rows are overwritten with
        # zeros whatever this platform's SQLite build does by default.
        cursor.execute("PRAGMA secure_delete=ON")
        _wait_for_wal(cursor, busy_timeout_s)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # writers take the file's write lock at once (they queue instead of failing half-way); readers need none
        reading = connection.get_execution_options().get("minorguard_read", False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _is_busy(error: DBAPIError) -> bool:
    text_ = str(error.orig).lower() if error.orig is not None else str(error).lower()
    code = getattr(error.orig, "sqlstate", None)
    return "database is locked" in text_ or "database is busy" in text_ or code in ("55P03", "40001", "40P01")


class Store:
    """An engine plus the one way to run a transaction on it."""

    def __init__(self, url: str | os.PathLike | None = None, busy_timeout_s: float = 30.0, create: bool = True) -> None:
        """``create=False``: a register that was never created here raises ``RegisterError("missing")``
        instead of being created, file and key included (a mistyped ``--db`` must not judge against an empty one)."""
        self.url = resolve_url(url)
        self.busy_timeout_s = busy_timeout_s
        path = _sqlite_path(self.url)
        if not create and path and not _sqlite_register_in(path):  # looked at read-only: the file stays as it is
            raise RegisterError("missing", register=self.label)
        self.engine = make_engine(self.url, busy_timeout_s)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        if not create and not path and not self._created():
            self.engine.dispose()
            raise RegisterError("missing", register=self.label)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(minorguard_read=True), expire_on_commit=False)

    @property
    def label(self) -> str:
        return _safe(self.url)

    def _created(self) -> bool:
        """Whether the register's tables exist in this database (an empty file or server database has none)."""
        from sqlalchemy import inspect

        with self._errors_said():
            return inspect(self.engine).has_table("meta")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One serialised transaction: commits on success, rolls back on any error."""
        with self._errors_said(), self._sessions() as session, session.begin():
            if self.is_postgres:
                session.execute(text(f"SET LOCAL lock_timeout = '{int(self.busy_timeout_s * 1000)}ms'"))
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads and does not queue behind writers (SQLite: a deferred BEGIN, which WAL
        readers never wait on; PostgreSQL: no advisory lock). Used where every request reads: API keys, the state."""
        with self._errors_said(), self._readers() as session, session.begin():
            yield session

    @contextmanager
    def _errors_said(self) -> Iterator[None]:
        """The database's errors as the register's: busy (retry) or one line naming the register."""
        try:
            yield
        except OperationalError as error:
            if _is_busy(error):
                raise RegisterBusy("busy", register=self.label) from None
            raise self._database_error(error) from None
        except DBAPIError as error:
            if _is_busy(error):
                raise RegisterBusy("busy", register=self.label) from None
            if isinstance(error, DatabaseError) and not isinstance(error, IntegrityError):
                # a damaged file ("file is not a database"): one line naming the register, not the driver's trace
                raise self._database_error(error) from None
            raise

    def _database_error(self, error: DBAPIError) -> RegisterError:
        """``error`` as one line naming the register; a SQLite file that cannot be opened or written (a read-only
        folder, disk or share; missing permissions) said as that, with what to check, not in SQLite's English."""
        reason = (str(error.orig) if error.orig is not None else str(error)).strip().splitlines()[0]
        path = _sqlite_path(self.url)
        if path:
            for words, code in _FILE_PROBLEMS:
                if words in reason.lower():
                    return RegisterError(code, path=path, folder=str(Path(path).parent))
        return RegisterError("db_error", register=self.label, error=reason)

    def migrate(self) -> None:
        """Bring the schema to the newest revision, inside one serialised transaction."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        # a register at the newest revision (nearly every opening) is only read: opening it does not queue behind,
        # or stop, another process's writing (two writers opening at once: one was told "busy" under load)
        with self.read() as session:
            if MigrationContext.configure(session.connection()).get_current_revision() == head:
                return
        with self.transaction() as session:
            connection = session.connection()
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head:
                return
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def scrub(self) -> None:
        """After an erasure: write the WAL back into the database and empty it.

        secure_delete zeroes the pages in the database file, but the write-ahead
        log still holds copies of those pages until a checkpoint; TRUNCATE copies
        them back and cuts the log to zero bytes. PostgreSQL keeps dead rows until
        VACUUM (README, "Erasure"); nothing to do here for it.
        """
        if self.is_postgres:
            return
        # the driver's own connection: outside a transaction, which a checkpoint needs
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()

    def state(self) -> str:
        """The register's state (``audit.STATE``), read without the write lock: checks ask before every photo."""
        from consent_db.audit import STATE
        from consent_db.schema import Meta

        with self.read() as session:
            row = session.get(Meta, STATE)
            return row.value if row is not None else ""

    def close(self) -> None:
        self.engine.dispose()
