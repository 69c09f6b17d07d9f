"""What the web service answers, as frozen types; the OpenAPI description is generated from these and from
the library's own result types (``PhotoResult``, ``ModelFile``), never written a second time by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minorguard.models.base import ModelFile

__all__ = ["CheckRefused", "ExportAnswer", "Health", "ModelsAnswer", "ServiceError"]


@dataclass(frozen=True, slots=True)
class ServiceError:
    """Every answer that is not a result: a stable code, the field at fault, and one line in the asked language."""

    error: str  # message catalogue key, e.g. service.bad_key
    message: str
    field: str | None = None
    status: int = 400


@dataclass(frozen=True, slots=True)
class CheckRefused:
    """A photo that could not be judged (not a photo, truncated, a decompression bomb): its ERROR result."""

    error: str
    message: str
    result: dict[str, Any]  # PhotoResult, as the JSON report writes it


@dataclass(frozen=True, slots=True)
class ExportAnswer:
    """An export asked for as JSON: the copy (base64) and the photo's manifest entry; on refusal no copy and why."""

    # the verdict on the picture the copy was made from (an MPO's first frame); the original's previews are not
    # in the copy and not judged here: `POST /v1/check` judges the original file whole
    verdict: str | None
    media_type: str | None
    copy_base64: str | None
    entry: dict[str, Any]  # as the export's manifest writes it
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # ok | unavailable
    models_loaded: bool
    register: str  # reachable | unreachable
    model_pack: str
    policy_version: str
    version: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ModelsAnswer:
    pack: str
    licence_note: str
    files: list[ModelFile] = field(default_factory=list)
