"""The web service: publishing tools in any language ask minorguard before they publish.

Built on Starlette and served by uvicorn: four endpoints do not need a larger
framework, every error must come out as the catalogue's coded line in the
caller's language (a framework's own validation answers would have to be
replaced anyway), and the upload limit must hold before a body is read whole,
which needs the raw stream. The OpenAPI description is generated from the
library's result types (``openapi.py``).

Everything behind the endpoints is the application layer: the same register,
consents, events, reviewers' decisions, known adults and audit records as the
command line, with the calling tool's name (from its API key) in every entry.
A request is either answered with a decision the register has recorded, or
with an error and nothing decided: a register that cannot be read or written,
or a check past the time limit, is 503, never a PASS. A photo past the time
limit cannot be stopped (its thread runs on): it keeps its ``--threads`` slot
until it ends, and what it decides is not audited, since no caller received it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from minorguard.locale import LANGUAGES, t
from minorguard.locale.coded_error import CodedError
from minorguard.service.openapi import CHECK_FIELDS, EXPORT_FIELDS, openapi
from minorguard.service.responses import CheckRefused, ExportAnswer, Health, ModelsAnswer, ServiceError
from minorguard.service.upload import (
    MAX_FIELDS,
    MAX_FILES,
    PHOTO_FIELD,
    BadForm,
    FormPart,
    SeveralFiles,
    TooLarge,
    read_upload,
)
from minorguard.types import to_jsonable
from minorguard.version import __version__

__all__ = ["ServiceSettings", "create_app"]

log = logging.getLogger("minorguard.service")

# query parameters a key must never travel in (they end up in proxies' and servers' logs)
KEY_PARAMS = frozenset({"key", "api_key", "apikey", "api-key", "token", "access_token", "auth"})
# a copy's media type by the format its bytes are in (Pillow's name): a copy keeps its original's format, whatever the
# caller named the upload
_MEDIA = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
          "GIF": "image/gif", "BMP": "image/bmp", "HEIF": "image/heif", "AVIF": "image/avif"}
# what the Minorguard-Manifest header carries of the entry: values of a bounded size. Proxies and clients limit a
# header (nginx 4-8 KB for all of them, urllib 64 KB a line) and the faces grow with the photo (52 KB for 144 faces);
# the file names are the caller's own. The whole entry comes with Accept: application/json.
_HEADER_FIELDS = ("status", "code", "verdict", "verdict_after", "source_sha256", "output_sha256", "hidden", "attempts",
                  "jpeg_quality", "hide", "style", "keep_review", "model_pack", "policy_version", "at")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """How one service process runs; ``from_env`` for worker processes that uvicorn starts."""

    policy: str | None = None
    models: str | None = None
    db: str | None = None
    lang: str = "sq"  # answers without Accept-Language
    max_upload_mb: float = 50.0
    timeout_s: float = 60.0
    threads: int = 0  # photos checked at once per process (0: the cores)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    ENV = "MINORGUARD_SERVE_"

    def to_env(self) -> dict[str, str]:
        return {f"{self.ENV}{k.upper()}": str(v) for k, v in (
            ("policy", self.policy), ("models", self.models), ("db", self.db), ("lang", self.lang),
            ("max_upload_mb", self.max_upload_mb), ("timeout_s", self.timeout_s), ("threads", self.threads)) if v is not None}

    @classmethod
    def from_env(cls) -> ServiceSettings:
        get = lambda k: os.environ.get(f"{cls.ENV}{k.upper()}")
        base = cls()
        return cls(policy=get("policy"), models=get("models"), db=get("db"), lang=get("lang") or base.lang,
                   max_upload_mb=float(get("max_upload_mb") or base.max_upload_mb),
                   timeout_s=float(get("timeout_s") or base.timeout_s), threads=int(get("threads") or 0))


class Refusal(Exception):
    """An answer that is not a result: status, catalogue key, its values, and the field at fault."""

    def __init__(self, status: int, key: str, field: str | None = None, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.field, self.values = status, key, field, values

    def message(self, lang: str) -> str:
        """The line in ``lang``; a coded error among the values is said in ``lang`` too."""
        said = {k: v.text(lang) if isinstance(v, CodedError) else v for k, v in self.values.items()}
        return t(self.key, lang, **({"field": self.field} | said))  # the field at fault may be in the line too

    def answer(self, lang: str) -> JSONResponse:
        body = ServiceError(self.key, self.message(lang), self.field, self.status)
        return _json(to_jsonable(body), self.status, lang)


def _json(body: Any, status: int, lang: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Content-Language": lang, **(headers or {})})


def answer_language(request: Request, default: str) -> str:
    """The first language of Accept-Language (by q) that the catalogue has, else ``default``."""
    ranked = []
    for n, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, n, tag.strip().lower().split("-", 1)[0]))
    for _q, _n, tag in sorted(ranked):
        if tag in LANGUAGES:
            return tag
    return default


class Service:
    """The endpoints over one ``ChecksPool`` (models and register opened once per process)."""

    def __init__(self, settings: ServiceSettings, pool: Any) -> None:
        from consent_db.api_keys import ApiKeys
        from minorguard.application.pool import ChecksPool

        self.settings = settings
        self.pool = pool
        # a Checks says its notes (events, consents, known adults) in the language it was wired in: one pool per
        # language over the same models and register, so an answer's texts are in the answer's language
        self.pools = {lang: pool if lang == pool.lang else ChecksPool(register=pool.register, guard=pool.guard, lang=lang,
                                                                     max_contexts=pool.max_contexts)
                      for lang in LANGUAGES}
        self.keys = ApiKeys(pool.register)
        # photos are judged on these threads, --threads at a time. A photo past the time limit cannot be stopped and
        # keeps its thread until it ends (anyio's limiter gave the slot back as soon as the request gave up, so more
        # photos ran at once than --threads); one still waiting for a thread when its time is up never starts.
        self.photo_threads = ThreadPoolExecutor(settings.threads or max(2, os.cpu_count() or 2), thread_name_prefix="minorguard-photo")

    # -- plumbing --------------------------------------------------------------------
    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn`` on a worker thread within the time limit; past it, 503 and nothing decided. For the work around a
        photo (a key lookup, a context's wiring, a health check): it must not queue behind photos (``_photo``)."""
        try:
            with anyio.fail_after(self.settings.timeout_s):
                return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), abandon_on_cancel=True)
        except TimeoutError:
            raise self._timeout() from None
        except Refusal:
            raise
        except Exception as error:
            raise _refusal(error) from None

    def _timeout(self) -> Refusal:
        return Refusal(503, "service.timeout", seconds=f"{self.settings.timeout_s:g}")

    async def _photo(self, checks: Any, work: Callable[[Any, Callable[[], bool]], Any]) -> Any:
        """``work(checks, delivered)`` on one of the ``--threads`` photo threads within the time limit; the library's
        own ``Checks.check`` or ``Checks.export_bytes`` judge the photo and write its audit entries only when
        ``delivered()`` says the caller still waits for the answer.

        Past the limit: 503, nothing decided. A photo not started yet never starts; one running keeps its thread until
        it ends, and what it decides is not audited (no caller received it: a withdrawal of consent must not find it
        among the photos that relied on the consent). One whose entries are being written when the time is up is
        answered: its decision is recorded, so it is given.
        """
        delivery = _Delivery()
        done = anyio.Event()
        token, loop_thread = anyio.lowlevel.current_token(), threading.get_ident()

        def finished(_: Future) -> None:
            if threading.get_ident() == loop_thread:  # cancelled from the event loop itself
                done.set()
                return
            with contextlib.suppress(anyio.RunFinishedError):  # the server stopped meanwhile: nobody waits
                anyio.from_thread.run_sync(done.set, token=token)

        future = self.photo_threads.submit(lambda: work(checks, delivery.claim))
        future.add_done_callback(finished)
        try:
            with anyio.move_on_after(self.settings.timeout_s):
                await done.wait()
            if not future.done() and (future.cancel() or delivery.give_up()):
                raise self._timeout()
            await done.wait()  # its entries are being written: the decision is recorded and is the answer
        except anyio.get_cancelled_exc_class():
            if not future.cancel():  # the caller is gone: the same as past the time limit
                delivery.give_up()
            raise
        try:
            return future.result()
        except Exception as error:
            raise _refusal(error) from None

    async def _tool(self, request: Request) -> str:
        """The calling tool's name from its API key; 400 for a key in the URL, 401 without a valid one."""
        if any(name.lower() in KEY_PARAMS for name in request.query_params):
            raise Refusal(400, "service.key_in_url", field="query")
        header = request.headers.get("authorization", "")
        secret = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "").strip()
        if not secret:
            raise Refusal(401, "service.no_key")
        info = await self._run(self.keys.find, secret)
        if info is None:
            raise Refusal(401, "service.bad_key")
        return info.tool

    def _context(self, request: Request, allowed: dict[str, str]) -> Any:
        from minorguard.application.checks import calendar_date, known_channels
        from minorguard.pipeline import CheckContext

        query = request.query_params
        for name in query:
            if name not in allowed:
                raise Refusal(400, "service.unknown_field", field=name, allowed=", ".join(allowed))
        # a field sent empty is that value, as `scan --purpose ""` and the library's CheckContext(purpose="") take it:
        # an empty purpose is outside a purpose-limited consent, an empty channel or event is refused (dropping it
        # would judge without the purpose, at no channel's size, or without the event)
        channel = query.get("channel")
        channels = known_channels(self.pool.guard.policy)
        if channel is not None and channel.strip().casefold() not in channels:  # as CheckContext keeps it
            raise Refusal(400, "service.unknown_channel", field="channel", value=channel, allowed=", ".join(channels))
        when = None
        if query.get("date"):
            text = query["date"]
            try:
                when = calendar_date(text)
            except ValueError:
                raise Refusal(400, "service.bad_date", field="date", value=text) from None
        for name, limit in (("purpose", 200), ("event", 64)):
            if len(query.get(name, "")) > limit:
                raise Refusal(400, "service.too_long", field=name, max=limit)
        return CheckContext(channel=channel, when=when, event_id=query.get("event"), purpose=query.get("purpose"))

    async def _checks(self, request: Request, fields: dict[str, str], lang: str) -> tuple[Any, Any]:
        """(checks for the request's context and tool, wired in ``lang``; the upload); every refusal before the photo
        is read whole."""
        tool = await self._tool(request)
        context = self._context(request, fields)
        try:
            upload = await read_upload(request, self.settings.max_upload_bytes)
        except TooLarge:
            raise Refusal(413, "service.too_large", limit=f"{self.settings.max_upload_mb:g}") from None
        except SeveralFiles as several:
            if several.count is None:
                raise Refusal(400, "service.too_many_files", field="photo", max=MAX_FILES) from None
            raise Refusal(400, "service.several_photos", field="photo", n=several.count) from None
        except BadForm:
            raise Refusal(400, "service.bad_form", fields=MAX_FIELDS) from None
        except FormPart as part:
            raise _form_part_refusal(part, fields) from None
        if upload is None:
            raise Refusal(400, "service.no_photo", field="photo")
        checks = await self._run(self.pools.get(lang, self.pool).checks, context, tool)
        return checks, upload

    # -- endpoints -----------------------------------------------------------------------
    async def check(self, request: Request) -> Response:
        lang = answer_language(request, self.settings.lang)
        checks, upload = await self._checks(request, CHECK_FIELDS, lang)
        result = await self._photo(checks, lambda shared, delivered: shared.check(upload.data, label=upload.name, delivered=delivered))
        body = to_jsonable(result)
        if result.verdict.value == "ERROR":
            from minorguard.report.files import explain_error

            refused = CheckRefused("service.photo_error", t("service.photo_error", lang, reason=explain_error(result, lang)), body)
            return _json(to_jsonable(refused), 422, lang)
        return _json(body, 200, lang)

    async def export(self, request: Request) -> Response:
        from minorguard.publish.export import explain_export

        lang = answer_language(request, self.settings.lang)
        options = self._export_options(request)
        checks, upload = await self._checks(request, EXPORT_FIELDS, lang)

        def export(shared: Any, delivered: Callable[[], bool]) -> tuple[Any, str]:
            made = shared.export_bytes(upload.data, upload.name, delivered=delivered, **options)
            return made, _media_type(made.data)

        made, media = await self._photo(checks, export)
        photo, entry = made.photo, made.entry
        verdict = photo.verdict.value if photo.verdict else None
        wants_json = "application/json" in request.headers.get("accept", "")
        if made.data is None:
            status = 422 if photo.code in ("not_checked", "unreadable", "undecodable") else 409
            why = t("service.refused", lang, why=explain_export(photo, lang))
            return _json(to_jsonable(ExportAnswer(verdict, None, None, entry, "service.refused", why)), status, lang)
        if wants_json:
            encoded = base64.b64encode(made.data).decode("ascii")
            return _json(to_jsonable(ExportAnswer(verdict, media, encoded, entry)), 200, lang)
        summary = {**{k: entry.get(k) for k in _HEADER_FIELDS}, "face_count": len(entry.get("faces") or ())}
        headers = {"Minorguard-Verdict": verdict or "", "Minorguard-Manifest": json.dumps(summary, ensure_ascii=True, separators=(",", ":")),
                   "Content-Language": lang}
        return Response(made.data, 200, headers=headers, media_type=media)

    def _export_options(self, request: Request) -> dict[str, Any]:
        from minorguard.publish.export import HideMode
        from minorguard.publish.redact import Style

        query = request.query_params
        options: dict[str, Any] = {}
        for name, allowed, key in (("hide", HideMode, "hide"), ("style", Style, "style"),
                                   ("keep_review", {"true": True, "false": False}, "keep_review")):
            value = query.get(name)
            if value is None:
                continue
            # the names `export --hide/--style` and the library take ("all" for all-faces, any case): HideMode, Style
            chosen = _named(allowed, value)
            if chosen is None:
                names = [m.value for m in allowed] if isinstance(allowed, type) else list(allowed)
                raise Refusal(400, "service.bad_option", field=name, value=value, allowed=", ".join(names))
            options[key] = chosen
        return options

    async def health(self, request: Request) -> Response:
        lang = answer_language(request, self.settings.lang)
        guard = self.pool.guard
        health = Health("ok", True, "reachable", guard.pack_label, guard.policy.version, __version__)
        try:
            await self._run(self.pool.register.state)
        except Refusal as refusal:
            health = replace(health, status="unavailable", register="unreachable", detail=refusal.message(lang))
            return _json(to_jsonable(health), 503, lang)
        return _json(to_jsonable(health), 200, lang)

    async def models(self, request: Request) -> Response:
        lang = answer_language(request, self.settings.lang)
        pack = self.pool.guard.pack
        return _json(to_jsonable(ModelsAnswer(pack.label, pack.licence_note, list(pack.files()))), 200, lang)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi())


