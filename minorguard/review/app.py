"""The review page's state and actions, with no HTTP in it (the server only routes).

It holds the scan's results (the models' decisions), reads and writes reviewer
decisions through ``consent_db.reviews.Reviews``, and answers in plain JSON.
A photo whose bytes changed since the scan is marked changed: its old
decisions do not apply to it and no new one can be recorded until it is
scanned again.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date as Date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from minorguard.locale import t
from minorguard.locale.coded_error import CodedError
from minorguard.photos.decode import PhotoError, load_photo
from minorguard.photos.thumbnail import load_preview
from minorguard.report.files import explain_error, explain_face, explain_photo_error
from minorguard.report.html import face_kind
from minorguard.report.people import Person, people_of, side_key
from minorguard.report.thumbs import face_thumbnail, preview_or_none
from minorguard.rules.decide import categorize, photo_verdict
from minorguard.rules.hints import hint_text
from minorguard.rules.policy import Policy
from minorguard.rules.reviews import FaceReview, apply_override, assign_to_faces, models_own, standing, to_override
from minorguard.types import FaceAction, FaceCategory, FaceDecision, PhotoResult, ReasonCode, Verdict

# Decisions that let a face through: on a row of possible minors they cover only ticked faces.
ALLOWING_KINDS = ("adult", "consent")

if TYPE_CHECKING:
    from consent_db.reviews import Reviews

__all__ = ["UI_KEYS", "ReviewApp", "ReviewProblem", "ReviewedResults", "models_results"]

UI_KEYS = (
    "review.title", "review.reviewer", "review.reviewer_needed", "review.reason", "review.adult", "review.consent",
    "review.hide", "review.clear", "review.confirm", "review.search", "review.no_match", "review.covers",
    "review.not_covers", "review.never", "review.pending", "review.todo", "review.keys", "review.history",
    "review.nothing", "review.saved", "review.withdrawn", "review.valid", "review.channels", "review.model",
    "review.changed", "review.link", "review.cancel", "review.other_photos", "face", "html.no_preview",
    "kind.blocked", "kind.review", "kind.consent", "kind.exemption", "kind.adult", "kind.not_identifiable",
    "verdict.PASS", "verdict.REVIEW", "verdict.BLOCK", "verdict.ERROR",
    "review.people", "review.person", "review.person_todo",
    "review.person_mixed", "review.person_all", "review.tick_face", "review.tick_each_face", "review.remember", "review.remember_name", "review.remember_role",
    "review.remember_expires", "review.remember_save", "review.remembered", "review.in_person", "review.errors",
    "review.did.adult", "review.did.consent", "review.did.hide", "review.did.clear", "review.did.confirm",
)


_UNSET = object()


class ReviewProblem(Exception):
    """A refused request: HTTP status and one line for the reviewer; ``code`` (the message's catalogue key) and
    ``field`` (the request's field at fault) where a program sending requests can act on them."""

    def __init__(self, status: int, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.field = field


class ReviewedResults(CodedError, ValueError):
    """Results whose faces carry reviewers' decisions without the models' own (a ``scan --json`` of a version
    before reports kept both).

    The page applies the stored decisions itself on the models' own ones; given a
    reviewer's ALLOW as the models' decision, an undo left the face allowed on the
    page while ``scan`` blocked it again. Such a face does not say what the models
    decided (the override replaces the category, the consent found and the known
    adult matched), so the page refuses the results rather than guess.
    """

    catalogue = "review"

    def __init__(self, name: str, face: int, faces: int) -> None:
        super().__init__("already_reviewed", name=name, face=face, n=faces)


def models_results(results: Iterable[PhotoResult]) -> list[PhotoResult]:
    """``results`` as the models and the register decided them, before any reviewer's decision.

    A report written with the register's reviews keeps each reviewed face's own decision beside the
    reviewer's; the page starts from those and applies the register's decisions as they stand now (an
    undo since the report gives back the models' decision). :class:`ReviewedResults` when a reviewed face
    does not say what the models decided.
    """
    results = list(results)
    unknown = [(r, d) for r in results for d in (*r.faces, *r.preview_faces)
               if d.reason is ReasonCode.REVIEWER and d.models_decision is None]
    if unknown:
        first, face = unknown[0]
        raise ReviewedResults(first.source, face.number, len(unknown))
    own = []
    for r in results:
        if not any(d.models_decision is not None for d in (*r.faces, *r.preview_faces)):
            own.append(r)
            continue
        faces = tuple(models_own(d) for d in r.faces)
        previews = tuple(models_own(d) for d in r.preview_faces)
        verdict = r.verdict if r.error else photo_verdict([*faces, *previews])
        own.append(replace(r, faces=faces, preview_faces=previews, verdict=verdict))
    return own


def _shown_value(value: Any) -> str:
    """What a client sent, as JSON writes it (``Infinity``, ``true``, ``1.9``), cut short."""
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _whole(payload: dict[str, Any], name: str, lang: str, missing_key: str) -> int:
    """A whole number the request must carry. JSON's ``true`` is a Python int and ``1.9`` or ``Infinity`` would
    be rounded or overflow: only a plain integer names a photo, a face or a person."""
    value = payload.get(name)
    if value is None:
        raise ReviewProblem(400, t(missing_key, lang), code=missing_key, field=name)
    return _whole_value(value, name, lang)


def _whole_value(value: Any, name: str, lang: str) -> int:
    if type(value) is not int:
        raise ReviewProblem(400, t("review.bad_number", lang, field=name, value=_shown_value(value)),
                            code="review.bad_number", field=name)
    return value


def _text(payload: dict[str, Any], name: str, lang: str) -> str:
    """A text field (absent or null: empty); any other type is refused, not turned into its Python spelling."""
    value = payload.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReviewProblem(400, t("review.bad_text", lang, field=name, value=_shown_value(value)),
                            code="review.bad_text", field=name)
    return value


def _sha256_file(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


# a match that points to a child but cannot settle the face alone: a person confirms, starting from that child
# (a match over the threshold with no close runner-up: a weak or ambiguous one points as often to a stranger)
_CONFIRM_MATCH = frozenset({ReasonCode.CONSENT_YOUNG, ReasonCode.CONSENT_MINOR_THRESHOLD, ReasonCode.CONSENT_INFANT})


def _suggested_child(d: FaceDecision) -> str | None:
    c = d.consent
    return c.child_ref if d.reason in _CONFIRM_MATCH and c is not None and c.confident and not c.ambiguous else None
_CHILD_ID = re.compile(r"ch-[0-9a-f]{8}")


def _pct(box, width: int | None, height: int | None) -> list[float]:
    w, h = float(width or 1), float(height or 1)
    return [round(100 * box.x / w, 3), round(100 * box.y / h, 3), round(100 * box.width / w, 3), round(100 * box.height / h, 3)]


def _decidable(d: FaceDecision) -> bool:
    # what the reviewer cannot change: a face nobody can recognise, and a child on the never-publish list
    return d.category is not FaceCategory.NOT_IDENTIFIABLE and d.reason is not ReasonCode.NEVER_PUBLISH


# Why no reviewer decides any face of a result, first reason first; scans apply no stored decision to either
_NOT_DECIDABLE = (
    # a differing preview's boxes are the preview's: stored, or enrolled as a known adult, they would land on the
    # picture's faces
    ("review.preview_not_decidable", lambda r: bool(r.preview)),
    # a review record names no frame: matched by box, one frame's decision would settle faces of every frame
    ("review.frames_not_decidable", lambda r: r.frames > 1),
)


def _not_decidable(results: Iterable[PhotoResult]) -> str | None:
    """The message key of the first reason why these results' faces cannot be decided, or ``None``."""
    results = list(results)
    return next((key for key, applies in _NOT_DECIDABLE if any(applies(r) for r in results)), None)


class ReviewApp:
    """Everything the page can see and do, for one set of scan results."""

    def __init__(
        self,
        results: Sequence[PhotoResult],
        reviews: Reviews,
        policy: Policy,
        *,
        lang: str = "sq",
        base_dir: str | os.PathLike | None = None,
        channel: str | None = None,
        when: Date | None = None,
        event_id: str | None = None,
        groups: Sequence[Any] | None = None,
        guard: Any = None,
        purpose: str | None = None,
    ) -> None:
        """``groups``: the scan's groups by person (FaceGroups or the JSON report's list); without
        them the faces' own group numbers are used. ``guard`` (a Guard, or a function that
        makes one) lets the page remember a person as a known adult; without it, it cannot."""
        from minorguard.application.reviews import register_consent_check

        self.reviews = reviews
        self.policy = policy
        self.lang = lang
        self.channel, self.when, self.event_id = channel, when or Date.today(), event_id
        self.consent_check = register_consent_check(reviews.register, channel, self.when, event_id, purpose, lang)
        base = Path(base_dir) if base_dir is not None else None
        self.results = models_results(results)
        self.paths: list[Path] = []
        for r in self.results:
            path = Path(r.source)
            if base is not None and not path.is_absolute() and not path.exists() and (base / path).exists():
                path = base / path
            self.paths.append(path)
        self.people = {p.id: p for p in people_of(self.results, policy, groups)}
        self._person_of = {at: p.id for p in self.people.values() for at in p.faces}
        self._guard = guard
        self._lock = threading.Lock()  # one writer at a time keeps "the later decision wins" simple to reason about
        self._previews: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._shas: dict[int, tuple[tuple[int, int, int], str | None]] = {}

    # -- reading ------------------------------------------------------------
    def _photo(self, photo_id: int) -> PhotoResult:
        if not 0 <= photo_id < len(self.results):
            raise ReviewProblem(404, t("review.no_photo", self.lang, id=photo_id))
        return self.results[photo_id]

    def _current_sha(self, photo_id: int) -> str | None:
        """The file's sha256 now; re-hashed only when its size or modification time moved."""
        path = self.paths[photo_id]
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        cached = self._shas.get(photo_id)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        sha = _sha256_file(path)
        self._shas[photo_id] = (stamp, sha)
        return sha

    def _standings(self, result: PhotoResult, records) -> list[FaceReview]:
        if _not_decidable([result]):
            return [standing([], False) for _ in result.faces]
        per_face = assign_to_faces(records, [d.box for d in result.faces])
        return [standing(rows, self.policy.second_reviewer_required) for rows in per_face]

    def photo_state(self, photo_id: int, records=None, current_sha: str | object | None = _UNSET) -> dict[str, Any]:
        r = self._photo(photo_id)
        sha_now = self._current_sha(photo_id) if current_sha is _UNSET else current_sha
        missing = sha_now is None
        changed = not missing and r.sha256 is not None and sha_now != r.sha256
        if records is None:
            records = self.reviews.for_photo(r.sha256) if r.sha256 and not changed else []
        standings = self._standings(r, records) if not changed else [standing([], False) for _ in r.faces]
        faces, effective = [], []
        for d, review in zip(r.faces, standings):
            after = apply_override(d, to_override(review, d, self.consent_check, self.lang))
            effective.append(after)
            faces.append(self._face_state(r, d, after, review, self._person_of.get((photo_id, d.index))))
        # a differing preview's faces went with the picture's result: no reviewer decides them (their boxes are
        # the preview's), and they count as scanned
        verdict = r.verdict if r.error or changed else photo_verdict([*effective, *r.preview_faces])
        return {
            "id": photo_id, "source": r.source, "name": Path(r.source).name, "sha256": r.sha256,
            "changed": changed, "missing": missing, "error": r.error, "width": r.width, "height": r.height,
            "version": (sha_now or "none")[:12],  # in image URLs: a browser never shows a cached old picture
            "model_verdict": r.verdict.value, "verdict": verdict.value,
            "faces": faces, "notes": [hint_text(h, self.lang) for h in r.hints]
            + ([t("review.frames_not_decidable", self.lang)] if r.frames > 1 else []),
        }

    def _face_state(
        self, r: PhotoResult, before: FaceDecision, after: FaceDecision, review: FaceReview, person: int | None
    ) -> dict[str, Any]:
        current = review.current
        size = len(self.people[person].faces) if person is not None else 0
        return {
            "index": before.index,
            "face": before.number,
            "person": person if size > 1 else None,  # a person seen once is decided on their photo
            "box": _pct(before.box, r.width, r.height),
            "flagged": before.action is not FaceAction.ALLOW or before.reason is ReasonCode.REVIEWER or bool(review.history),
            "decidable": _decidable(before) and _not_decidable([r]) is None,
            "model_kind": face_kind(before),
            "model_text": explain_face(before, self.lang),
            # the enrolled child a match pointed to when it could not settle the face alone: the consent dialog opens on it
            "suggested_child": _suggested_child(before),
            "kind": face_kind(after),
            "text": explain_face(after, self.lang),
            "current": None if current is None else {
                "seq": current.seq, "kind": current.kind, "reviewer": current.reviewer, "reason": current.reason,
                "consent_id": current.consent_id, "at": current.decided_at.strftime("%Y-%m-%d %H:%M UTC"),
            },
            "pending_second": review.pending_second,
            "confirmed_by": sorted({c.reviewer for c in review.confirmations}),
            "history": [
                {"seq": h.seq, "kind": h.kind, "reviewer": h.reviewer, "reason": h.reason, "consent_id": h.consent_id,
                 "confirms": h.confirms, "at": h.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC")}
                for h in review.history
            ],
        }

    def state(self) -> dict[str, Any]:
        """Every photo that has a face to review (or a reviewed one), worst first; counts of the rest."""
        records = self.reviews.for_photos([r.sha256 for r in self.results if r.sha256])
        photos, others, every, errors = [], Counter(), {}, []
        for i, r in enumerate(self.results):
            if r.error or r.verdict is Verdict.ERROR:
                # a photo nobody could judge needs a person as much as a flagged face does: named with its reason
                errors.append({"id": i, "source": r.source, "name": Path(r.source).name, "code": r.error_code,
                               "reason": explain_error(r, self.lang) or r.source})
            if r.error or not r.faces:
                others[r.verdict.value] += 1
                continue
            sha_now = self._current_sha(i)
            state = self.photo_state(i, records.get(r.sha256 or "", []) if sha_now == r.sha256 else None, sha_now)
            every[i] = state
            if any(f["flagged"] for f in state["faces"]):
                photos.append(state)
            else:
                others[state["verdict"]] += 1
        rank = {Verdict.BLOCK.value: 0, Verdict.ERROR.value: 1, Verdict.REVIEW.value: 2, Verdict.PASS.value: 3}
        photos.sort(key=lambda p: (rank[p["model_verdict"]], p["id"]))
        return {
            "lang": self.lang,
            "second_reviewer_required": self.policy.second_reviewer_required,
            "context": {"channel": self.channel, "date": self.when.isoformat(), "event": self.event_id},
            "register": self.reviews.register.label,
            "messages": {k: t(k, self.lang) for k in UI_KEYS},
            "photos": photos,
            "errors": errors,
            "people": [p for p in (self._person_state(person, every) for person in self.people.values()) if p],
            "others": dict(others),
        }

    def _person_state(self, person: Person, states: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
        """One row of the page's people list; None for a person seen once (their photo's card is the row)."""
        if len(person.faces) < 2:
            return None
        faces = []
        for photo, index in person.faces:
            state = states.get(photo)
            if state is None:
                continue
            f = state["faces"][index]
            faces.append({
                "photo": photo, "face": index + 1, "index": index, "name": state["name"], "version": state["version"], "kind": f["kind"],
                "decided": f["current"] is not None and not f["pending_second"], "pending_second": f["pending_second"],
                "decidable": f["decidable"] and not state["changed"] and not state["missing"],
                "current": None if f["current"] is None else f["current"]["kind"],
            })
        if not any(f["decidable"] for f in faces):
            return None
        return {
            "id": person.id, "side": person.side, "mixed_ages": person.mixed_ages, "paired_with": person.paired_with,
            "side_text": None if (side := side_key(person, self.results, self.policy)) is None else t(side, self.lang),
            "rememberable": self._guard is not None and not self.policy.second_reviewer_required and self._rememberable(person),
            "photos": len({f["photo"] for f in faces}), "faces": faces,
            "todo": sum(1 for f in faces if f["decidable"] and not f["decided"]),
        }

    # -- images -------------------------------------------------------------
    def _cached(self, key: tuple[int, str], make) -> bytes:
        with self._lock:
            if key in self._previews:
                self._previews.move_to_end(key)
                return self._previews[key]
        data = make()
        with self._lock:
            self._previews[key] = data
            while len(self._previews) > 400:  # about 40 MB at most
                self._previews.popitem(last=False)
        return data

    def preview(self, photo_id: int) -> bytes:
        self._photo(photo_id)

        def make() -> bytes:
            preview = preview_or_none(self.paths[photo_id], embedded=self.results[photo_id].preview)
            if preview is None:
                raise ReviewProblem(404, t("review.unreadable_now", self.lang))
            return preview.jpeg

        return self._cached((photo_id, f"preview:{self._current_sha(photo_id)}"), make)

    def face_crop(self, photo_id: int, face: int) -> bytes:
        r = self._photo(photo_id)
        if not 0 <= face < len(r.faces):
            raise ReviewProblem(404, t("review.no_face", self.lang, face=face, id=photo_id))

        def make() -> bytes:
            try:
                photo = load_photo(self.paths[photo_id], max_pixels=self.policy.max_pixels)
                if r.preview:
                    photo = load_preview(photo, max_pixels=self.policy.max_pixels, target_long_side=None, label=r.source, where=r.preview)
            except PhotoError as error:
                raise ReviewProblem(404, explain_photo_error(r.source, error.code, error.message, self.lang)) from None
            box = r.faces[face].box.expanded(1.8, photo.width, photo.height)
            return face_thumbnail(Image.fromarray(photo.pixels), box, 1.0, 240, quality=85)

        return self._cached((photo_id, f"face{face}:{self._current_sha(photo_id)}"), make)

    # -- the register -------------------------------------------------------
    def search_children(self, text: str) -> list[dict[str, Any]]:
        """Children whose name matches, with each consent's scope and whether it covers this publication."""
        from consent_db import NotFound

        out = []
        found = self.reviews.search_children(text)
        if not found and _CHILD_ID.fullmatch(text.strip()):  # the id a face's explanation names
            found = [(c.id, c.name, c.never_publish) for c in self._child_by_id(text.strip())]
        for child_id, name, never in found:
            try:
                child = self.reviews.register.get_child(child_id)
            except NotFound:
                continue
            consents = []
            for c in child.consents:
                covers, why, _ = self.consent_check(c.id)
                consents.append({
                    "id": c.id, "status": c.status, "channels": list(c.channels), "purposes": list(c.purposes),
                    "events": list(c.event_ids), "valid_from": c.valid_from.isoformat(),
                    "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                    "withdrawn_on": c.withdrawn_on.isoformat() if c.withdrawn_on else None,
                    "date_signed": c.date_signed.isoformat(), "covers": covers, "why": why,
                })
            out.append({"id": child_id, "name": name, "never_publish": never, "consents": consents})
        return out

    def _child_by_id(self, child_id: str) -> list[Any]:
        from consent_db import NotFound

        try:
            child = self.reviews.register.get_child(child_id)
        except NotFound:
            return []
        return [] if child.erased_at else [child]

    # -- writing ------------------------------------------------------------
    def decide_group(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One decision about one person, for every face of theirs: ``{"photos": [new states], ...}``.

        All or nothing: if any of the person's photos changed on disk since the
        scan, nothing is recorded. ``remember`` ({name, role, expires}) with an
        adult decision also enrols the person as a known adult, so the next
        event's photos of them pass; the enrolment refuses a face the age model
        calls a likely minor, and then nothing is recorded either.
        """
        from consent_db import RegisterError

        group = _whole(payload, "group", self.lang, "review.group_needs")
        kind = _text(payload, "kind", self.lang)
        if not kind:
            raise ReviewProblem(400, t("review.group_needs", self.lang), code="review.group_needs", field="kind")
        reviewer, reason, consent_id = (_text(payload, name, self.lang) for name in ("reviewer", "reason", "consent_id"))
        pairs = self._face_pairs(payload.get("faces"))
        person = self.people.get(group)
        if person is None:
            raise ReviewProblem(404, t("review.no_person", self.lang))
        remember = payload.get("remember")
        if remember is not None and (kind != "adult" or not isinstance(remember, dict)):
            raise ReviewProblem(400, t("review.remember_adult_only", self.lang))
        if remember is not None:
            for name in ("name", "role", "expires"):
                _text(remember, name, self.lang)
        reviewer = " ".join(reviewer.split())
        if not reviewer:
            raise ReviewProblem(400, t("review.reviewer_needed", self.lang))
        why = _not_decidable(self.results[photo] for photo, _ in person.faces)
        if why:
            raise ReviewProblem(409, t(why, self.lang))
        ticked = self._ticked(person, kind, pairs)
        with self._lock:
            faces = self._group_faces(person, kind)
            if ticked is not None:
                faces = [(photo, ref) for photo, ref in faces if (photo, ref.face_index) in ticked]
            if not faces:
                raise ReviewProblem(409, t("review.group_nothing", self.lang))
            known = self._remember(person, faces, remember, reviewer) if remember is not None else None
            label = str(person.id) + (f" · known adult {known.id}" if known is not None else "")
            try:
                self.reviews.record_group(
                    [f for _, f in faces], kind, reviewer, reason, consent_id=consent_id or None, group=label,
                )
            except RegisterError as error:
                if known is not None:  # the decision failed: do not leave half of the step behind
                    self.reviews.register.remove_known_adult(known.id)
                raise ReviewProblem(400, error.text(self.lang)) from None
        photos = sorted({photo for photo, _ in faces})
        return {
            "photos": [self.photo_state(p) for p in photos], "faces": len(faces),
            "known_adult": None if known is None else {"id": known.id, "name": known.name},
        }

    def _ticked(self, person: Person, kind: str, pairs: list[tuple[int, int]]) -> set[tuple[int, int]] | None:
        """The faces an allowing decision on a row of possible minors may cover: those ticked one by one.

        The clustering may put two children, or a child and a young-looking adult,
        in one row; "adult" or "consent" for the whole row would let each of them
        through on a decision a person took about one face. None: no limit
        (hiding, undoing, confirming, or a row of adults or of one face).
        """
        if kind not in ALLOWING_KINDS or person.side == "adult" or len(person.faces) < 2:
            return None
        ticked = {(photo, face - 1) for photo, face in pairs}  # face numbers, as every page shows them
        ticked &= set(person.faces)
        if not ticked:
            raise ReviewProblem(409, t("review.tick_each_face", self.lang))
        return ticked

    def _face_pairs(self, faces: Any) -> list[tuple[int, int]]:
        """The ticked faces as sent, ``[[photo, face number], ...]``; anything else is refused, never read as none
        ticked (which answered "tick each face" to a request that had ticked them in another form)."""
        if faces is None:
            return []
        if not isinstance(faces, (list, tuple)) or not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in faces):
            raise ReviewProblem(400, t("review.bad_faces", self.lang), code="review.bad_faces", field="faces")
        return [(_whole_value(photo, "faces", self.lang), _whole_value(face, "faces", self.lang)) for photo, face in faces]

    def _group_faces(self, person: Person, kind: str) -> list[tuple[int, Any]]:
        """The (photo, FaceRef) pairs a group decision of ``kind`` is about; 409 if a photo changed."""
        from consent_db.reviews import FaceRef

        out = []
        checked: dict[int, str | None] = {}
        standings: dict[int, list[FaceReview]] = {}
        if kind in ("confirm", "clear"):  # one query for every photo of the person, not one per face
            records = self.reviews.for_photos([self.results[photo].sha256 for photo, _ in person.faces])
        for photo, index in person.faces:
            r = self.results[photo]
            d = r.faces[index]
            if not _decidable(d):
                continue
            if photo not in checked:
                checked[photo] = _sha256_file(self.paths[photo])  # fresh: a decision must not trust mtime
            if r.sha256 is None or checked[photo] != r.sha256:
                raise ReviewProblem(409, t("review.group_changed", self.lang, name=Path(r.source).name))
            confirms = None
            if kind in ("confirm", "clear"):
                if photo not in standings:
                    standings[photo] = self._standings(r, records.get(r.sha256, []))
                review = standings[photo][index]
                if kind == "confirm":
                    if not review.pending_second:
                        continue  # nothing of this face waits for a second reviewer
                    confirms = review.current.seq
                elif review.current is None:
                    continue
            box = (d.box.x, d.box.y, d.box.width, d.box.height)
            out.append((photo, FaceRef(r.sha256, index, box, r.source, confirms)))
        return out

    def _rememberable(self, person: Person) -> bool:
        """Remembering reaches photos nobody has looked at yet, so it is for people the
        age model is at most unsure about. One it calls a possible minor (the sample
        portrait's girls read as 26.5 and 24.9 years with P 0.082 and 0.371) can be
        marked adult for these photos by a person, never remembered."""
        ages = [self.results[photo].faces[index].age for photo, index in person.faces]
        return all(age is not None and categorize(age, self.policy) is not FaceCategory.POSSIBLE_MINOR for age in ages)

    def _remember(self, person: Person, decided: list[tuple[int, Any]], remember: dict[str, Any], reviewer: str) -> Any:
        """Enrol the faces the decision covers (``decided``: the ticked ones on a row of possible minors), never the
        rest of the row: a face nobody ticked, enrolled with the others, passed every later scan as a known adult."""
        from minorguard.application.known_adults import EnrolProblem, enrol_problem_text, remember_adult

        if self._guard is None:
            raise ReviewProblem(409, t("review.remember_unavailable", self.lang))
        if self.policy.second_reviewer_required:
            # a remembered person passes in photos nobody looks at again: one reviewer alone must not do that where
            # the policy asks two to agree before a face is let through
            raise ReviewProblem(409, t("review.remember_needs_second", self.lang))
        if not self._rememberable(person):
            raise ReviewProblem(409, t("review.remember_blocked", self.lang))
        if not hasattr(self._guard, "policy"):
            self._guard = self._guard()  # the models load on first use: most reviews never remember anyone
        expires = None
        if remember.get("expires"):
            try:
                expires = Date.fromisoformat(str(remember["expires"]))
            except ValueError:
                raise ReviewProblem(400, t("review.bad_expiry", self.lang)) from None
        faces = [(self.paths[photo], self.results[photo].faces[ref.face_index].box) for photo, ref in decided]
        try:
            return remember_adult(
                self.reviews.register, self._guard, str(remember.get("name") or ""), faces,
                role=str(remember.get("role") or "") or f"added by reviewer {reviewer}", expires=expires, reviewer=reviewer,
            )
        except EnrolProblem as problem:
            raise ReviewProblem(409, enrol_problem_text(problem, self.lang)) from None

    def decide(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Record one decision and return the photo's new state."""
        from consent_db import RegisterError

        photo_id = _whole(payload, "photo", self.lang, "review.decision_needs")
        number = _whole(payload, "face", self.lang, "review.decision_needs")  # the face's number: 1 = leftmost
        kind = _text(payload, "kind", self.lang)
        if not kind:
            raise ReviewProblem(400, t("review.decision_needs", self.lang), code="review.decision_needs", field="kind")
        reviewer, reason, consent_id = (_text(payload, name, self.lang) for name in ("reviewer", "reason", "consent_id"))
        confirms = payload.get("confirms")
        if confirms is not None:
            confirms = _whole_value(confirms, "confirms", self.lang)
        r = self._photo(photo_id)
        if not 1 <= number <= len(r.faces):
            raise ReviewProblem(404, t("review.no_face", self.lang, face=number, id=photo_id))
        face = number - 1
        decision = r.faces[face]
        if not _decidable(decision):
            raise ReviewProblem(409, t("review.not_decidable", self.lang))
        why = _not_decidable([r])
        if why:
            raise ReviewProblem(409, t(why, self.lang))
        with self._lock:
            sha_now = _sha256_file(self.paths[photo_id])  # fresh: the cache trusts mtime, a decision must not
            if sha_now is None:
                raise ReviewProblem(409, t("html.no_preview", self.lang))
            if r.sha256 is None or sha_now != r.sha256:
                raise ReviewProblem(409, t("html.changed", self.lang))
            if kind == "confirm":
                standing_now = self._standings(r, self.reviews.for_photo(r.sha256))[face]
                current = standing_now.current
                if current is None or confirms is None or confirms != current.seq:
                    raise ReviewProblem(409, t("review.stale", self.lang))
            try:
                self.reviews.record(
                    r.sha256, face, (decision.box.x, decision.box.y, decision.box.width, decision.box.height), kind,
                    reviewer, reason, consent_id=consent_id or None, confirms=confirms, source=r.source,
                )
            except RegisterError as error:
                raise ReviewProblem(400, error.text(self.lang)) from None
        return self.photo_state(photo_id)
