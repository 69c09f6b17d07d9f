"""The HTML report on the real sample photos: self-contained, grouped, every face boxed and explained."""

from __future__ import annotations

import base64
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from minorguard.report.html import FACE_KINDS, KIND_COLOURS, face_kind, render_html, write_html
from minorguard.types import (
    AgeEstimate,
    Box,
    EventEvidence,
    FaceAction,
    FaceCategory,
    FaceDecision,
    Identifiability,
    ReasonCode,
    Verdict,
)

ROOT = Path(__file__).resolve().parents[1]


class _Collector(HTMLParser):
    """Every tag with its attributes, and the order of the verdict sections."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _parse(text: str) -> _Collector:
    parser = _Collector()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def sample_results(guard, sample_images):
    paths = sorted(p for p in sample_images.iterdir() if p.suffix.lower() in {".jpg", ".png"})
    return [guard.check(p, label=str(p)) for p in paths]


@pytest.fixture(scope="module")
def report_en(sample_results) -> str:
    return render_html(sample_results, "en")


def test_report_is_self_contained(report_en):
    doc = _parse(report_en)
    # no request may leave the file: no src/href to anything but data: URIs and in-page anchors
    for tag, attrs in doc.tags:
        for key in ("src", "href", "action", "srcset", "poster"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:image/jpeg;base64,", "#")), (tag, key, value[:80])
    assert not doc.find("script") and not doc.find("link") and not doc.find("iframe")
    assert "url(" not in report_en and "@import" not in report_en
    csp = doc.find("meta", http_equiv="Content-Security-Policy")
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_previews_are_screen_sized_jpegs(report_en, sample_results):
    images = _parse(report_en).find("img")
    assert len(images) == len(sample_results)
    for attrs in images:
        data = base64.b64decode(attrs["src"].split(",", 1)[1])
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG"
            assert max(image.size) <= 960
            assert image.size == (int(attrs["width"]), int(attrs["height"]))
            assert not image.getexif()  # no GPS or camera data copied into the report
    # every preview is shrunk to its bound: 960 px for photos to look at, 480 px for PASS photos
    for r in sample_results:
        attrs = next(a for a in images if a["alt"] == r.source)
        bound = 480 if r.verdict is Verdict.PASS else 960
        assert max(int(attrs["width"]), int(attrs["height"])) == min(bound, max(r.width, r.height)), r.source


def test_summary_counts_and_order(report_en, sample_results):
    doc = _parse(report_en)
    counts = {a["data-verdict"]: int(a["data-count"]) for a in doc.find("a", **{"class": "count"})}
    for verdict in Verdict:
        assert counts[verdict.value] == sum(r.verdict is verdict for r in sample_results)
    assert counts["BLOCK"] >= 1  # the family portrait
    order = [a["data-verdict"] for a in doc.find("article")]
    rank = {"BLOCK": 0, "ERROR": 1, "REVIEW": 2, "PASS": 3}
    assert order == sorted(order, key=rank.__getitem__)
    assert order[0] == "BLOCK" and order[-1] == "PASS"


def test_every_face_boxed_in_its_colour(report_en, sample_results):
    doc = _parse(report_en)
    boxes = doc.find("div")
    boxes = [a for a in boxes if "box" in a.get("class", "").split()]
    assert len(boxes) == sum(len(r.faces) for r in sample_results)
    family = next(r for r in sample_results if "obama_family" in r.source)
    blocked = [d for d in family.faces if d.action is FaceAction.BLOCK]
    assert blocked, "the family portrait's children must block"
    # the explanation of every blocked face is in the page, next to a red box
    for d in blocked:
        assert f"#d7191c\"></span><span class=\"k\">face {d.index + 1} · blocked</span>" in report_en
    red = [a for a in boxes if "blocked" in a["class"]]
    assert all(KIND_COLOURS["blocked"] in a["style"] for a in red)
    # box geometry is a percentage of the photo, so it fits any preview size
    a = next(a for a in red if a["title"].startswith(f"face {blocked[0].index + 1}:"))
    left = float(re.search(r"left:([\d.]+)%", a["style"]).group(1))
    assert left == pytest.approx(100 * blocked[0].box.x / family.width, abs=0.01)


def test_albanian_report(sample_results):
    text = render_html(sample_results, "sq")
    assert 'lang="sq"' in text
    assert "BLLOKOHET" in text and "LEJOHET" in text
    assert "bllokohet" in text and "mundësisht i mitur" in text
    assert "possible minor" not in text


def _decision(action, category, reason, consent=None, event=None) -> FaceDecision:
    return FaceDecision(
        index=0,
        box=Box(10, 10, 50, 50),
        score=0.9,
        category=category,
        action=action,
        reason=reason,
        identifiability=Identifiability(category is not FaceCategory.NOT_IDENTIFIABLE, 50.0, 30.0),
        age=AgeEstimate(12.0, 9.0, 15.0, 0.97, "test"),
        consent=consent,
        event=event,
    )


def test_face_kinds_map_every_decision():
    cases = {
        "blocked": _decision(FaceAction.BLOCK, FaceCategory.POSSIBLE_MINOR, ReasonCode.POSSIBLE_MINOR),
        "review": _decision(FaceAction.REVIEW, FaceCategory.UNCERTAIN, ReasonCode.MINOR_UNCERTAIN),
        "consent": _decision(FaceAction.ALLOW, FaceCategory.POSSIBLE_MINOR, ReasonCode.CONSENT),
        "exemption": _decision(
            FaceAction.ALLOW, FaceCategory.POSSIBLE_MINOR, ReasonCode.EVENT_EXEMPT, event=EventEvidence("e1", "public", "explicit")
        ),
        "adult": _decision(FaceAction.ALLOW, FaceCategory.ADULT, ReasonCode.ADULT),
        "not_identifiable": _decision(FaceAction.ALLOW, FaceCategory.NOT_IDENTIFIABLE, ReasonCode.TOO_SMALL),
    }
    assert {face_kind(d) for d in cases.values()} == set(FACE_KINDS)
    for kind, d in cases.items():
        assert face_kind(d) == kind
    # a reviewer's decisions fall in the same kinds
    assert face_kind(_decision(FaceAction.ALLOW, FaceCategory.ADULT, ReasonCode.REVIEWER)) == "adult"
    assert face_kind(_decision(FaceAction.ALLOW, FaceCategory.POSSIBLE_MINOR, ReasonCode.REVIEWER)) == "consent"
    assert face_kind(_decision(FaceAction.BLOCK, FaceCategory.ADULT, ReasonCode.REVIEWER)) == "blocked"
    assert face_kind(_decision(FaceAction.REVIEW, FaceCategory.ADULT, ReasonCode.REVIEWER)) == "review"


def test_changed_missing_and_unreadable_photos(guard, sample_images, tmp_path):
    photo = tmp_path / "fëmijë_çelës <b>x&y.jpg"
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", photo)
    gone = tmp_path / "gone.jpg"
    shutil.copy(sample_images / "max_apollo11_pilots.jpg", gone)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    results = [guard.check(p, label=str(p)) for p in (photo, gone, broken)]
    assert results[0].verdict is Verdict.BLOCK and results[2].verdict is Verdict.ERROR
    # the photo is edited after the scan, another one deleted
    with Image.open(photo) as image:
        image.rotate(180).save(photo, quality=90)
    gone.unlink()
    out = tmp_path / "report.html"
    write_html(results, out, "en")
    text = out.read_text(encoding="utf-8")
    doc = _parse(text)
    changed = [a for a in doc.find("div") if a.get("data-changed") == "1"]
    assert len(changed) == 1
    assert "changed on disk since the scan" in text
    # no boxes are drawn on a changed photo, and the name is escaped, not markup
    assert not [a for a in doc.find("div") if "box" in a.get("class", "").split()]
    assert "fëmijë_çelës &lt;b&gt;x&amp;y.jpg" in text and "<b>x" not in text
    assert text.count("no preview: the file cannot be read now") == 2  # the deleted one and the broken one
    assert "not an image" in text
    articles = [a["data-verdict"] for a in doc.find("article")]
    rank = {"BLOCK": 0, "ERROR": 1, "REVIEW": 2, "PASS": 3}
    assert articles == sorted((r.verdict.value for r in results), key=rank.__getitem__)


def test_scan_cli_writes_html(tmp_path, sample_images):
    from minorguard.cli import main

    folder = tmp_path / "ngjarje"
    folder.mkdir()
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", folder / "familja_ë.jpg")
    shutil.copy(sample_images / "skimage_astronaut.png", folder / "astronaut.png")
    out = tmp_path / "raporti.html"
    code = main(["scan", str(folder), "--html", str(out), "--lang", "sq", "--workers", "1"])
    assert code == 2  # the family portrait blocks
    text = out.read_text(encoding="utf-8")
    assert "familja_ë.jpg" in text and "astronaut.png" in text
    assert "raport i minorguard" in text
    doc = _parse(text)
    family = next(a for a in doc.find("article") if a["data-verdict"] == "BLOCK")
    assert doc.find("article")[0] == family  # blocked photos come first
    assert len(doc.find("article")) == 2 and len(doc.find("img")) == 2


def test_scan_cli_html_shows_one_row_per_person(tmp_path, sample_images):
    """The family twice in an event folder: each girl is one row with her face from both photos, linked to them."""
    from PIL import Image

    from minorguard.cli import main

    folder = tmp_path / "ngjarja"
    folder.mkdir()
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", folder / "a_familja.jpg")
    with Image.open(sample_images / "faceaisharp_obama_family.jpg") as image:
        image.save(folder / "b_familja_ç.jpg", quality=88)
    out = tmp_path / "raporti.html"
    assert main(["scan", str(folder), "--html", str(out), "--lang", "en", "--workers", "1"]) == 2
    text = out.read_text(encoding="utf-8")
    doc = _parse(text)
    people = doc.find("div", **{"class": "person"})
    assert len(people) >= 2  # at least the two girls
    assert all(p["data-faces"] == "2" for p in people)
    article_ids = {a["id"] for a in doc.find("article")}
    links = [a for a in doc.find("a") if a.get("href", "").startswith("#p")]
    assert len(links) == 2 * len(people)
    assert {a["href"][1:] for a in links} == article_ids == {"p0", "p1"}
    assert all(a["data-kind"] == "blocked" for a in links)
    thumbs = [i for i in doc.find("img") if i.get("src", "").startswith("data:image/jpeg") and "face" in i.get("alt", "")]
    assert len(thumbs) == len(links)
    assert "the age model calls this person a possible minor" in text
    # a plain scan without grouping keeps the report as it was: no people rows
    plain = tmp_path / "plain.html"
    assert main(["scan", str(folder), "--html", str(plain), "--no-group", "--lang", "en", "--workers", "1"]) == 2
    assert not _parse(plain.read_text(encoding="utf-8")).find("div", **{"class": "person"})
