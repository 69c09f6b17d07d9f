"""Export publishable copies: hide the faces rule 5 forbids, write faithfully, check again, keep a manifest.

For each photo: full check with the caller's Guard (consent register and
events when the Guard has them) -> choose the faces to hide -> load the
original at full resolution, upright -> paint the head regions -> encode like
the source with cleaned metadata -> write to a temporary file -> check that
file again with the same Guard -> rename into place, or refuse it.

Which faces are hidden (``hide``):

* ``minors`` (default, what rule 5 requires): every face whose decision is
  BLOCK, and every REVIEW face unless ``keep_review``.
* ``unconsented-minors-and-unknown``: the above, and every identifiable face
  the models cannot clear as adult (possible minor or uncertain age) unless
  a consent record covers it. A face allowed *only* by the public/outdoor
  event exemption is hidden in this mode: it is for offices that publish
  children only with a parent's signature, whatever the event.
* ``all-faces``: every detected face, identifiable or not.

``keep_review`` leaves REVIEW faces visible in the first two modes (a person
will decide on them); it has no effect on ``all-faces``.

The re-check runs the same Guard on the written file. A *problem* is a face
there that is identifiable and not cleared as adult (possible minor or
uncertain) and lies inside a painted region, or that the same hide rule
would hide. Problems outside the paint (a borderline age estimate that moved
after re-encoding) are hidden as well; problems inside the paint (a detector
seeing a face in random blocks) get a fresh draw of the noise. After
:data:`MAX_ATTEMPTS` rounds with problems left the photo is refused: its
temporary file is deleted and the manifest says why.

Interrupts: the rename of a finished copy and the manifest update that
records it run with SIGINT held back, so Ctrl-C leaves finished photos and
a manifest that lists exactly them; a temporary file is always removed.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import hashlib
import io
import itertools
import json
import os
import signal
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from minorguard.locale.coded_error import CodedError
from minorguard.models.base import sha256_of_file
from minorguard.photos.decode import TRANSPARENCY, as_shown, hidden_colour
from minorguard.photos.discover import discover_photos
from minorguard.photos.file_names import json_text
from minorguard.pipeline import CheckContext, Guard
from minorguard.publish.encode import EncodeError, encode_like
from minorguard.publish.redact import (
    HEAD_ABOVE,
    HEAD_BELOW,
    HEAD_WIDTH_FACTOR,
    MOSAIC_BLOCKS,
    Style,
    head_region,
    redact_image,
)
from minorguard.report.files import atomic_write_text
from minorguard.types import Box, FaceAction, FaceCategory, FaceDecision, PhotoResult, ReasonCode, Verdict

__all__ = [
    "MANIFEST_NAME",
    "ExportError",
    "ExportInterrupted",
    "ExportOptionError",
    "ExportStatus",
    "ExportSummary",
    "ExportedPhoto",
    "HideMode",
    "explain_export",
    "export_options",
    "export_photos",
    "faces_to_hide",
    "recheck_problems",
]

MANIFEST_NAME = "minorguard-manifest.json"
MANIFEST_FORMAT = 1
# Paint -> write -> re-check rounds before a photo is refused (see _prepare).
# A group photo of adults near the review line can move one more estimate over
# it each round: the 31-face sample took 2-4 rounds in three runs, and at 3 it
# was refused in two of three.
MAX_ATTEMPTS = 5

# errno values that mean "this output folder cannot take files": stop the whole export.
_FATAL_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class HideMode(str, enum.Enum):
    MINORS = "minors"
    UNCONSENTED_AND_UNKNOWN = "unconsented-minors-and-unknown"
    ALL_FACES = "all-faces"

    @classmethod
    def _missing_(cls, value: object) -> HideMode | None:
        """A name in any case, and "all" for all-faces (the web service's first name for it): the command, the
        library and the service take the same names (the command refused what the service took)."""
        if not isinstance(value, str):
            return None
        folded = value.strip().casefold()
        return cls.ALL_FACES if folded == "all" else next((m for m in cls if m.value == folded), None)


class ExportStatus(str, enum.Enum):
    EXPORTED = "exported"
    REFUSED = "refused"  # written, but the re-check still found a face that must be hidden
    ERROR = "error"  # could not be read, checked or written
    EXISTS = "exists"  # an output of that name exists and overwrite was not asked


class ExportOptionError(CodedError, ValueError):
    """A ``hide`` or ``style`` that is not one of the export's (key ``export.bad_option``): named with its values in the
    reader's language, by every entry point alike (the library said Python's "'x' is not a valid HideMode")."""


def export_options(hide: HideMode | str, style: Style | str) -> tuple[HideMode, Style]:
    """``hide`` and ``style`` by their names, as `export --hide/--style` take them; :class:`ExportOptionError` otherwise."""
    chosen = []
    for option, kind, value in (("hide", HideMode, hide), ("style", Style, style)):
        try:
            chosen.append(kind(value))
        except (ValueError, TypeError):
            raise ExportOptionError("export.bad_option", option=option, value=str(value),
                                    allowed=", ".join(m.value for m in kind)) from None
    return chosen[0], chosen[1]


class ExportError(Exception):
    """The export cannot go on (output folder unwritable, disk full, bad manifest); one line for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ExportInterrupted(KeyboardInterrupt):
    """Ctrl-C during an export; ``finished`` are the photos the manifest lists."""

    def __init__(self, finished: tuple[ExportedPhoto, ...], manifest: str) -> None:
        super().__init__()
        self.finished = finished
        self.manifest = manifest


