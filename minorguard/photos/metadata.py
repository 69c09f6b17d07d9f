"""EXIF metadata: capture time with offset, GPS, exposure, flash.

exifread reads JPEG and TIFF well but fails on HEIC (it raised an
AssertionError on an iPhone file), so Pillow's EXIF reader is the fallback.
Malformed values become ``problems`` entries, never exceptions.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from PIL import Image

from minorguard.types import PhotoMetadata

__all__ = ["parse_exif_datetime", "read_metadata"]

_EXIFREAD_FORMATS = {"JPEG", "TIFF", "MPO"}

# Pillow tag numbers (EXIF 2.32)
_TAG_ORIENTATION = 0x0112
_TAG_MAKE, _TAG_MODEL = 0x010F, 0x0110
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_TAG_DTO, _TAG_OFFSET_DTO = 0x9003, 0x9011
_TAG_EXPOSURE, _TAG_FNUMBER, _TAG_ISO = 0x829A, 0x829D, 0x8827
_TAG_FLASH, _TAG_BRIGHTNESS = 0x9209, 0x9203


def _int(value: Any) -> int | None:
    """A tag's whole number, or None when the file holds something else there (bytes, text, a broken rational)."""
    number = _num(value)
    return None if number is None or number != number or abs(number) > 2**31 else int(number)


def _num(value: Any) -> float | None:
    try:
        while isinstance(value, (list, tuple)):
            value = value[0]
        if hasattr(value, "num") and hasattr(value, "den"):
            return float(value.num) / float(value.den) if value.den else None
        return float(Fraction(str(value))) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None


def parse_exif_datetime(raw: str | None, offset: str | None) -> datetime | None:
    """``2024:05:01 10:00:00`` (+ ``+02:00``, ``+0200`` or ``+02``) to a datetime; None when malformed.

    Naive when the file carries no offset: the caller decides which time zone applies. An offset that is there but
    cannot be read makes the time unusable (None): read in the event's zone instead, a time 5 h off could link a
    photo to an event it was not taken at (an audit's ``+25:00`` and ``+0530`` were dropped without a word).
    """
    if not raw:
        return None
    raw = raw.strip().rstrip("\x00")
    try:
        moment = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = (offset or "").strip().rstrip("\x00").strip()
    if offset:
        found = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", offset)
        if found is None:
            return None
        delta = timedelta(hours=int(found.group(2)), minutes=int(found.group(3) or 0))
        if delta > timedelta(hours=14) or int(found.group(3) or 0) >= 60:
            return None
        moment = moment.replace(tzinfo=timezone(delta if found.group(1) == "+" else -delta))
    return moment


def _gps_to_degrees(values: Any, ref: Any) -> float | None:
    try:
        parts = [_num(v) for v in values]
        if len(parts) != 3 or any(p is None for p in parts):
            return None
        deg = parts[0] + parts[1] / 60 + parts[2] / 3600  # type: ignore[operator]
    except TypeError:
        return None
    ref_s = str(ref).strip().upper()
    if ref_s in ("S", "W"):
        deg = -deg
    return deg


def _from_exifread(data: bytes) -> dict[str, Any] | None:
    import exifread

    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    try:
        tags = exifread.process_file(io.BytesIO(data), details=False)
    except Exception:  # exifread raises bare assertions on some containers
        return None
    if not tags:
        return None

    def get(name: str) -> Any:
        tag = tags.get(name)
        return None if tag is None else tag.values

    def text(name: str) -> str | None:
        tag = tags.get(name)
        return None if tag is None else str(tag.printable)

    lat = lon = None
    if get("GPS GPSLatitude") and get("GPS GPSLongitude"):
        lat = _gps_to_degrees(get("GPS GPSLatitude"), text("GPS GPSLatitudeRef") or "N")
        lon = _gps_to_degrees(get("GPS GPSLongitude"), text("GPS GPSLongitudeRef") or "E")
    flash = get("EXIF Flash")
    return {
        "orientation": int(_num(get("Image Orientation")) or 1) if get("Image Orientation") else None,
        "dt_raw": text("EXIF DateTimeOriginal"),
        "offset": text("EXIF OffsetTimeOriginal"),
        "lat": lat,
        "lon": lon,
        "exposure": _num(get("EXIF ExposureTime")),
        "fnumber": _num(get("EXIF FNumber")),
        "iso": _num(get("EXIF ISOSpeedRatings")),
        "flash": None if not flash else bool(int(_num(flash) or 0) & 1),
        "brightness": _num(get("EXIF BrightnessValue")),
        "camera": " ".join(filter(None, [text("Image Make"), text("Image Model")])) or None,
    }


