"""Encode an edited photo the way its source was encoded: format, quality, colour profile, clean metadata.

JPEG: the source's own quantisation tables are reused, so the copy is as
good as (and about as large as) the original, never a visible second
generation at some default quality; the IJG quality those tables correspond
to is estimated for the manifest (and used if the tables cannot be reused).
Chroma subsampling and progressive mode follow the source. MPO files (a JPEG
with extra frames such as a depth map or a preview) are written as a plain
JPEG of the first frame: the other frames still show the faces. Likewise a
multi-page TIFF or an animated WebP gives a copy of its first frame, the
only one the check looked at.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin, PngImagePlugin

from minorguard.publish.scrub import (
    EXIF_KEEP,
    IPTC_KEEP,
    clean_exif,
    clean_iptc,
    clean_xmp,
    insert_jpeg_segment,
    iptc_app13,
    png_text,
)

__all__ = ["EncodeError", "Encoded", "encode_like", "estimate_jpeg_quality"]

# IJG's reference luminance table (JPEG standard, Annex K): quality q scales it.
_STD_LUMA = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
_FALLBACK_QUALITY = 92
_TIFF_LOSSLESS = {"raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits"}


class EncodeError(Exception):
    """The edited image cannot be written in the source's format."""


@dataclass(frozen=True, slots=True)
class Encoded:
    data: bytes
    format: str
    quality: int | None  # estimated JPEG quality of the source (and so of the copy)
    removed: tuple[str, ...]  # metadata not carried over
    kept: tuple[str, ...]  # metadata carried over