def _form_part_refusal(part: FormPart, fields: dict[str, str]) -> Refusal:
    """400 for a form part that is not the photo, naming it. The context is read from the query alone: a form's
    ``channel`` or ``purpose`` was dropped and the photo judged without it, so a form field is refused and never read
    (one place for each value: no field in both with different values, one validation, refused before any photo)."""
    if part.is_file:
        return Refusal(400, "service.photo_field", field=part.name)
    if part.name == PHOTO_FIELD:
        return Refusal(400, "service.photo_not_file", field=PHOTO_FIELD)
    if part.name in fields:
        return Refusal(400, "service.form_field", field=part.name)
    return Refusal(400, "service.unknown_field", field=part.name, allowed=", ".join(fields))


class _Delivery:
    """Whether a photo's answer reaches its caller; settled once, by the photo's thread or by the request.

    The thread claims it just before it writes the audit entries; the request, past the time limit, gives it up.
    """

    __slots__ = ("_lock", "_state")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: str | None = None

    def _settle(self, state: str) -> bool:
        with self._lock:
            self._state = self._state or state
            return self._state == state

    def claim(self) -> bool:
        """On the photo's thread, before its audit entries: False when the caller was told nothing was decided."""
        return self._settle("answered")

    def give_up(self) -> bool:
        """On the request, past the time limit: False when the entries are being written (the answer is given)."""
        return self._settle("abandoned")


