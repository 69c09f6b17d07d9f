"""Does the photo look as if taken outdoors? A hint from EXIF light values; it never exempts.

The camera's exposure says how bright the scene was. The exposure value at
ISO 100, EV100 = log2(N^2 / t) - log2(ISO / 100), is about 15 in sunshine,
12-13 under overcast sky or in open shade, and 5-8 in a lit room; so
EV100 >= 12 points to daylight outdoors and <= 9 to indoors (or night). When
N, t or ISO are missing, the APEX BrightnessValue gives the same scale
(EV100 = Bv + 5, since Ev = Bv + Sv and Sv = 5 at ISO 100). A flash that fired
in a dim scene leans indoor; GPS alone says nothing (phones record it indoors
too) and is only reported.

Rule 5 is lifted only by an event a person declares; this hint merely points
the communicator to photos that might belong to one ("looks outdoor; no event
declared"), or to a declared outdoor event whose photo looks like a room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from minorguard.types import PhotoMetadata

__all__ = ["INDOOR_EV", "OUTDOOR_EV", "OutdoorGuess", "exposure_value", "guess_outdoor"]

OUTDOOR_EV = 12.0  # overcast daylight and brighter
INDOOR_EV = 9.0  # a brightly lit room and darker


@dataclass(frozen=True, slots=True)
class OutdoorGuess:
    """``outdoor``, ``indoor`` or ``unknown``, with the measured EV100 and the cues used."""

    setting: str
    ev100: float | None
    cues: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        ev = f"EV100 {self.ev100:.1f}" if self.ev100 is not None else "no exposure data"
        return ", ".join((ev, *self.cues))


def _positive(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def exposure_value(meta: PhotoMetadata | None) -> tuple[float | None, str]:
    """EV100 and where it came from (``exposure``, ``brightness`` or ``none``)."""
    if meta is None:
        return None, "none"
    n, t, iso = _positive(meta.f_number), _positive(meta.exposure_time), _positive(meta.iso)
    # implausible values (a 0.1 s "f-number", ISO 1) come from broken EXIF writers
    if n is not None and t is not None and 0.5 <= n <= 64 and t <= 60:
        ev = math.log2(n * n / t) - math.log2((iso or 100.0) / 100.0)
        if iso is not None or meta.brightness_value is None:
            return ev, "exposure"
    bv = meta.brightness_value
    if bv is not None and math.isfinite(bv) and -20 < bv < 30:
        return bv + 5.0, "brightness"
    return None, "none"


def guess_outdoor(meta: PhotoMetadata | None) -> OutdoorGuess:
    """The setting the light values suggest; ``unknown`` without exposure data."""
    ev, source = exposure_value(meta)
    cues: list[str] = []
    if source == "brightness":
        cues.append("from BrightnessValue")
    if meta is not None and meta.flash_fired:
        cues.append("flash fired")
    if meta is not None and meta.gps_lat is not None:
        cues.append("has GPS")
    if ev is None:
        return OutdoorGuess("unknown", None, tuple(cues))
    if ev >= OUTDOOR_EV:
        # a flash in bright light is fill flash, common outdoors: no change
        return OutdoorGuess("outdoor", ev, tuple(cues))
    if ev <= INDOOR_EV or (meta is not None and meta.flash_fired):
        return OutdoorGuess("indoor", ev, tuple(cues))
    return OutdoorGuess("unknown", ev, tuple(cues))
