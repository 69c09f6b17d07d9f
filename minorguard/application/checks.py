"""The application layer: one way to check photos with the register, for every entry point.

The command line, the review page and publishing tools that import minorguard
all go through :func:`open_checks`. It opens the register by the same rule
everywhere, wires the guard to the register's consents, events, reviewers'
decisions and known adults, and writes the same audit records, naming the
tool that asked. Nothing here prints or exits: problems are raised as the
coded errors the entry points show in the reader's language, and notices
(an expired known adult, enrolments made with another embedder) are returned.

    from minorguard import CheckContext, open_checks

    with open_checks(context=CheckContext(channel="facebook"), tool="cms-uebfaqja") as checks:
        result = checks.check("foto.jpg")        # consents, events, reviews, known adults applied; audited
        print(result.verdict, [(f.number, f.reason.value) for f in result.faces])

One ``Checks`` may be shared by a web server's threads: the guard's models are
run from several threads at once (``check_many`` does the same), the register
serialises its audit writes, and a change to the register (a consent withdrawn,
a reviewer's decision, an event) is read before the next photo is judged, so a
long-running service never decides on a register it no longer has. ``finish``
with grouping belongs to one batch and one thread.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path
from typing import Any, NamedTuple

from minorguard.locale import t
from minorguard.locale.coded_error import CodedError
from minorguard.pipeline import CheckContext, Guard
from minorguard.types import PhotoResult

__all__ = ["Checks", "ExportedCopy", "KnownAdultsUnavailable", "RegisterUnavailable", "open_checks", "open_register_for_checks", "register_is_expected"]


class KnownAdultsUnavailable(CodedError, RuntimeError):
    """The register holds known adults but this model pack cannot match them: no check without them."""

    catalogue = "adult"

    def __init__(self, error: Any) -> None:
        super().__init__("cannot_match", error=error.phrase() if isinstance(error, CodedError) else error)


class RegisterUnavailable(CodedError, RuntimeError):
    """A register exists or is named but cannot be used: nothing is judged without it."""

    catalogue = "event"

    def __init__(self, error: Any) -> None:
        super().__init__("not_linked", error=error.phrase() if isinstance(error, CodedError) else error)


def calendar_date(text: str) -> Date:
    """A date written YYYY-MM-DD, the one form every entry point takes (Python alone would also take 20261201 and
    2026-W49-2, which the web service refused); ValueError otherwise."""
    import re

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return Date.fromisoformat(text)


def known_channels(policy: Any) -> tuple[str, ...]:
    """Where a photo may be said to go: the register's channels and any more the office's policy gives a size."""
    from consent_db import CHANNELS

    return tuple(dict.fromkeys([*CHANNELS, *policy.channel_long_side]))


def refuse_unknown_channel(channel: str | None, policy: Any) -> None:
    """The one check of a channel for every entry point, with a register or without (a misspelt channel was judged
    at full size without one and refused with one; the service refused the policy's own channels)."""
    if channel is None:
        return
    allowed = known_channels(policy)
    if channel.strip().casefold() not in allowed:  # as CheckContext keeps it
        from consent_db import RegisterError

        raise RegisterError("unknown_channel", name=channel, allowed=", ".join(allowed))


def _data_folder_register() -> tuple[Path, bool, bool] | None:
    """(the data folder, whether the register's file is there, whether its key is: the key file, or the key given in
    $MINORGUARD_KEY), or None when $MINORGUARD_DB names the register."""
    from consent_db.crypto import KEY_ENV
    from consent_db.paths import DB_ENV, data_dir

    if os.environ.get(DB_ENV):
        return None
    folder = data_dir()
    # a key in the environment says a register is in use as surely as the key file: with the register moved away,
    # a never-publish child passed, exit 0 and no word
    return folder, (folder / "register.sqlite3").exists(), (folder / "register.key").exists() or bool(os.environ.get(KEY_ENV))


def key_without_register(folder: Path) -> Any:
    """The refusal for a register whose key is there (file or $MINORGUARD_KEY) and whose file is not."""
    from consent_db import RegisterError

    if (folder / "register.key").exists():
        return RegisterError("key_without_register", folder=str(folder))
    return RegisterError("key_env_without_register", folder=str(folder))


def register_is_expected() -> bool:
    """Whether a register is named ($MINORGUARD_DB) or is in the data folder: its file, or its key (a register whose
    file is gone still has reviewers' hides and never-publish children that a check without it would not apply)."""
    found = _data_folder_register()
    return found is None or found[1] or found[2]


def open_register_for_checks(db: str | None, event_id: str | None = None, actor: str | None = None) -> Any:
    """The register a check must use, or None when there is none anywhere; never carries on without one that exists."""
    found = _data_folder_register() if db is None else None
    if db is None and event_id is None and found is not None and not (found[1] or found[2]):
        return None  # no register anywhere: no consent, event or reviewer can allow anything
    try:
        from consent_db import Register, RegisterError
    except ImportError as error:
        raise RegisterUnavailable(error) from None
    if found is not None and found[2] and not found[1]:
        raise RegisterUnavailable(key_without_register(found[0]))
    try:
        return Register(db, actor=actor, create=False)  # a mistyped name must stop the check, not start a register
    except RegisterError as error:
        raise RegisterUnavailable(error) from None


class ExportedCopy(NamedTuple):
    """One photo exported to bytes (:meth:`Checks.export_bytes`)."""

    data: bytes | None  # the publishable copy, or None when none was made
    photo: Any  # publish.export.ExportedPhoto: status, verdicts, faces hidden, or why it was refused
    entry: dict[str, Any]  # the photo's manifest entry


@dataclass
class Checks:
    """A guard wired to the register for one context; see :func:`open_checks`."""

    guard: Guard
    register: Any
    context: CheckContext
    tool: str
    lang: str = "en"
    notices: list[str] = field(default_factory=list)
    store: Any = None
    wiring: tuple[int, bool, bool] = (1, False, True)  # photos, group, apply_reviews: as open_checks was asked
    register_state: str | None = None  # the register's state the guard was wired from
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- checking ------------------------------------------------------------------
    def check(self, source: Any, *, label: str | None = None, delivered: Callable[[], bool] | None = None) -> PhotoResult:
        """One photo (path, bytes, numpy array or PIL image), judged and audited.

        ``delivered``: asked just before the audit entries are written; False (the web service's caller stopped
        waiting) writes none, since no one received the decision."""
        self.refresh()
        result = self.guard.check(source, self.context, label=label)
        if delivered is None or delivered():
            self.audit([result])
        return result

    def check_many(self, sources: Iterable[Any], workers: int | None = None) -> Iterable[PhotoResult]:
        """Results in input order as they are ready; call :meth:`finish` with all of them afterwards."""
        self.refresh()
        return self.guard.check_many(sources, self.context, workers=workers)

    def audited(self, results: Iterable[PhotoResult]) -> Iterator[PhotoResult]:
        """``results`` passed on one by one, each audited first: for results judged elsewhere (worker processes,
        Ray) or read as they come (a JSON Lines stream), where a result may be acted on before the batch ends."""
        for result in results:
            self.audit([result])
            yield result

    def check_in_worker(self, path: str) -> tuple[PhotoResult, list[tuple[str, int, Any]]]:
        """In a worker process: the result, and the embeddings grouping needs from it (the driver groups the batch,
        ``keep_embeddings``), which leave this worker's memory with it."""
        self.refresh()  # a consent withdrawn meanwhile applies to the next photo here too
        result = self.guard.check(path, self.context)
        if self.store is None:
            return result, []
        vectors = [(source, index, vector) for (source, index), vector in self.store.as_mapping().items()]
        self.store.clear()
        return result, vectors

    def keep_embeddings(self, vectors: Iterable[tuple[str, int, Any]]) -> None:
        """In the driver: a worker's embeddings of one photo, for grouping the batch in ``finish``."""
        if self.store is not None:
            for source, index, vector in vectors:
                self.store.put(source, index, vector)

    def worker_spec(self) -> dict[str, Any]:
        """What a worker process needs to open the same checks (``open_worker_checks``): plain, picklable values."""
        c = self.context
        return {"policy": self.guard.policy, "pack": self.guard.pack_label,
                "db": self.register.store.url if self.register is not None else None,
                "context": {"channel": c.channel, "when": c.when, "event_id": c.event_id, "purpose": c.purpose},
                "lang": self.lang, "group": self.store is not None}

    def refresh(self) -> bool:
        """Re-read the register's consents, events, reviews and known adults if it changed since; True if it did.

        Raises the register's error when it cannot be read: nothing is judged on
        a register that may have changed.
        """
        if self.register is None:
            return False
        if self.register.state() == self.register_state:
            return False
        with self._lock:
            state = self.register.state()
            if state == self.register_state:
                return False
            self.notices.clear()
            _wire(self, *self.wiring)
            self.register_state = state
            return True

    # -- the register --------------------------------------------------------------------
    def enrol(self, child_id: str, source: Any, face: int | None = None, *, confirm_child: bool = False) -> Any:
        """Enrol face ``face`` of a photo (1 = leftmost, as a check numbers it) for ``child_id``; ``Enrolled``.

        The photo is searched exactly as :meth:`check` searches it; the register
        stores the embedding, never the photo. A face the estimate calls an adult
        needs ``confirm_child``. The next check sees the enrolment.
        """
        from minorguard.application.enrolment import enrol_photo

        if self.register is None:
            raise RegisterUnavailable("no register")
        return enrol_photo(self.register, child_id, source, face, guard=self.guard, confirm_child=confirm_child)

    def finish(self, results: Sequence[PhotoResult], audit: bool = True) -> tuple[list[PhotoResult], Any]:
        """Group the batch (when grouping was asked for) and write its audit records; (results, groups or None).
        ``audit=False`` where the results were audited one by one already (an incremental run)."""
        if audit:
            self.audit(results)
        if self.store is None:
            return list(results), None
        from minorguard.faces.grouping import group_results

        batch = group_results(results, self.store.as_mapping(), self.guard.policy, self.lang)
        self.store.clear()  # biometric data: not kept past the batch
        return list(batch.results), batch

    # -- the audit trail -------------------------------------------------------------
    def audit(self, results: Sequence[PhotoResult]) -> int:
        """Every decision that used the register, and every photo judged with it; nothing without a register.

        Raises RegisterError ``audit_unwritten`` (naming the register's own error) when the entries cannot be
        written: a decision that cannot be audited is not to be relied on.
        """
        from consent_db import RegisterError

        reg = self.register
        if reg is None or not results:
            return 0
        when = (self.context.when or Date.today()).isoformat()
        decisions = []
        for r in results:
            # a preview's faces that went with the picture's result rest on the register too (preview_faces)
            for d, in_preview in [(d, False) for d in r.faces] + [(d, True) for d in r.preview_faces]:
                for entry in self._decision_entries(d, when):
                    entry.update(action=d.action.value, reason=d.reason.value, policy_version=r.policy_version, tool=self.tool,
                                 face=d.number, channel=self.context.channel, date=when)
                    if in_preview:
                        entry["preview"] = True
                    decisions.append((r.sha256, d.index, entry))
        checks = [(r.sha256, {
            "verdict": r.verdict.value, "error_code": r.error_code,
            "faces": [[d.index, d.action.value, d.reason.value] for d in r.faces],
            "face_numbers": [d.number for d in r.faces],
            "channel": self.context.channel, "date": when, "policy_version": r.policy_version,
            "model_pack": self.guard.pack_label, "tool": self.tool,
        }) for r in results]
        try:
            written = reg.audit_decisions(decisions) if decisions else 0
            return written + reg.audit_checks(checks)
        except RegisterError as error:
            raise RegisterError("audit_unwritten", error=error.problems[0]) from error

    # -- publishable copies -------------------------------------------------------------
    def export(self, sources: Iterable[Any], out_dir: str | os.PathLike, **options: Any) -> Any:
        """Publishable copies of ``sources`` under ``out_dir`` (``export.export_photos``: hide, style, keep_review,
        overwrite, recursive, progress, workers), each exported photo recorded in the register's audit log."""
        from minorguard.publish.export import export_photos

        self.refresh()
        folder = str(Path(out_dir).resolve())
        return export_photos(self.guard, sources, out_dir, context=self.context,
                             audit=lambda entry: self._exported(entry, folder), **options)

    def export_bytes(self, data: bytes, name: str = "foto.jpg", *, delivered: Callable[[], bool] | None = None,
                     **options: Any) -> ExportedCopy:
        """One photo's publishable copy: ``ExportedCopy(data, photo, entry)``: the copy's bytes (None when no copy
        was made), what happened (``ExportedPhoto``: verdict, faces hidden, or why it was refused) and the photo's
        manifest entry as the export's manifest writes it. The original is never modified.

        ``name`` is the caller's and is only said back (entry, photo, messages): it need not be a valid file name here
        (a web form may send 300 Albanian letters, a '/', a NUL). ``delivered``: as for :meth:`check`."""
        import json
        import re
        import tempfile

        from minorguard.publish.export import MANIFEST_NAME, ExportStatus, export_photos

        self.refresh()
        shown = Path(name).name or "foto"
        suffix = Path(shown).suffix
        # the file on disk gets a name of ours; the caller's suffix is kept where it is a plain one, as it was
        on_disk = "foto" + (suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix) else "")
        with tempfile.TemporaryDirectory(prefix="minorguard-") as tmp:
            source = Path(tmp) / "in" / on_disk
            source.parent.mkdir()
            source.write_bytes(data)
            out = Path(tmp) / "out"

            def said(text: str | None) -> str | None:
                # the export's texts name the files it read and wrote; here those are temporary, the caller's is its name
                if not text:
                    return text
                text = text.replace(str(out / on_disk), shown).replace(str(source), shown)
                return text.replace(tmp + os.sep, "").replace(tmp, "")

            def named(entry: dict[str, Any], made: bool) -> dict[str, Any]:
                # "output" names the copy, and there is one only when its bytes are returned (a folder's manifest names
                # where a refused copy would have gone; here it named a copy that does not exist)
                return {**entry, "source": shown, "output": shown if made else None,
                        **({"message": said(entry["message"])} if "message" in entry else {})}

            # the copy goes back to the caller, not into a folder (the audit entries name no file)
            def audit(entry: dict[str, Any]) -> None:
                if delivered is None or delivered():
                    self._exported(entry, None)

            summary = export_photos(self.guard, [source], out, context=self.context, audit=audit, **options)
            (photo,) = summary.photos
            copy = out / photo.output if photo.output and photo.status is ExportStatus.EXPORTED else None
            data = copy.read_bytes() if copy is not None and copy.is_file() else None
            entries = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["photos"]
            entry = named(entries[0], data is not None) if entries else {}
            photo = dataclasses.replace(photo, source=shown, output=shown if data is not None else None,
                                        message=said(photo.message) or "", detail=said(photo.detail) or "")
            return ExportedCopy(data, photo, entry)

    def _exported(self, entry: dict[str, Any], out_dir: str | None) -> None:
        """One hash-chained ``photo_exported`` entry per exported photo, naming the tool, the channel and date it was
        exported for and the folder of the copy (None: the copy was returned to the caller); ``photo_not_exported``
        for a copy refused, a stale copy or a photo that could not be judged."""
        if self.register is None:
            return
        from consent_db import audit

        with self.register.store.transaction() as session:
            # never a file name (a name can name a child, and the log is never erased): the copy by its sha256
            action = "photo_exported" if entry.get("action", "export") == "export" else "photo_not_exported"
            audit.append(session, self.register.actor, action, entry.get("output_sha256") or entry.get("code") or "",
                         {**{k: v for k, v in entry.items() if k not in ("source_sha256", "source", "output", "message")},
                          "tool": self.tool, "out_dir": out_dir,
                          "channel": self.context.channel, "date": (self.context.when or Date.today()).isoformat()},
                         photo_sha256=entry.get("source_sha256"))

    def _decision_entries(self, d: Any, when: str) -> list[dict[str, Any]]:
        """What the register contributed to one face's decision (names never: children by pseudonymous id)."""
        entries: list[dict[str, Any]] = []
        if d.event is not None and d.reason.value in ("event_exempt", "event_ambiguous"):
            entries.append({"event_id": d.event.event_id, "basis": d.event.basis, "how": d.event.how, "ambiguous": d.event.ambiguous})
        if d.consent is not None and self.guard.consent is not None:
            entries.append({
                "child_ref": d.consent.child_ref, "similarity": round(float(d.consent.similarity), 4),
                "record": d.consent.record_id, "confident": d.consent.confident, "ambiguous": d.consent.ambiguous,
                "never_publish": d.consent.never_publish, "channel": self.context.channel, "date": when,
                "document_sha256": self.guard.consent.document_sha256(d.consent.record_id),
            })
        if d.reason.value == "known_adult":
            entries.append({"reason": "known_adult", "known_adult": d.detail,
                            "p_under_18": None if d.age is None else round(d.age.p_under_18, 4)})
        return entries

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        if self.register is not None:
            self.register.close()
            self.register = None

    def __enter__(self) -> Checks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_worker_checks(spec: dict[str, Any], models: str | None, tool: str, guard: Guard | None = None) -> Checks:
    """In a worker: the driver's checks (``Checks.worker_spec``), models loaded here (or ``guard``, loaded already
    from the same policy and pack). Workers only judge; the driver audits (the register keeps one writer)."""
    group = spec.get("group", False)  # the worker keeps each photo's embeddings until it hands them over
    return open_checks(spec["policy"], models, spec["db"], CheckContext(**spec["context"]), tool=tool, lang=spec["lang"],
                       group=group, photos=2 if group else 1, guard=guard)


