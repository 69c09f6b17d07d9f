"""Errors of the register. Each carries one line a communicator can read."""

from __future__ import annotations

__all__ = ["KeyProblem", "NotFound", "RegisterBusy", "RegisterError"]


class RegisterError(Exception):
    """Bad input or a request the register refuses; nothing was written."""

    def __init__(self, message: str, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.message = message  # English, always complete
        # ``code`` + ``params`` let a front end show the message in the reader's language
        # (minorguard.locale: key "register.<code>"); ``prefix`` locates it (e.g. a CSV line).
        self.code = code
        self.params = params
        self.prefix = ""


class NotFound(RegisterError):
    """An id that names no record."""


class RegisterBusy(RegisterError):
    """Another process holds the register for longer than the wait allows."""


class KeyProblem(RegisterError):
    """The encryption key is missing or does not open this register's data."""