@dataclass(frozen=True, slots=True)
class HiddenFace:
    index: int
    box: Box  # the detector's box, full oriented pixels
    region: Box  # what was painted (the head)
    category: FaceCategory
    action: FaceAction
    reason: ReasonCode
    on_recheck: bool = False  # found on the written copy, not in the source's check


@dataclass(frozen=True, slots=True)
class ExportedPhoto:
    """What happened to one source photo."""

    source: str
    output: str | None  # path relative to the output folder
    status: ExportStatus
    message: str = ""  # English, for the manifest and logs
    source_sha256: str | None = None
    output_sha256: str | None = None
    verdict: Verdict | None = None  # the source's verdict
    verdict_after: Verdict | None = None  # the copy's verdict on re-check
    hidden: tuple[HiddenFace, ...] = ()
    kept_for_review: tuple[int, ...] = ()
    faces: tuple[FaceDecision, ...] = ()
    recheck_faces: tuple[FaceDecision, ...] = ()
    attempts: int = 0
    jpeg_quality: int | None = None
    metadata_removed: tuple[str, ...] = ()
    metadata_kept: tuple[str, ...] = ()
    exported_at: str = ""
    # Why it was not exported, for a reader in any language: a stable code
    # (``export.why.<code>`` in locale/messages.py) and the specifics that need
    # no translation (file names, face positions, the system's own words).
    code: str = ""
    detail: str = ""
    source_error_code: str | None = None  # the photo error code when the source could not be checked


