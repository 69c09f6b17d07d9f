"""Many distinct photo files from the five sample pictures, for tests that need an archive of a few hundred."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def sample_pictures(long_side: int) -> dict[str, bytes]:
    """Each sample picture (by file stem) as a JPEG at most ``long_side`` px on its long side."""
    out = {}
    for photo in sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".png")):
        with Image.open(photo) as image:
            image = image.convert("RGB")
            image.thumbnail((long_side, long_side))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=92)
        out[photo.stem] = buffer.getvalue()
    return out


def write_variants(folder: Path, per_picture: int, long_side: int = 640) -> list[Path]:
    """Each sample picture at ``long_side`` px as ``per_picture`` files that differ only in bytes after the image's
    end (other sha256, the same picture); the files written."""
    written = []
    for stem, data in sample_pictures(long_side).items():
        for k in range(per_picture):
            path = folder / f"{stem}_{k:02d}.jpg"
            path.write_bytes(data + b"\0" * k)
            written.append(path)
    return written