def _named(allowed: Any, value: str) -> Any:
    """``value`` as a member of the enum ``allowed`` (its own rules: any case, aliases) or a key of the dict; None."""
    if isinstance(allowed, type):
        try:
            return allowed(value)
        except ValueError:
            return None
    return allowed.get(value.lower())


def _media_type(data: bytes | None) -> str:
    """What the copy is, by its own bytes (a JPEG uploaded as x.png is exported as a JPEG)."""
    from PIL import Image

    if not data:
        return "application/octet-stream"
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return _MEDIA.get(image.format or "", "application/octet-stream")
    except Exception:  # a copy this process wrote: only a format Pillow cannot name lands here
        return "application/octet-stream"


def _refusal(error: Exception) -> Refusal:
    """What an error of the layers below means to a caller: the field at fault, or 503 and nothing decided."""
    from consent_db import RegisterError
    from minorguard.application.checks import KnownAdultsUnavailable, RegisterUnavailable
    from minorguard.rules.events import UnknownEventError

    if isinstance(error, UnknownEventError):
        return Refusal(400, "service.unknown_event", field="event", error=error)
    if isinstance(error, (RegisterError, RegisterUnavailable, KnownAdultsUnavailable)):
        return Refusal(503, "service.register_down", error=error)
    log.exception("unexpected error; nothing was decided")
    return Refusal(500, "service.internal", kind=type(error).__name__)


