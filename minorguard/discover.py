"""Find the photos under the paths a user gives, safely (symlink loops, Unicode names)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .photo import SUPPORTED_SUFFIXES, UNCHECKABLE_SUFFIXES

__all__ = ["MissingPath", "discover_photos"]


class MissingPath(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _is_photo_name(name: str) -> bool:
    """A photo to check, or a picture that cannot be checked (it becomes an ERROR, not a silent gap)."""
    suffix = Path(name).suffix.lower()
    return suffix in SUPPORTED_SUFFIXES or suffix in UNCHECKABLE_SUFFIXES


def discover_photos(paths: Iterable[str | os.PathLike], recursive: bool = False) -> Iterator[Path]:
    """Files given directly are always yielded (a bad one becomes an ERROR verdict);
    inside folders only names with a photo suffix are taken, and those of pictures
    that cannot be checked (GIF, camera raw, video, ...), which become ERROR verdicts.
    Each real folder is visited once, so symlink loops end."""
    seen_dirs: set[str] = set()
    for raw in paths:
        path = Path(os.fsdecode(raw))
        if path.is_dir():
            yield from _walk(path, recursive, seen_dirs)
        elif path.exists() or path.is_symlink():
            yield path
        else:
            raise MissingPath(str(path))


def _walk(folder: Path, recursive: bool, seen: set[str]) -> Iterator[Path]:
    """Photos in ``folder``; a folder that cannot be listed is yielded itself.

    Its photos were never seen, so skipping it would pass them silently: the
    loader turns the folder into an ERROR that says so (``folder_unreadable``).
    """
    try:
        real = os.path.realpath(folder)
    except OSError:
        yield folder
        return
    if real in seen:
        return
    seen.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        yield folder
        return
    names = {entry.name for entry in entries}
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:  # symlink loop or vanished entry
            is_dir = False
        if is_dir:
            if recursive:
                yield from _walk(path, recursive, seen)
        elif _is_photo_name(entry.name) and not _mac_metadata_twin(entry.name, names):
            yield path


def _mac_metadata_twin(name: str, names: set[str]) -> bool:
    """``._foto.jpg`` beside ``foto.jpg``: the file macOS writes for a photo's metadata on a USB stick.

    It is not a picture; reported as an unreadable photo, each would add an ERROR
    to every folder copied from a Mac, and ERRORs that are always there get ignored.
    """
    return name.startswith("._") and name[2:] in names
