"""Encryption at rest of biometric data and signed documents (AES-256-GCM).

The key lives outside the database: a file in the user's data directory,
created on first use with owner-only permissions (0600), or the environment
variable ``MINORGUARD_KEY`` (the key itself, url-safe base64 of 32 bytes, or a
path to a key file). Every blob is bound to its table, column and row id as
associated data, so a ciphertext copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consent_db.errors import KeyProblem
from minorguard.locale.os_reasons import os_reason

__all__ = ["KEY_ENV", "Cipher", "create_key", "finish_rotation", "key_file_in_use", "load_key", "next_key_path", "read_key_file", "write_key_file"]

KEY_ENV = "MINORGUARD_KEY"
_NONCE = 12
_VERSION = b"\x01"


def _decode(text: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return raw if len(raw) == 32 else None


def load_key(key_path: Path) -> bytes | None:
    """The key from MINORGUARD_KEY or ``key_path``; None when neither exists."""
    env = os.environ.get(KEY_ENV)
    if env:
        raw = _decode(env)
        if raw is not None:
            return raw
        path = Path(env).expanduser()
        if not path.is_file():
            raise KeyProblem("key_env_bad", env=KEY_ENV, value=env)
        key_path = path
    return read_key_file(key_path)


def read_key_file(key_path: Path) -> bytes | None:
    """The key a file holds; None when there is no such file."""
    if not key_path.is_file():
        return None
    try:
        text = key_path.read_text(encoding="ascii", errors="replace")
    except OSError as error:  # a key without leave to read it
        raise KeyProblem("key_unreadable", path=key_path, error=os_reason(error)) from None
    raw = _decode(text)
    if raw is None:
        raise KeyProblem("key_damaged", path=key_path)
    return raw


def key_file_in_use(key_path: Path) -> Path | None:
    """The file the key is read from: $MINORGUARD_KEY's path, or ``key_path``; None when the variable holds the key
    itself (no file minorguard could replace)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return None if _decode(env) is not None else Path(os.path.realpath(Path(env).expanduser()))
    return Path(os.path.realpath(key_path))  # a link to a key kept elsewhere: that file is the one replaced


def next_key_path(key_file: Path) -> Path:
    """Where a rotation keeps the new key until the register's data is encrypted under it (and after, until the
    key file is replaced): a crash at any point leaves a key that opens the register."""
    return key_file.with_name(key_file.name + ".next")


def write_key_file(path: Path, raw: bytes) -> None:
    """A new key file, owner-only (0600), on disk (file and folder synced) before this returns; never over one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (base64.urlsafe_b64encode(raw).decode("ascii") + "\n").encode("ascii"))
        os.chmod(path, 0o600)  # whatever the umask took away from the owner
        os.fsync(fd)
    except OSError:  # a full disk: no half-written key left to be taken for a damaged one
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles (Windows): the rename is as durable as it gets there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def finish_rotation(key_file: Path, next_file: Path, stamp: str, expected: bytes) -> Path | None:
    """After the register was encrypted under the key in ``next_file``: the old key is kept beside it as
    ``<name>.retired-<stamp>`` (it opens backups made before, and the audit reasons sealed before; the log is never
    rewritten), unless a retired file already holds it, and ``next_file`` replaces ``key_file`` in one rename.
    The retired file's path, or None when there was no old key to keep. ``expected``: the key that opens the register
    now; a ``next_file`` holding another (a later rotation's, not yet committed) is left alone."""
    new = read_key_file(next_file)
    if new is None or new != expected:  # finished already, by another process opening the register
        return None
    old = read_key_file(key_file)
    retired = None
    if old is not None and old != new:
        for existing in sorted(key_file.parent.glob(key_file.name + ".retired-*")):
            try:
                if read_key_file(existing) == old:
                    retired = existing
                    break
            except KeyProblem:
                continue
        if retired is None:
            retired = key_file.with_name(f"{key_file.name}.retired-{stamp}")
            for n in range(2, 100):  # two rotations in one second: never over a retired key
                try:
                    write_key_file(retired, old)
                    break
                except FileExistsError:
                    retired = key_file.with_name(f"{key_file.name}.retired-{stamp}-{n}")
    try:
        os.replace(next_file, key_file)
    except FileNotFoundError:  # another process opening the register finished it first
        pass
    _sync_folder(key_file.parent)
    return retired


def create_key(key_path: Path) -> bytes:
    """Write a new random key with mode 0600; an existing file is never replaced."""
    if os.environ.get(KEY_ENV):
        raise KeyProblem("key_env_empty", env=KEY_ENV)
    raw = secrets.token_bytes(32)
    try:
        key_path.parent.mkdir(parents=True, exist_ok=True)
        write_key_file(key_path, raw)
    except FileExistsError:  # another process made it first: use theirs
        loaded = load_key(key_path)
        assert loaded is not None
        return loaded
    except OSError as error:  # the data folder cannot be made or written, a full disk: one line, not the system's English
        raise KeyProblem("key_cannot_create", path=key_path, error=os_reason(error)) from None
    return raw


class Cipher:
    """AES-256-GCM with a random nonce per blob: version byte | nonce | ciphertext+tag."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        # a separate key for lookup indexes, derived so that an index never reveals the encryption key
        self._index_key = hmac.new(key, b"minorguard/name-index/v1", hashlib.sha256).digest()

    def index(self, text: str) -> str:
        """A keyed digest of ``text`` to look it up by equality: without the key, a name cannot be tested against it."""
        return hmac.new(self._index_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, data: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        if not blob or blob[:1] != _VERSION:
            raise KeyProblem("data_unknown_format", context=context)
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], context.encode())
        except InvalidTag:
            raise KeyProblem("key_not_opening", context=context) from None
