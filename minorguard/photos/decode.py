"""Decode a photo safely: bytes, orientation, metadata, sha256.

Every failure becomes a :class:`PhotoError` with a short code and one line a
communicator can read; the pipeline turns it into an ERROR verdict.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from minorguard.photos.metadata import read_metadata
from minorguard.types import PhotoMetadata

try:  # HEIC/HEIF support is optional at import time but installed by default
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - only without pillow-heif
    HEIF_AVAILABLE = False

__all__ = ["MAX_FRAMES", "SUPPORTED_SUFFIXES", "TRANSPARENCY", "UNCHECKABLE_SUFFIXES", "Photo", "PhotoError", "PhotoSource",
           "as_shown", "hidden_colour", "load_frames", "load_photo"]

SUPPORTED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".hif", ".gif", ".bmp", ".dib"}
)
_SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "TIFF", "HEIF", "GIF", "BMP", "DIB"}
# A file with several frames or pages (animated GIF, WebP or PNG, multi-page TIFF, HEIC
# bursts) is judged frame by frame up to this many (load_frames); past it, an ERROR.
MAX_FRAMES = 300
# Pictures a folder may hold that are not checked: animations, other formats, camera raw files
# (a raw file opens as TIFF, and its first image is a small preview, not the photo), and videos,
# which an office publishes too. A folder scan lists them as ERROR, so none is left out of the
# summary without a word.
_UNCHECKABLE_PICTURES = frozenset(
    {".avif", ".avifs", ".apng", ".jxl", ".jp2", ".j2k", ".svg", ".ico", ".psd",
     ".ppm", ".pgm", ".pbm", ".pnm", ".qoi", ".fli", ".flc", ".tga", ".pcx", ".xcf",
     ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".srw", ".pef"}
)
_VIDEOS = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".3gp", ".wmv", ".mts", ".m2ts", ".mpg", ".mpeg"})
UNCHECKABLE_SUFFIXES = _UNCHECKABLE_PICTURES | _VIDEOS

PhotoSource = str | os.PathLike | bytes | np.ndarray | Image.Image

# Pillow's own bomb guard is global state; we check the header size ourselves
# against the policy's limit before decoding a single pixel.
Image.MAX_IMAGE_PIXELS = None


class PhotoError(Exception):
    """A photo that cannot be judged; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Photo:
    """Oriented pixels ready for detection, plus what the file says about itself.

    ``pixels`` may be decoded below full size (JPEG draft mode); ``scale`` maps
    its coordinates back to the oriented full-size photo (``full = px / scale``).
    """

    source: str
    pixels: np.ndarray  # RGB uint8, H x W x 3, EXIF orientation applied
    width: int  # full oriented size
    height: int
    scale: float
    sha256: str | None
    metadata: PhotoMetadata
    data: bytes | None = None
    frames: int = 1  # pictures in the file: an MPO loaded for its first frame alone (export) says how many it holds
    # The colour channels as stored, where a pixel is not fully opaque (None when every pixel is): a viewer shows
    # the picture over a page (``pixels``), but anyone can read these values back, and a child kept at alpha 0 shows
    # in them (an audit's portrait passed and was exported so). Judged as a preview picture is (TRANSPARENCY).
    hidden: np.ndarray | None = None


def max_file_bytes(max_pixels: int) -> int:
    """The largest photo file read into memory: the pixel limit uncompressed at 16 bits x 4 channels, plus headroom.

    No photo within the pixel limit needs more; a larger file (or an endless one,
    such as a link to a device) is refused before it can fill the memory.
    """
    return max_pixels * 8 + (64 << 20)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    if path.is_symlink() and not path.exists():
        raise PhotoError("broken_link", f"broken symbolic link: {path}")
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer that never comes
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise _folder_error(path)
            if not stat.S_ISREG(info.st_mode):
                raise PhotoError("not_regular", f"{path} is not a regular file (a device, pipe or socket)")
            if info.st_size > max_bytes:
                raise _too_large(path, max_bytes)
            data = handle.read(max_bytes + 1)
    except PermissionError:
        if path.is_dir():
            raise _folder_error(path) from None
        raise PhotoError("unreadable", f"no permission to read {path}") from None
    except IsADirectoryError:
        raise _folder_error(path) from None
    except FileNotFoundError:
        raise PhotoError("not_found", f"file not found: {path}") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise PhotoError("link_loop", f"symbolic link loop: {path}") from None
        raise PhotoError("unreadable", f"cannot read {path}: {error.strerror}") from None
    if len(data) > max_bytes:  # it grew after fstat
        raise _too_large(path, max_bytes)
    return data


