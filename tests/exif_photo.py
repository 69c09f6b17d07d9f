"""Write copies of a sample photo carrying chosen EXIF (time, offset, GPS, exposure) for event tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

SOURCE = Path(__file__).resolve().parents[1] / "sample_images" / "faceaisharp_obama_family.jpg"


def _rational(value: float) -> IFDRational:
    f = Fraction(value).limit_denominator(100000)
    return IFDRational(f.numerator, f.denominator)


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    degrees = abs(degrees)
    d = int(degrees)
    m = int((degrees - d) * 60)
    s = (degrees - d - m / 60) * 3600
    return (_rational(d), _rational(m), _rational(round(s, 4)))


def write_exif_photo(
    path: Path,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    exposure: tuple[float, float, int] | None = None,  # f-number, seconds, ISO
    flash: bool | None = None,
    brightness: float | None = None,
) -> Path:
    """A copy of the Obama family portrait (two girls: BLOCK without consent or event) with this EXIF."""
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    if taken is not None:
        sub[0x9003] = taken
    if offset is not None:
        sub[0x9011] = offset
    if exposure is not None:
        n, t, iso = exposure
        sub[0x829D], sub[0x829A], sub[0x8827] = _rational(n), _rational(t), iso
    if flash is not None:
        sub[0x9209] = 1 if flash else 0
    if brightness is not None:
        sub[0x9203] = _rational(brightness)
    if gps is not None:
        g = exif.get_ifd(0x8825)
        lat, lon = gps
        g[1], g[2] = ("N" if lat >= 0 else "S"), _dms(lat)
        g[3], g[4] = ("E" if lon >= 0 else "W"), _dms(lon)
    with Image.open(SOURCE) as image:
        image.save(path, exif=exif, quality=92)
    return path


def exif_with_preview(preview_jpeg: bytes, orientation: int = 1) -> bytes:
    """A raw EXIF block (APP1 payload) holding an orientation tag and a JPEG preview in IFD1, as cameras write it.

    Pillow reads IFD1 but does not write it, so the block is laid out by hand: the TIFF header, IFD0 with one
    entry, IFD1 with the preview's compression, offset and length, then the preview."""
    import struct

    entry = struct.Struct("<HHII")  # tag, type (3 SHORT, 4 LONG), count, value
    ifd0 = struct.pack("<H", 1) + entry.pack(0x0112, 3, 1, orientation) + struct.pack("<I", 26)
    ifd1 = (struct.pack("<H", 3) + entry.pack(0x0103, 3, 1, 6) + entry.pack(0x0201, 4, 1, 68)
            + entry.pack(0x0202, 4, 1, len(preview_jpeg)) + struct.pack("<I", 0))
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1
    assert len(tiff) == 68
    return b"Exif\x00\x00" + tiff + preview_jpeg


def exif_with_uncompressed_preview(preview: Image.Image) -> bytes:
    """A raw EXIF block whose IFD1 holds the preview uncompressed, as 8-bit RGB in one TIFF strip (older cameras):
    the TIFF header, an empty IFD0, IFD1 with eight entries, then the pixels."""
    import struct

    rgb = preview.convert("RGB")
    pixels = rgb.tobytes()
    entry = struct.Struct("<HHII")
    entries = [(0x0100, 3, 1, rgb.width), (0x0101, 3, 1, rgb.height), (0x0103, 3, 1, 1), (0x0106, 3, 1, 2),
               (0x0111, 4, 1, 0), (0x0115, 3, 1, 3), (0x0116, 3, 1, rgb.height), (0x0117, 4, 1, len(pixels))]
    ifd1_at = 8 + 2 + 4
    strip_at = ifd1_at + 2 + len(entries) * entry.size + 4
    entries[4] = (0x0111, 4, 1, strip_at)
    ifd0 = struct.pack("<H", 0) + struct.pack("<I", ifd1_at)
    ifd1 = struct.pack("<H", len(entries)) + b"".join(entry.pack(*e) for e in entries) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1
    assert len(tiff) == strip_at
    return b"Exif\x00\x00" + tiff + pixels


def write_photo_with_preview(path: Path, picture: Image.Image, preview: Image.Image, orientation: int = 1) -> Path:
    """``picture`` saved as a JPEG whose EXIF block carries ``preview`` (a JPEG of at most about 60 KB)."""
    import io

    buffer = io.BytesIO()
    preview.convert("RGB").save(buffer, "JPEG", quality=85)
    picture.convert("RGB").save(path, "JPEG", quality=92, exif=exif_with_preview(buffer.getvalue(), orientation))
    return path


def _segment(marker: int, payload: bytes) -> bytes:
    import struct

    assert len(payload) + 2 < 65536
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def with_segment_after_soi(jpeg: bytes, segment: bytes) -> bytes:
    assert jpeg.startswith(b"\xff\xd8")
    return jpeg[:2] + segment + jpeg[2:]


def photoshop_preview_segment(preview_jpeg: bytes) -> bytes:
    """APP13 with Photoshop's thumbnail resource (8BIM 0x040C): a 28-byte header, then the JPEG."""
    import struct

    header = struct.pack(">IIIIIIHH", 1, 160, 480, 120, 57600, len(preview_jpeg), 24, 1)
    data = header + preview_jpeg
    resource = b"8BIM" + struct.pack(">H", 0x040C) + b"\x00\x00" + struct.pack(">I", len(data)) + data
    if len(resource) % 2:
        resource += b"\x00"
    return _segment(0xED, b"Photoshop 3.0\x00" + resource)


def xmp_preview_segment(preview_jpeg: bytes) -> bytes:
    """APP1 with an XMP packet whose xmp:Thumbnails holds the JPEG in base64, lines broken as Adobe writes them."""
    import base64

    text = base64.b64encode(preview_jpeg).decode("ascii")
    wrapped = "&#xA;".join(text[i:i + 76] for i in range(0, len(text), 76))
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/">'
        '<xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource"><xmpGImg:format>JPEG</xmpGImg:format>'
        f"<xmpGImg:image>{wrapped}</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    return _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode("utf-8"))