@dataclass(frozen=True, slots=True)
class ExportSummary:
    out_dir: str
    manifest: str
    photos: tuple[ExportedPhoto, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    unsearched_folders: tuple[str, ...] = ()  # sub-folders a run without --recursive did not look into

    @property
    def ok(self) -> bool:
        return all(p.status is ExportStatus.EXPORTED for p in self.photos)


# -- which faces ---------------------------------------------------------------
def _consented(decision: FaceDecision) -> bool:
    if decision.reason is ReasonCode.CONSENT:
        return True
    return decision.consent is not None and bool(decision.consent.record_id) and decision.action is FaceAction.ALLOW


def faces_to_hide(faces: Sequence[FaceDecision], hide: HideMode, keep_review: bool = False) -> list[FaceDecision]:
    """The faces to paint over, by the rules in the module docstring (pure)."""
    hide = HideMode(hide)
    if hide is HideMode.ALL_FACES:
        return list(faces)
    chosen = []
    for face in faces:
        if face.action is FaceAction.BLOCK:
            chosen.append(face)
        elif face.action is FaceAction.REVIEW:
            if not keep_review:
                chosen.append(face)
        elif (
            hide is HideMode.UNCONSENTED_AND_UNKNOWN
            and face.identifiability.identifiable
            and face.category in (FaceCategory.POSSIBLE_MINOR, FaceCategory.UNCERTAIN)
            and not _consented(face)
        ):
            chosen.append(face)
    return chosen


def _inside(face: Box, regions: Sequence[Box]) -> bool:
    cx, cy = face.x + face.width / 2, face.y + face.height / 2
    return any(r.x <= cx <= r.x2 and r.y <= cy <= r.y2 for r in regions) or any(face.iou(r) > 0.2 for r in regions)


def recheck_problems(
    after: Sequence[FaceDecision], regions: Sequence[Box], hide: HideMode, keep_review: bool = False
) -> list[FaceDecision]:
    """Faces on the written copy that mean it must not go out (pure)."""
    rule = {id(f) for f in faces_to_hide(after, hide, keep_review)}
    problems = []
    for face in after:
        if not face.identifiability.identifiable or face.category not in (FaceCategory.POSSIBLE_MINOR, FaceCategory.UNCERTAIN):
            continue
        if _inside(face.box, regions) or id(face) in rule:
            problems.append(face)
    return problems


# -- planning --------------------------------------------------------------------
def _plan(sources: Iterable[str | os.PathLike], out_dir: Path, recursive: bool,
          left_out: list[Path] | None = None, in_output: list[tuple[Path, Path]] | None = None) -> list[tuple[Path, Path]]:
    """(source, output path relative to out_dir) for every photo; folders are mirrored.

    Sub-folders a run without ``recursive`` leaves unsearched go to ``left_out``; photos found in the output folder
    (inside a folder being exported) are not exported again and go to ``in_output``.
    """
    out_real = os.path.realpath(out_dir)
    plan: list[tuple[Path, Path]] = []
    for raw in sources:
        root = Path(os.fsdecode(raw))
        if root.is_dir() and os.path.realpath(root) == out_real:
            # the copies would sit among the originals, and nothing would be found to export: say so, write nothing
            raise ExportError("out_is_source", f"{out_dir} is the folder being exported; choose another output folder")
        if root.is_dir():
            for path in discover_photos([root], recursive, left_out):
                if _within(path, out_real):  # never re-export our own output; what else is there is said (_in_output)
                    if in_output is not None:
                        in_output.append((path, path.relative_to(root)))
                    continue
                plan.append((path, path.relative_to(root)))
        else:
            plan.extend((path, Path(path.name)) for path in discover_photos([root], False))
    return plan


def _within(path: Path, folder_real: str) -> bool:
    real = os.path.realpath(path)
    return real == folder_real or real.startswith(folder_real.rstrip(os.sep) + os.sep)


# -- manifest --------------------------------------------------------------------
class _Manifest:
    """``DIR/minorguard-manifest.json``: entries keyed by output path, rewritten atomically after each photo."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.entries: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
                for entry in previous.get("photos", []):
                    self.entries[entry.get("output") or f"error:{entry.get('source')}"] = entry
                self.header["started_first"] = previous.get("started_first") or previous.get("started")
            except (OSError, ValueError, AttributeError, TypeError):
                raise ExportError(
                    "bad_manifest", f"{path} exists but cannot be read as a minorguard manifest; move it away first"
                ) from None

    def record(self, entry: dict[str, Any]) -> None:
        self.entries[entry.get("output") or f"error:{entry.get('source')}"] = entry

    def save(self, **flags: Any) -> None:
        payload = {
            "minorguard_export": MANIFEST_FORMAT,
            **self.header,
            **flags,
            "updated": _now(),
            "photos": [self.entries[k] for k in sorted(self.entries)],
        }
        atomic_write_text(self.path, json_text(payload, indent=2) + "\n")
        os.chmod(self.path, _file_mode())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT back for a few statements (main thread only), then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


# -- one photo -------------------------------------------------------------------
@dataclass
class _Staged:
    tmp: Path
    dest: Path
    result: ExportedPhoto


def _fatal(error: OSError, where: Path) -> ExportError | None:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return ExportError("disk_full", f"no space left on the device holding {where}; the export stopped")
    if error.errno in _FATAL_ERRNO:
        return ExportError("unwritable", f"cannot write into {where} ({error.strerror}); the export stopped")
    return None


def _load_full(data: bytes) -> tuple[Image.Image, Image.Image]:
    """The source as opened (for its metadata) and upright at full resolution (for its pixels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = Image.open(io.BytesIO(data))
        source.load()
        upright = ImageOps.exif_transpose(source) or source
    return source, upright


def _face_json(face: FaceDecision) -> dict[str, Any]:
    # the manifest holds decisions and boxes, never an embedding
    return {
        "face": face.number,  # as every command and page numbers it (1 = leftmost)
        "index": face.index,
        "box": [round(face.box.x, 1), round(face.box.y, 1), round(face.box.width, 1), round(face.box.height, 1)],
        "category": face.category.value,
        "action": face.action.value,
        "reason": face.reason.value,
        "identifiable": face.identifiability.identifiable,
        "age": round(face.age.expected, 1) if face.age else None,
        "p_under_18": round(face.age.p_under_18, 4) if face.age else None,
        "consent_record": face.consent.record_id if face.consent else None,
        "event_id": face.event.event_id if face.event else None,
    }


def _entry(photo: ExportedPhoto, guard: Guard, hide: HideMode, style: Style, keep_review: bool) -> dict[str, Any]:
    hidden = {h.index: h for h in photo.hidden if not h.on_recheck}
    faces = []
    for face in photo.faces:
        item = _face_json(face)
        item["hidden"] = face.index in hidden
        if face.index in hidden:
            r = hidden[face.index].region
            item["region"] = [int(r.x), int(r.y), int(r.width), int(r.height)]
        item["kept_for_review"] = face.index in photo.kept_for_review
        faces.append(item)
    return {
        "source": photo.source,
        "output": photo.output,  # where the copy is (status exported) or would have been
        "status": photo.status.value,
        "message": photo.message,
        "code": photo.code or None,
        "source_sha256": photo.source_sha256,
        "output_sha256": photo.output_sha256,
        "verdict": photo.verdict.value if photo.verdict else None,
        "verdict_after": photo.verdict_after.value if photo.verdict_after else None,
        "faces": faces,
        "hidden": len(photo.hidden),
        "hidden_on_recheck": [
            {"box": [round(v, 1) for v in (h.box.x, h.box.y, h.box.width, h.box.height)],
             "region": [int(h.region.x), int(h.region.y), int(h.region.width), int(h.region.height)],
             "category": h.category.value, "action": h.action.value}
            for h in photo.hidden if h.on_recheck
        ],
        "recheck_faces": [_face_json(f) for f in photo.recheck_faces],
        "attempts": photo.attempts,
        "jpeg_quality": photo.jpeg_quality,
        "metadata_removed": list(photo.metadata_removed),
        "metadata_kept": list(photo.metadata_kept),
        "hide": hide.value,
        "style": style.value,
        "keep_review": keep_review,
        "model_pack": guard.pack_label,
        "policy_version": guard.policy.version,
        "at": photo.exported_at or _now(),
    }


def _prepare(
    guard: Guard,
    source: Path,
    rel: Path,
    out_dir: Path,
    hide: HideMode,
    style: Style,
    keep_review: bool,
    context: CheckContext,
    rng: np.random.Generator | None,
) -> _Staged | ExportedPhoto:
    """Check, paint, encode, write to a temporary file, re-check. Returns the staged file or the reason it failed."""
    name = str(source)
    out_rel = rel.as_posix()
    result: PhotoResult = guard.check(source, context, first_frame_of_mpo=True)  # an MPO's copy is its first frame
    if result.frames > 1:  # a copy would keep one frame or need every frame painted: refused, with the reason
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: {result.frames} frames; export its frames as photos",
                             result.sha256, verdict=result.verdict, code="multi_frame", detail=str(result.frames))
    if result.verdict is Verdict.ERROR:
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, result.error or "cannot be checked", result.sha256, verdict=result.verdict,
                             code="not_checked", detail=result.error or "", source_error_code=result.error_code)
    try:
        data = source.read_bytes()
    except OSError as error:
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: cannot read ({error.strerror})", result.sha256,
                             code="unreadable", detail=str(error.strerror))
    sha = hashlib.sha256(data).hexdigest()
    base = {"source_sha256": sha, "verdict": result.verdict, "faces": result.faces}
    if sha != result.sha256:
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: the file changed while it was being checked", **base, code="changed")
    hide_faces = faces_to_hide(result.faces, hide, keep_review)
    kept = tuple(f.index for f in result.faces if f.action is FaceAction.REVIEW and f not in hide_faces)
    try:
        original, upright = _load_full(data)
    except (OSError, ValueError, SyntaxError, MemoryError) as error:
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: cannot decode at full size ({error})", **base, code="undecodable", detail=str(error))
    if (upright.width, upright.height) != (result.width, result.height):
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: size differs between check and export", **base, code="size_differs")
    flattened = hidden_colour(upright) is not None
    if flattened:
        # the copy holds what was judged, the picture over mid-grey: a child kept in the colour under the transparency
        # (alpha 0 or 1) would pass to anyone who reads the colour back (an audit's copy kept both girls so)
        upright = as_shown(upright)
        original.info.pop("transparency", None)  # a colour key would make a painted or grey pixel transparent again
    hidden = []
    for face in hide_faces:
        region = head_region(face.box, upright.width, upright.height)
        if region is not None:
            hidden.append(HiddenFace(face.index, face.box, region, face.category, face.action, face.reason))
    dest = out_dir / rel
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        os.chmod(tmp_name, _file_mode())  # mkstemp makes 0600; a copy for upload is an ordinary file
    except OSError as error:
        fatal = _fatal(error, dest.parent)
        if fatal:
            raise fatal from None
        return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: cannot create {dest.parent} ({error.strerror})", **base,
                                 code="cannot_create", detail=f"{dest.parent}: {error.strerror}")
    tmp = Path(tmp_name)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            painted = redact_image(upright, [h.region for h in hidden], style, rng)
            try:
                encoded = encode_like(original, data, painted)
            except EncodeError as error:
                tmp.unlink(missing_ok=True)
                return ExportedPhoto(name, out_rel, ExportStatus.ERROR, f"{name}: {error}", hidden=tuple(hidden), **base,
                                     code="cannot_encode", detail=str(error))
            _write(tmp, encoded.data, dest.parent)
            after = guard.check(tmp, context, label=str(dest))
            if getattr(original, "n_frames", 1) <= 1:  # an MPO's decisions were matched by box from any of its frames
                after = _with_source_reviews(guard, sha, after)
            common = {
                **base,
                "output_sha256": hashlib.sha256(encoded.data).hexdigest(),
                "verdict_after": after.verdict,
                "hidden": tuple(hidden),
                "kept_for_review": kept,
                "recheck_faces": after.faces,
                "attempts": attempt,
                "jpeg_quality": encoded.quality,
                "metadata_removed": (*encoded.removed, TRANSPARENCY) if flattened else encoded.removed,
                "metadata_kept": encoded.kept,
                "exported_at": _now(),
            }
            if after.verdict is Verdict.ERROR:
                tmp.unlink(missing_ok=True)
                message = f"the written copy cannot be checked again: {after.error}"
                return ExportedPhoto(name, out_rel, ExportStatus.REFUSED, message, **common, code="recheck_failed", detail=after.error or "")
            regions = [h.region for h in hidden]
            problems = recheck_problems(after.faces, regions, hide, keep_review)
            if not problems:
                return _Staged(tmp, dest, ExportedPhoto(name, out_rel, ExportStatus.EXPORTED, **common))
            # A face outside the paint that now needs hiding (its age estimate moved
            # across the line after re-encoding) is hidden too; a hit inside the paint
            # is the detector seeing a face in random blocks, and a fresh draw of the
            # noise decides again. Either way the next copy is checked from scratch.
            for face in problems:
                if not _inside(face.box, regions):
                    region = head_region(face.box, upright.width, upright.height)
                    if region is not None:
                        hidden.append(HiddenFace(face.index, face.box, region, face.category, face.action, face.reason, True))
        tmp.unlink(missing_ok=True)
        boxes = [f"({p.box.x:.0f}, {p.box.y:.0f}) {p.box.width:.0f}x{p.box.height:.0f} px" for p in problems]
        where = ", ".join(f"face at {b}" for b in boxes)
        message = f"re-check still finds an identifiable possible minor after {MAX_ATTEMPTS} attempts: {where}"
        return ExportedPhoto(name, out_rel, ExportStatus.REFUSED, message, **common, code="still_minor", detail="; ".join(boxes))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _with_source_reviews(guard: Guard, source_sha: str, after: PhotoResult) -> PhotoResult:
    """The copy is a new file (new sha256), yet reviewers' decisions about the source's faces still hold for it."""
    if guard.reviews is None or after.verdict is Verdict.ERROR or not after.faces:
        return after
    from minorguard.rules.decide import photo_verdict
    from minorguard.rules.reviews import apply_override

    overrides = guard.reviews.overrides(source_sha, after.faces)
    faces = tuple(apply_override(face, o) for face, o in zip(after.faces, overrides))
    return replace(after, faces=faces, verdict=photo_verdict(faces))