def _too_large(path: Path, max_bytes: int) -> PhotoError:
    return PhotoError("too_large", f"{path}: larger than {max_bytes:,} bytes, more than any photo within the pixel limit")


def _folder_error(path: Path) -> PhotoError:
    """A folder where a photo was expected; discovery hands over the folders it could not list."""
    try:
        os.listdir(path)
    except OSError as error:
        return PhotoError("folder_unreadable", f"{path}: folder cannot be read ({error.strerror}); the photos in it were not checked")
    return PhotoError("not_a_file", f"{path} is a folder, not a photo")


def _open_image(data: bytes, label: str, whole_file: bool = False) -> tuple[Image.Image, int]:
    import io

    if not data:
        raise PhotoError("empty_file", f"{label}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except Image.UnidentifiedImageError:
        raise PhotoError("not_an_image", f"{label}: not an image file") from None
    except Exception as error:
        raise PhotoError("not_an_image", f"{label}: cannot open as an image ({error})") from None
    if image.format not in _SUPPORTED_FORMATS:
        raise PhotoError("unsupported_format", f"{label}: unsupported format {image.format}")
    try:
        frames = getattr(image, "n_frames", 1) or 1
    except Exception as error:  # counting frames walks every page: a damaged one is found here (fuzz finding)
        raise _decode_error(error, label) from None
    # An MPO's later frames are the camera's preview or stereo twin of the first, but they are pictures in the
    # file all the same (an audit hid a baby behind a grey first frame): a verdict on the file judges each of them
    # (``whole_file``); a copy made of the first frame (export) or an enrolment needs only that one.
    if frames > 1 and (whole_file or image.format != "MPO"):
        raise PhotoError(
            "multi_frame",
            f"{label}: holds {frames} pages or frames; only single-image photos can be checked (split it first)",
        )
    return image, frames


_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_BACKDROP = 128  # the grey a transparent photo is judged over (_to_rgb)


TRANSPARENCY = "transparency"  # where a result's faces were found when they are those of the hidden colour


def hidden_colour(image: Image.Image) -> np.ndarray | None:
    """``image``'s colour channels as stored (8-bit RGB) when any of its pixels is not fully opaque; None otherwise,
    and for premultiplied modes, whose stored colour is what shows."""
    if image.mode in ("RGBa", "La") or (image.mode not in _ALPHA_MODES and "transparency" not in image.info):
        return None
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    if rgba.ndim != 3 or int(rgba[..., 3].min()) == 255:
        return None
    return np.ascontiguousarray(rgba[..., :3])


def as_shown(image: Image.Image) -> Image.Image:
    """``image`` as minorguard judges it: 8-bit RGB, a transparent picture shown over mid-grey (``_to_rgb``)."""
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB as a viewer shows the photo.

    Pillow's ``convert("RGB")`` clips 16-bit, 32-bit and float grey images at 255:
    a 16-bit greyscale scan came out white, no face was found, and it PASSed.
    Those are scaled instead: 16-bit by their full range, 32-bit integer and float
    by the range their values show (0-1, 0-255, 0-65535, else their own min-max).
    """
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        # Shown over a page, not as its colour channels: a picture can live in the transparency alone (black pixels,
        # alpha the photo: an audit's portrait passed, 0 faces, while any viewer showed both girls). Over mid-grey it
        # shows whether the page is light (a picture in black over transparency) or dark (in white over it).
        shown = Image.new("RGBA", image.size, (_BACKDROP, _BACKDROP, _BACKDROP, 255))
        shown.alpha_composite(image.convert("RGBA"))
        return shown.convert("RGB")
    if image.mode not in _HIGH_DEPTH_MODES:
        return image.convert("RGB")
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if image.mode.startswith("I;16"):
        low, high = 0.0, 65535.0
    else:  # the smallest usual range that holds the values, else their own
        usual = (((0.0, 1.0),) if image.mode == "F" else ()) + ((0.0, 255.0), (0.0, 65535.0))
        low, high = next(((a, b) for a, b in usual if a <= low and high <= b), (low, high))
    scaled = (values - low) * (255.0 / max(high - low, 1e-9))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L").convert("RGB")


def load_frames(
    source: str | os.PathLike | bytes | Image.Image, max_pixels: int = 100_000_000, target_long_side: int | None = None,
    label: str | None = None, max_frames: int = MAX_FRAMES,
) -> tuple[int, Iterator[Photo]]:
    """(number of frames, each frame as a Photo) of a picture with several frames or pages.

    Every frame is decoded like a photo of its own (the same pixel limit,
    orientation and colour handling) and carries the whole file's sha256, so a
    reviewer's decision and the audit record refer to the file. A caller's
    opened PIL image (the library's) carries the sha256 of all its frames' pixels.
    """
    import io

    data: bytes | None = None
    if isinstance(source, Image.Image):
        image, name = source, label or "<image>"
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data, name = bytes(source), label or "<bytes>"
        else:
            path = Path(os.fsdecode(source))
            data, name = _read_bytes(path, max_file_bytes(max_pixels)), label or str(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                image = Image.open(io.BytesIO(data))
            except Exception as error:
                raise _decode_error(error, name) from None
    try:
        count = int(getattr(image, "n_frames", 1) or 1)
    except Exception as error:
        raise _decode_error(error, name) from None
    if image.format is not None and image.format not in _SUPPORTED_FORMATS:
        raise PhotoError("unsupported_format", f"{name}: unsupported format {image.format}")
    if count > max_frames:
        raise PhotoError("too_many_frames", f"{name}: {count} frames; at most {max_frames} can be checked (split it first)")
    meta = read_metadata(data, image)

    def frames() -> Iterator[tuple[str, Image.Image]]:
        for k in range(count):
            label_k = f"{name} [frame {k + 1}]"
            try:
                image.seek(k)
            except Exception as error:
                raise _decode_error(error, label_k) from None
            # a frame may declare its own size: the bomb guard before a pixel of it is decoded (fuzz finding:
            # a 1.5 KB GIF whose second frame claimed 815 million pixels took 8 GB)
            if image.width * image.height > max_pixels:
                raise PhotoError("too_many_pixels", f"{label_k}: {image.width}x{image.height} exceeds the pixel limit of {max_pixels:,}"
                                 " (possible decompression bomb)")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    frame = image.copy()
            except Exception as error:
                raise _decode_error(error, label_k) from None
            yield label_k, frame

    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
    else:  # no file bytes: every frame's pixels, read once here (a frame the judging pass would refuse is refused now)
        pixel_hash = hashlib.sha256()
        for _, frame in frames():
            pixel_hash.update(np.asarray(frame.convert("RGB"), dtype=np.uint8).tobytes())
        digest = pixel_hash.hexdigest()

    def photos() -> Iterator[Photo]:
        for label_k, frame in frames():
            pixels, full_w, full_h, scale, hidden = _decode(frame, label_k, max_pixels, target_long_side)
            yield Photo(name, pixels, full_w, full_h, scale, digest, meta, data, hidden=hidden)

    return count, photos()


def _upright(image: Image.Image) -> Image.Image:
    """The image as a viewer shows it: EXIF orientation applied."""
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError):
        raise
    except Exception:  # an orientation tag that cannot be read: viewers show the pixels as stored
        return image


def _decode_error(error: Exception, label: str) -> PhotoError:
    text = str(error)
    if "truncated" in text.lower() or "broken data stream" in text.lower():
        return PhotoError("truncated", f"{label}: file is truncated or damaged")
    return PhotoError("decode_failed", f"{label}: cannot decode image ({text})")


def _decode(image: Image.Image, label: str, max_pixels: int, target_long_side: int | None
            ) -> tuple[np.ndarray, int, int, float, np.ndarray | None]:
    pixel_count = image.width * image.height
    if pixel_count > max_pixels:
        raise PhotoError(
            "too_many_pixels",
            f"{label}: {image.width}x{image.height} exceeds the pixel limit of {max_pixels:,}"
            " (possible decompression bomb)",
        )
    stored_w, stored_h = image.width, image.height  # before draft shrinks them
    if target_long_side and image.format == "JPEG":
        # draft picks the smallest DCT scale still >= the requested size: far faster decode.
        wanted = target_long_side / max(image.width, image.height)
        if wanted < 1:
            image.draft("RGB", (max(1, int(image.width * wanted)), max(1, int(image.height * wanted))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            loaded = image.size
            oriented = _upright(image)
            rgb = _to_rgb(oriented)
            hidden = hidden_colour(oriented)
    except MemoryError:
        raise
    except Exception as error:  # any decoder's failure (libheif raises RuntimeError, TIFF TypeError): not decoded, never judged
        raise _decode_error(error, label) from None
    # Whether the pixels were turned a quarter is read off the result, not the tag:
    # Pillow already turns some formats itself (TIFF), and the tag said so again,
    # which swapped the full size and scaled every face by the photo's aspect ratio.
    quarter_turn = oriented.size != loaded
    full_w, full_h = (stored_h, stored_w) if quarter_turn else (stored_w, stored_h)
    pixels = np.asarray(rgb, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[0] < 2 or pixels.shape[1] < 2:
        # decoded, but no face fits in it: judged by nobody, so never a PASS
        raise PhotoError("too_small", f"{label}: {pixels.shape[1] if pixels.ndim == 3 else 0}x{pixels.shape[0]} pixels, too small to judge")
    scale = pixels.shape[1] / full_w
    return np.ascontiguousarray(pixels), full_w, full_h, scale, hidden


def load_photo(
    source: PhotoSource,
    *,
    max_pixels: int = 100_000_000,
    target_long_side: int | None = None,
    label: str | None = None,
    whole_file: bool = False,
) -> Photo:
    """Load any supported source; raise :class:`PhotoError` with a clear message on failure.

    ``whole_file``: an MPO's later frames count as frames too (``multi_frame``), as every other format's do.

    ``target_long_side`` lets JPEGs decode at a reduced size when the caller
    does not need every pixel (detection at publication size).
    """
    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            raise PhotoError("bad_array", "array must be uint8")
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise PhotoError("bad_array", f"array must be HxWx3 RGB, got shape {array.shape}")
        if array.shape[0] == 0 or array.shape[1] == 0:
            raise PhotoError("bad_array", f"array has no pixels (shape {array.shape})")
        if array.shape[0] * array.shape[1] > max_pixels:
            raise PhotoError("too_many_pixels", "array exceeds the pixel limit")
        hidden = None
        if array.shape[2] == 4:  # RGBA: judged as shown over a page, as a file's transparency is (_to_rgb)
            rgba = Image.fromarray(np.ascontiguousarray(array), "RGBA")
            hidden = hidden_colour(rgba)
            array = np.asarray(_to_rgb(rgba), dtype=np.uint8)
        array = np.ascontiguousarray(array[:, :, :3])
        digest = hashlib.sha256(array.tobytes() + (b"" if hidden is None else hidden.tobytes())).hexdigest()
        h, w = array.shape[:2]
        return Photo(label or "<array>", array, w, h, 1.0, digest, PhotoMetadata(width=w, height=h), hidden=hidden)
    if isinstance(source, Image.Image):
        try:
            frames = int(getattr(source, "n_frames", 1) or 1)
        except Exception as error:
            raise _decode_error(error, label or "<image>") from None
        if frames > 1 and (whole_file or source.format != "MPO"):  # judged frame by frame (Guard.check), as by path
            raise PhotoError("multi_frame", f"{label or '<image>'}: holds {frames} pages or frames")
        if source.width * source.height > max_pixels:  # as a path's, bytes' or array's (a caller's image skipped it)
            raise PhotoError("too_many_pixels", f"{label or '<image>'}: {source.width}x{source.height} exceeds the pixel"
                             f" limit of {max_pixels:,} (possible decompression bomb)")
        try:  # a caller's image may be opened lazily: its pixels are decoded here
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                upright = _upright(source)
                array = np.asarray(_to_rgb(upright), dtype=np.uint8)
                hidden = hidden_colour(upright)
        except (OSError, SyntaxError, ValueError) as error:
            raise _decode_error(error, label or "<image>") from None
        meta = read_metadata(None, source)
        digest = hashlib.sha256(array.tobytes() + (b"" if hidden is None else hidden.tobytes())).hexdigest()
        h, w = array.shape[:2]
        return Photo(label or "<image>", np.ascontiguousarray(array), w, h, 1.0, digest, meta, frames=frames, hidden=hidden)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = label or "<bytes>"
    elif not isinstance(source, (str, os.PathLike)):
        raise PhotoError("bad_source", f"{label or type(source).__name__}: not a photo (give a path, bytes, a numpy array or a PIL image)")
    else:
        path = Path(os.fsdecode(source))
        name = label or str(path)
        suffix = path.suffix.lower()
        if suffix in _VIDEOS:
            raise PhotoError("video", f"{name}: a video; minorguard checks photos only, so a person must check it")
        if suffix in UNCHECKABLE_SUFFIXES:
            raise PhotoError(
                "uncheckable_type",
                f"{name}: {path.suffix} files cannot be checked; save the photo as JPEG, PNG, WebP, TIFF or HEIC",
            )
        data = _read_bytes(path, max_file_bytes(max_pixels))
    image, frames = _open_image(data, name, whole_file)
    digest = hashlib.sha256(data).hexdigest()
    meta = read_metadata(data, image)
    pixels, full_w, full_h, scale, hidden = _decode(image, name, max_pixels, target_long_side)
    return Photo(name, pixels, full_w, full_h, scale, digest, meta, data, frames, hidden)
