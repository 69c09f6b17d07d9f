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
from minorguard.version import __version__ as __version__

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
