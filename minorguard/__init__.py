"""minorguard: keep identifiable minors out of published photos (rule 5).

Public API::

    from minorguard import CheckContext, open_checks
    with open_checks(context=CheckContext(channel="facebook"), tool="cms") as checks:
        result = checks.check("photo.jpg")  # the register's consents, events, reviews, known adults; audited
    result.verdict, result.faces            # frozen, JSON-serialisable

    from minorguard import Guard            # the models alone: no register, no audit
    Guard().check("photo.jpg")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from minorguard.version import __version__ as __version__

# The names load on first use: importing the package (the command's launcher does, before anything else) must not
# load OpenCV, ONNX Runtime and the register's database layer, so that a Ctrl-C in that second is the command's
# own "interrupted" and exit code 130, not a traceback.
_HOMES = {
    "Checks": "minorguard.application.checks",
    "KnownAdultsUnavailable": "minorguard.application.checks",
    "RegisterUnavailable": "minorguard.application.checks",
    "open_checks": "minorguard.application.checks",
    "PhotoError": "minorguard.photos.decode",
    "CheckContext": "minorguard.pipeline",
    "Guard": "minorguard.pipeline",
    "decide_face": "minorguard.rules.decide",
    "photo_verdict": "minorguard.rules.decide",
    "Policy": "minorguard.rules.policy",
    "PolicyError": "minorguard.rules.policy",
    "load_policy": "minorguard.rules.policy",
    **{name: "minorguard.types" for name in (
        "AgeEstimate", "Box", "FaceAction", "FaceCategory", "FaceDecision", "PhotoResult", "ReasonCode", "Verdict")},
}

__all__ = [
    "AgeEstimate",
    "Box",
    "CheckContext",
    "Checks",
    "FaceAction",
    "FaceCategory",
    "FaceDecision",
    "Guard",
    "KnownAdultsUnavailable",
    "PhotoError",
    "PhotoResult",
    "Policy",
    "PolicyError",
    "ReasonCode",
    "RegisterUnavailable",
    "Verdict",
    "decide_face",
    "load_policy",
    "open_checks",
    "photo_verdict",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'minorguard' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


if TYPE_CHECKING:
    from minorguard.application.checks import Checks, KnownAdultsUnavailable, RegisterUnavailable, open_checks
    from minorguard.photos.decode import PhotoError
    from minorguard.pipeline import CheckContext, Guard
    from minorguard.rules.decide import decide_face, photo_verdict
    from minorguard.rules.policy import Policy, PolicyError, load_policy
    from minorguard.types import (
        AgeEstimate,
        Box,
        FaceAction,
        FaceCategory,
        FaceDecision,
        PhotoResult,
        ReasonCode,
        Verdict,
    )