def estimate_jpeg_quality(qtables: dict[int, list[int]] | None) -> int | None:
    """The IJG quality (1-100) whose scaled standard table is nearest the luminance table.

    Compares sums, so the result does not depend on the order (zigzag or natural)
    in which a decoder reports the table.
    """
    if not qtables or 0 not in qtables or len(qtables[0]) != 64:
        return None
    target = sum(qtables[0])
    best, best_gap = None, None
    for quality in range(1, 101):
        scale = 5000 / quality if quality < 50 else 200 - 2 * quality
        total = sum(min(255, max(1, int((v * scale + 50) // 100))) for v in _STD_LUMA)
        gap = abs(total - target)
        if best_gap is None or gap < best_gap:
            best, best_gap = quality, gap
    return best


def _jpeg(
    source: Image.Image, image: Image.Image, exif: bytes, icc: bytes | None, xmp: bytes | None
) -> tuple[bytes, int | None, list[str], list[str]]:
    quality = estimate_jpeg_quality(getattr(source, "quantization", None))
    params: dict = {"exif": exif, "optimize": True}
    if xmp:
        params["xmp"] = xmp
    if icc:
        params["icc_profile"] = icc
    if "dpi" in source.info:
        params["dpi"] = source.info["dpi"]
    if source.info.get("progressive") or source.info.get("progression"):
        params["progressive"] = True
    if image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    sampling = JpegImagePlugin.get_sampling(source) if source.format in ("JPEG", "MPO") else -1
    if sampling >= 0 and image.mode == "RGB":
        params["subsampling"] = sampling
    buffer = io.BytesIO()
    try:
        tables = getattr(source, "quantization", None)
        if not tables:
            raise ValueError("no tables")
        image.save(buffer, "JPEG", qtables=tables, **params)
    except (ValueError, TypeError, OSError):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality or _FALLBACK_QUALITY, **params)
    kept_iptc, removed = clean_iptc(source)
    data = insert_jpeg_segment(buffer.getvalue(), iptc_app13(kept_iptc)) if kept_iptc else buffer.getvalue()
    kept = [f"IPTC {IPTC_KEEP[key]}" for key in kept_iptc]
    if source.info.get("comment"):
        removed.append("JPEG comment")
    if "photoshop" in source.info and not kept_iptc:
        removed.append("Photoshop resources")
    return data, quality, removed, kept


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP file's image chunk is VP8L (lossless), by walking its RIFF chunks."""
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"VP8L":
            return True
        if chunk == b"VP8 ":
            return False
        pos += 8 + size + (size & 1)
    return False


def encode_like(source: Image.Image, source_bytes: bytes, image: Image.Image) -> Encoded:
    """``image`` (already upright, same size) encoded like ``source``, with cleaned metadata."""
    # Encoders fall back to the image's own ``info`` for what they are not given: Pillow's JPEG and GIF
    # writers kept the source's comment, pillow-heif its XMP and IPTC, in a copy whose manifest said they
    # were removed. Only what is passed below may reach the copy.
    image = image.copy()
    image.info = {}
    fmt = source.format or "PNG"
    exif, removed = clean_exif(source)
    kept = sorted({name for name in _exif_names(exif)})
    exif_bytes = exif.tobytes()
    icc = source.info.get("icc_profile")
    if icc and b"\xff\xd8\xff" in icc:
        # a colour profile does not hold a JPEG; one that does carries a picture the copy would publish
        removed.append("ICC profile (it held a picture)")
        icc = None
    xmp, xmp_removed, xmp_kept = clean_xmp(source.info.get("xmp") or source.info.get("XML:com.adobe.xmp"))
    removed += xmp_removed
    kept += xmp_kept
    quality = None
    buffer = io.BytesIO()
    try:
        if fmt in ("JPEG", "MPO"):
            data, quality, more_removed, more_kept = _jpeg(source, image, exif_bytes, icc, xmp)
            removed += more_removed
            kept += more_kept
            fmt = "JPEG"
        elif fmt == "PNG":
            text, more = png_text(source)
            removed += more
            info = PngImagePlugin.PngInfo()
            for key, value in text.items():
                info.add_itxt(key, value)
            if xmp:
                info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
            params: dict = {"pnginfo": info, "exif": exif_bytes, "optimize": False}
            if icc:
                params["icc_profile"] = icc
            if "dpi" in source.info:
                params["dpi"] = source.info["dpi"]
            if image.mode in ("RGB", "L") and "transparency" in source.info and source.mode == image.mode:
                params["transparency"] = source.info["transparency"]
            image.save(buffer, "PNG", **params)
            data = buffer.getvalue()
        elif fmt == "WEBP":
            lossless = _webp_lossless(source_bytes)
            params = {"exif": exif_bytes, "lossless": lossless, "quality": 100 if lossless else 90, "method": 4}
            if icc:
                params["icc_profile"] = icc
            if xmp:
                params["xmp"] = xmp
            image.save(buffer, "WEBP", **params)
            data = buffer.getvalue()
        elif fmt == "TIFF":
            compression = source.info.get("compression", "raw")
            if compression not in _TIFF_LOSSLESS:
                compression = "tiff_lzw"  # JPEG-in-TIFF and fax codecs do not round-trip through Pillow
            # IFD0 tags only: Pillow's TIFF writer cannot place an Exif sub-IFD reliably
            # (libtiff rejects the offset), and the copy must not fail over a date tag.
            tags = {tag: value for tag, value in exif.items() if tag in EXIF_KEEP or tag == 0x0112}
            params = {"tiffinfo": tags, "compression": compression}
            kept = [EXIF_KEEP[tag] for tag in tags if tag in EXIF_KEEP]
            if icc:
                params["icc_profile"] = icc
            if "dpi" in source.info:
                params["dpi"] = source.info["dpi"]
            image.save(buffer, "TIFF", **params)
            data = buffer.getvalue()
        elif fmt == "HEIF":
            params = {"exif": exif_bytes, "quality": 90}
            if icc:
                params["icc_profile"] = icc
            if "xmp" in source.info:
                removed.append("XMP")
            if source.info.get("metadata"):
                removed.append("IPTC")
            image.save(buffer, "HEIF", **params)
            data = buffer.getvalue()
        elif fmt in ("BMP", "DIB"):  # no metadata to carry
            image.convert("RGB").save(buffer, "BMP")
            data, fmt, kept = buffer.getvalue(), "BMP", []
        elif fmt == "GIF":  # one frame (animations are refused before this); a comment may name someone: dropped
            if source.info.get("comment"):
                removed.append("GIF comment")
            image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(buffer, "GIF")
            data, kept = buffer.getvalue(), []
        else:
            raise EncodeError(f"cannot write {fmt} files")
    except EncodeError:
        raise
    except Exception as error:
        raise EncodeError(f"cannot encode as {fmt}: {error}") from error
    if icc:
        kept.append("ICC profile")
    frames = getattr(source, "n_frames", 1)
    if frames > 1:
        # MPO previews/depth maps, TIFF pages, animation frames: only the first was checked, only it is written
        removed.append(f"frames after the first ({frames - 1})")
    return Encoded(data, fmt, quality, tuple(sorted(set(removed))), tuple(kept))


def _exif_names(exif: Image.Exif) -> list[str]:
    from minorguard.publish.scrub import EXIF_KEEP, EXIF_SUB_KEEP

    names = [EXIF_KEEP[tag] for tag in exif if tag in EXIF_KEEP]
    # a freshly built Exif: its sub-IFD is the plain dict clean_exif filled
    names += [EXIF_SUB_KEEP[tag] for tag in exif.get_ifd(0x8769) if tag in EXIF_SUB_KEEP]
    return names
