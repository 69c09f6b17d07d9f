"""The operating system's reasons, in the reader's language.

``OSError.strerror`` comes from the C library in English: an Albanian line read
"... nuk lexohet dot: Permission denied". The reasons a communicator meets
(no permission, a full or read-only disk, a port in use) have catalogue phrases;
any other keeps the system's own words. Merged into ``MESSAGES`` by ``messages.py``;
``os_reasons.py`` turns an ``OSError`` into one of them.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["OS_MESSAGES", "OS_PHRASE"]

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
        "os.address_not_here": "the address is not one of this computer's",
        "os.unknown_host": "no computer has that name",
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
        "os.address_not_here": "adresa nuk është e këtij kompjuteri",
        "os.unknown_host": "asnjë kompjuter nuk ka këtë emër",
    },
}

OS_PHRASE = {
    errno.EACCES: "os.no_permission", errno.EPERM: "os.no_permission", errno.ENOSPC: "os.disk_full",
    errno.EROFS: "os.read_only", errno.ENOENT: "os.not_found", errno.EIO: "os.io_error",
    errno.EADDRINUSE: "os.address_in_use", errno.ENAMETOOLONG: "os.name_too_long", errno.ENOTDIR: "os.not_a_folder",
}
OS_PHRASE[errno.EADDRNOTAVAIL] = "os.address_not_here"
# a host name no resolver knows (socket.gaierror: its errno is the resolver's EAI_NONAME, below zero, apart from errno's)
OS_PHRASE[socket.EAI_NONAME] = "os.unknown_host"
if hasattr(errno, "EDQUOT"):
    OS_PHRASE[errno.EDQUOT] = "os.disk_full"
