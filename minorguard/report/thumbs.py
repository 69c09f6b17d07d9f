"""Screen-sized JPEG previews of photos, for the HTML report and the review page.

A preview is made from the file on disk, so it also says whether that file is
still the one that was scanned (its sha256): boxes drawn from an old scan on a
changed photo would point at the wrong faces.
"""

from __future__ import annotations

import dataclasses
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from minorguard.photos.decode import PhotoError, load_photo
from minorguard.photos.thumbnail import load_preview
from minorguard.types import Box

__all__ = ["DEFAULT_LONG_SIDE", "Preview", "face_thumbnail", "make_preview", "preview_or_none"]

DEFAULT_LONG_SIDE = 960


@dataclass(frozen=True, slots=True)
class Preview:
    """A JPEG no larger than ``long_side`` on its long side, oriented like the scan's boxes."""

    jpeg: bytes
    width: int
    height: int
    sha256: str | None  # of the file as it is now


def face_thumbnail(image: Image.Image, box: Box, scale: float, side: int, quality: int = 80) -> bytes:
    """JPEG of one face: ``box`` (photo pixels, already widened as wanted) cut from ``image`` drawn at ``scale``."""
    crop = image.crop((int(box.x * scale), int(box.y * scale), int(box.x2 * scale) + 1, int(box.y2 * scale) + 1))
    crop.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def make_preview(
    source: str | os.PathLike,
    long_side: int = DEFAULT_LONG_SIDE,
    quality: int = 80,
    max_pixels: int = 100_000_000,
    embedded: str | None = None,
) -> Preview:
    """Decode ``source`` at reduced size and re-encode it as a small JPEG; ``embedded``: the preview picture the
    file carries there (EXIF, Photoshop, XMP) instead (a result whose faces are that preview's), with the file's sha256.

    Raises :class:`PhotoError` when the file cannot be read (missing, damaged), or has no embedded preview.
    """
    photo = load_photo(Path(os.fsdecode(source)), max_pixels=max_pixels, target_long_side=long_side)
    if embedded:  # read from the file's bytes: the picture's own decoded size does not matter
        preview = load_preview(photo, max_pixels=max_pixels, target_long_side=long_side, label=photo.source, where=embedded)
        photo = dataclasses.replace(preview, sha256=photo.sha256)
    image = Image.fromarray(photo.pixels)
    if max(image.size) > long_side:
        # reducing_gap: a cheap box reduction first, then a good filter on the last step
        image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    buffer = io.BytesIO()
    # no EXIF goes into the preview: no GPS, no camera serials in a report that gets mailed around
    image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    return Preview(buffer.getvalue(), image.width, image.height, photo.sha256)


def preview_or_none(source: str | os.PathLike, long_side: int = DEFAULT_LONG_SIDE, embedded: str | None = None) -> Preview | None:
    """The preview, or None when the file is gone or unreadable (the caller says so)."""
    try:
        return make_preview(source, long_side, embedded=embedded)
    except (PhotoError, OSError, ValueError):
        return None