def open_checks(
    policy: str | Path | Any = None,
    models: Any = None,
    db: str | None = None,
    context: CheckContext | None = None,
    *,
    tool: str = "library",
    actor: str | None = None,
    lang: str = "en",
    photos: int = 1,
    group: bool = False,
    guard: Guard | None = None,
    register: Any = None,
    apply_reviews: bool = True,
) -> Checks:
    """A guard with everything the register knows, for ``context``; the same for every entry point.

    The register is ``db`` (path or URL), else $MINORGUARD_DB, else the data
    folder's; it is opened when named, when ``context.event_id`` is given, or
    when one exists, and one that exists but cannot be opened raises
    :class:`RegisterUnavailable` (nothing is judged without it). With no register
    anywhere, photos are checked with none: nothing but an adult age estimate
    lets a face through, and no audit record is written.

    Raises ``PolicyError``, ``ModelError``, ``RegisterUnavailable``,
    ``UnknownEventError`` or the register's errors, each with a message in every
    language (``error.text(lang)``). ``guard``: an already loaded guard to wire
    (its models are reused; its collaborators are replaced). ``register``: one
    already open (the review page's); ``apply_reviews=False`` shows the models'
    own decisions (the review page, where reviewers make them).
    """
    context = context or CheckContext()
    opened_here = register is None
    if register is None:
        register = open_register_for_checks(db, context.event_id, actor)
    try:
        if guard is None:
            guard = Guard(policy=policy, pack=models)
        checks = Checks(guard, register, context, tool, lang, wiring=(photos, group, apply_reviews))
        # the state first: a change made while wiring is read again before the first photo
        checks.register_state = register.state() if register is not None else None
        _wire(checks, photos, group, apply_reviews)
        return checks
    except BaseException:
        if register is not None and opened_here:  # a register handed in is the caller's to close
            register.close()
        raise


