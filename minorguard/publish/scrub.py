"""Metadata for a published copy: keep authorship and caption, drop what locates or identifies.

Allow-lists, not deny-lists: a tag not named here is dropped, so a camera's
private tag with a serial number or a face-region list cannot slip through.

Dropped on purpose: the GPS IFD; MakerNote (serial numbers, face-detection
boxes, owner names); BodySerialNumber, LensSerialNumber, CameraOwnerName,
ImageUniqueID; IFD1 with its embedded thumbnail (it still shows the
unhidden faces); the source's XMP packet (may hold GPS, MWG face regions with
people's names, document ids); JPEG comments; IPTC location fields and keywords.
Kept: Artist, Copyright, ImageDescription, the Windows XP title/comment/
author/subject fields, UserComment, capture date and exposure settings,
IPTC caption, by-line, credit, source, copyright notice, object name, and
XMP dc:creator, dc:rights, dc:description, dc:title (re-written into a
fresh packet that holds nothing else).
"""

from __future__ import annotations

import struct
from typing import Any

from PIL import Image, IptcImagePlugin

__all__ = [
    "EXIF_KEEP",
    "EXIF_SUB_KEEP",
    "IPTC_KEEP",
    "PNG_TEXT_KEEP",
    "clean_exif",
    "clean_iptc",
    "clean_xmp",
    "insert_jpeg_segment",
    "iptc_app13",
    "png_text",
]

_IFD_EXIF, _IFD_GPS, _IFD_INTEROP = 0x8769, 0x8825, 0xA005
_ORIENTATION = 0x0112

# IFD0 tags kept (tag -> name, for the manifest).
EXIF_KEEP = {
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x011A: "XResolution",
    0x011B: "YResolution",
    0x0128: "ResolutionUnit",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x8298: "Copyright",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9F: "XPSubject",
}
# Exif sub-IFD tags kept: when and how it was taken, colour space; nothing that names a device or person.
EXIF_SUB_KEEP = {
    0x829A: "ExposureTime",
    0x829D: "FNumber",
    0x8822: "ExposureProgram",
    0x8827: "ISOSpeedRatings",
    0x9000: "ExifVersion",
    0x9003: "DateTimeOriginal",
    0x9004: "DateTimeDigitized",
    0x9010: "OffsetTime",
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9201: "ShutterSpeedValue",
    0x9202: "ApertureValue",
    0x9203: "BrightnessValue",
    0x9204: "ExposureBiasValue",
    0x9207: "MeteringMode",
    0x9208: "LightSource",
    0x9209: "Flash",
    0x920A: "FocalLength",
    0x9286: "UserComment",
    0xA001: "ColorSpace",
    0xA402: "ExposureMode",
    0xA403: "WhiteBalance",
    0xA405: "FocalLengthIn35mmFilm",
    0xA406: "SceneCaptureType",
    0xA434: "LensModel",
}
# How the pixels are stored (TIFF structure, ICC): rewritten by the encoder, not "removed".
_STRUCTURAL = {
    0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117, 0x011C,
    0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0201, 0x0202, 0x0213, 0x8773,
}  # fmt: skip
# Named for the manifest when found and dropped.
_EXIF_DROP_NAMES = {
    0x927C: "MakerNote",
    0xA431: "BodySerialNumber",
    0xA435: "LensSerialNumber",
    0xA430: "CameraOwnerName",
    0xA420: "ImageUniqueID",
}

# IPTC-IIM datasets kept: (record, dataset) -> name.
IPTC_KEEP = {
    (1, 90): "CodedCharacterSet",
    (2, 0): "RecordVersion",
    (2, 5): "ObjectName",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 80): "By-line",
    (2, 85): "By-lineTitle",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 120): "Caption-Abstract",
    (2, 122): "Writer-Editor",
}

# What Pillow raises on malformed EXIF/IPTC (it has no single error type for it).
_META_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, SyntaxError, struct.error)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC = "http://purl.org/dc/elements/1.1/"
XMP_KEEP = ("creator", "rights", "description", "title")

PNG_TEXT_KEEP = ("Title", "Author", "Description", "Copyright", "Comment", "Source")


def clean_exif(image: Image.Image) -> tuple[Image.Exif, list[str]]:
    """A fresh EXIF block with only the allowed tags, orientation 1; and the names of what was dropped."""
    removed: list[str] = []
    out = Image.Exif()
    try:
        source = image.getexif()
    except _META_ERRORS:  # unreadable EXIF: nothing of it is carried over
        return _oriented(out), ["EXIF (unreadable)"]
    for tag, value in source.items():
        if tag in EXIF_KEEP:
            out[tag] = _raw_text(value)
        elif tag == _IFD_GPS:
            removed.append("GPS")
        elif tag not in (_IFD_EXIF, _ORIENTATION) and tag not in _STRUCTURAL:
            removed.append(f"IFD0 0x{tag:04X}")
    try:
        sub = source.get_ifd(_IFD_EXIF)
    except _META_ERRORS:
        sub = {}
    if sub:
        kept = {tag: value for tag, value in sub.items() if tag in EXIF_SUB_KEEP}
        removed += [_EXIF_DROP_NAMES.get(tag, f"Exif 0x{tag:04X}") for tag in sub if tag not in kept and tag != _IFD_INTEROP]
        if kept:
            out.get_ifd(_IFD_EXIF).update(kept)
    try:
        gps = source.get_ifd(_IFD_GPS)
    except _META_ERRORS:
        gps = {}
    if gps and "GPS" not in removed:
        removed.append("GPS")
    if _has_ifd1(image, source):
        removed.append("thumbnail (IFD1)")
    return _oriented(out), sorted(set(removed))


