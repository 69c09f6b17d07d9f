"""Identifiability: is a face large and sharp enough to recognise once published?"""

from __future__ import annotations

import cv2
import numpy as np

from minorguard.types import DetectedFace, Identifiability, ReasonCode

__all__ = ["assess_identifiability", "face_sharpness", "publish_scale"]

_SHARPNESS_HEIGHT = 64


def publish_scale(width: int, height: int, publish_long_side: int) -> float:
    """Factor from the full photo to its published size (never an upscale)."""
    return min(1.0, publish_long_side / max(width, height))


def _face_pixels(rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
    """The pixels inside the face's box, the box clipped to the photo (possibly empty)."""
    b = face.box
    h, w = rgb.shape[:2]
    x1, y1 = max(0, int(b.x)), max(0, int(b.y))
    x2, y2 = min(w, int(np.ceil(b.x2))), min(h, int(np.ceil(b.y2)))
    return rgb[y1:y2, x1:x2]


def face_tones(rgb: np.ndarray, face: DetectedFace) -> int:
    """Distinct grey levels inside the face box (a photo's face has dozens; a 1-bit picture's two)."""
    crop = _face_pixels(rgb, face)
    if crop.size == 0:
        return 0
    grey = (crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
    return int(np.count_nonzero(np.bincount(grey.ravel(), minlength=256)))  # a count per level: no sort per face


def face_sharpness(rgb: np.ndarray, face: DetectedFace) -> float:
    """Variance of the Laplacian inside the face, resampled to a fixed height.

    Resampling first makes the measure comparable across face sizes; a face
    smaller than the reference height is upsampled, which lowers the figure
    and so errs towards "blurred" only for faces that are small anyway.
    """
    pixels = _face_pixels(rgb, face)
    if pixels.shape[0] < 2 or pixels.shape[1] < 2:
        return 0.0
    crop = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    factor = _SHARPNESS_HEIGHT / crop.shape[0]
    crop = cv2.resize(crop, (max(2, round(crop.shape[1] * factor)), _SHARPNESS_HEIGHT), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(crop, cv2.CV_64F).var())


def assess_identifiability(
    face_height_full_px: float, sharpness: float, scale_to_publish: float, min_face_px: float, min_sharpness: float
) -> Identifiability:
    """Pure rule: too small at publication size, or too blurred, is not identifiable."""
    published = face_height_full_px * scale_to_publish
    if published < min_face_px:
        return Identifiability(False, published, sharpness, ReasonCode.TOO_SMALL)
    if sharpness < min_sharpness:
        return Identifiability(False, published, sharpness, ReasonCode.TOO_BLURRED)
    return Identifiability(True, published, sharpness, None)
