"""An ``OSError`` as a reason a communicator reads: the catalogue's phrase, or the system's own words."""

from __future__ import annotations

from minorguard.locale.coded_error import Problem, say_problem
from minorguard.locale.os_errors import OS_PHRASE

__all__ = ["os_reason", "say_os_error"]


def os_reason(error: OSError) -> Problem | str:
    """A value for a CodedError: the catalogue phrase for ``error``, or the system's words."""
    key = OS_PHRASE.get(error.errno or 0)
    return Problem(key) if key else (error.strerror or str(error))


def say_os_error(error: OSError, lang: str) -> str:
    """``error``'s reason in ``lang``."""
    reason = os_reason(error)
    return say_problem(reason, "os", lang) if isinstance(reason, Problem) else reason
