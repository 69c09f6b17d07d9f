"""A photo out of a request: the body or one form field, never read past the limit."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

__all__ = ["MAX_FIELDS", "MAX_FILES", "PHOTO_FIELD", "BadForm", "FormPart", "SeveralFiles", "TooLarge", "Upload", "read_upload"]

CHUNK_LIMIT_SLACK = 64 * 1024  # a form's boundaries and headers around the photo
# a form is parsed no further: one photo is wanted, and each file or field is an object held while parsing
MAX_FILES = 4
MAX_FIELDS = 20
PHOTO_FIELD = "photo"  # the one part a form may carry: the photo, as a file


class TooLarge(Exception):
    """The request's body is over the limit: refused before it is read whole."""


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    name: str  # the form field's file name, else "upload"


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge  # said so in its headers: not a byte is read
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked, or a Content-Length that lied: stop at the limit
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
           "HEIF": ".heic", "AVIF": ".avif"}


def _named(data: bytes, name: str) -> str:
    """A name with the suffix of what the bytes are, when the caller gave none: a copy keeps its format and suffix."""
    if Path(name).suffix:
        return Path(name).name
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return name + _SUFFIX.get(image.format or "", "")
    except Exception:  # not a picture: the check says so, in its own words
        return name


class SeveralFiles(Exception):
    """A form with more than one file: one photo per request, never one of them judged for all. ``count`` is None
    past ``MAX_FILES``, where the form is not read further."""

    def __init__(self, count: int | None) -> None:
        super().__init__(count)
        self.count = count


class BadForm(Exception):
    """A multipart form that cannot be read: no boundary, malformed, or more than ``MAX_FIELDS`` fields."""


class FormPart(Exception):
    """A form part other than one file in the field ``photo``: a text field, or a file under another name.

    Refused, never ignored: the context (channel, date, purpose, event) is read from the query only, and a
    ``channel=print`` or ``purpose=...`` sent as a form field and dropped judged the photo without it (a child
    passed at no channel's size, or under a purpose-limited consent)."""

    def __init__(self, name: str, is_file: bool) -> None:
        super().__init__(name)
        self.name, self.is_file = name, is_file


async def read_upload(request: Request, max_bytes: int) -> Upload | None:
    """The photo: a multipart form's only file (field ``photo``), else the raw body; None when empty.
    Raises :class:`SeveralFiles` for a form with more than one file, :class:`BadForm` for one that cannot be read,
    :class:`FormPart` for a form with a text field or with its file under another name than ``photo``."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        data = await _body(request, max_bytes)
        return Upload(data, _named(data, "upload")) if data else None
    body = await _body(request, max_bytes + CHUNK_LIMIT_SLACK)
    replayed = False

    async def replay() -> dict:
        nonlocal replayed
        if replayed:
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
    except (HTTPException, MultiPartException) as error:  # Starlette says which in English words only
        said = str(getattr(error, "detail", None) or getattr(error, "message", "") or error)
        if said.startswith("Too many files"):
            raise SeveralFiles(None) from None
        raise BadForm(said) from None
    try:
        parts = form.multi_items()
        files = [(name, v) for name, v in parts if hasattr(v, "read")]
        if len(files) > 1:  # judging one of them would answer for a photo the caller may not have meant
            raise SeveralFiles(len(files))
        for name, value in parts:
            if not hasattr(value, "read"):  # a text field: the query carries the context, and nothing is dropped
                raise FormPart(name, is_file=False)
        if not files:
            return None
        field, chosen = files[0]
        if field != PHOTO_FIELD:  # `-F channel=@print.txt` was judged as the photo, and `-F foto=@...` taken as it
            raise FormPart(field, is_file=True)
        data = await chosen.read()
        if len(data) > max_bytes:
            raise TooLarge
        return Upload(data, _named(data, chosen.filename or "upload")) if data else None
    finally:
        await form.close()