def create_app(settings: ServiceSettings | None = None, pool: Any = None) -> Starlette:
    """The ASGI application; the models and the register are opened here, before any request is accepted.

    Without ``pool``, one is opened from ``settings`` (default: ``ServiceSettings.from_env()``, as uvicorn's
    worker processes call it). Raises ``SystemExit``-free coded errors when the register or models cannot be used.
    """
    from minorguard.application.checks import RegisterUnavailable
    from minorguard.application.pool import ChecksPool

    settings = settings or ServiceSettings.from_env()
    if pool is None:
        pool = ChecksPool(settings.policy, settings.models, settings.db, actor="minorguard serve", lang=settings.lang)
    if pool.register is None:
        raise RegisterUnavailable(t("service.no_register", settings.lang))
    service = Service(settings, pool)

    async def refused(request: Request, error: Exception) -> Response:
        lang = answer_language(request, settings.lang)
        if isinstance(error, Refusal):
            return error.answer(lang)
        if isinstance(error, HTTPException):
            if error.status_code == 404:
                return Refusal(404, "service.not_found", path=request.url.path).answer(lang)
            if error.status_code == 405:
                return Refusal(405, "service.method", method=request.method).answer(lang)
            if 400 <= error.status_code < 500:  # the request's fault, not ours: not "an internal error"
                return Refusal(error.status_code, "service.bad_request", status=error.status_code).answer(lang)
            return Refusal(error.status_code, "service.internal", kind=str(error.status_code)).answer(lang)
        log.exception("unexpected error; nothing was decided", exc_info=error)
        return Refusal(500, "service.internal", kind=type(error).__name__).answer(lang)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            service.photo_threads.shutdown(wait=False, cancel_futures=True)
            pool.close()

    routes = [
        Route("/v1/check", service.check, methods=["POST"]),
        Route("/v1/export", service.export, methods=["POST"]),
        Route("/v1/health", service.health, methods=["GET"]),
        Route("/v1/models", service.models, methods=["GET"]),
        Route("/v1/openapi.json", service.openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Refusal: refused, HTTPException: refused, Exception: refused})
    app.state.service = service
    return app
