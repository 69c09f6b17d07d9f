"""Many distinct photo files from the five sample pictures, for tests that need an archive of a few hundred."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


def write_variants(folder: Path, per_picture: int, long_side: int = 640) -> list[Path]:
    """Each sample picture at ``long_side`` px as ``per_picture`` files that differ only in bytes after the image's
    end (other sha256, the same picture); the files written."""
    written = []
    for photo in sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".png")):
        with Image.open(photo) as image:
            image = image.convert("RGB")
            image.thumbnail((long_side, long_side))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=92)
        for k in range(per_picture):
            path = folder / f"{photo.stem}_{k:02d}.jpg"
            path.write_bytes(out.getvalue() + b"\0" * k)
            written.append(path)
    return written
