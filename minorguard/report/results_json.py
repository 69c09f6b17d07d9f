"""Read a scan's JSON report (``minorguard scan --json``) back into result objects."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from minorguard.locale.coded_error import CodedError
from minorguard.types import (
    AgeEstimate,
    Box,
    ConsentEvidence,
    EventEvidence,
    FaceAction,
    FaceCategory,
    FaceDecision,
    Identifiability,
    PhotoResult,
    ReasonCode,
    Verdict,
)

__all__ = ["ResultsFileError", "read_report", "read_results"]


class ResultsFileError(CodedError, ValueError):
    """A file that is not a minorguard scan report; the message says why in one line (keys ``results.<code>``)."""

    catalogue = "results"


def _opt(kind: Any, value: Any) -> Any:
    return None if value is None else kind(**value)


def _face(data: dict[str, Any], outer: bool = True) -> FaceDecision:
    ident = dict(data["identifiability"])
    ident["reason"] = ReasonCode(ident["reason"]) if ident.get("reason") else None
    return FaceDecision(
        index=int(data["index"]),
        box=Box(**data["box"]),
        score=float(data.get("score", 0.0)),
        category=FaceCategory(data["category"]),
        action=FaceAction(data["action"]),
        reason=ReasonCode(data["reason"]),
        identifiability=Identifiability(**ident),
        age=_opt(AgeEstimate, data.get("age")),
        consent=_opt(ConsentEvidence, data.get("consent")),
        event=_opt(EventEvidence, data.get("event")),
        detail=data.get("detail", ""),
        group=data.get("group"),
        # one level: the models' decision is never itself a reviewer's
        models_decision=_face(data["models_decision"], outer=False) if outer and data.get("models_decision") else None,
    )


def _photo(data: dict[str, Any]) -> PhotoResult:
    # metadata and timings are not needed to review a photo and are left out
    return PhotoResult(
        source=str(data["source"]),
        verdict=Verdict(data["verdict"]),
        sha256=data.get("sha256"),
        faces=tuple(_face(f) for f in data.get("faces") or ()),
        error=data.get("error"),
        error_code=data.get("error_code"),
        width=data.get("width"),
        height=data.get("height"),
        model_pack=data.get("model_pack", ""),
        policy_version=data.get("policy_version", ""),
        event=_opt(EventEvidence, data.get("event")),
        hints=tuple(data.get("hints") or ()),
        frame=data.get("frame"),
        frames=int(data.get("frames") or 1),
        preview=_where(data.get("preview")),
        preview_faces=tuple(_face(f) for f in data.get("preview_faces") or ()),
    )


def _where(preview: Any) -> str | None:
    """The preview's place; ``true`` in reports of the first version, which judged only EXIF previews."""
    if preview is True:
        return "EXIF"
    return str(preview) if preview else None


def read_results(path: str | os.PathLike) -> list[PhotoResult]:
    """Every photo of the report at ``path``; :class:`ResultsFileError` if it is not one."""
    return read_report(path)[0]


def read_report(path: str | os.PathLike) -> tuple[list[PhotoResult], list[dict[str, Any]] | None]:
    """The photos and, when the scan grouped faces by person, its groups (None when it did not say)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsFileError("not_found", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsFileError("unreadable", path=path, error=error) from None
    if not isinstance(payload, dict) or "minorguard_report" not in payload or not isinstance(payload.get("photos"), list):
        raise ResultsFileError("not_report", path=path)
    try:
        photos = [_photo(p) for p in payload["photos"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ResultsFileError("photo_damaged", path=path, error=f"{type(error).__name__}: {error}") from None
    groups = payload.get("groups")
    if groups is not None:
        valid = isinstance(groups, list) and all(
            isinstance(g, dict) and isinstance(g.get("group"), int) and isinstance(g.get("faces"), list)
            and all(isinstance(f, dict) and isinstance(f.get("source"), str) and isinstance(f.get("face"), int) for f in g["faces"])
            for g in groups
        )
        if not valid:
            raise ResultsFileError("groups_damaged", path=path)
    return photos, groups
