"""The review page as a person uses it: real headless Chromium against the real `minorguard review` process.

Needs Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it) and the
`playwright` Python client (test extra); Playwright's own browser download is
never used. Screenshots go to tests/_artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from minorguard.report.files import write_json

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "_artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not found at /usr/bin/chromium: install Debian's `chromium` package (.ci/run does)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright client is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def setup(tmp_path, monkeypatch, guard, sample_images):
    """The public-domain family portrait in a folder with an Albanian name, scanned, and a register with one consent."""
    from consent_db import Register

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    folder = tmp_path / "festa_e_shkollës"
    folder.mkdir()
    shutil.copy(sample_images / "faceaisharp_obama_family.jpg", folder / "faceaisharp_obama_family.jpg")
    # sources relative to the report, as a scan run in tmp_path writes them: the server finds them beside the report
    results = [guard.check(p, label=f"{folder.name}/{p.name}") for p in sorted(folder.iterdir())]
    report = tmp_path / "skanimi.json"
    write_json(results, report)
    db = tmp_path / "data" / "register.sqlite3"
    with Register(db, actor="zyra") as register:
        child = register.add_child("Drita Këlmendi")  # a made-up name: only the sample photos are real
        consent = register.add_consent(child.id, b"%PDF-1.4\n%%EOF\n", date(2026, 1, 10), ["facebook", "website"], purposes=["school news"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {"folder": folder, "results": results, "report": report, "db": db, "consent": consent.id, "tmp": tmp_path}


class _Served:
    """`minorguard review REPORT` as a child process; ``url`` holds the token."""

    def __init__(self, setup: dict, *extra: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minorguard", "review", str(setup["report"]), "--no-open", "--lang", "en",
             "--db", str(setup["db"]), "--channel", "facebook", "--purpose", "school news", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        line = self.process.stdout.readline()
        if "http://127.0.0.1:" not in line:
            self.process.kill()
            raise AssertionError(f"review did not start: {line}{self.process.stderr.read()}")
        self.url = line.strip().split()[-1]
        self.base = self.url.split("?", 1)[0]

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            _, errors = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, errors


def _card_kinds(page) -> list[str]:
    return page.eval_on_selector_all("#photos .card", "cards => cards.map(c => c.dataset.kind)")


def _wait_saved(page, count: int) -> None:
    """Until this tab has saved ``count`` decisions since it loaded."""
    page.wait_for_selector(f"body[data-saved='{count}']", state="attached")  # a selector: the page's CSP forbids eval


def _name(page, who: str) -> None:
    page.fill("#reviewer", who)
    page.press("#reviewer", "Enter")  # leaves the field: the keys act on the faces again


def _tab_decides(context, url: str, who: str, key: str):
    """A new tab where ``who`` presses ``key`` on the first face; returns the tab once it is saved."""
    tab = context.new_page()
    tab.goto(url)
    tab.wait_for_selector("#photos .card")
    _name(tab, who)
    tab.keyboard.press(key)
    _wait_saved(tab, 1)
    return tab


def test_review_in_the_browser_then_export(browser, setup, guard):
    from consent_db import Register
    from minorguard.cli import main
    from minorguard.pipeline import CheckContext
    from minorguard.publish.export import export_photos

    served = _Served(setup)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        # without the token, and with a wrong one: refused
        response = page.goto(served.base + "/")
        assert response.status == 403 and "token" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "review_no_token.png"))
        assert page.goto(served.base + "/?token=wrong").status == 403
        assert page.goto(served.base.replace("127.0.0.1", "localhost") + "/?token=" + urlsplit(served.url).query[6:]).status == 200

        assert page.goto(served.url).status == 200
        page.wait_for_selector("#photos .card")
        assert page.locator("section.photo").count() == 1
        first_kinds = _card_kinds(page)
        assert len(first_kinds) == 2 and set(first_kinds) <= {"blocked", "review"}  # the two girls
        assert page.inner_text("#todo").startswith("2 ")
        page.screenshot(path=str(ARTIFACTS / "review_start.png"))

        # no name yet: the page asks for it and records nothing
        page.keyboard.press("a")
        page.wait_for_selector("#toast.error")
        assert "name" in page.inner_text("#toast")
        _name(page, "Ana")

        # first face: A marks it adult (the tab is then left open, unreloaded)
        page.keyboard.press("a")
        _wait_saved(page, 1)
        assert _card_kinds(page) == ["adult", first_kinds[1]]
        # second face (the page moved on by itself): C, search without accents, link the consent
        page.keyboard.press("c")
        page.fill("#search", "kelmendi")
        page.wait_for_selector(f"button[data-consent='{setup['consent']}']")
        assert "covers this publication" in page.inner_text("#results")
        assert "facebook, website" in page.inner_text("#results") and "school news" in page.inner_text("#results")
        page.screenshot(path=str(ARTIFACTS / "review_consent_search.png"))
        page.click(f"button[data-consent='{setup['consent']}']")
        _wait_saved(page, 2)
        assert _card_kinds(page) == ["adult", "consent"]
        assert page.inner_text("#todo").startswith("0 ")
        assert page.locator("section.photo").get_attribute("data-verdict") == "PASS"
        page.screenshot(path=str(ARTIFACTS / "review_decided.png"), full_page=True)

        # reload: the decisions are kept
        page.reload()
        page.wait_for_selector("#photos .card")
        assert _card_kinds(page) == ["adult", "consent"]
        assert "Ana" in page.inner_text("#photos")

        # a second tab hides the first face; the first tab, not reloaded, then marks it adult again: the later wins
        other = _tab_decides(context, served.url, "Besa", "h")
        assert _card_kinds(other)[0] == "blocked"
        page.locator("#photos .card").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("a")
        _wait_saved(page, 1)
        other.reload()
        other.wait_for_selector("#photos .card")
        assert _card_kinds(other) == ["adult", "consent"]
        history = other.locator("#photos .card").first.locator("details")
        history.locator("summary").click()
        assert [line.split(" · ")[2] for line in history.inner_text().splitlines()[1:]] == ["marked adult", "hidden", "marked adult"]
        context.close()
    finally:
        code, errors = served.stop()
    assert code == 0 and "review stopped" in errors and "Traceback" not in errors

    # what the page decided, `minorguard export` applies: nothing left to hide, and the copy passes its re-check
    with Register(setup["db"]) as register:
        actions = [e["action"] for e in register.audit_entries() if e["action"].startswith("review_")]
        assert actions == ["review_adult", "review_consent", "review_hide", "review_adult"]
        assert register.audit_verify().ok
    out = setup["tmp"] / "per_publikim"
    code = main(["export", str(setup["folder"]), "--out", str(out), "--db", str(setup["db"]), "--channel", "facebook",
                 "--purpose", "school news", "--date", "2026-12-01", "--lang", "en"])
    manifest = json.loads((out / "minorguard-manifest.json").read_text(encoding="utf-8"))
    family = next(p for p in manifest["photos"] if "obama" in p["source"])
    assert code == 0 and family["status"] == "exported" and family["verdict_after"] == "PASS"
    assert family["hidden"] == 0 and not family["hidden_on_recheck"]
    assert sorted(f["reason"] for f in family["faces"] if f["reason"] == "reviewer") == ["reviewer", "reviewer"]
    assert any(f["consent_record"] == setup["consent"] for f in family["faces"])
    # the same export without the register hides both children
    plain = export_photos(guard, [setup["folder"]], setup["tmp"] / "pa_shqyrtim", context=CheckContext(channel="facebook"))
    assert len([h for h in next(p for p in plain.photos if "obama" in p.source).hidden if not h.on_recheck]) == 2


def test_second_reviewer_in_the_browser(browser, setup):
    policy = setup["tmp"] / "politika.toml"
    policy.write_text("[review]\nsecond_reviewer_required = true\n", encoding="utf-8")
    served = _Served(setup, "--policy", str(policy))
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        first = _tab_decides(context, served.url, "Ana", "a")
        card = first.locator("#photos .card").first
        assert card.get_attribute("data-kind") == "review" and "awaiting a second reviewer" in card.inner_text()
        # the same person cannot confirm their own decision
        first.locator("#photos .card").first.click(position={"x": 5, "y": 5})
        first.keyboard.press("y")
        first.wait_for_selector("#toast.error")
        assert "someone other" in first.inner_text("#toast")
        first.screenshot(path=str(ARTIFACTS / "review_second_reviewer.png"))

        second = _tab_decides(context, served.url, "Besa", "y")
        card = second.locator("#photos .card").first
        assert card.get_attribute("data-kind") == "adult" and "confirmed by Besa" in card.inner_text()
        context.close()
    finally:
        code, _ = served.stop()
    assert code == 0


def test_one_decision_per_person_in_the_browser(browser, setup):
    """`minorguard review FOLDER` with the family twice: one row per person; one click hides a girl in both photos."""
    from PIL import Image

    from consent_db import Register

    folder = setup["folder"]
    with Image.open(folder / "faceaisharp_obama_family.jpg") as image:
        image.save(folder / "faceaisharp_obama_family_ç2.jpg", quality=88)  # another file of the same moment
    served = _Served({**setup, "report": folder})
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(served.url)
        page.wait_for_selector("#people .person")
        rows = page.locator("#people .person")
        assert rows.count() >= 2  # at least the two girls, each seen in both photos
        assert all(rows.nth(i).get_attribute("data-todo") == "2" for i in range(rows.count()))
        assert page.locator("#people .person").first.locator(".strip a").count() == 2
        _name(page, "Ana")
        first = rows.first
        person = first.get_attribute("data-person")
        first.locator("button[name=hide]").click()
        _wait_saved(page, 1)
        done = page.locator(f"#person-{person}")
        assert done.get_attribute("data-todo") == "0"
        assert done.locator(".strip a").evaluate_all("links => links.map(a => a.dataset.kind)") == ["blocked", "blocked"]
        page.screenshot(path=str(ARTIFACTS / "review_people.png"))

        # the girls cannot be remembered as known adults: the page does not offer it (the server refuses it too)
        assert page.locator("#people button[name=remember]").count() == 0
        assert page.locator("#people button[name=adult]").count() == rows.count()
        # marking a row of possible minors adult covers only the faces ticked one by one
        second = rows.nth(1)
        assert second.locator("input.tick-face").count() == 2
        second.locator("button[name=adult]").click()
        page.wait_for_function("() => document.querySelector('#toast').textContent.includes('tick each face')", timeout=10_000)
        assert page.locator(f"#person-{second.get_attribute('data-person')}").get_attribute("data-todo") == "2"
        second.locator("input.tick-face").first.check()
        second.locator("button[name=adult]").click()
        _wait_saved(page, 2)
        assert page.locator(f"#person-{second.get_attribute('data-person')}").get_attribute("data-todo") == "1"
        context.close()
    finally:
        code, errors = served.stop()
    assert code == 0 and "Traceback" not in errors, errors
    with Register(setup["db"]) as register:
        entries = [e for e in register.audit_entries() if e["action"].startswith("review_")]
        assert [e["action"] for e in entries] == ["review_group_hide", "review_group_adult"]
        details = entries[0]["details"]
        details = details if isinstance(details, dict) else json.loads(details)
        assert len(details["faces"]) == 2
        assert register.list_known_adults(include_expired=True) == []


def test_photos_that_could_not_be_checked_are_named_on_the_page(browser, setup, guard):
    """An unreadable photo was only counted ("ERROR 1") on the page and not mentioned on the console."""
    folder = setup["folder"]
    (folder / "gjysmë.jpg").write_bytes((folder / "faceaisharp_obama_family.jpg").read_bytes()[:3000])
    results = [guard.check(p, label=f"{folder.name}/{p.name}") for p in sorted(folder.iterdir())]
    write_json(results, setup["report"])
    served = _Served(setup)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(served.url)
        page.wait_for_selector("#errors .warn")
        assert page.locator("#errors h2").inner_text().startswith("Photos that could not be checked")
        assert page.locator("#errors .warn").all_inner_texts() == [f"{folder.name}/gjysmë.jpg: file is truncated or damaged"]
        assert page.locator("#photos .card").count() == 2  # the family's girls are still there to decide
        context.close()
    finally:
        code, errors = served.stop()
    assert code == 0 and "Traceback" not in errors, errors
    assert "gjysmë.jpg: file is truncated or damaged" in " ".join(errors.split())


def test_the_consent_dialog_opens_on_the_child_a_young_match_pointed_to(browser, setup, guard):
    """Under 13 (estimated) a consent match goes to a person; pressing C on such a face opens the consent search on
    the child the match pointed to. A stricter office policy (a person confirms every match under 30) makes the
    portrait's older girl, read as 25, such a face."""
    from PIL import Image

    from consent_db import Register
    from minorguard import CheckContext, Guard, open_checks

    enlarged = setup["tmp"] / "klasa.jpg"
    with Image.open(setup["folder"] / "faceaisharp_obama_family.jpg") as image:
        image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(enlarged, quality=95)
    with open_checks(db=str(setup["db"]), context=CheckContext(channel="facebook"), guard=Guard(pack=guard.pack)) as checks:
        girl = checks.register.add_child("Vajza Çelë")
        checks.enrol(girl.id, enlarged, 2)
        consent = checks.register.add_consent(girl.id, b"%PDF-1.4\n% vajza\n%%EOF\n", date(2026, 1, 10), ["facebook"])
    stricter = setup["tmp"] / "politika.toml"
    stricter.write_text("[consent]\nmatch_alone_from_age = 30\n", encoding="utf-8")
    served = _Served({**setup, "report": setup["folder"]}, "--policy", str(stricter))
    try:
        page = browser.new_page()
        page.goto(served.url)
        page.wait_for_selector("#photos .card")
        _name(page, "Ana")
        page.click("#photos .card[data-face='1']")  # the older girl: face 2, index 1
        page.keyboard.press("c")
        page.wait_for_selector(f"button[data-consent='{consent.id}']")
        assert page.input_value("#search") == girl.id
        page.click(f"button[data-consent='{consent.id}']")
        _wait_saved(page, 1)
    finally:
        served.stop()
    with Register(setup["db"]) as register:
        assert [e["action"] for e in register.audit_entries() if e["action"].startswith("review_")] == ["review_consent"]
