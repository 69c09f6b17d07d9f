"""Find the photos under the paths a user gives, safely (symlink loops, Unicode names)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from minorguard.photos.decode import SUPPORTED_SUFFIXES, UNCHECKABLE_SUFFIXES

__all__ = ["MissingPath", "discover_photos", "looks_like_a_picture"]


class MissingPath(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _is_photo_name(name: str) -> bool:
    """A photo to check, or a picture that cannot be checked (it becomes an ERROR, not a silent gap)."""
    suffix = Path(name).suffix.lower()
    return suffix in SUPPORTED_SUFFIXES or suffix in UNCHECKABLE_SUFFIXES


# The first bytes of picture formats: a file whose name does not say it is a picture
# (``foto.jpg.bak``, ``IMG_0001`` with no suffix, ``.jfif`` renamed) is still one.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"qoif", b"8BPS",
          b"\x00\x00\x00\x0cjP  ", b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")
_ISO_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def looks_like_a_picture(path: str | os.PathLike) -> bool:
    """Whether a file's first bytes are those of a picture format, whatever its name says; True for a regular file
    that cannot be read (it may be a photo: judged, it is an ERROR that says so, never passed over)."""
    try:
        # never blocks: a named pipe called IMG_0001 in a folder hung the scan before any photo (an audit)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 32)
    except OSError:
        return True
    finally:
        os.close(fd)
    if head.startswith(_MAGIC):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_BRANDS:
        return True
    if head[:2] == b"BM" and len(head) >= 14 and int.from_bytes(head[2:6], "little") > 26:  # BMP: its size follows
        return True
    # Netpbm (P1-P6) and FLI/FLC animations
    return (len(head) > 2 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n") or head[4:6] in (b"\x11\xaf", b"\x12\xaf")


def discover_photos(
    paths: Iterable[str | os.PathLike], recursive: bool = False, left_out: list[Path] | None = None
) -> Iterator[Path]:
    """Files given directly are always yielded (a bad one becomes an ERROR verdict);
    inside folders, names with a photo suffix, those of pictures that cannot be
    checked (GIF, camera raw, video, ...), which become ERROR verdicts, and any
    other file whose first bytes are a picture's. Each real folder is visited
    once, so symlink loops end. Without ``recursive``, the sub-folders left
    unsearched are appended to ``left_out``, so the summary can count them."""
    seen_dirs: set[str] = set()
    for raw in paths:
        path = Path(os.fsdecode(raw))
        if path.is_dir():
            yield from _walk(path, recursive, seen_dirs, left_out)
        elif path.exists() or path.is_symlink():
            yield path
        else:
            raise MissingPath(str(path))


def _walk(folder: Path, recursive: bool, seen: set[str], left_out: list[Path] | None = None) -> Iterator[Path]:
    """Photos in ``folder`` and, with ``recursive``, its sub-folders, depth first in name order; a folder that cannot
    be listed is yielded itself.

    Its photos were never seen, so skipping it would pass them silently: the loader turns the folder into an ERROR
    that says so (``folder_unreadable``). An explicit stack, not recursion: a tree 1,000 folders deep stopped the
    scan with RecursionError (exit 70, no report).
    """
    stack = [iter(_listing(folder, recursive, seen, left_out))]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
        elif item[0] == "folder":
            stack.append(iter(_listing(item[1], recursive, seen, left_out)))
        else:
            yield item[1]


def _listing(folder: Path, recursive: bool, seen: set[str], left_out: list[Path] | None) -> list[tuple[str, Path]]:
    """One folder's entries as ("photo", path) and ("folder", path), in name order; itself as a "photo" when it
    cannot be listed; nothing when it was visited already (a symbolic link loop ends here)."""
    try:
        real = os.path.realpath(folder)
    except OSError:
        return [("photo", folder)]
    if real in seen:
        return []
    seen.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return [("photo", folder)]
    names = {entry.name for entry in entries}
    out: list[tuple[str, Path]] = []
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:  # symlink loop or vanished entry
            is_dir = False
        if is_dir:
            if recursive:
                out.append(("folder", path))
            elif left_out is not None:
                left_out.append(path)
        elif _mac_metadata_twin(entry.name, names):
            continue
        elif _is_photo_name(entry.name) or looks_like_a_picture(path):
            out.append(("photo", path))
    return out


def _mac_metadata_twin(name: str, names: set[str]) -> bool:
    """``._foto.jpg`` beside ``foto.jpg``: the file macOS writes for a photo's metadata on a USB stick.

    It is not a picture; reported as an unreadable photo, each would add an ERROR
    to every folder copied from a Mac, and ERRORs that are always there get ignored.
    """
    return name.startswith("._") and name[2:] in names