def _wire(checks: Checks, photos: int, group: bool, apply_reviews: bool = True) -> None:
    """Events, consents, reviewers' decisions, known adults and grouping, from the register.

    Everything is read first and handed to the guard at the end, so a photo being
    checked on another thread meanwhile sees the register as it was or as it is,
    never a guard with its reviewers' decisions or consents taken away.
    """
    from minorguard.faces.grouping import EmbeddingStore
    from minorguard.rules.events import RegisterEventLinker

    guard, register, context, lang = checks.guard, checks.register, checks.context, checks.lang
    refuse_unknown_channel(context.channel, guard.policy)
    linker = consent = reviews = known = None
    if register is not None:
        from consent_db.matcher import RegisterMatcher, unrecognised_never_publish

        linker = RegisterEventLinker.from_register(register, lang)
        if context.event_id is not None:
            linker.get(context.event_id)
        else:
            linker.events  # noqa: B018 - read the register now, not inside the worker threads
        children = register.list_children()
        unrecognised = unrecognised_never_publish(children)  # with no enrolment photo at all, every one of them
        if any(c.enrolment_photos for c in children):
            # loaded here, not only named: a model that cannot be used stops the checks before any photo (a described
            # pack's names cost nothing; its workers load theirs when they wire the same register)
            embedder = guard.pack.consent_embedder.name
            consent = RegisterMatcher.from_policy(register, guard.policy, embedder=embedder, event_id=context.event_id,
                                                  purpose=context.purpose, lang=lang)
            if consent.skipped:
                checks.notices.append(t("register.other_embedder", lang, n=consent.skipped, embedder=embedder))
            unrecognised = consent.unrecognised_never_publish
        if unrecognised:
            from minorguard.rules.events import UnrecognisedNeverPublish

            # outside events a face no consent covers blocks anyway; at a public or outdoor event it would be exempt
            linker = UnrecognisedNeverPublish(linker, unrecognised, lang)
            checks.notices.append(t("register.never_publish_unrecognised", lang, n=unrecognised))
        if apply_reviews:
            from minorguard.application.reviews import StoredReviews

            reviews = StoredReviews.open(register, guard.policy, context, lang)
        if register.list_known_adults(include_expired=True):
            from minorguard.models.base import ModelError
            from minorguard.rules.known_adults import KnownAdultMatcher

            try:
                embedder = guard.pack.embedder.name
            except ModelError as error:  # known adults cannot be matched: say so, do not check without them
                raise KnownAdultsUnavailable(error) from None
            known = KnownAdultMatcher.from_register(register, guard.policy, embedder, lang)
            expired = known.expired(context.when or Date.today())
            if expired:
                checks.notices.append(t("adult.expired_in_scan", lang, names=", ".join(f"{a.name} ({a.expires})" for a in expired)))
    guard.events, guard.consent, guard.reviews, guard.known_adults = linker, consent, reviews, known
    if checks.store is None:  # a refresh keeps the batch's embeddings
        checks.store = EmbeddingStore() if group and guard.policy.grouping_enabled and photos > 1 else None
    guard.embeddings = checks.store
