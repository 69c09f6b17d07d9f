"""The preview pictures a photo file may carry (EXIF, Photoshop, XMP, HEIF thumbnails, maker notes), and whether
each shows the same picture.

Cameras and editors store a small JPEG preview beside the picture. An editor that crops a photo does not always
write a new one, so a photo cropped to leave a child out can still carry the child in its preview, which anyone
can extract from the published file. `scan` judges a preview that is not the picture itself; `export` writes
copies without it (``minorguard.publish.scrub``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import ExifTags, Image

from minorguard.photos.decode import TRANSPARENCY, Photo, PhotoError, load_photo
from minorguard.types import Box

__all__ = [
    "PREVIEW_RULES", "SAME_FACE_MIN_CORRELATION", "SAME_PICTURE_MIN_CORRELATION", "EmbeddedPreview", "PictureMatch", "embedded_previews",
    "exif_thumbnail", "face_correlation", "hidden_view", "load_preview", "load_previews", "match_picture", "picture_correlation", "same_picture",
]

# in the pack label: results from before previews were judged are judged again (archive runs); 5: previews split
# across JPEG segments, and uncompressed ones; 6: pictures in comments, ICC profiles and HEIC metadata items; 7: the
# colour stored under a picture's transparency
PREVIEW_RULES = 7

# EXIF orientation -> the turn that shows the pixels upright (as ImageOps.exif_transpose does)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}

_JPEG_OFFSET, _JPEG_LENGTH = 0x0201, 0x0202
# IFD1 as uncompressed strips (TIFF tags): size, compression 1, colour model, where the strips are
_WIDTH, _LENGTH, _COMPRESSION, _PHOTOMETRIC, _SAMPLES = 0x0100, 0x0101, 0x0103, 0x0106, 0x0115
_STRIP_OFFSETS, _STRIP_COUNTS = 0x0111, 0x0117
_MAX_PREVIEW_PIXELS = 16_000_000
_XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXTENSION = b"http://ns.adobe.com/xmp/extension/\x00"
_PHOTOSHOP = b"Photoshop 3.0\x00"
# xmpGImg:image as an element or as an attribute (inside xmp:Thumbnails), under whatever prefix the writer chose
# (older Photoshop wrote xapGImg), in double or single quotes
_XMP_IMAGE = re.compile(rb"<([A-Za-z_][\w.-]*):image>([^<]*)</\1:image>|\b([A-Za-z_][\w.-]*):image=[\"']([^\"']*)[\"']")
_COMPARE_SIDE = 48  # previews are 160 px or so; this keeps the comparison about shapes, not noise or compression
# Two photos of ../shared/samples carry their camera's preview (the Biden portrait, 160 x 128; the group, 160 x
# 67): 1.000 and 0.995 against their pictures. Camera previews simulated on 400 photos of its detection sets
# (160 x 120, letterboxed or not, JPEG quality 70; benchmarks/preview_match.py): a preview of the picture itself
# scored 0.996 or more, except 9 letterboxed ones whose own edges are flat (judged, as any other preview would
# be); a crop of 5% from every side (the proportions kept) at most 0.938, of 10% at most 0.855.
SAME_PICTURE_MIN_CORRELATION = 0.95
# One face in a preview of the picture and in the picture: 0.956 or more on the sample portrait's faces in previews
# of 160, 320 and 480 px (JPEG quality 75); the same faces pixelated in the picture (blocks of 4, 6, 10 px) or
# blurred (radius 3, 8): at most 0.952 (4 px blocks at 160 px, where the blocks are under a preview pixel),
# 0.915, 0.829, 0.951 and 0.852 (tests/test_preview.py).
SAME_FACE_MIN_CORRELATION = 0.955
_MAX_ASPECT_DIFFERENCE = 0.04  # a crop that keeps the aspect ratio is left to the correlation


class EmbeddedPreview(NamedTuple):
    """One preview picture in a file: where it is, its bytes, and whether the file declares it (a preview found by
    its JPEG start marker inside other metadata, a maker note's for instance, may be a false find: one that does
    not decode is passed over; a declared one that does not decode makes the photo ERROR)."""

    where: str
    data: bytes
    declared: bool = True


def embedded_previews(data: bytes | Image.Image | None) -> list[EmbeddedPreview]:
    """Each preview picture the file (or a caller's opened image) carries, or [].

    Where: ``EXIF`` (IFD1, as cameras and most editors write it: a JPEG, or uncompressed RGB strips, given as PNG),
    ``Photoshop`` (the thumbnail among its image resources: a JPEG's APP13, a TIFF's tag 34377), ``XMP``
    (``xmpGImg:image`` in any XMP packet, base64, as Lightroom and older Adobe tools write it, under any prefix),
    ``HEIF`` (the thumbnail items of a phone's HEIC, as PNG), ``maker note`` and ``APPn`` (any other JPEG stream
    inside the file's metadata: cameras keep larger previews in their maker notes). Each is a picture any viewer or
    script can pull out of the published file.
    Empty bytes: a declared preview that cannot be found (judged: ERROR)."""
    if data is None or (isinstance(data, bytes) and not data):
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if isinstance(data, Image.Image):
                info, ifd1 = _info_of(data)
            else:
                with Image.open(io.BytesIO(data)) as image:
                    info, ifd1 = _info_of(image)
                    if image.format == "TIFF":
                        info.setdefault("photoshop", _tiff_resources(image))
        except Exception:  # nothing readable about the file: its loader says so; no preview a viewer could read
            return []
    raw = info.get("exif")
    found: list[EmbeddedPreview] = []
    found.extend(EmbeddedPreview("EXIF", exif) for exif in _exif_previews(raw, ifd1))
    segments = list(_jpeg_segments(data)) if isinstance(data, bytes) else []
    irb = [payload[len(_PHOTOSHOP):] for marker, payload in segments if marker == 0xED and payload.startswith(_PHOTOSHOP)]
    # Photoshop splits resources over 64 KB across APP13 segments, each with the header again; Pillow parses each
    # alone and keeps the thumbnail cut short (then ERROR: unreadable). Joined, it is read whole. Pillow's reading
    # is kept too unless it is the start of the joined one: segments from several tools, or with padding between,
    # do not join into one stream, and a thumbnail Pillow finds in one of them must not be lost to the join.
    for resources in ([_irb_resources(b"".join(irb))] if irb else []) + [info.get("photoshop")]:
        if not isinstance(resources, dict):
            continue
        for code in (0x040C, 0x0409):  # Photoshop 5+ and 4 (whose JPEG has its blue and red swapped)
            block = resources.get(code)
            if isinstance(block, bytes) and block[28:30] == b"\xff\xd8":  # after a 28-byte header
                if not any(p.where == "Photoshop" and p.data.startswith(block[28:]) for p in found):
                    found.append(EmbeddedPreview("Photoshop", block[28:]))
                break
    packets = [payload[len(_XMP_NAMESPACE):] for marker, payload in segments if marker == 0xE1 and payload.startswith(_XMP_NAMESPACE)]
    packets += _extended_xmp(segments)
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if not packets and xmp:  # PNG, WebP, TIFF: the one packet their loader read
        packets = [xmp.encode("utf-8", "replace") if isinstance(xmp, str) else xmp]
    for packet in packets:
        if isinstance(packet, bytes):
            found.extend(EmbeddedPreview("XMP", jpeg) for jpeg in _xmp_images(packet))
    if info.get("thumbnails"):
        heif = data if isinstance(data, bytes) else _opened_heif(data)
        if heif is not None:
            found.extend(EmbeddedPreview("HEIF", image) for image in _heif_thumbnails(heif))
        elif getattr(data, "format", None) == "HEIF":
            # the file's own image, opened from memory and already loaded: its thumbnails are declared and gone, so
            # unjudged (ERROR preview_unreadable; its bytes or its path are judged whole). A picture derived from it
            # (converted, turned, copied: no format) is pixels, as an array is, and carries no preview.
            found.append(EmbeddedPreview("HEIF", b""))
    # JPEG streams anywhere else in the metadata (a maker note's preview; an editor that crops keeps it verbatim).
    # A comment, an ICC profile and a HEIC's metadata items too: any of them can carry a picture that anyone can pull
    # out of the published file (an audit hid the sample portrait in a JPEG's comment and in its ICC profile).
    blobs = [("maker note" if payload.startswith(b"Exif\x00\x00") else f"APP{marker - 0xE0}", payload)
             for marker, payload in segments if 0xE0 <= marker <= 0xEF and not payload.startswith(b"ICC_PROFILE")]
    blobs += [("comment", payload) for marker, payload in segments if marker == 0xFE]
    # an ICC profile over 64 KB is split across APP2 segments, 14 bytes of header each
    icc = b"".join(payload[14:] for marker, payload in segments if marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"))
    blobs += [("ICC profile", blob) for blob in (icc, info.get("icc_profile")) if isinstance(blob, bytes) and blob]
    if not segments and isinstance(info.get("comment"), bytes):  # GIF, and a caller's opened JPEG
        blobs.append(("comment", info["comment"]))
    blobs += [("HEIF metadata", item["data"]) for item in info.get("metadata") or ()
              if isinstance(item, dict) and isinstance(item.get("data"), bytes)]
    if "thumbnails" in info and isinstance(data, bytes):
        # pillow-heif shows only some item types (Exif, XMP, IPTC); a JPEG stored as another item ("mime") is there
        # for any other tool to extract, so the whole file is searched (its HEVC data holds no JPEG that decodes)
        blobs.append(("HEIF metadata", data))
    if not segments and isinstance(raw, bytes):
        blobs.append(("maker note", raw))
    seen = {p.data[:512] for p in found}
    for where, blob in blobs:
        start = blob.find(b"\xff\xd8\xff")
        while start >= 0:
            candidate = blob[start:]
            if candidate[:512] not in seen:
                seen.add(candidate[:512])
                found.append(EmbeddedPreview(where, candidate, declared=False))
            start = blob.find(b"\xff\xd8\xff", start + 3)
    return found


def _jpeg_segments(data: bytes):
    """(marker, payload) of a JPEG's segments before its image data; nothing for other formats."""
    if not data.startswith(b"\xff\xd8"):
        return
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xDA, 0xD9):  # the image data (or its end) begins
            return
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return
        yield marker, data[i + 4:i + 2 + length]
        i += 2 + length


def _xmp_images(packet: bytes) -> list[bytes]:
    out = []
    for match in _XMP_IMAGE.finditer(packet):
        text = re.sub(rb"&#x?[0-9a-fA-F]+;|\s", b"", match.group(2) if match.group(2) is not None else match.group(4))
        try:
            jpeg = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            continue
        if jpeg.startswith(b"\xff\xd8"):
            out.append(jpeg)
    return out


def _extended_xmp(segments: list[tuple[int, bytes]]) -> list[bytes]:
    """Extended XMP (XMP specification, part 3): a packet too large for one APP1 segment, in chunks that each name the
    whole's GUID and their offset in it; joined per GUID. Where a chunk is missing, a preview across it no longer
    decodes, and is judged as such (ERROR), never passed over."""
    chunks: dict[bytes, dict[int, bytes]] = {}
    for marker, payload in segments:
        if marker == 0xE1 and payload.startswith(_XMP_EXTENSION) and len(payload) >= len(_XMP_EXTENSION) + 40:
            head = payload[len(_XMP_EXTENSION):]
            chunks.setdefault(head[:32], {})[int.from_bytes(head[36:40], "big")] = head[40:]
    # in the order of their offsets, as found (a forged offset or length makes nothing large)
    return [b"".join(part for _, part in sorted(parts.items())) for parts in chunks.values()]


def _tiff_resources(image: Image.Image) -> dict[int, bytes]:
    """Photoshop's image resources in a TIFF (tag 34377), as Pillow gives a JPEG's APP13 ones."""
    blob = getattr(image, "tag_v2", {}).get(34377)
    return _irb_resources(blob) if isinstance(blob, bytes) else {}


def _irb_resources(blob: bytes) -> dict[int, bytes]:
    """Photoshop's image resources (8BIM blocks) by code."""
    import struct

    out: dict[int, bytes] = {}
    offset = 0
    try:
        while blob[offset:offset + 4] == b"8BIM":
            code = struct.unpack_from(">H", blob, offset + 4)[0]
            name_length = blob[offset + 6]
            offset += 7 + name_length
            offset += offset & 1
            size = struct.unpack_from(">I", blob, offset)[0]
            out[code] = blob[offset + 4:offset + 4 + size]
            offset += 4 + size + (size & 1)
    except (struct.error, IndexError):
        pass
    return out


def _opened_heif(image: Image.Image) -> Any:
    """A caller's opened HEIC's thumbnails' source: pillow-heif's parsed file until the image is loaded (not a
    public attribute), then the file it was opened from; None when neither is left (then ERROR: see README)."""
    heif = getattr(image, "_heif_file", None)
    if heif is not None:
        return heif
    name = getattr(image, "filename", None)
    try:
        return Path(name).read_bytes() if name else None
    except OSError:
        return None


def _heif_thumbnails(data: Any) -> list[bytes]:
    """The thumbnail items of a HEIC's primary picture (its bytes, or pillow-heif's parsed file) as PNG
    (lossless); b"" for one that cannot be decoded, or that claims more pixels than a preview has any reason to
    (decoding it could exhaust the memory)."""
    try:
        import pillow_heif

        heif = pillow_heif.open_heif(io.BytesIO(data)) if isinstance(data, bytes) else data
        primary = heif[heif.primary_index]
        count = len(primary.info.get("thumbnails") or ())
    except Exception:
        return [b""]
    out = []
    for k in range(count):
        try:
            thumbnail = primary.get_thumbnail(k)
            width, height = thumbnail.size
            if width * height > _MAX_PREVIEW_PIXELS:
                out.append(b"")
                continue
            buffer = io.BytesIO()
            thumbnail.to_pillow().save(buffer, "PNG")
            out.append(buffer.getvalue())
        except Exception:
            out.append(b"")
    return out


def _info_of(image: Image.Image) -> tuple[dict, dict]:
    info = dict(image.info)
    return info, (image.getexif().get_ifd(ExifTags.IFD.IFD1) if info.get("exif") else {})


def exif_thumbnail(data: bytes | None) -> bytes | None:
    """The JPEG preview in the file's EXIF block, or None."""
    return next((p.data for p in embedded_previews(data) if p.where == "EXIF"), None)


def _exif_previews(raw: bytes | None, ifd1: dict) -> list[bytes]:
    """IFD1's JPEG preview and its uncompressed one, each where it is declared (a file may declare both)."""
    if not raw:
        return []
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw  # offsets count from the TIFF header
    out = []
    offset, length = ifd1.get(_JPEG_OFFSET), ifd1.get(_JPEG_LENGTH)
    if isinstance(offset, int) and isinstance(length, int) and length > 0:
        # a declared preview that is not where it is said to be is returned as found (perhaps nothing): it cannot be
        # decoded, so it cannot be judged, and the photo is not passed on the strength of a preview never seen
        out.append(tiff[offset:offset + length])
    if ifd1.get(_COMPRESSION) == 1 and _STRIP_OFFSETS in ifd1:
        out.append(_exif_strips(tiff, ifd1))
    return out


def _exif_strips(tiff: bytes, ifd1: dict) -> bytes:
    """An uncompressed EXIF preview (IFD1 as TIFF strips of 8-bit RGB, as some cameras wrote it) as PNG; b"" where it
    cannot be read as that (another colour model, strips shorter than the picture, too many pixels): judged
    unreadable, never passed over."""
    try:
        width, height = int(ifd1[_WIDTH]), int(ifd1[_LENGTH])
        offsets, counts = ifd1[_STRIP_OFFSETS], ifd1[_STRIP_COUNTS]
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        size = width * height * 3
        if ifd1.get(_PHOTOMETRIC, 2) != 2 or ifd1.get(_SAMPLES, 3) != 3 or not 0 < width * height <= _MAX_PREVIEW_PIXELS:
            return b""
        pixels = b"".join(tiff[int(o):int(o) + int(c)] for o, c in zip(offsets, counts))
        if len(pixels) < size:
            return b""
        buffer = io.BytesIO()
        Image.frombytes("RGB", (width, height), pixels[:size]).save(buffer, "PNG")  # lossless, as HEIF thumbnails
        return buffer.getvalue()
    except (KeyError, TypeError, ValueError):
        return b""


def load_previews(photo: Photo, *, max_pixels: int, target_long_side: int | None, label: str,
                  found: list[EmbeddedPreview] | None = None) -> list[tuple[str, Photo | PhotoError]]:
    """Each preview in ``photo``'s file (or ``found``: a caller's opened picture's), decoded under the same
    limits as a photo and turned upright as the file's orientation says (a viewer that shows the preview turns
    it so), or the reason it cannot be decoded."""
    out: list[tuple[str, Photo | PhotoError]] = []
    for where, data, declared in found if found is not None else embedded_previews(photo.data):
        try:
            preview = load_photo(data, max_pixels=max_pixels, target_long_side=target_long_side, label=f"{label} [{where} preview]")
        except PhotoError as error:
            if declared:
                out.append((where, error))
            continue
        out.append((where, _upright(preview, photo.metadata.orientation)))
    hidden = hidden_view(photo)
    if hidden is not None:
        out.append((TRANSPARENCY, hidden))
    return out


def hidden_view(photo: Photo) -> Photo | None:
    """The colour stored under ``photo``'s transparency as a picture of its own (upright, at the picture's size:
    its faces' boxes are the picture's), or None when every pixel is opaque."""
    if photo.hidden is None:
        return None
    return dataclasses.replace(photo, source=f"{photo.source} [{TRANSPARENCY}]", pixels=photo.hidden, hidden=None)


def load_preview(photo: Photo, *, max_pixels: int, target_long_side: int | None, label: str, where: str = "EXIF") -> Photo:
    """The preview ``where`` of ``photo``'s file, decoded and upright (a report or page showing a result whose faces
    are that preview's); ``PhotoError`` when it cannot be decoded or is no longer in the file."""
    for kind, preview in load_previews(photo, max_pixels=max_pixels, target_long_side=target_long_side, label=label):
        if kind == where:
            if isinstance(preview, PhotoError):
                raise preview
            return preview
    raise PhotoError("no_preview", f"{label}: no {where} preview picture in the file any more")


def _upright(preview: Photo, orientation: int | None) -> Photo:
    turn = _UPRIGHT.get(orientation or 1)
    if turn is None:
        return preview
    pixels = np.ascontiguousarray(np.asarray(Image.fromarray(preview.pixels).transpose(turn)))
    swapped = turn in (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
    width, height = (preview.height, preview.width) if swapped else (preview.width, preview.height)
    return dataclasses.replace(preview, pixels=pixels, width=width, height=height)


@dataclass(frozen=True, slots=True)
class PictureMatch:
    """How a preview lies over its picture: the preview's content box (its pixels, bars left out), its turn
    against the picture (0: as it is; 1-7: rotated or mirrored, ``_orientations``) and the correlation."""

    top: int
    left: int
    height: int
    width: int
    turn: int
    correlation: float

    def to_picture(self, box: Box, picture_width: int, picture_height: int) -> Box | None:
        """``box`` (preview pixels) in the picture's pixels; None for a turned preview (not mapped: judged whole)."""
        if self.turn != 0:
            return None
        sx, sy = picture_width / self.width, picture_height / self.height
        return Box((box.x - self.left) * sx, (box.y - self.top) * sy, box.width * sx, box.height * sy)


def face_correlation(preview: np.ndarray, preview_box: Box, picture: np.ndarray, picture_box: Box) -> float:
    """Grey correlation of one face's pixels in the preview and in the picture (both boxes in their own image's
    pixels), the picture's scaled down to the preview's; the best over shifts of up to one preview pixel, since
    the boxes of a face found in each lie a pixel or two apart. A face pixelated or blurred in the picture but
    sharp in the preview scores well under ``SAME_FACE_MIN_CORRELATION`` (``benchmarks/preview_match.py``)."""
    import cv2

    a = _grey(_crop(preview, preview_box.x, preview_box.y, preview_box.width, preview_box.height))
    if a.size == 0 or a.std() < 1:
        return 1.0  # nothing to see in the preview
    side = (max(8, a.shape[1]), max(8, a.shape[0]))
    a = cv2.resize(a, side, interpolation=cv2.INTER_AREA)
    sx, sy = picture_box.width / preview_box.width, picture_box.height / preview_box.height
    best = -1.0
    for dy in (-1.0, -0.5, 0.0, 0.5, 1.0):
        for dx in (-1.0, -0.5, 0.0, 0.5, 1.0):
            b = _grey(_crop(picture, picture_box.x + dx * sx, picture_box.y + dy * sy, picture_box.width, picture_box.height))
            if b.size == 0:
                continue
            best = max(best, _correlation(a, cv2.resize(b, side, interpolation=cv2.INTER_AREA)))
    return best


def _crop(pixels: np.ndarray, x: float, y: float, width: float, height: float) -> np.ndarray:
    h, w = pixels.shape[:2]
    x1, y1 = max(0, int(round(x))), max(0, int(round(y)))
    x2, y2 = min(w, int(round(x + width))), min(h, int(round(y + height)))
    return pixels[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else pixels[:0, :0]


def same_picture(preview: np.ndarray, picture: np.ndarray) -> bool:
    """Whether ``preview`` (RGB) is ``picture`` (RGB, oriented) scaled down, in any of the eight orientations,
    letterboxed or not, as a whole. Small changes (a face blurred in the picture) pass this test: ``Guard`` still
    judges the preview's faces and compares them with the picture's, face by face (``match_picture``)."""
    if _grey(preview).std() < 1:
        return True  # a blank preview shows nothing
    return picture_correlation(preview, picture) >= SAME_PICTURE_MIN_CORRELATION


def picture_correlation(preview: np.ndarray, picture: np.ndarray) -> float:
    """The best correlation of the preview (whole, or without bars; in any orientation with the picture's
    proportions) with the picture, both at 48 x 48 grey; -1 when no orientation has the picture's proportions."""
    match = _best_match(preview, picture)
    return -1.0 if match is None else match.correlation


def match_picture(preview: np.ndarray, picture: np.ndarray) -> PictureMatch | None:
    """Where the preview lies over the picture when it is the picture scaled down as a whole, else None."""
    match = _best_match(preview, picture)
    return match if match is not None and match.correlation >= SAME_PICTURE_MIN_CORRELATION else None


def _best_match(preview: np.ndarray, picture: np.ndarray) -> PictureMatch | None:
    grey = _grey(preview)
    target = _small(_grey(picture))
    best: PictureMatch | None = None
    for top, left, content in ((0, 0, grey), _without_bars(grey)):
        if content.size == 0 or content.std() < 1:
            continue
        for turn, turned in enumerate(_orientations(content)):
            if _same_shape(turned.shape, picture.shape):
                score = _correlation(_small(turned), target)
                if best is None or score > best.correlation:
                    best = PictureMatch(top, left, content.shape[0], content.shape[1], turn, score)
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


def _without_bars(grey: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(top, left, the preview without the even bars a camera adds when the picture's shape differs from 160 x
    120): edge rows or columns of one flat tone."""
    def flat(lines: np.ndarray) -> np.ndarray:
        return lines.std(axis=1) < 6

    rows, cols = flat(grey), flat(grey.T)
    top = int(np.argmin(rows)) if not rows.all() else 0
    bottom = int(np.argmin(rows[::-1])) if not rows.all() else 0
    left = int(np.argmin(cols)) if not cols.all() else 0
    right = int(np.argmin(cols[::-1])) if not cols.all() else 0
    return top, left, grey[top:grey.shape[0] - bottom, left:grey.shape[1] - right]


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