def _file_mode() -> int:
    """0666 less the process umask: what ``open()`` would have given the file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write(tmp: Path, data: bytes, folder: Path) -> None:
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        fatal = _fatal(error, folder)
        if fatal:
            raise fatal from None
        raise


def _commit(staged: _Staged, overwrite: bool) -> ExportedPhoto:
    """Move the checked temporary file into place; without ``overwrite`` an existing file wins."""
    try:
        if overwrite:
            os.replace(staged.tmp, staged.dest)
        else:
            try:
                os.link(staged.tmp, staged.dest)  # fails if dest exists: no race with another writer
            except FileExistsError:
                staged.tmp.unlink(missing_ok=True)
                r = staged.result
                return ExportedPhoto(r.source, r.output, ExportStatus.EXISTS, "output exists; --overwrite replaces it",
                                     r.source_sha256, verdict=r.verdict, faces=r.faces)
            except OSError as error:
                if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
                if staged.dest.exists():  # no hard links here (FAT, some network shares)
                    staged.tmp.unlink(missing_ok=True)
                    r = staged.result
                    return ExportedPhoto(r.source, r.output, ExportStatus.EXISTS, "output exists; --overwrite replaces it",
                                         r.source_sha256, verdict=r.verdict, faces=r.faces)
                os.replace(staged.tmp, staged.dest)
            staged.tmp.unlink(missing_ok=True)
    except OSError as error:
        staged.tmp.unlink(missing_ok=True)
        fatal = _fatal(error, staged.dest.parent)
        if fatal:
            raise fatal from None
        r = staged.result
        return ExportedPhoto(r.source, r.output, ExportStatus.ERROR, f"cannot write {staged.dest} ({error.strerror})",
                             r.source_sha256, verdict=r.verdict, faces=r.faces,
                             code="cannot_write", detail=f"{staged.dest}: {error.strerror}")
    return staged.result


# -- the batch -------------------------------------------------------------------
def export_photos(
    guard: Guard,
    sources: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    hide: HideMode | str = HideMode.MINORS,
    style: Style | str = Style.MOSAIC,
    keep_review: bool = False,
    overwrite: bool = False,
    context: CheckContext | None = None,
    recursive: bool = False,
    progress: Callable[[ExportedPhoto], None] | None = None,
    audit: Callable[[dict[str, Any]], None] | None = None,
    rng: np.random.Generator | None = None,
    workers: int | None = None,
) -> ExportSummary:
    """Write publishable copies of ``sources`` (files or folders) under ``out_dir``.

    Folders are mirrored (``recursive`` descends into sub-folders); a file
    given directly lands at the top of ``out_dir``. Returns a summary; raises
    :class:`ExportError` when the output folder cannot take files (the
    manifest then lists what was finished) and ``discover.MissingPath`` for a
    source that does not exist. ``progress`` is called after each photo;
    ``audit`` receives one entry per exported photo for the audit log.
    ``workers`` photos are prepared at once (default: up to 2 cores); results
    are committed in input order either way.
    """
    hide, style = export_options(hide, style)
    context = context or CheckContext()
    out = Path(os.fsdecode(out_dir))
    left_out: list[Path] = []
    in_output: list[tuple[Path, Path]] = []
    plan = _plan(sources, out, recursive, left_out, in_output)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise (
            _fatal(error, out) or ExportError("unwritable", f"cannot use {out} as the output folder ({error.strerror or error})")
        ) from None
    manifest = _Manifest(out / MANIFEST_NAME, _header(guard, hide, style, keep_review, overwrite, context))
    batch = _Batch(guard, manifest, hide, style, keep_review, overwrite, audit)
    jobs = _jobs(plan, out, overwrite, rng) + _in_output(in_output, out, manifest)
    workers = max(1, workers or min(2, os.cpu_count() or 1))

    def prepare(job: _Job) -> _Staged | ExportedPhoto:
        previous = manifest.entries.get(job.rel.as_posix())
        if job.early is not None and job.early.status is ExportStatus.EXISTS and _describes_the_copy(previous):
            return _changed_copy(job.early, out / job.rel, previous) or _stale_or_kept(
                guard, job.early, job.source, previous, hide, keep_review, context)
        if job.early is not None:
            return job.early
        return _prepare(guard, job.source, job.rel, out, hide, style, keep_review, context, job.rng)

    try:
        manifest.save(complete=False)
        # Photos are prepared (checked, painted, written to a temporary name,
        # re-checked) on worker threads, a few ahead; they are committed and
        # recorded here, in input order, on the calling thread.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minorguard-export") as pool:
            pending: deque[tuple[_Job, Future]] = deque()
            queue = iter(jobs)
            try:
                for job in itertools.islice(queue, workers):
                    pending.append((job, pool.submit(prepare, job)))
                while pending:
                    job, future = pending[0]
                    # the job leaves `pending` only inside the try: an interrupt at any
                    # point leaves its temporary file to _abandon or to the finally
                    staged = future.result()
                    try:
                        pending.popleft()
                        for nxt in itertools.islice(queue, 1):
                            pending.append((nxt, pool.submit(prepare, nxt)))
                        with _interrupts_deferred():  # the file and its manifest entry appear together
                            photo = batch.finish(staged, out / job.rel)
                    finally:
                        if isinstance(staged, _Staged):
                            staged.tmp.unlink(missing_ok=True)
                    if progress:
                        progress(photo)
            except BaseException:
                _abandon(pending)
                raise
        manifest.save(complete=True)
    except KeyboardInterrupt as interrupt:
        with contextlib.suppress(OSError):
            manifest.save(complete=False, interrupted=True)
        raise ExportInterrupted(tuple(batch.photos), str(manifest.path)) from interrupt
    except ExportError:
        with contextlib.suppress(OSError):
            manifest.save(complete=False, stopped=True)
        raise
    except OSError as error:
        fatal = _fatal(error, out)
        if fatal:
            raise fatal from None
        raise
    counts: dict[str, int] = {}
    for p in batch.photos:
        counts[p.status.value] = counts.get(p.status.value, 0) + 1
    unsearched = tuple(str(p) for p in left_out if not _within(p, os.path.realpath(out)))
    return ExportSummary(str(out), str(manifest.path), tuple(batch.photos), counts, unsearched)


@dataclass(frozen=True)
class _Job:
    source: Path
    rel: Path
    early: ExportedPhoto | None  # decided without opening the photo (name clash, existing output)
    rng: np.random.Generator | None


def _jobs(plan: list[tuple[Path, Path]], out: Path, overwrite: bool, rng: np.random.Generator | None) -> list[_Job]:
    jobs, seen = [], {}
    real_out = Path(os.path.realpath(out))
    for source, rel in plan:
        key, dest = rel.as_posix(), out / rel
        early = None
        if key in seen:
            early = ExportedPhoto(str(source), None, ExportStatus.ERROR, f"{source}: same output name as {seen[key]}",
                                  code="same_output_name", detail=str(seen[key]))
        elif _same_file(source, dest):
            early = ExportedPhoto(str(source), None, ExportStatus.ERROR, f"{source}: output would replace the original",
                                  code="would_replace_original")
        elif not Path(os.path.realpath(dest)).is_relative_to(real_out):
            # a symbolic link in the output folder leads elsewhere: --overwrite would replace whatever is there,
            # an original photo included
            early = ExportedPhoto(str(source), None, ExportStatus.ERROR,
                                  f"{source}: its copy's place {key} leads outside the output folder through a link",
                                  code="outside_output", detail=key)
        elif dest.exists() and not overwrite:
            early = ExportedPhoto(str(source), key, ExportStatus.EXISTS, "output exists; --overwrite replaces it")
        seen.setdefault(key, str(source))
        # one generator per photo, drawn in input order: a seeded run gives the same pixels on any number of threads
        child = None if rng is None else np.random.default_rng(int(rng.integers(2**63)))
        jobs.append(_Job(source, rel, early, child))
    return jobs


def _in_output(found: list[tuple[Path, Path]], out: Path, manifest: _Manifest) -> list[_Job]:
    """An error for each photo in the output folder that is not a copy this folder's manifest describes: the output
    folder lay inside a folder exported with its sub-folders, and an original there was skipped without a word,
    unchecked, in the folder an officer publishes."""
    jobs = []
    real_out = os.path.realpath(out)
    for path, rel in found:
        key = Path(os.path.relpath(os.path.realpath(path), real_out)).as_posix()
        entry = manifest.entries.get(key)
        try:
            ours = _describes_the_copy(entry) and entry is not None and sha256_of_file(path) == entry.get("output_sha256")
        except OSError:
            ours = False
        if not ours:
            early = ExportedPhoto(str(path), None, ExportStatus.ERROR,
                                  f"{path}: lies in the output folder, was not checked and is not a copy this export made; "
                                  "move it out of the output folder", code="in_output_folder", detail=key)
            jobs.append(_Job(path, rel, early, None))
    return jobs


def _abandon(pending: deque[tuple[_Job, Future]]) -> None:
    """Stop what was queued, let running photos finish, and delete their temporary files."""
    for _, future in pending:
        future.cancel()
    wait([future for _, future in pending])
    for _, future in pending:
        if future.cancelled() or future.exception() is not None:
            continue
        staged = future.result()
        if isinstance(staged, _Staged):
            staged.tmp.unlink(missing_ok=True)


def _header(guard: Guard, hide: HideMode, style: Style, keep_review: bool, overwrite: bool, context: CheckContext) -> dict:
    return {
        "tool": "minorguard",
        "tool_version": _version(),
        "model_pack": guard.pack_label,
        "policy_version": guard.policy.version,
        "settings": {
            "hide": hide.value,
            "style": style.value,
            "keep_review": keep_review,
            "overwrite": overwrite,
            "head_region": {"width_factor": HEAD_WIDTH_FACTOR, "above": HEAD_ABOVE, "below": HEAD_BELOW},
            "mosaic_blocks_per_head": MOSAIC_BLOCKS,
            "channel": context.channel,
            "date": context.when.isoformat(),
            "event_id": context.event_id,
        },
        "started": _now(),
    }


class _Batch:
    """Commits finished photos and records them; one instance per export run."""

    def __init__(self, guard: Guard, manifest: _Manifest, hide: HideMode, style: Style, keep_review: bool,
                 overwrite: bool, audit: Callable[[dict[str, Any]], None] | None) -> None:
        self.guard, self.manifest, self.hide, self.style = guard, manifest, hide, style
        self.keep_review, self.overwrite, self.audit = keep_review, overwrite, audit
        self.photos: list[ExportedPhoto] = []

    def finish(self, staged: _Staged | ExportedPhoto, dest: Path) -> ExportedPhoto:
        if isinstance(staged, _Staged):
            photo = _commit(staged, self.overwrite)
        else:
            photo = staged
            if self.overwrite and photo.output and photo.status is not ExportStatus.EXISTS and dest.is_file():
                # an earlier copy of a photo that now fails must not stay in a folder meant for upload
                dest.unlink()
                photo = _with_message(photo, photo.message + "; the earlier copy was removed")
        previous = self.manifest.entries.get(photo.output or "")
        entry = _entry(photo, self.guard, self.hide, self.style, self.keep_review)
        if photo.code in ("stale_copy", "copy_changed") and previous:
            # the entry keeps describing the copy on disk (what it hides), now marked stale and why
            entry = {**previous, "status": photo.status.value, "code": photo.code, "message": photo.message,
                     "verdict": entry["verdict"], "found_stale_at": entry["at"]}
        if self.audit is not None and photo.status is ExportStatus.EXPORTED:
            try:
                self.audit(
                    {
                        "action": "export",
                        "source_sha256": photo.source_sha256,
                        "output_sha256": photo.output_sha256,
                        # never the file names (a name can name a child, and the log is never erased): the
                        # manifest names the copy; the sha256s find it there (`audit relied --manifest`)
                        "hidden_faces": len(photo.hidden),
                        "hide": self.hide.value,
                        "policy_version": self.guard.policy.version,
                        # each face's decision and the consent or event it rested on: what a withdrawal must find
                        "faces": entry["faces"],
                    }
                )
            except BaseException:
                # a copy the audit log does not know of must not wait in a folder meant for upload (nor in the manifest)
                dest.unlink(missing_ok=True)
                raise
        elif self.audit is not None and photo.status in (ExportStatus.REFUSED, ExportStatus.ERROR):
            # a copy refused, a photo that could not be judged, a stale copy: decisions too, audited as scan audits
            # its ERROR results (an audit found them missing from the log)
            self.audit({"action": "export_refused", "status": photo.status.value, "code": photo.code,
                        "source_sha256": photo.source_sha256, "verdict": entry["verdict"], "hide": self.hide.value,
                        "policy_version": self.guard.policy.version, "faces": entry["faces"]})
        if photo.status is ExportStatus.EXISTS and previous and previous.get("status") == ExportStatus.EXPORTED.value:
            pass  # the file is the one the manifest already describes: keep that entry
        else:
            self.manifest.record(entry)
        self.manifest.save(complete=False)
        self.photos.append(photo)
        return photo


def _describes_the_copy(entry: dict[str, Any] | None) -> bool:
    """Whether a manifest entry says what the copy on disk shows: an export, or one found stale since."""
    return bool(entry) and (entry.get("status") == ExportStatus.EXPORTED.value or entry.get("code") in ("stale_copy", "copy_changed"))


def _changed_copy(kept: ExportedPhoto, dest: Path, previous: dict[str, Any]) -> ExportedPhoto | None:
    """An error when the file at the copy's place is not the copy the manifest describes: a sync tool or a person
    put the original back there, and "exists" let it wait in a folder meant for upload, listed as a redacted copy."""
    try:
        on_disk = sha256_of_file(dest)
    except OSError:
        return None  # cannot be read here: no worse than a file export did not make
    if on_disk == previous.get("output_sha256"):
        return None
    return _with_message(
        replace(kept, status=ExportStatus.ERROR, code="copy_changed", detail=kept.output or ""),
        f"{kept.output}: the file already there is not the copy this export made (it changed since): it may show what the"
        " copy hid; check it, then export with --overwrite",
    )


def _stale_or_kept(guard: Guard, kept: ExportedPhoto, source: Path, previous: dict[str, Any], hide: HideMode,
                   keep_review: bool, context: CheckContext) -> ExportedPhoto:
    """A copy already in the folder (kept without overwrite), checked against what this export would hide now.

    After a consent is withdrawn or a reviewer's decision changes, a copy made before shows a face that must now be
    hidden; "exists" (exit 1) let it wait in a folder meant for upload as if nothing had changed. The source is judged
    again (no painting) and a face to hide now that the manifest's entry for the copy did not hide makes it an error.
    A changed source, or one that cannot be judged, leaves the copy as it was found: "exists"."""
    result = guard.check(source, context, first_frame_of_mpo=True)
    if result.verdict is Verdict.ERROR or result.sha256 != previous.get("source_sha256"):
        return kept
    was_hidden = {f.get("index") for f in previous.get("faces") or () if f.get("hidden")}
    newly = sorted(f.number for f in faces_to_hide(result.faces, hide, keep_review) if f.index not in was_hidden)
    if not newly:
        return kept
    numbers = ", ".join(map(str, newly))
    return _with_message(
        replace(kept, status=ExportStatus.ERROR, code="stale_copy", detail=f"{kept.output}: {numbers}", verdict=result.verdict,
                faces=result.faces, source_sha256=result.sha256),
        f"{kept.output}: the copy already there shows face {numbers}, which must now be hidden; export with --overwrite"
        " (and take down any copy already published)",
    )


def _with_message(photo: ExportedPhoto, message: str) -> ExportedPhoto:
    return replace(photo, message=message)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _version() -> str:
    from minorguard.version import __version__

    return __version__


def explain_export(photo: ExportedPhoto, lang: str = "en") -> str:
    """Why a photo was not exported, in ``lang``: the reason by its code, then the specifics. The manifest keeps
    the English message; the specifics (file names, face positions, the system's own words) need no translation."""
    from minorguard.locale import t
    from minorguard.report.files import explain_photo_error

    reason = t(f"export.why.{photo.code}", lang, n=MAX_ATTEMPTS)
    if photo.code == "not_checked" and photo.detail:
        # the photo error's own translation (it keeps the English text where it has none)
        return f"{reason}: {explain_photo_error(photo.source, photo.source_error_code, photo.detail, lang)}"
    return f"{reason}: {photo.detail}" if photo.detail else reason
