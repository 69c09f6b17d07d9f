"""How well `same_picture` tells a file's EXIF preview of the picture itself from a preview of something else.

    python -m benchmarks.preview_match [--photos 400]

None of ``../shared``'s photos carries an EXIF preview, so camera previews are simulated on photos of its
detection sets: the photo scaled to fit 160 x 120 (letterboxed to exactly 160 x 120, as many cameras do, or
not), saved as JPEG at quality 70. Each preview is compared with the photo itself (it should count as the same
picture: otherwise the preview is judged, which costs a little time and no safety) and with crops of the photo
that keep its proportions, 5% and 10% off every side (they should not: a preview of a picture before a crop may
show what the crop left out, and it must be judged). Writes ``results/preview_match.json``.
"""

from __future__ import annotations

import argparse
import io
import random

import numpy as np
from PIL import Image

from benchmarks.common import EVAL, print_table, require_shared, write_json
from minorguard.photos.thumbnail import SAME_PICTURE_MIN_CORRELATION, picture_correlation


def camera_preview(image: Image.Image, letterbox: bool) -> np.ndarray:
    small = image.copy()
    small.thumbnail((160, 120))
    if letterbox:
        canvas = Image.new("RGB", (160, 120))
        canvas.paste(small, ((160 - small.width) // 2, (120 - small.height) // 2))
        small = canvas
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=70)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=400)
    args = parser.parse_args()
    require_shared()
    files = sorted(p for p in (EVAL / "detect").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    random.Random(1).shuffle(files)
    cases = {"same, letterboxed": [], "same, plain": [], "crop 5% each side": [], "crop 10% each side": []}
    used = 0
    for path in files:
        if used == args.photos:
            break
        image = Image.open(path).convert("RGB")
        if min(image.size) < 200:
            continue
        used += 1
        w, h = image.size
        picture = np.asarray(image)
        boxed, plain = camera_preview(image, True), camera_preview(image, False)
        cases["same, letterboxed"].append(picture_correlation(boxed, picture))
        cases["same, plain"].append(picture_correlation(plain, picture))
        for share, name in ((0.05, "crop 5% each side"), (0.10, "crop 10% each side")):
            crop = np.asarray(image.crop((int(w * share), int(h * share), w - int(w * share), h - int(h * share))))
            cases[name].append(picture_correlation(boxed, crop))
    line = SAME_PICTURE_MIN_CORRELATION
    rows, out = [], {"photos": used, "threshold": line, "cases": {}}
    for name, scores in cases.items():
        a = np.array(scores)
        same = float((a >= line).mean())
        out["cases"][name] = {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max()), "taken_as_same": same}
        rows.append([name, f"{a.min():.3f}", f"{np.median(a):.3f}", f"{a.max():.3f}", f"{100 * same:.1f}%"])
    print(f"{used} photos, threshold {line}")
    print_table(["preview of", "min", "median", "max", "taken as the same picture"], rows)
    print(f"written {write_json('preview_match.json', out)}")


if __name__ == "__main__":
    main()
