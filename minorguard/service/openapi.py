"""The service's OpenAPI description, generated from the library's result types and the answers' types."""

from __future__ import annotations

from functools import cache
from typing import Any

from minorguard.service.responses import CheckRefused, ExportAnswer, Health, ModelsAnswer, ServiceError
from minorguard.version import __version__

__all__ = ["CHECK_FIELDS", "EXPORT_FIELDS", "openapi"]

REF = "#/components/schemas/{model}"

CHECK_FIELDS = {
    "channel": "Where it will be published: facebook, instagram, x, youtube, tiktok, website, print, all.",
    "date": "Publication date, YYYY-MM-DD (default: today).",
    "purpose": "What it is published for; consents limited to purposes must list it (sent empty, it is the empty purpose).",
    "event": "The declared event the photo belongs to (its id in the register).",
}
EXPORT_FIELDS = {
    **CHECK_FIELDS,
    "hide": "Which faces the copy hides, as `minorguard export --hide`: minors (default), unconsented-minors-and-unknown "
            "or all-faces (`all` is taken for all-faces too).",
    "style": "mosaic (default), solid or blur.",
    "keep_review": "true: faces in REVIEW stay visible (default false: they are hidden too).",
}


def _schemas() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from minorguard.types import PhotoResult

    out: dict[str, Any] = {}
    for kind in (PhotoResult, ServiceError, CheckRefused, ExportAnswer, Health, ModelsAnswer):
        schema = TypeAdapter(kind).json_schema(ref_template=REF, mode="serialization")
        out.update(schema.pop("$defs", {}))
        out[kind.__name__] = schema
    # to_jsonable adds the face's number (1 = leftmost) beside its index: a property, not a field
    face = out["FaceDecision"]
    face["properties"]["face"] = {"type": "integer", "minimum": 1, "title": "Face", "description": "1 = the leftmost face"}
    face.setdefault("required", []).append("face")
    return out


def _params(fields: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
            for name, text in fields.items()]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF.format(model="ServiceError")}}}}


def _photo_body() -> dict[str, Any]:
    return {"required": True, "content": {
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        # the photo alone, as a file: the channel, date, purpose, event and export options travel in the query; any
        # other field of a form is refused (400, naming it), never dropped
        "multipart/form-data": {"schema": {"type": "object", "properties": {"photo": {"type": "string", "format": "binary"}},
                                           "required": ["photo"], "additionalProperties": False}},
    }}


def _common_errors() -> dict[str, Any]:
    return {
        "400": _error("A field is wrong (unknown or empty channel or event, malformed date); `field` names it. Also: a key in "
                      "the URL, a form with more than one file or one that cannot be read, and a form with any field but the "
                      "file `photo` (`field` names it: the other fields go in the query)."),
        "401": _error("No API key, or one that is unknown or revoked; nothing is written."),
        "413": _error("The upload is over the limit; refused before it is read whole."),
        "503": _error("The register cannot be used, or the check took longer than the limit: nothing was decided."),
    }


@cache
def openapi() -> dict[str, Any]:
    security = [{"bearer": []}, {"apiKey": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "minorguard", "version": __version__,
                 "description": "Rule 5: no photo in which a minor can be identified without written consent, "
                                "unless the event is public or outdoors. Every decision is audited in the register, "
                                "naming the calling tool. Messages follow Accept-Language (sq, en)."},
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
        "paths": {
            "/v1/check": {"post": {
                "summary": "Judge one photo for a channel, date, purpose and event.",
                "security": security, "parameters": _params(CHECK_FIELDS), "requestBody": _photo_body(),
                "responses": {
                    "200": {"description": "The result, as the JSON report writes it (verdict PASS, REVIEW or BLOCK).",
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="PhotoResult")}}}},
                    "422": {"description": "Not a photo, truncated, or a decompression bomb: the ERROR result.",
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="CheckRefused")}}}},
                    **_common_errors(),
                },
            }},
            "/v1/export": {"post": {
                "summary": "A publishable copy of one photo: the faces rule 5 forbids hidden, metadata removed, checked again.",
                "security": security, "parameters": _params(EXPORT_FIELDS), "requestBody": _photo_body(),
                "responses": {
                    "200": {"description": "The copy. With Accept: application/json, the copy in base64 and the whole manifest "
                                           "entry; otherwise the image's bytes (Content-Type: the copy's own format), with headers "
                                           "Minorguard-Verdict (the verdict on the picture the copy was made from; the original's "
                                           "previews and other frames are not in the copy and are judged by /v1/check) and "
                                           "Minorguard-Manifest (the entry's fields of a bounded size as JSON: status, code, verdict, "
                                           "verdict_after, source_sha256, output_sha256, hidden, attempts, jpeg_quality, hide, style, "
                                           "keep_review, model_pack, policy_version, at, and face_count; the faces themselves only in "
                                           "the JSON answer).",
                            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}},
                                        "application/json": {"schema": {"$ref": REF.format(model="ExportAnswer")}}}},
                    "409": {"description": "No copy was made (for example faces that could not be hidden); the entry says why.",
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="ExportAnswer")}}}},
                    "422": {"description": "The photo could not be read.",
                            "content": {"application/json": {"schema": {"$ref": REF.format(model="ExportAnswer")}}}},
                    **_common_errors(),
                },
            }},
            "/v1/health": {"get": {
                "summary": "Models loaded, register reachable, pack and policy versions (no key needed).",
                "responses": {"200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": REF.format(model="Health")}}}},
                              "503": {"description": "Not ready.", "content": {"application/json": {"schema": {"$ref": REF.format(model="Health")}}}}},
            }},
            "/v1/models": {"get": {
                "summary": "The model pack: every file with its sha256, licence and origin (no key needed).",
                "responses": {"200": {"description": "The pack.", "content": {"application/json": {"schema": {"$ref": REF.format(model="ModelsAnswer")}}}}},
            }},
            "/v1/openapi.json": {"get": {"summary": "This description.", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }
