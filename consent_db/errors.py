"""Errors of the register. Each carries one line a communicator can read, in Albanian or English."""

from __future__ import annotations

from minorguard.locale import t
from minorguard.locale.coded_error import CodedError

__all__ = ["KeyProblem", "NotFound", "RegisterBusy", "RegisterError"]


class RegisterError(CodedError):
    """Bad input or a request the register refuses; nothing was written.

    The line is the message catalogue's ``register.<code>`` (or the full key, e.g.
    ``event.exists``) with ``params``: ``text(lang)`` gives it in the reader's
    language, ``message`` and ``str()`` in English. ``at_line`` locates it in an
    imported CSV file.
    """

    catalogue = "register"
    line: int | str | None = None

    @property
    def message(self) -> str:
        return self.text("en")

    def at_line(self, line: int | str) -> RegisterError:
        self.line = line
        self.args = (self.text("en"),)
        return self

    def text(self, lang: str) -> str:
        where = t("register.line_prefix", lang, n=self.line) if self.line is not None else ""
        return where + super().text(lang)


class NotFound(RegisterError):
    """An id that names no record."""


class RegisterBusy(RegisterError):
    """Another process holds the register for longer than the wait allows."""


class KeyProblem(RegisterError):
    """The encryption key is missing or does not open this register's data."""
