"""API keys of the tools that call minorguard's web service, kept in the register.

A key is shown once, when it is created; the register keeps only its sha256
(a key is 32 random bytes, so a plain hash cannot be reversed by guessing) and
the calling tool's name, which every audit entry of a request carries. Revoking
keeps the row, so the audit log's tool names stay explained.

    keys = ApiKeys(register)
    info, secret = keys.create("cms-uebfaqja")   # give `secret` to the tool, once
    keys.find(secret)                            # ApiKeyInfo, or None for an unknown or revoked key
    keys.revoke(info.id)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import Mapped, mapped_column

from consent_db import audit
from consent_db.errors import NotFound, RegisterError
from consent_db.register import Register
from consent_db.schema import Base

__all__ = ["KEY_PREFIX", "ApiKeyInfo", "ApiKeys"]

KEY_PREFIX = "mgk_"  # recognisable in a leaked file or a secret scanner's report
_TOOL_MAX = 100


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tool: Mapped[str] = mapped_column(String(200))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    revoked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as listed: never the key itself."""

    id: str
    tool: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.tool, row.created_by, row.created_at, row.revoked_at, row.revoked_by)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ApiKeys:
    """The API keys in ``register``'s database (SQLite or PostgreSQL)."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self.store = register.store

    def create(self, tool: str) -> tuple[ApiKeyInfo, str]:
        """A new key for ``tool``: (what is listed, the key to hand over once)."""
        name = " ".join(tool.split())
        if not name or len(name) > _TOOL_MAX or not name.isprintable():
            raise RegisterError("bad_tool_name", max=_TOOL_MAX)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(id=f"ak-{secrets.token_hex(4)}", tool=name, key_sha256=_digest(secret),
                        created_by=self.register.actor, created_at=_now())
        with self.store.transaction() as session:
            session.add(row)
            audit.append(session, self.register.actor, "api_key_created", row.id, {"tool": name})
            return _info(row), secret

    def list(self, include_revoked: bool = False) -> list[ApiKeyInfo]:
        with self.store.read() as session:
            rows = session.execute(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).scalars()
            return [_info(r) for r in rows if include_revoked or r.revoked_at is None]

    def revoke(self, key_id: str) -> ApiKeyInfo:
        with self.store.transaction() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound("unknown_api_key", id=key_id)
            if row.revoked_at is None:
                row.revoked_at, row.revoked_by = _now(), self.register.actor
                audit.append(session, self.register.actor, "api_key_revoked", row.id, {"tool": row.tool})
            return _info(row)

    def find(self, secret: str) -> ApiKeyInfo | None:
        """The active key ``secret`` is, or None; a read that never waits for a writer (every request asks)."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        with self.store.read() as session:
            row = session.execute(select(ApiKeyRow).where(ApiKeyRow.key_sha256 == _digest(secret))).scalar_one_or_none()
            return _info(row) if row is not None and row.revoked_at is None else None
