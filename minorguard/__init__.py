"""minorguard: keep identifiable minors out of published photos (rule 5).

Public API::

    from minorguard import Guard
    guard = Guard()                     # loads models once
    result = guard.check("photo.jpg")   # path, bytes, numpy array or PIL image
    result.verdict, result.faces        # frozen, JSON-serialisable
"""

from __future__ import annotations

from .decide import decide_face, photo_verdict
from .photo import PhotoError
from .pipeline import CheckContext, Guard
from .policy import Policy, PolicyError, load_policy
from .types import (
    AgeEstimate,
    Box,
    FaceAction,
    FaceCategory,
    FaceDecision,
    PhotoResult,
    ReasonCode,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "AgeEstimate",
    "Box",
    "CheckContext",
    "FaceAction",
    "FaceCategory",
    "FaceDecision",
    "Guard",
    "PhotoError",
    "PhotoResult",
    "Policy",
    "PolicyError",
    "ReasonCode",
    "Verdict",
    "decide_face",
    "load_policy",
    "photo_verdict",
]
