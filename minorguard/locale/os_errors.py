"""The operating system's reasons, in the reader's language.

``OSError.strerror`` comes from the C library in English: an Albanian line read
"... nuk lexohet dot: Permission denied". The reasons a communicator meets
(no permission, a full or read-only disk, a port in use) have catalogue phrases;
any other keeps the system's own words. Merged into ``MESSAGES`` by ``messages.py``.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minorguard.locale.coded_error import Problem

__all__ = ["OS_MESSAGES", "os_reason", "say_os_error"]

OS_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "os.no_permission": "permission denied",
        "os.disk_full": "no space left on the disk",
        "os.read_only": "the disk is read-only",
        "os.not_found": "no such file or folder",
        "os.io_error": "the device could not be read or written",
        "os.address_in_use": "the port is already in use",
        "os.name_too_long": "the file name is too long",
        "os.not_a_folder": "a part of the path is not a folder",
    },
    "sq": {
        "os.no_permission": "nuk ka leje",
        "os.disk_full": "nuk ka më hapësirë në disk",
        "os.read_only": "disku është vetëm për lexim",
        "os.not_found": "nuk ekziston ky skedar ose dosje",
        "os.io_error": "pajisja nuk mund të lexohej ose të shkruhej",
        "os.address_in_use": "porta është tashmë në përdorim",
        "os.name_too_long": "emri i skedarit është shumë i gjatë",
        "os.not_a_folder": "një pjesë e shtegut nuk është dosje",
    },
}

_PHRASE = {
    errno.EACCES: "os.no_permission", errno.EPERM: "os.no_permission", errno.ENOSPC: "os.disk_full",
    errno.EROFS: "os.read_only", errno.ENOENT: "os.not_found", errno.EIO: "os.io_error",
    errno.EADDRINUSE: "os.address_in_use", errno.ENAMETOOLONG: "os.name_too_long", errno.ENOTDIR: "os.not_a_folder",
}
if hasattr(errno, "EDQUOT"):
    _PHRASE[errno.EDQUOT] = "os.disk_full"


def os_reason(error: OSError) -> Problem | str:
    """A value for a CodedError: the catalogue phrase for ``error``, or the system's words."""
    from minorguard.locale.coded_error import Problem  # here: messages.py imports this module's catalogue

    key = _PHRASE.get(error.errno or 0)
    return Problem(key) if key else (error.strerror or str(error))


def say_os_error(error: OSError, lang: str) -> str:
    """``error``'s reason in ``lang``."""
    from minorguard.locale.coded_error import Problem, say_problem

    reason = os_reason(error)
    return say_problem(reason, "os", lang) if isinstance(reason, Problem) else reason
