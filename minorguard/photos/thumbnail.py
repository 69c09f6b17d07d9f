"""The preview picture a photo file may carry in its EXIF block (IFD1), and whether it shows the same picture.

Cameras and editors store a small JPEG preview beside the picture. An editor that crops a photo does not always
write a new one, so a photo cropped to leave a child out can still carry the child in its preview, which anyone
can extract from the published file. `scan` judges a preview that is not the picture itself; `export` writes
copies without it (``minorguard.publish.scrub``).
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from PIL import ExifTags, Image

from minorguard.photos.decode import Photo, load_photo

__all__ = ["PREVIEW_RULES", "SAME_PICTURE_MIN_CORRELATION", "exif_thumbnail", "load_preview", "picture_correlation", "same_picture"]

PREVIEW_RULES = 1  # in the pack label: results from before previews were judged are judged again (archive runs)

# EXIF orientation -> the turn that shows the pixels upright (as ImageOps.exif_transpose does)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}

_JPEG_OFFSET, _JPEG_LENGTH = 0x0201, 0x0202
_COMPARE_SIDE = 48  # previews are 160 px or so; this keeps the comparison about shapes, not noise or compression
# Two photos of ../shared/samples carry their camera's preview (the Biden portrait, 160 x 128; the group, 160 x
# 67): 1.000 and 0.995 against their pictures. Camera previews simulated on 400 photos of its detection sets
# (160 x 120, letterboxed or not, JPEG quality 70; benchmarks/preview_match.py): a preview of the picture itself
# scored 0.996 or more, except 9 letterboxed ones whose own edges are flat (judged, as any other preview would
# be); a crop of 5% from every side (the proportions kept) at most 0.938, of 10% at most 0.855.
SAME_PICTURE_MIN_CORRELATION = 0.95
_MAX_ASPECT_DIFFERENCE = 0.04  # a crop that keeps the aspect ratio is left to the correlation


def exif_thumbnail(data: bytes | None) -> bytes | None:
    """The JPEG preview in the file's EXIF block, or None when there is none (or no file: an array, an image)."""
    if not data:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as image:
                raw = image.info.get("exif")
                ifd1 = image.getexif().get_ifd(ExifTags.IFD.IFD1) if raw else {}
        except Exception:  # no readable EXIF block: no preview that a viewer could read either
            return None
    offset, length = ifd1.get(_JPEG_OFFSET), ifd1.get(_JPEG_LENGTH)
    if not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
        return None
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw  # offsets count from the TIFF header
    preview = tiff[offset:offset + length]
    return preview if preview.startswith(b"\xff\xd8") else None


def load_preview(photo: Photo, *, max_pixels: int, target_long_side: int | None, label: str) -> Photo | None:
    """The preview in ``photo``'s file, turned upright as the file's orientation says (a viewer that shows the
    preview turns it so), or None when there is none. Raises ``PhotoError`` when it cannot be decoded."""
    data = exif_thumbnail(photo.data)
    if data is None:
        return None
    preview = load_photo(data, max_pixels=max_pixels, target_long_side=target_long_side, label=label)
    turn = _UPRIGHT.get(photo.metadata.orientation or 1)
    if turn is None:
        return preview
    pixels = np.ascontiguousarray(np.asarray(Image.fromarray(preview.pixels).transpose(turn)))
    swapped = turn in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
    width, height = (preview.height, preview.width) if swapped else (preview.width, preview.height)
    return dataclasses.replace(preview, pixels=pixels, width=width, height=height)


def same_picture(preview: np.ndarray, picture: np.ndarray) -> bool:
    """Whether ``preview`` (RGB) is ``picture`` (RGB, oriented) scaled down, in any of the eight orientations,
    letterboxed or not. Anything else (a crop, another photo, an edit that moved things) is not the same picture."""
    if _grey(preview).std() < 1:
        return True  # a blank preview shows nothing
    return picture_correlation(preview, picture) >= SAME_PICTURE_MIN_CORRELATION


def picture_correlation(preview: np.ndarray, picture: np.ndarray) -> float:
    """The best correlation of the preview (whole, or without bars; in any orientation with the picture's
    proportions) with the picture, both at 48 x 48 grey; -1 when no orientation has the picture's proportions."""
    grey = _grey(preview)
    target = _small(_grey(picture))
    best = -1.0
    for content in (grey, _without_bars(grey)):
        if content.size == 0 or content.std() < 1:
            continue
        for turned in _orientations(content):
            if _same_shape(turned.shape, picture.shape):
                best = max(best, _correlation(_small(turned), target))
    return best


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) if rgb.ndim == 3 else rgb.astype(np.float32)


def _same_shape(preview: tuple[int, ...], picture: tuple[int, ...]) -> bool:
    """The preview has the picture's proportions, to the pixel it was rounded to (a crop that keeps them is left
    to the correlation)."""
    h, w = preview[:2]
    tall, wide = picture[:2]
    if w >= h:
        expected = w * tall / wide
        return abs(h - expected) <= max(2.0, _MAX_ASPECT_DIFFERENCE * expected)
    expected = h * wide / tall
    return abs(w - expected) <= max(2.0, _MAX_ASPECT_DIFFERENCE * expected)


def _without_bars(grey: np.ndarray) -> np.ndarray:
    """The preview without the even bars a camera adds when the picture's shape differs from 160 x 120: edge rows
    or columns of one flat tone."""
    def flat(lines: np.ndarray) -> np.ndarray:
        return lines.std(axis=1) < 6

    rows, cols = flat(grey), flat(grey.T)
    top = int(np.argmin(rows)) if not rows.all() else 0
    bottom = int(np.argmin(rows[::-1])) if not rows.all() else 0
    left = int(np.argmin(cols)) if not cols.all() else 0
    right = int(np.argmin(cols[::-1])) if not cols.all() else 0
    return grey[top:grey.shape[0] - bottom, left:grey.shape[1] - right]


def _orientations(grey: np.ndarray) -> list[np.ndarray]:
    turns = [np.rot90(grey, k) for k in range(4)]
    return turns + [np.fliplr(t) for t in turns]


def _small(grey: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(np.ascontiguousarray(grey), (_COMPARE_SIDE, _COMPARE_SIDE), interpolation=cv2.INTER_AREA)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 1.0 if not a.any() and not b.any() else 0.0
