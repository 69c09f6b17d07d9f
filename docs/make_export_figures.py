"""Before/after pictures of `minorguard export` for the README, made by the project itself.

    python docs/make_export_figures.py

Exports sample_images/faceaisharp_obama_family.jpg (public domain: White
House family portrait, 2011; the two girls are the BLOCK faces) with the
real models and the default settings, then writes 480 px wide previews:
docs/export_before.jpg (detector boxes drawn: red = hidden, green = allowed)
and docs/export_after.jpg (the exported copy as written).
The noise is seeded here so that rerunning does not change the committed files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minorguard import Guard
from minorguard.publish.export import export_photos

SOURCE = ROOT / "sample_images" / "faceaisharp_obama_family.jpg"
WIDTH = 480


def _small(image: Image.Image) -> Image.Image:
    height = round(image.height * WIDTH / image.width)
    return image.convert("RGB").resize((WIDTH, height), Image.Resampling.LANCZOS)


def main() -> None:
    guard = Guard()
    with tempfile.TemporaryDirectory() as scratch:
        summary = export_photos(guard, [SOURCE], scratch, rng=np.random.default_rng(2011))
        photo = summary.photos[0]
        if photo.status.value != "exported":
            sys.exit(f"export did not succeed: {photo.status.value} {photo.message}")
        after = Image.open(Path(scratch) / photo.output)
        after.load()
    before = ImageOps.exif_transpose(Image.open(SOURCE)).convert("RGB")
    draw = ImageDraw.Draw(before)
    hidden = {h.index for h in photo.hidden}
    line = max(2, before.width // 320)
    for face in photo.faces:
        b = face.box
        colour = (220, 30, 30) if face.index in hidden else (40, 190, 60)
        draw.rectangle([b.x, b.y, b.x2, b.y2], outline=colour, width=line)
    for h in photo.hidden:
        r = h.region
        draw.rectangle([r.x, r.y, r.x2, r.y2], outline=(220, 30, 30), width=max(1, line // 2))
    out = ROOT / "docs"
    out.mkdir(exist_ok=True)
    _small(before).save(out / "export_before.jpg", quality=85, optimize=True)
    _small(after).save(out / "export_after.jpg", quality=85, optimize=True)
    print(f"hidden {len(photo.hidden)} of {len(photo.faces)} faces; wrote docs/export_before.jpg, docs/export_after.jpg")


if __name__ == "__main__":
    main()
