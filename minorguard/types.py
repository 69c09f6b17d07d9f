"""Typed, immutable results of every pipeline stage.

Everything a caller receives is a frozen, slotted dataclass that converts to
plain JSON with :func:`to_jsonable`; nothing here imports a model or touches
the file system.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AgeEstimate",
    "Box",
    "ConsentEvidence",
    "DetectedFace",
    "EventEvidence",
    "FaceAction",
    "FaceAssessment",
    "FaceCategory",
    "FaceDecision",
    "Identifiability",
    "PhotoMetadata",
    "PhotoResult",
    "ReasonCode",
    "Verdict",
    "to_jsonable",
]


class Verdict(str, enum.Enum):
    """Outcome for one photo; ordered from harmless to worst."""

    PASS = "PASS"
    REVIEW = "REVIEW"
    BLOCK = "BLOCK"
    ERROR = "ERROR"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2, Verdict.ERROR: 3}


class FaceCategory(str, enum.Enum):
    """What the models say about a face, before consent and events."""

    NOT_IDENTIFIABLE = "not_identifiable"
    ADULT = "adult"
    POSSIBLE_MINOR = "possible_minor"
    UNCERTAIN = "uncertain"  # the estimator could not place the face on either side


class FaceAction(str, enum.Enum):
    """What rule 5 lets the publisher do with one face."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _ACTION_SEVERITY[self]


_ACTION_SEVERITY = {FaceAction.ALLOW: 0, FaceAction.REVIEW: 1, FaceAction.BLOCK: 2}


class ReasonCode(str, enum.Enum):
    """Why a face got its action; every code has an Albanian and English message."""

    TOO_SMALL = "too_small"
    TOO_BLURRED = "too_blurred"
    ADULT = "adult"
    POSSIBLE_MINOR = "possible_minor"
    MINOR_UNCERTAIN = "minor_uncertain"
    AGE_UNAVAILABLE = "age_unavailable"
    CONSENT = "consent"
    CONSENT_AMBIGUOUS = "consent_ambiguous"
    CONSENT_YOUNG = "consent_young"  # a consent's child matched on a face too young to tell children apart by
    CONSENT_MINOR_THRESHOLD = "consent_minor_threshold"  # matched under the similarity a minor's face needs
    CONSENT_INFANT = "consent_infant"  # results stored before 2026-12-07: the under-4 rule consent_young replaced
    CONSENT_OUT_OF_SCOPE = "consent_out_of_scope"
    NEVER_PUBLISH = "never_publish"
    EVENT_EXEMPT = "event_exempt"
    EVENT_AMBIGUOUS = "event_ambiguous"
    REVIEWER = "reviewer"
    KNOWN_ADULT = "known_adult"


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box in pixels of the oriented photo."""

    x: float
    y: float
    width: float
    height: float

    @property
    def x2(self) -> float:
        return self.x + self.width

    @property
    def y2(self) -> float:
        return self.y + self.height

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.width * factor, self.height * factor)

    def expanded(self, factor: float, limit_w: int, limit_h: int) -> Box:
        """The box grown about its centre by ``factor``, clipped to the image."""
        cx, cy = self.x + self.width / 2, self.y + self.height / 2
        w, h = self.width * factor, self.height * factor
        x1, y1 = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
        x2, y2 = min(float(limit_w), cx + w / 2), min(float(limit_h), cy + h / 2)
        return Box(x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))

    def intersection(self, other: Box) -> float:
        """Area the two boxes share."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x, other.x))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y, other.y))
        return ix * iy

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class DetectedFace:
    """One detector hit: box, five landmarks (eyes, nose, mouth corners) and score."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()
    detector: str = ""


@dataclass(frozen=True, slots=True)
class Identifiability:
    """Whether a face could be recognised in the published image, and the measurements."""

    identifiable: bool
    published_height_px: float
    sharpness: float
    reason: ReasonCode | None = None


@dataclass(frozen=True, slots=True)
class AgeEstimate:
    """Age in years with an interval, and the probability of being under 18."""

    expected: float
    low: float  # lower bound of the interval (policy percentile)
    high: float
    p_under_18: float
    method: str
    networks: tuple[tuple[str, float], ...] = ()  # each age network's own reading, years
    disagreement: bool = False  # a network reads a minor where the others do not: lean to the minor side
    # why the networks' reading cannot be relied on for this face, and the measure: ("turned", degrees) or
    # ("few_tones", tones); such a face is never taken for an adult on their word
    doubt: tuple[str, float] | None = None


@dataclass(frozen=True, slots=True)
class FaceAssessment:
    """Everything measured about one face; input to the pure decision."""

    index: int
    face: DetectedFace
    identifiability: Identifiability
    age: AgeEstimate | None
    age_error: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentEvidence:
    """A consent-register match for one face, as the decision sees it."""

    child_ref: str  # pseudonymous id, never the name
    similarity: float
    record_id: str | None  # consent record that covers the publication, if any
    confident: bool
    ambiguous: bool
    never_publish: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class EventEvidence:
    """The event a photo is linked to, and whether that link is trustworthy."""

    event_id: str | None
    basis: str | None  # "public", "outdoor" or None
    how: str  # "explicit", "exif", "none"
    ambiguous: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class FaceDecision:
    """The decision for one face, with the evidence it rests on."""

    index: int
    box: Box
    score: float
    category: FaceCategory
    action: FaceAction
    reason: ReasonCode
    identifiability: Identifiability
    age: AgeEstimate | None
    consent: ConsentEvidence | None = None
    event: EventEvidence | None = None
    detail: str = ""
    group: int | None = None
    # What the models and the register decided before a reviewer's decision replaced it (None when no reviewer
    # decided): a report keeps both, so a later review can undo the reviewer's decision and show the models' own.
    models_decision: FaceDecision | None = None

    @property
    def number(self) -> int:
        """The face's number as people see it: 1 is the leftmost face (minorguard.faces.numbers)."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class PhotoMetadata:
    """What the file says about itself (EXIF and friends); every field optional."""

    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    datetime_original: datetime | None = None
    datetime_raw: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    flash_fired: bool | None = None
    brightness_value: float | None = None
    camera: str | None = None
    source: str = "none"  # "exifread", "pillow" or "none"
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PhotoResult:
    """The verdict on one photo with every face decision and how it was reached."""

    source: str
    verdict: Verdict
    sha256: str | None
    faces: tuple[FaceDecision, ...] = ()
    error: str | None = None
    error_code: str | None = None
    metadata: PhotoMetadata | None = None
    width: int | None = None
    height: int | None = None
    model_pack: str = ""
    policy_version: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    event: EventEvidence | None = None
    hints: tuple[str, ...] = ()
    frame: int | None = None  # a file of several frames: the (0-based) frame whose result this is, the worst one
    frames: int = 1
    # where the preview picture is whose faces and boxes these are (EXIF, Photoshop, XMP): a preview the file
    # carries that shows something the picture does not (a cropped-out part), and is worse (photos.thumbnail)
    preview: str | None = None
    # the faces of a preview that shows what the picture does not, when the picture's result was the worse one:
    # what they were allowed on (a consent, an event) is audited and watched like the picture's own faces
    preview_faces: tuple[FaceDecision, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for any result object (enums by value, datetimes ISO)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, FaceDecision):
            out["face"] = value.number  # the number every command and page shows; index counts from 0
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value
