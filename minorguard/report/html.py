"""One self-contained HTML file a communicator can look at: every photo, every face boxed.

The file holds everything it shows (previews as base64 JPEG, inline CSS, no
script) and a Content-Security-Policy that forbids any network request, so it
can be mailed or opened offline without leaking that it was opened.
"""

from __future__ import annotations

import base64
import html
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minorguard.locale import t
from minorguard.report.files import atomic_write_text, explain_error, explain_face
from minorguard.report.people import Person, people_of, side_key
from minorguard.report.thumbs import DEFAULT_LONG_SIDE, Preview, face_thumbnail, preview_or_none
from minorguard.rules.hints import hint_text
from minorguard.rules.policy import Policy, load_policy
from minorguard.types import FaceAction, FaceCategory, FaceDecision, PhotoResult, ReasonCode, Verdict

__all__ = [
    "FACE_KINDS",
    "KIND_COLOURS",
    "VERDICT_ORDER",
    "face_kind",
    "render_html",
    "write_html",
]

# Worst first: a reader starts where the work is.
VERDICT_ORDER = (Verdict.BLOCK, Verdict.ERROR, Verdict.REVIEW, Verdict.PASS)

FACE_KINDS = ("blocked", "review", "consent", "exemption", "adult", "not_identifiable")

# Chosen to stay apart for the common colour-vision deficiencies; the kind is
# also written next to every face and review boxes are dashed, so colour is
# never the only cue.
KIND_COLOURS = {
    "blocked": "#d7191c",
    "review": "#f59e0b",
    "consent": "#2c7bb6",
    "exemption": "#7b3294",
    "adult": "#1a9641",
    "not_identifiable": "#8c8c8c",
}

_LABEL_ALL_UP_TO = 10

_VERDICT_COLOURS = {Verdict.PASS: "#1a9641", Verdict.REVIEW: "#f59e0b", Verdict.BLOCK: "#d7191c", Verdict.ERROR: "#7b3294"}


def face_kind(decision: FaceDecision) -> str:
    """Which of the six kinds of the legend a face decision falls in."""
    if decision.action is not FaceAction.ALLOW:
        return "blocked" if decision.action is FaceAction.BLOCK else "review"
    if decision.category is FaceCategory.NOT_IDENTIFIABLE:
        return "not_identifiable"
    if decision.reason is ReasonCode.EVENT_EXEMPT:
        return "exemption"
    # An identifiable face that is not adult and is allowed without the event
    # exemption can only have been allowed through a consent (the register's or
    # one a reviewer linked).
    if decision.category is FaceCategory.ADULT and decision.reason is not ReasonCode.CONSENT:
        return "adult"
    return "consent"


@dataclass(frozen=True, slots=True)
class _Shown:
    result: PhotoResult
    preview: Preview | None


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float, total: int | None) -> str:
    if not total:
        return "0"
    return f"{100.0 * value / total:.3f}"


_CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1b1b;background:#f4f4f2}
header{background:#fff;padding:16px 24px;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 6px}
h2{font-size:18px;margin:28px 24px 8px}
.meta{color:#555;font-size:13px}
.counts{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0 6px}
.count{display:block;padding:6px 12px;border-radius:6px;color:#fff;font-weight:600;text-decoration:none}
.count b{font-size:18px;margin-left:6px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:13px;margin-top:6px}
.sw{display:inline-block;width:14px;height:14px;border:3px solid;vertical-align:-2px;margin-right:5px;border-radius:2px}
.sw.review{border-style:dashed}
.photos{display:flex;flex-direction:column;gap:18px;padding:0 24px 24px}
.photo{background:#fff;border:1px solid #ddd;border-left:8px solid;border-radius:6px;padding:12px 16px}
.photo h3{font-size:15px;margin:0 0 8px;word-break:break-all}
.photo h3 .v{color:#fff;border-radius:4px;padding:1px 8px;margin-right:8px;font-size:13px}
.body{display:flex;gap:18px;flex-wrap:wrap;align-items:flex-start}
.frame{position:relative;display:inline-block;max-width:100%;line-height:0}
.frame img{max-width:100%;height:auto;display:block}
.box{position:absolute;border:3px solid;border-radius:2px}
.box.review{border-style:dashed}
.box span{position:absolute;left:-3px;top:-18px;font:bold 11px/16px sans-serif;color:#fff;padding:0 4px;white-space:nowrap}
.side{flex:1;min-width:280px}
.faces{margin:0;padding:0;list-style:none}
.faces li{margin:0 0 6px;padding-left:4px}
.faces .k{font-weight:600}
.warn{background:#fff3cd;border:1px solid #e0c36b;padding:6px 10px;border-radius:4px;margin:6px 0}
.err{background:#fde2e1;border:1px solid #e6a0a0;padding:6px 10px;border-radius:4px}
.noprev{background:#eee;color:#666;padding:30px 40px;border-radius:4px}
details summary{cursor:pointer;color:#444}
footer{color:#777;font-size:12px;padding:12px 24px 30px}
.people{display:flex;flex-direction:column;gap:10px;padding:0 24px 12px}
.person{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px}
.person h3{font-size:14px;margin:0 0 4px}
.strip{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}
.strip a{display:block;border:3px solid;border-radius:3px;line-height:0;min-width:30px;min-height:30px;text-align:center}
.strip img{width:72px;height:72px;object-fit:cover}
"""


def _face_items(faces: Sequence[FaceDecision], lang: str) -> tuple[list[str], list[str]]:
    flagged, allowed = [], []
    for d in faces:
        kind = face_kind(d)
        colour = KIND_COLOURS[kind]
        item = (
            f'<li data-kind="{kind}"><span class="sw {kind}" style="border-color:{colour}"></span>'
            f'<span class="k">{_esc(t("face", lang, n=d.index + 1))} · {_esc(t(f"kind.{kind}", lang))}</span>: '
            f"{_esc(explain_face(d, lang))}</li>"
        )
        (allowed if d.action is FaceAction.ALLOW else flagged).append(item)
    return flagged, allowed


def _face_thumb(shown: _Shown, index: int, side: int = 72) -> str | None:
    """A small JPEG data URI of one face, cut from the photo's preview (no second decode of the original)."""
    import io

    from PIL import Image

    r, preview = shown.result, shown.preview
    if preview is None or not r.width or preview.sha256 != r.sha256:
        return None
    box = r.faces[index].box.expanded(1.4, r.width, r.height or r.width)
    with Image.open(io.BytesIO(preview.jpeg)) as image:
        jpeg = face_thumbnail(image, box, preview.width / r.width, side, quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _people_html(people: Sequence[Person], shown: Sequence[_Shown], policy: Policy, lang: str) -> str:
    """One row per person seen in several photos, each face linked to its photo."""
    rows = [p for p in people if len(p.faces) > 1]
    if not rows:
        return ""
    parts = [f'<section id="people"><h2>{_esc(t("html.people", lang))} ({len(rows)})</h2><div class="people">']
    for person in rows:
        parts.append(
            f'<div class="person" data-person="{person.id}" data-faces="{len(person.faces)}">'
            f'<h3>{_esc(t("review.person", lang, id=person.id, n=len(person.faces), photos=person.photos))}</h3>'
        )
        side = side_key(person, [s.result for s in shown], policy)
        if side is not None:
            parts.append(f'<div class="meta">{_esc(t(side, lang))}</div>')
        if person.mixed_ages and person.paired_with is not None:
            parts.append(f'<div class="warn" data-mixed="1">{_esc(t("review.person_mixed", lang, other=person.paired_with))}</div>')
        parts.append('<div class="strip">')
        for photo, index in person.faces:
            s = shown[photo]
            d = s.result.faces[index]
            kind = face_kind(d)
            title = f"{s.result.source} · {t('face', lang, n=index + 1)} · {t(f'kind.{kind}', lang)}"
            thumb = _face_thumb(s, index)
            inner = f'<img alt="{_esc(title)}" src="{thumb}">' if thumb else f"<span>{index + 1}</span>"
            parts.append(
                f'<a href="#p{photo}" data-kind="{kind}" title="{_esc(title)}" style="border-color:{KIND_COLOURS[kind]}">{inner}</a>'
            )
        parts.append("</div></div>")
    parts.append("</div></section>")
    return "".join(parts)


def _photo_html(shown: _Shown, lang: str, position: int) -> str:
    r, preview = shown.result, shown.preview
    colour = _VERDICT_COLOURS[r.verdict]
    parts = [
        f'<article class="photo" id="p{position}" data-verdict="{r.verdict.value}" style="border-left-color:{colour}">',
        (f'<h3><span class="v" style="background:{colour}">{_esc(t(f"verdict.{r.verdict.value}", lang))}</span>'
        f"{_esc(r.source)}</h3>"),
    ]
    changed = preview is not None and r.sha256 is not None and preview.sha256 != r.sha256
    if changed:
        parts.append(f'<div class="warn" data-changed="1">{_esc(t("html.changed", lang))}</div>')
    if r.error:
        parts.append(f'<div class="err">{_esc(explain_error(r, lang))}</div>')
    parts.append('<div class="body">')
    if preview is None:
        parts.append(f'<div class="noprev">{_esc(t("html.no_preview", lang))}</div>')
    else:
        data = base64.b64encode(preview.jpeg).decode("ascii")
        parts.append(
            f'<div class="frame"><img alt="{_esc(r.source)}" width="{preview.width}" height="{preview.height}"'
            f' src="data:image/jpeg;base64,{data}">'
        )
        if not changed:
            crowded = len(r.faces) > _LABEL_ALL_UP_TO
            for d in r.faces:
                kind = face_kind(d)
                c = KIND_COLOURS[kind]
                b = d.box
                # in a crowd, numbering every allowed face hides the ones that matter
                label = "" if crowded and d.action is FaceAction.ALLOW else f'<span style="background:{c}">{d.index + 1}</span>'
                parts.append(
                    f'<div class="box {kind}" data-face="{d.index}" title="{_esc(t("face", lang, n=d.index + 1))}: '
                    f'{_esc(explain_face(d, lang))}" style="'
                    f"left:{_pct(b.x, r.width)}%;top:{_pct(b.y, r.height)}%;"
                    f'width:{_pct(b.width, r.width)}%;height:{_pct(b.height, r.height)}%;border-color:{c}">'
                    f"{label}</div>"
                )
        parts.append("</div>")
    flagged, allowed = _face_items(r.faces, lang)
    parts.append('<div class="side">')
    if not r.faces and not r.error:
        parts.append(f"<p>{_esc(t('html.no_faces', lang))}</p>")
    if flagged:
        parts.append('<ul class="faces">' + "".join(flagged) + "</ul>")
    if allowed:
        summary = _esc(t("html.allowed_faces", lang, n=len(allowed)))
        # open when there is nothing else to read, folded when flagged faces come first
        attr = "" if flagged else " open"
        parts.append(f'<details{attr}><summary>{summary}</summary><ul class="faces">' + "".join(allowed) + "</ul></details>")
    for hint in r.hints:
        parts.append(f'<p class="meta">{_esc(hint_text(hint, lang))}</p>')
    parts.append("</div></div></article>")
    return "".join(parts)


def render_html(
    results: Sequence[PhotoResult],
    lang: str = "sq",
    *,
    title: str | None = None,
    long_side: int = DEFAULT_LONG_SIDE,
    pass_long_side: int | None = None,
    base_dir: str | os.PathLike | None = None,
    preview: Callable[[str | os.PathLike, int], Preview | None] = preview_or_none,
    info: dict[str, str] | None = None,
    groups: Sequence[Any] | None = None,
    policy: Policy | None = None,
) -> str:
    """The report as one HTML document.

    ``long_side`` bounds flagged photos' previews; PASS photos, which nobody
    needs to study, get ``pass_long_side`` (default half) to keep a large
    folder's report light. Relative sources are resolved against ``base_dir``.
    With the scan's ``groups`` (or faces carrying group numbers), people seen in
    several photos come first, one row each with all their faces.
    """
    pass_long_side = pass_long_side or max(160, long_side // 2)
    base = Path(base_dir) if base_dir is not None else None
    counts = Counter(r.verdict for r in results)
    face_count = sum(len(r.faces) for r in results)

    def shown(r: PhotoResult) -> _Shown:
        if r.error and r.sha256 is None:
            return _Shown(r, None)  # not even readable at scan time
        path = Path(r.source)
        if base is not None and not path.is_absolute():
            path = base / path
        size = pass_long_side if r.verdict is Verdict.PASS else long_side
        if r.preview:  # the faces are those of the preview picture in the file
            return _Shown(r, preview_or_none(path, size, embedded=r.preview))
        return _Shown(r, preview(path, size))

    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_esc(lang)}"><head><meta charset="utf-8">',
        # nothing may load from anywhere: images are data: URIs, styles inline
        ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"),
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title or t('html.title', lang))}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_esc(title or t('html.title', lang))}</h1>",
        (f'<div class="meta">{_esc(t("html.generated", lang, when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")))}'
        f" · {len(results)} {_esc(t('summary.photos', lang))} · {face_count} {_esc(t('summary.faces', lang))}</div>"),
        '<nav class="counts" id="summary">',
    ]
    for verdict in VERDICT_ORDER:
        n = counts.get(verdict, 0)
        out.append(
            f'<a class="count" data-verdict="{verdict.value}" data-count="{n}" href="#v-{verdict.value}"'
            f' style="background:{_VERDICT_COLOURS[verdict]}">{_esc(t(f"verdict.{verdict.value}", lang))}<b>{n}</b></a>'
        )
    out.append("</nav><div class=\"legend\">")
    for kind in FACE_KINDS:
        out.append(
            f'<span><span class="sw {kind}" style="border-color:{KIND_COLOURS[kind]}"></span>{_esc(t(f"kind.{kind}", lang))}</span>'
        )
    out.append("</div></header>")
    # decoding and shrinking release the GIL: previews are made on all cores, in order
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        every = list(pool.map(shown, results))
    policy = policy or load_policy(None)
    out.append(_people_html(people_of(results, policy, groups), every, policy, lang))
    for verdict in VERDICT_ORDER:
        group = [i for i, r in enumerate(results) if r.verdict is verdict]
        if not group:
            continue
        out.append(
            f'<section id="v-{verdict.value}"><h2>{_esc(t(f"verdict.{verdict.value}", lang))} ({len(group)})</h2>'
            '<div class="photos">'
        )
        out.extend(_photo_html(every[i], lang, i) for i in group)
        out.append("</div></section>")
    from minorguard.locale.model_words import pack_label_text

    # the model pack's id is one technical string: its words in the reader's language, its names and versions as they are
    footer = [f"{_esc(t(f'col.{k}', lang))}: {_esc(pack_label_text(v, lang) if k == 'models' else v)}" for k, v in (info or {}).items()]
    out.append(f"<footer>minorguard · {' · '.join(footer)}</footer></body></html>")
    return "\n".join(out) + "\n"


def write_html(results: Sequence[PhotoResult], path: str | os.PathLike, lang: str = "sq", **options) -> None:
    """Render and write atomically (never a half-written report in place of a good one)."""
    atomic_write_text(Path(path), render_html(results, lang, **options))
