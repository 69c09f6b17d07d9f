"""Guard: one photo through load -> detect -> assess -> match -> decide -> result.

Models load once per Guard. The register, the event linker and the review
store are optional collaborators (later stages of the product plug in here);
without them an identifiable possible minor simply blocks.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date as Date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from minorguard.faces.grouping import wants_grouping
from minorguard.faces.minor import DOUBT_RULES, FaceFeatures, fitted_age_model, load_minor_estimator
from minorguard.faces.numbers import reading_order
from minorguard.faces.quality import assess_identifiability, face_sharpness, face_tones, publish_scale
from minorguard.models.base import ModelError
from minorguard.models.pack import ModelPack, load_pack
from minorguard.photos.decode import TRANSPARENCY, Photo, PhotoError, PhotoSource, load_frames, load_photo
from minorguard.photos.thumbnail import (
    PREVIEW_RULES,
    SAME_FACE_MIN_CORRELATION,
    PictureMatch,
    embedded_previews,
    face_correlation,
    hidden_view,
    load_previews,
    match_picture,
)
from minorguard.rules.decide import ReviewerOverride, categorize, decide_faces, photo_verdict
from minorguard.rules.known_adults import KnownAdultMatch, wants_known_adult
from minorguard.rules.policy import Policy, load_policy, validate_policy
from minorguard.types import (
    ConsentEvidence,
    DetectedFace,
    EventEvidence,
    FaceAssessment,
    FaceCategory,
    FaceDecision,
    PhotoResult,
    Verdict,
)

__all__ = ["CheckContext", "ConsentMatcher", "EmbeddingSink", "EventLinker", "Guard", "KnownAdultLookup", "ReviewLookup"]

# A preview's face and a picture's face are the same face when their boxes (the preview's scaled onto the picture)
# overlap this much: a preview of 160 px puts a face's box a few of the picture's pixels off, never half a face.
SAME_FACE_MIN_IOU = 0.3


class ConsentMatcher(Protocol):
    def match(self, embedding: np.ndarray, channel: str | None, when: Date) -> ConsentEvidence | None: ...


class EventLinker(Protocol):
    def link(self, photo: Photo, explicit_event: str | None) -> EventEvidence | None: ...


class ReviewLookup(Protocol):
    def overrides(self, sha256: str, decisions: Sequence[FaceDecision]) -> list[ReviewerOverride | None]: ...


class KnownAdultLookup(Protocol):
    def match(self, embedding: np.ndarray, when: Date) -> KnownAdultMatch | None: ...


class EmbeddingSink(Protocol):
    """Receives each identifiable face's embedding, for grouping faces across a batch."""

    def put(self, source: str, index: int, vector: np.ndarray) -> None: ...


class CheckContext:
    """Where and when the photo will be published."""

    __slots__ = ("channel", "event_id", "purpose", "when")

    def __init__(
        self, channel: str | None = None, when: Date | None = None, event_id: str | None = None, purpose: str | None = None
    ):
        # channel names are compared as the register stores them (`consent add --channel Facebook` keeps facebook)
        self.channel = channel.strip().casefold() if isinstance(channel, str) else channel
        self.when = when or Date.today()
        self.event_id = event_id
        self.purpose = purpose  # what the publication is for; consents limited to purposes are checked against it


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Guard:
    """Loads the models once and checks photos against rule 5.

    >>> guard = Guard()                        # doctest: +SKIP
    >>> result = guard.check("photo.jpg")      # doctest: +SKIP
    >>> result.verdict                         # doctest: +SKIP
    """

    def __init__(
        self,
        policy: Policy | str | Path | None = None,
        pack: ModelPack | str | Path | None = None,
        consent: ConsentMatcher | None = None,
        events: EventLinker | None = None,
        reviews: ReviewLookup | None = None,
        known_adults: KnownAdultLookup | None = None,
        embeddings: EmbeddingSink | None = None,
    ) -> None:
        self.policy = validate_policy(policy) if isinstance(policy, Policy) else load_policy(policy)
        self.pack = pack if isinstance(pack, ModelPack) else load_pack(pack, self.policy.detector_threshold)
        if self.policy.minor_rule == "calibrated" and self.pack.age_model.name != fitted_age_model():
            # The calibration only holds for the age model it was fitted on; with
            # another pack its probabilities would mean nothing, so the guard
            # falls back to the challenge-age rule (its policy version says so).
            self.policy = dataclasses.replace(self.policy, minor_rule="challenge_age")
        self.estimator = load_minor_estimator(self.policy.minor_rule, self.policy.interval_percentile)
        fitted = getattr(self.estimator, "network_variants", None)
        used = getattr(self.pack.age_model, "variants", None)
        if fitted and used is not None and {k: list(v) for k, v in used.items()} != fitted:
            # P(under 18) holds only for the crops the estimator was fitted on
            raise ModelError("estimator_variants", fitted=fitted, used={k: list(v) for k, v in used.items()})
        self.consent = consent
        self.events = events
        self.reviews = reviews
        self.known_adults = known_adults
        self.embeddings = embeddings

    @property
    def pack_label(self) -> str:
        # the doubt rule is part of what a face's estimate says, and judging the previews a file carries part of
        # what its result says: a result judged before either is judged again (archive runs key on this label)
        return f"{self.pack.label}; minor estimator {self.estimator.name}; reading doubts {DOUBT_RULES}; previews {PREVIEW_RULES}"

    # -- stages -------------------------------------------------------------
    def _load(self, source: PhotoSource, label: str | None, whole_file: bool = False) -> Photo:
        return load_photo(
            source,
            max_pixels=self.policy.max_pixels,
            target_long_side=self.policy.publish_long_side,
            label=label,
            whole_file=whole_file,
        )

    def detect(self, photo: Photo) -> list[DetectedFace]:
        """The photo's faces in reading order: a face's index is its number everywhere (face_numbers)."""
        return reading_order(self.pack.detector.detect(photo.pixels))

    def assess(self, photo: Photo, faces: Sequence[DetectedFace], channel: str | None = None,
               identity: dict[int, np.ndarray] | None = None) -> list[FaceAssessment]:
        """Identifiability at the size ``channel`` publishes at (policy), and an age estimate for each identifiable face.

        ``identity``, if given, receives the identity features the age reading computed on the way (by face
        index), so that consent matching and grouping of this photo need not compute them again."""
        policy = self.policy
        side = policy.publication_side(channel)
        to_publish = publish_scale(photo.width, photo.height, side) if side else 1.0
        full_box = [f.box.scaled(1 / photo.scale) for f in faces]
        idents = [
            assess_identifiability(
                box.height, face_sharpness(photo.pixels, face), to_publish, policy.min_face_px, policy.min_sharpness
            )
            for face, box in zip(faces, full_box)
        ]
        judged = [i for i, ident in enumerate(idents) if ident.identifiable]
        ages: dict[int, Any] = {}
        errors: dict[int, str] = {}
        if judged:
            try:
                age_model = self.pack.age_model
                readings = None
                if identity is not None and hasattr(age_model, "read_with_identity"):
                    readings, features = age_model.read_with_identity(photo.pixels, [faces[i] for i in judged])
                    if features is not None:
                        identity.update(zip(judged, features))
                elif hasattr(age_model, "read"):
                    readings = age_model.read(photo.pixels, [faces[i] for i in judged])
                if readings is not None:
                    probs = age_model.distributions_of(readings)
                else:
                    probs = age_model.age_distributions(photo.pixels, [faces[i] for i in judged])
                embeddings = None
                if self.estimator.needs_embedding:
                    embeddings = self.pack.embedder.embed(photo.pixels, [faces[i] for i in judged])
                gray = _is_gray(photo.pixels)
                for row, i in enumerate(judged):
                    features = FaceFeatures(
                        age_probs=probs[row],
                        ages=self.pack.age_model.ages,
                        embedding=None if embeddings is None else embeddings[row],
                        landmarks=np.asarray(faces[i].landmarks, np.float32) if faces[i].landmarks else None,
                        face_height_px=faces[i].box.height,
                        sharpness=idents[i].sharpness,
                        gray=gray,
                        readings=None if readings is None else readings[row],
                        tones=face_tones(photo.pixels, faces[i]),
                    )
                    ages[i] = self.estimator.estimate(features)
            except Exception as error:  # fail closed: the face goes to REVIEW
                for i in judged:
                    errors[i] = f"age model failed: {error}"
        out = []
        for i, face in enumerate(faces):
            oriented = DetectedFace(full_box[i], face.score, tuple((x / photo.scale, y / photo.scale) for x, y in face.landmarks), face.detector)
            out.append(FaceAssessment(i, oriented, idents[i], ages.get(i), errors.get(i)))
        return out

    def _vectors(self, photo: Photo, faces: Sequence[DetectedFace], wanted: Sequence[int], cache: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Embeddings of the faces ``wanted``, each computed once per photo."""
        todo = [i for i in wanted if i not in cache]
        if todo:
            for i, vector in zip(todo, self.pack.embedder.embed(photo.pixels, [faces[i] for i in todo])):
                cache[i] = vector
        return {i: cache[i] for i in wanted}

    def _described(self, photo: Photo, faces: Sequence[DetectedFace], wanted: Sequence[int], cache: dict[int, np.ndarray],
                   described: dict[int, np.ndarray], identity: dict[int, np.ndarray] | None = None) -> dict[int, np.ndarray]:
        """The consent descriptions (``pack.consent_vectors``) of the faces ``wanted``, each computed once per photo
        (``described``) from the embeddings ``_vectors`` keeps in ``cache`` and the identity features ``assess``
        left in ``identity``."""
        todo = [i for i in wanted if i not in described]
        if todo:
            plain = self._vectors(photo, faces, todo, cache)
            shared = [identity.get(i) for i in todo] if identity else None
            vectors = self.pack.consent_vectors(photo.pixels, [faces[i] for i in todo], np.stack([plain[i] for i in todo]), shared)
            for i, vector in zip(todo, vectors):
                described[i] = vector
        return {i: described[i] for i in wanted}

    def _not_adult(self, assessments: Sequence[FaceAssessment]) -> list[int]:
        """Identifiable faces the models do not call adult: where a register match can matter."""
        return [
            i for i, a in enumerate(assessments)
            if a.identifiability.identifiable and categorize(a.age, self.policy) is not FaceCategory.ADULT
        ]

    def _known_adults(self, photo: Photo, faces: Sequence[DetectedFace], assessments: Sequence[FaceAssessment], context: CheckContext, cache: dict[int, np.ndarray]) -> list[KnownAdultMatch | None]:
        result: list[KnownAdultMatch | None] = [None] * len(assessments)
        if self.known_adults is None:
            return result
        # only faces where a match can change the decision: identifiable, not
        # already adult, and below the P(under 18) gate
        wanted = [i for i in self._not_adult(assessments) if wants_known_adult(assessments[i].age, self.policy)]
        for i, vector in self._vectors(photo, faces, wanted, cache).items():
            result[i] = self.known_adults.match(vector, context.when)
        return result

    def _consents(self, photo: Photo, faces: Sequence[DetectedFace], assessments: Sequence[FaceAssessment], context: CheckContext,
                  cache: dict[int, np.ndarray], described: dict[int, np.ndarray],
                  identity: dict[int, np.ndarray] | None = None) -> list[ConsentEvidence | None]:
        if self.consent is None or getattr(self.consent, "enrolled", 1) == 0:
            return [None] * len(assessments)
        # every identifiable face, the adult-looking ones too: a child the office enrolled although the models
        # read an adult (--confirm-child), or one on the never-publish list, must be recognised as that child
        wanted = [i for i, a in enumerate(assessments) if a.identifiability.identifiable]
        result: list[ConsentEvidence | None] = [None] * len(assessments)
        if wanted:
            for i, vector in self._described(photo, faces, wanted, cache, described, identity).items():
                result[i] = self.consent.match(vector, context.channel, context.when)
        return result

    # -- public -------------------------------------------------------------
    def check(self, source: PhotoSource, context: CheckContext | None = None, *, label: str | None = None,
              first_frame_of_mpo: bool = False) -> PhotoResult:
        """The verdict on one photo; never raises for a bad photo (ERROR verdict instead).

        A picture with several frames or pages (an animated GIF, a multi-page
        TIFF, a HEIC burst, an MPO's preview or stereo twin) is judged frame by
        frame: the worst frame's result is the file's, and ``frame`` / ``frames``
        say which one it was. The preview pictures the file carries (EXIF,
        Photoshop, XMP, HEIF thumbnails, maker notes) are judged too
        (``_with_previews``): one that shows what the picture does not is the
        file's result when it is worse (``preview`` names where it was).
        ``first_frame_of_mpo``: the picture alone, an MPO's first frame alone,
        for a copy that keeps only that and no preview (export).
        """
        context = context or CheckContext()
        name = label or (os.fsdecode(source) if isinstance(source, (str, os.PathLike)) else None) or f"<{type(source).__name__}>"
        timings: dict[str, float] = {}
        sha = None
        try:
            # a caller's opened image: its previews are read before loading it releases what holds them (HEIC)
            previews = embedded_previews(source) if isinstance(source, Image.Image) and not first_frame_of_mpo else None
            start = time.perf_counter()
            try:
                photo = self._load(source, name, whole_file=not first_frame_of_mpo)
            except PhotoError as error:
                if error.code != "multi_frame" or not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
                    raise
                return self._check_frames(source, context, name, previews)
            sha = photo.sha256
            timings["load"] = _ms(start)
            # an MPO's first frame alone (export): no reviewer's decision, as on its other frames (_check_frames)
            result = self._judge(photo, context, name, timings, reviews=photo.frames <= 1)
            if first_frame_of_mpo:
                return result
            return self._with_previews(result, photo, result, context, name, previews)
        except PhotoError as error:
            return self.error_result(name, sha, error.code, error.message, timings)
        except ModelError as error:
            return self.error_result(name, sha, "model_failed", f"{name}: model failed: {error}", timings)
        except MemoryError:
            return self.error_result(name, sha, "out_of_memory", f"{name}: out of memory while checking", timings)
        except Exception as error:  # fail closed on anything unforeseen
            return self.error_result(name, sha, "internal_error", f"{name}: {type(error).__name__}: {error}", timings)

    def _check_frames(self, source: PhotoSource, context: CheckContext, name: str, previews: list | None = None) -> PhotoResult:
        """Every frame judged; the worst frame (BLOCK over REVIEW over PASS; the first of equals) stands for the file,
        and the file's previews are compared with its first frame (an MPO's picture; a GIF's first image)."""
        start = time.perf_counter()
        count, frames = load_frames(source, self.policy.max_pixels, self.policy.publish_long_side, name)
        worst: PhotoResult | None = None
        first: tuple[Photo, PhotoResult] | None = None
        for k, photo in enumerate(frames):
            # grouping's embeddings are per face of one image: frames would overwrite each other's. No reviewer's
            # decision either: a review record has no frame, and matched by box, a decision on one frame's face
            # would settle a different face at the same place in another frame (the review page takes none)
            result = dataclasses.replace(self._judge(photo, context, name, {}, group=False, reviews=False), frame=k, frames=count)
            hidden = hidden_view(photo)  # the first frame's goes with the previews below; every other frame's here
            if hidden is not None and k > 0:
                under = self._judge(hidden, context, name, {}, group=False, reviews=False)
                if under.verdict.severity > result.verdict.severity:
                    result = dataclasses.replace(under, source=name, frame=k, frames=count, preview=TRANSPARENCY)
            if first is None:
                first = (photo, result)
            if worst is None or result.verdict.severity > worst.verdict.severity:
                worst = result
        assert worst is not None and first is not None
        worst = self._with_previews(worst, *first, context, name, previews)
        return dataclasses.replace(worst, timings_ms={"frames": _ms(start)})

    def _with_previews(self, result: PhotoResult, picture: Photo, picture_result: PhotoResult, context: CheckContext,
                       name: str, found: list | None = None) -> PhotoResult:
        """``result`` (the file's so far), judged again with each preview picture the file carries (EXIF,
        Photoshop, XMP, ...; ``found``: those of a caller's opened picture, read before it was loaded).

        Every preview is judged. One that is the picture scaled down and whose every identifiable face lies on an
        identifiable face of the picture (``picture_result``) adds nothing: the picture's decisions, made at full
        size and with reviewers' decisions, stand for those faces. Any other preview shows what the picture does
        not (a part cropped off, a face blurred or pasted over): its result, judged without reviewers' decisions
        (they were taken on the picture's faces), is the file's when worse; otherwise its faces go with the
        file's result (``preview_faces``), so the register entries they rest on are audited and watched. A
        preview that cannot be decoded cannot be judged: ERROR (an exported copy leaves every preview out)."""
        from minorguard.rules.hints import HIDDEN_COLOUR_DIFFERS, PREVIEW_DIFFERS

        start = time.perf_counter()
        worst, kept = result, []
        for where, preview in load_previews(picture, max_pixels=self.policy.max_pixels,
                                            target_long_side=self.policy.publish_long_side, label=name, found=found):
            if isinstance(preview, PhotoError) and preview.code == "too_small":
                return self.error_result(name, picture.sha256, "preview_too_small",
                                         f"{name}: the preview picture stored in the file ({where}) is too small to be "
                                         f"judged ({preview.message}); an exported copy leaves it out")
            if isinstance(preview, PhotoError):
                return self.error_result(name, picture.sha256, "preview_unreadable",
                                         f"{name}: the preview picture stored in the file ({where}) cannot be read, so it "
                                         f"cannot be judged ({preview.message}); an exported copy leaves it out")
            # the preview is published with the picture, at the picture's time and place: an event links (or
            # refuses to) on the file's metadata, never on the preview's own, which has none
            preview = dataclasses.replace(preview, metadata=picture.metadata)
            judged = self._judge(preview, context, preview.source, {}, group=False, reviews=False)
            match = match_picture(preview.pixels, picture.pixels)
            if match is not None and all(_shown_by_picture(d, preview, match, picture, picture_result) for d in judged.faces):
                continue
            differs = HIDDEN_COLOUR_DIFFERS if where == TRANSPARENCY else PREVIEW_DIFFERS
            if differs not in worst.hints:
                worst = dataclasses.replace(worst, hints=(*worst.hints, differs))
            if judged.verdict.severity > worst.verdict.severity:
                worst = dataclasses.replace(judged, source=name, sha256=picture.sha256, metadata=picture.metadata, preview=where,
                                            frame=None, frames=result.frames, hints=worst.hints, preview_faces=())
                kept = []
            else:
                kept.extend(judged.faces)
        if worst is result:
            return result
        return dataclasses.replace(worst, preview_faces=tuple(kept), timings_ms={**result.timings_ms, "previews": _ms(start)})

    def _judge(self, photo: Photo, context: CheckContext, name: str, timings: dict[str, float], group: bool = True,
               reviews: bool = True) -> PhotoResult:
        """Detect, assess, match and decide one loaded photo (or one frame, or a file's preview)."""
        sha = photo.sha256
        start = time.perf_counter()
        faces = self.detect(photo)
        timings["detect"] = _ms(start)
        start = time.perf_counter()
        identity: dict[int, np.ndarray] = {}  # identity features from the age reading's pass; they die with this call
        assessments = self.assess(photo, faces, context.channel, identity)
        timings["assess"] = _ms(start)
        start = time.perf_counter()
        vectors: dict[int, np.ndarray] = {}  # each face embedded at most once per photo
        described: dict[int, np.ndarray] = {}  # and described for consent matching and grouping at most once
        consents = self._consents(photo, faces, assessments, context, vectors, described, identity)
        known = self._known_adults(photo, faces, assessments, context, vectors)
        event = self.events.link(photo, context.event_id) if self.events is not None else (
            EventEvidence(context.event_id, None, "explicit", note="event register not available") if context.event_id else None
        )
        timings["match"] = _ms(start)
        decisions = decide_faces(assessments, self.policy, consents, event, known_adults=known)
        if reviews and self.reviews is not None and sha is not None:
            overrides = self.reviews.overrides(sha, decisions)
            if any(o is not None for o in overrides):
                decisions = decide_faces(assessments, self.policy, consents, event, overrides, known)
        if group and self.embeddings is not None:  # for grouping faces across the batch
            grouped = [d.index for d in decisions if wants_grouping(d, self.policy)]
            # grouped by the description consent matching uses: it tells people apart better (policy [grouping])
            for i, vector in self._described(photo, faces, grouped, vectors, described, identity).items():
                self.embeddings.put(name, i, vector)
        verdict = photo_verdict(decisions)
        from minorguard.rules.hints import photo_hints

        return PhotoResult(
            source=name,
            verdict=verdict,
            sha256=sha,
            faces=decisions,
            metadata=photo.metadata,
            width=photo.width,
            height=photo.height,
            model_pack=self.pack_label,
            policy_version=self.policy.version,
            timings_ms=timings,
            event=event,
            hints=photo_hints(photo.metadata, decisions, event, getattr(self.events, "lang", "en")),  # its notes' language
        )

    def error_result(self, name: str, sha: str | None, code: str, message: str, timings: dict[str, float] | None = None) -> PhotoResult:
        """The ERROR verdict for a photo that could not be judged (here, or by a worker that lost it)."""
        return PhotoResult(
            source=name,
            verdict=Verdict.ERROR,
            sha256=sha,
            error=message,
            error_code=code,
            model_pack=self.pack_label,
            policy_version=self.policy.version,
            timings_ms=timings or {},
        )

    def check_many(self, sources: Iterable[PhotoSource], context: CheckContext | None = None, workers: int | None = None) -> Iterator[PhotoResult]:
        """Results in input order; photos run on ``workers`` threads (default: all cores).

        ONNX Runtime, OpenCV and dlib release the GIL in their heavy loops and
        each session runs single-threaded, so threads keep both cores busy
        without loading the models twice.
        """
        workers = workers or os.cpu_count() or 1  # every core, as `scan --workers 0` promises
        items = list(sources)
        if workers <= 1 or len(items) <= 1:
            for item in items:
                yield self.check(item, context)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda s: self.check(s, context), items)


def _shown_by_picture(face: FaceDecision, preview: Photo, match: PictureMatch, picture: Photo, picture_result: PhotoResult) -> bool:
    """Whether a preview's face is one the picture shows as well, and as clearly: not identifiable in the preview,
    or lying on an identifiable face of the picture that was decided at least as strictly, or whose pixels are the
    preview's (the same face seen larger: the picture's decision, made at full size with reviewers' and
    consents' evidence, stands). A face pixelated in the picture can still read as an identifiable adult there;
    sharp in the preview, it counts on its own."""
    if not face.identifiability.identifiable:
        return True
    box = match.to_picture(face.box, picture.width, picture.height)
    if box is None:
        return False
    for d in picture_result.faces:
        if not d.identifiability.identifiable or d.box.iou(box) < SAME_FACE_MIN_IOU:
            continue
        if d.action.severity >= face.action.severity:
            return True
        if face_correlation(preview.pixels, face.box.scaled(preview.scale), picture.pixels, box.scaled(picture.scale)) >= SAME_FACE_MIN_CORRELATION:
            return True
    return False


def _is_gray(rgb: np.ndarray) -> bool:
    sample = rgb[:: max(1, rgb.shape[0] // 64), :: max(1, rgb.shape[1] // 64)].astype(np.int16)
    return bool(np.abs(sample[..., 0] - sample[..., 1]).mean() < 2 and np.abs(sample[..., 1] - sample[..., 2]).mean() < 2)
