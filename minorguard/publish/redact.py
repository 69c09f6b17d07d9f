"""Hide faces for good: head regions and three styles (coarse mosaic with noise, solid, blur).

Pure pixel work: no model, no file. :func:`head_region` grows a detector box
to the whole head; :func:`redact_image` paints over those regions.

Why a mosaic *with noise* is the default: a plain Gaussian blur keeps the
low frequencies a face-recognition or deblurring model needs, and a plain
mosaic of a known grid can be matched against candidate faces. Here the
head is cut into about :data:`MOSAIC_BLOCKS` blocks across (on a grid with a
random phase), each block keeps only its mean colour, the blocks are
shuffled within the head, and random noise drawn from the OS entropy pool
is added: what is left is the head's palette, with no layout of eyes, nose
and mouth. (Without the shuffle, the face detector still found 26 of 31
mosaicked heads in the 30-person sample photo; with it, 0-1.)
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from minorguard.types import Box

__all__ = [
    "HEAD_ABOVE",
    "HEAD_BELOW",
    "HEAD_WIDTH_FACTOR",
    "MOSAIC_BLOCKS",
    "NOISE_FRACTION",
    "Style",
    "block_size",
    "head_region",
    "redact_array",
    "redact_image",
]

# Head region from a detector box. RetinaFace/CenterFace boxes run from the
# eyebrows (or a little above) to the chin and from cheek to cheek: hair,
# forehead, ears and the jaw line lie outside. Measured on the sample
# portraits, the whole head spans about 1.6 box widths, and the crown sits
# about 0.6 box heights above the box; 0.3 below covers chin and a lowered
# head. So the region is 1.6 x wide and 1.9 x tall (0.6 + 1 + 0.3) the box.
HEAD_WIDTH_FACTOR = 1.6
HEAD_ABOVE = 0.6
HEAD_BELOW = 0.3

# Blocks across the shorter side of the head region: the block size grows
# with the face, so a large face is hidden as coarsely as a small one
# (about 3-4 blocks over the face itself).
MOSAIC_BLOCKS = 7
MIN_BLOCK_PX = 4
SHUFFLE = True
# Standard deviation of the per-block noise, as a fraction of the value range:
# mostly brightness (the same draw on every channel), a little colour, so the
# blocks look like a coarse photo rather than confetti.
NOISE_FRACTION = 0.10
COLOUR_NOISE_FRACTION = 0.03
# Solid fill: a neutral mid-grey (the face's own mean colour would leak skin tone).
SOLID_LEVEL = 0.5


class Style(str, enum.Enum):
    """How a hidden region is painted."""

    MOSAIC = "mosaic"  # coarse blocks + noise (default, irreversible)
    SOLID = "solid"  # one flat grey
    BLUR = "blur"  # heavy smooth blur; looks softer, but not the default

    @classmethod
    def _missing_(cls, value: object) -> Style | None:
        """A name in any case, as the web service has always taken it."""
        folded = value.strip().casefold() if isinstance(value, str) else None
        return next((m for m in cls if m.value == folded), None)


def head_region(box: Box, width: int, height: int) -> Box | None:
    """The whole head around a face box, in whole pixels, clipped to the image.

    Rounded outwards so that no fraction of a face pixel is left out; None when
    nothing of it lies inside the image.
    """
    cx = box.x + box.width / 2
    half_w = box.width * HEAD_WIDTH_FACTOR / 2
    x1, x2 = math.floor(cx - half_w), math.ceil(cx + half_w)
    y1, y2 = math.floor(box.y - HEAD_ABOVE * box.height), math.ceil(box.y2 + HEAD_BELOW * box.height)
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(int(width), x2), min(int(height), y2)
    if x2 <= x1 or y2 <= y1:
        return None
    return Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1))


def block_size(region_w: int, region_h: int) -> int:
    """Mosaic block edge in pixels for a region: proportional to the head size."""
    return max(MIN_BLOCK_PX, math.ceil(min(region_w, region_h) / MOSAIC_BLOCKS))


def _value_range(values: np.ndarray) -> tuple[float, float]:
    if np.issubdtype(values.dtype, np.integer) and values.dtype.itemsize <= 2:
        info = np.iinfo(values.dtype)
        return float(info.min), float(info.max)
    # 32-bit integer ("I") and float ("F") images have no fixed range: use the data's.
    low, high = float(values.min()), float(values.max())
    return low, max(high, low + 1.0)


def _noise(rng: np.random.Generator, channels: int, span: float, shape: tuple[int, ...] = ()) -> np.ndarray:
    shared = rng.normal(0.0, NOISE_FRACTION * span, size=(*shape, 1))
    return shared + rng.normal(0.0, COLOUR_NOISE_FRACTION * span, size=(*shape, channels))


def _mosaic(values: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    h, w = values.shape[:2]
    block = block_size(w, h)
    # A random phase for the grid, so the block lattice is not a known function of the box.
    oy, ox = int(rng.integers(0, block)), int(rng.integers(0, block))
    ys = [(max(0, r * block - oy), min(h, (r + 1) * block - oy)) for r in range(math.ceil((h + oy) / block))]
    xs = [(max(0, c * block - ox), min(w, (c + 1) * block - ox)) for c in range(math.ceil((w + ox) / block))]
    ys = [(a, b) for a, b in ys if b > a]
    xs = [(a, b) for a, b in xs if b > a]
    means = np.array(
        [[values[y1:y2, x1:x2].reshape(-1, values.shape[2]).mean(axis=0) for x1, x2 in xs] for y1, y2 in ys]
    )
    if SHUFFLE:
        # Each block keeps a colour of the head but not its place: the layout of
        # eyes, brows and mouth, which detectors and recognisers key on, is gone.
        flat = means.reshape(-1, values.shape[2])
        means = flat[rng.permutation(len(flat))].reshape(means.shape)
    means = means + _noise(rng, values.shape[2], high - low, means.shape[:2])
    out = np.empty(values.shape, np.float64)
    for r, (y1, y2) in enumerate(ys):
        for c, (x1, x2) in enumerate(xs):
            out[y1:y2, x1:x2] = means[r, c]
    return out


def _blur(values: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    # Down to a few pixels across the head, noise, back up smoothly: the same
    # information budget as the mosaic, rendered soft. Cheap for huge faces too.
    h, w = values.shape[:2]
    block = block_size(w, h)
    small_w, small_h = max(1, round(w / block)), max(1, round(h / block))
    work = values.astype(np.float32)
    small = cv2.resize(work, (small_w, small_h), interpolation=cv2.INTER_AREA).reshape(small_h, small_w, -1)
    small = small + _noise(rng, small.shape[2], high - low, small.shape[:2]).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, -1)
    sigma = block / 2
    return cv2.GaussianBlur(big, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE).reshape(h, w, -1)


def redact_array(
    region: np.ndarray, style: Style = Style.MOSAIC, rng: np.random.Generator | None = None, alpha: bool = False
) -> np.ndarray:
    """A painted copy of one region (H x W or H x W x C, any integer or float dtype).

    With ``alpha`` the last channel is made opaque in the region: a picture can live in the transparency alone, and
    paint that left it as it was left the face there.
    """
    rng = rng or np.random.default_rng()  # seeded from OS entropy: the noise cannot be replayed
    values = region if region.ndim == 3 else region[:, :, None]
    colour = values[:, :, :-1] if alpha and values.shape[2] > 1 else values
    low, high = _value_range(colour)
    if style is Style.SOLID:
        painted = np.full(colour.shape, low + SOLID_LEVEL * (high - low), np.float64)
    elif style is Style.BLUR:
        painted = _blur(colour, rng, low, high)
    else:
        painted = _mosaic(colour, rng, low, high)
    painted = np.clip(np.rint(painted) if np.issubdtype(region.dtype, np.integer) else painted, low, high)
    out = values.copy()
    out[:, :, : colour.shape[2]] = painted.astype(region.dtype)
    if alpha and values.shape[2] > 1:
        out[:, :, -1] = np.iinfo(region.dtype).max if np.issubdtype(region.dtype, np.integer) else 1.0
    return out if region.ndim == 3 else out[:, :, 0]


# Modes whose pixels can be painted in place; others are converted first.
_PAINTABLE = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F", "I;16", "I;16L", "I;16B"}


def paintable(image: Image.Image) -> Image.Image:
    """The image in a mode whose pixels can be painted (palette and 1-bit images are widened)."""
    if image.mode in _PAINTABLE:
        return image
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def redact_image(
    image: Image.Image, regions: Sequence[Box], style: Style = Style.MOSAIC, rng: np.random.Generator | None = None
) -> Image.Image:
    """A copy of ``image`` with every region painted over; the mode is kept where it can be."""
    out = paintable(image).copy()
    alpha = out.mode in ("LA", "RGBA")
    rng = rng or np.random.default_rng()
    for box in regions:
        x1, y1 = max(0, int(box.x)), max(0, int(box.y))
        x2, y2 = min(out.width, math.ceil(box.x2)), min(out.height, math.ceil(box.y2))
        if x2 <= x1 or y2 <= y1:
            continue
        crop = out.crop((x1, y1, x2, y2))
        painted = redact_array(np.asarray(crop), style, rng, alpha)
        out.paste(Image.frombytes(crop.mode, crop.size, np.ascontiguousarray(painted).tobytes()), (x1, y1))
    return out