def _raw_text(value: Any) -> Any:
    """The tag's original bytes for non-ASCII text.

    Pillow decodes EXIF ASCII as Latin-1 and would write it back as ASCII with
    '?' for every other character, so "Bashkia Tiranë" (UTF-8 in the file, as
    cameras and editors write it) would lose its "ë". Bytes are written as they are.
    """
    if isinstance(value, str) and not value.isascii():
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value.encode("utf-8")
    return value


def _oriented(exif: Image.Exif) -> Image.Exif:
    exif[_ORIENTATION] = 1  # pixels are written upright; say so, so no viewer turns them again
    return exif


def _has_ifd1(image: Image.Image, exif: Image.Exif) -> bool:
    try:
        from PIL import ExifTags

        return bool(exif.get_ifd(ExifTags.IFD.IFD1))
    except _META_ERRORS:
        return False


def clean_iptc(image: Image.Image) -> tuple[dict[tuple[int, int], list[bytes]], list[str]]:
    """The IPTC datasets worth keeping (caption, authorship) and the names of those dropped."""
    try:
        info = IptcImagePlugin.getiptcinfo(image) or {}
    except _META_ERRORS:
        return {}, ["IPTC (unreadable)"]
    kept: dict[tuple[int, int], list[bytes]] = {}
    removed = []
    for key, value in info.items():
        values = value if isinstance(value, list) else [value]
        if key in IPTC_KEEP:
            kept[key] = [bytes(v) for v in values]
        else:
            removed.append(f"IPTC {key[0]}:{key[1]}")
    return kept, sorted(set(removed))


def iptc_app13(datasets: dict[tuple[int, int], list[bytes]]) -> bytes:
    """A JPEG APP13 segment (Photoshop 3.0 / 8BIM 0x0404) holding the given IPTC datasets."""
    iim = bytearray()
    for (record, dataset), values in sorted(datasets.items()):
        for value in values:
            value = value[:32767]
            iim += struct.pack(">BBBH", 0x1C, record, dataset, len(value)) + value
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + bytes(iim)
    if len(iim) % 2:
        resource += b"\x00"
    payload = b"Photoshop 3.0\x00" + resource
    if len(payload) + 2 > 0xFFFF:
        return b""  # too large for one segment: drop rather than split a caption
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def insert_jpeg_segment(jpeg: bytes, segment: bytes) -> bytes:
    """``jpeg`` with ``segment`` placed after its leading APP0/APP1 segments."""
    if not segment or jpeg[:2] != b"\xff\xd8":
        return jpeg
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and jpeg[pos + 1] in (0xE0, 0xE1):
        pos += 2 + struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
    return jpeg[:pos] + segment + jpeg[pos:]


def png_text(image: Image.Image) -> tuple[dict[str, str], list[str]]:
    """PNG text chunks worth keeping, and the keys of those dropped."""
    text: dict[str, Any] = getattr(image, "text", None) or {}
    kept = {k: str(v) for k, v in text.items() if k in PNG_TEXT_KEEP}
    removed = [f"PNG text {k}" for k in text if k not in kept]
    return kept, removed


def clean_xmp(packet: bytes | str | None) -> tuple[bytes | None, list[str], list[str]]:
    """A fresh XMP packet with only the Dublin Core authorship, rights, caption and title of ``packet``;
    and what was dropped and kept, for the manifest."""
    if not packet:
        return None, [], []
    from xml.etree import ElementTree

    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    if start < 0 or end < 0 or "<!ENTITY" in text:  # no entity games from a file we did not write
        return None, ["XMP"], []
    try:
        root = ElementTree.fromstring(text[start : end + len("</x:xmpmeta>")])
    except ElementTree.ParseError:
        return None, ["XMP (unreadable)"], []
    found: dict[str, list[str]] = {}
    for name in XMP_KEEP:
        for element in root.iter(f"{{{_DC}}}{name}"):
            values = [li.text.strip() for li in element.iter(f"{{{_RDF}}}li") if li.text and li.text.strip()]
            if not values and element.text and element.text.strip():
                values = [element.text.strip()]  # simple (non-RDF-container) form
            if values:
                found.setdefault(name, []).extend(values)
    if not found:
        return None, ["XMP"], []
    kept = [f"XMP dc:{name}" for name in XMP_KEEP if name in found]
    return _xmp_packet(found), ["XMP (all but " + ", ".join(kept) + ")"], kept


def _xmp_packet(fields: dict[str, list[str]]) -> bytes:
    from xml.sax.saxutils import escape

    parts = []
    for name in XMP_KEEP:
        if name not in fields:
            continue
        container = "Seq" if name == "creator" else "Alt"
        lang = "" if name == "creator" else ' xml:lang="x-default"'
        items = "".join(f"<rdf:li{lang}>{escape(v)}</rdf:li>" for v in fields[name][: 1 if lang else None])
        parts.append(f"<dc:{name}><rdf:{container}>{items}</rdf:{container}></dc:{name}>")
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        + "".join(parts)
        + '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return body.encode("utf-8")