def _from_pillow(image: Image.Image) -> dict[str, Any] | None:
    try:
        exif = image.getexif()
    except Exception:
        return None
    if not exif:
        return None
    try:
        sub = exif.get_ifd(_IFD_EXIF)
    except Exception:
        sub = {}
    try:
        gps = exif.get_ifd(_IFD_GPS)
    except Exception:
        gps = {}
    lat = lon = None
    if gps.get(2) and gps.get(4):
        lat = _gps_to_degrees(gps[2], gps.get(1, "N"))
        lon = _gps_to_degrees(gps[4], gps.get(3, "E"))
    flash = _int(sub.get(_TAG_FLASH))
    make, model = exif.get(_TAG_MAKE), exif.get(_TAG_MODEL)
    return {
        "orientation": _int(exif.get(_TAG_ORIENTATION)) or None,
        "dt_raw": sub.get(_TAG_DTO),
        "offset": sub.get(_TAG_OFFSET_DTO),
        "lat": lat,
        "lon": lon,
        "exposure": _num(sub.get(_TAG_EXPOSURE)),
        "fnumber": _num(sub.get(_TAG_FNUMBER)),
        "iso": _num(sub.get(_TAG_ISO)),
        "flash": None if flash is None else bool(flash & 1),
        "brightness": _num(sub.get(_TAG_BRIGHTNESS)),
        "camera": " ".join(str(v).strip("\x00 ") for v in (make, model) if v) or None,
    }


def read_metadata(data: bytes | None, image: Image.Image) -> PhotoMetadata:
    """Metadata of an opened image; ``data`` is the file's bytes when there is a file."""
    fields = None
    source = "none"
    if data is not None and image.format in _EXIFREAD_FORMATS:
        fields = _from_exifread(data)
        source = "exifread" if fields else source
    problems: list[str] = []
    if fields is None:
        try:
            fields = _from_pillow(image)
        except Exception as error:  # a damaged EXIF block: no time, place or camera from it, which exempts nothing
            fields = None
            problems.append(f"unreadable EXIF ({type(error).__name__})")
        source = "pillow" if fields else source
    fields = fields or {}
    raw = fields.get("dt_raw")
    moment = parse_exif_datetime(raw, fields.get("offset"))
    if raw and moment is None:
        problems.append(f"malformed DateTimeOriginal {raw!r}")
    lat, lon = fields.get("lat"), fields.get("lon")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        problems.append(f"GPS out of range ({lat}, {lon})")
        lat = lon = None
    iso = fields.get("iso")
    return PhotoMetadata(
        format=image.format,
        width=image.width,
        height=image.height,
        orientation=fields.get("orientation"),
        datetime_original=moment,
        datetime_raw=str(raw) if raw else None,
        gps_lat=lat,
        gps_lon=lon,
        exposure_time=fields.get("exposure"),
        f_number=fields.get("fnumber"),
        iso=int(iso) if iso is not None else None,
        flash_fired=fields.get("flash"),
        brightness_value=fields.get("brightness"),
        camera=fields.get("camera"),
        source=source,
        problems=tuple(problems),
    )
