"""Reports: JSON and CSV of results, and the one-line explanation of a face."""

from __future__ import annotations

import csv
import errno
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from minorguard.faces.numbers import face_number
from minorguard.locale import t
from minorguard.photos.file_names import json_text, shown
from minorguard.types import FaceDecision, PhotoResult, to_jsonable

__all__ = ["CSV_COLUMNS", "EXCEL_UTF8", "atomic_write_text", "explain_error", "explain_face", "write_csv", "write_json"]

CSV_COLUMNS = [
    "source", "sha256", "verdict", "error", "frame", "frames", "preview", "face", "x", "y", "width", "height", "category", "action",
    "reason", "explanation", "age", "age_low", "age_high", "p_under_18", "published_px", "sharpness",
    "consent_record", "event_id", "group", "model_pack", "policy_version",
]


# error codes whose translated reason says everything the English text does
_SAYS_IT_ALL = frozenset({
    "broken_link", "not_a_file", "not_found", "link_loop", "empty_file", "truncated", "not_regular", "too_large",
    "folder_unreadable", "uncheckable_type", "unreadable", "video", "not_an_image", "preview_unreadable",
})


def explain_error(result: PhotoResult, lang: str = "en") -> str:
    """Why a photo could not be checked, in ``lang``: its file name, the reason, and the technical detail.

    The stored ``error`` stays English (logs, JSON); a communicator reads this.
    """
    return explain_photo_error(result.source, result.error_code, result.error, lang)


def explain_photo_error(source: str, code: str | None, error: str | None, lang: str = "en") -> str:
    """explain_error from the parts a PhotoResult or an export's manifest entry keeps."""
    from minorguard.locale.messages import MESSAGES

    key = f"photo_error.{code}"
    if lang == "en" or key not in MESSAGES.get(lang, {}):
        return error or ""
    detail = error or ""
    prefix = f"{source}: "
    if detail.startswith(prefix):
        detail = detail[len(prefix):]
    reason = t(key, lang)
    if code in _SAYS_IT_ALL:
        return f"{source}: {reason}"
    # the English text carries what only it knows (sizes, formats, the OS's or a model's words)
    return f"{source}: {reason} ({detail})"


def explain_face(decision: FaceDecision, lang: str = "en") -> str:
    """The face's reason in words, in Albanian or English."""
    age = decision.age
    values = {
        "px": decision.identifiability.published_height_px,
        "sharpness": decision.identifiability.sharpness,
        "age": age.expected if age else float("nan"),
        "p": age.p_under_18 if age else float("nan"),
        "detail": decision.detail,
    }
    text = t(f"reason.{decision.reason.value}", lang, **values)
    if age is not None and age.disagreement:
        readings = ", ".join(f"{t('network.' + name, lang)} {value:.0f}" for name, value in age.networks)
        text += "; " + t("age.disagreement", lang, readings=readings)
    if age is not None and age.doubt:
        text += "; " + t(f"age.doubt.{age.doubt[0]}", lang, value=f"{age.doubt[1]:.0f}")
    return text


# A CSV file starts with this byte-order mark: Excel reads a file as UTF-8 only with it
# (without, "ë" showed as "Ã«"); Python's csv with utf-8-sig, pandas and LibreOffice read both.
EXCEL_UTF8 = "\ufeff"


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a half file.

    A file name that is not UTF-8 is written as ``fsnames.shown`` gives it (JSON
    callers escape it exactly first, with ``fsnames.json_text``).
    """
    text = shown(text)
    path = Path(path)
    if path.is_symlink():  # the link stays a link: what it points at is the report
        path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():  # the rename would replace a device or a pipe with this file
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(results: Sequence[PhotoResult], path: str | Path, extra: dict | None = None) -> None:
    payload = {"minorguard_report": 1, **(extra or {}), "photos": [to_jsonable(r) for r in results]}
    atomic_write_text(path, json_text(payload, indent=2) + "\n")


def _rows(results: Iterable[PhotoResult], lang: str):
    for r in results:
        base = {"source": r.source, "sha256": r.sha256 or "", "verdict": r.verdict.value, "error": r.error or "",
                "model_pack": r.model_pack, "policy_version": r.policy_version,
                # a picture of several frames: the faces below are the worst frame's, counted from 1 as the console does
                "frame": r.frame + 1 if r.frames > 1 else "", "frames": r.frames if r.frames > 1 else "",
                # the faces below are those of the preview picture stored in the file (EXIF), not of the picture
                "preview": r.preview or ""}
        if not r.faces:
            yield base
            continue
        for d in r.faces:
            a = d.age
            yield {
                **base,
                "face": face_number(d.index), "x": round(d.box.x), "y": round(d.box.y), "width": round(d.box.width), "height": round(d.box.height),
                "category": d.category.value, "action": d.action.value, "reason": d.reason.value,
                "explanation": explain_face(d, lang),
                "age": round(a.expected, 1) if a else "", "age_low": a.low if a else "", "age_high": a.high if a else "",
                "p_under_18": round(a.p_under_18, 4) if a else "",
                "published_px": round(d.identifiability.published_height_px, 1), "sharpness": round(d.identifiability.sharpness, 1),
                "consent_record": (d.consent.record_id or "") if d.consent else "",
                "event_id": (d.event.event_id or "") if d.event else "",
                "group": "" if d.group is None else d.group,
            }


def write_csv(results: Sequence[PhotoResult], path: str | Path, lang: str = "en") -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in _rows(results, lang):
        writer.writerow({k: _inert(v) for k, v in row.items()})
    atomic_write_text(path, EXCEL_UTF8 + buffer.getvalue())


def _inert(value: object) -> object:
    """A text cell Excel would run as a formula (a file named ``=cmd|...``) starts with an apostrophe instead."""
    if not isinstance(value, str) or value[:1] not in ("=", "+", "-", "@", "\t", "\r"):
        return value
    try:
        float(value)
        return value  # a number ("-3.5") or a lone dash stays as it is
    except ValueError:
        return value if value in ("-", "+") else "'" + value
