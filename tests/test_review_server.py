"""The review server over HTTP, without a browser: who may talk to it, decisions, changed photos, Ctrl-C."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from PIL import Image

from consent_db import Register
from consent_db.reviews import Reviews
from minorguard.report.files import write_json
from minorguard.review.app import ReviewApp
from minorguard.review.server import ReviewServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_KEY", raising=False)
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    return tmp_path


@pytest.fixture
def photos(env, guard, sample_images):
    folder = env / "ngjarja_ë"
    folder.mkdir()
    for name in ("faceaisharp_obama_family.jpg", "faceaisharp_biden_7mpx.jpg"):
        shutil.copy(sample_images / name, folder / name)
    results = [guard.check(p) for p in sorted(folder.iterdir())]
    return folder, results


@pytest.fixture
def served(env, photos, guard):
    register = Register(env / "data" / "register.sqlite3")
    app = ReviewApp(photos[1], Reviews(register), guard.policy, lang="en")
    server = ReviewServer(app).start()
    yield server, app, register
    server.stop()
    register.close()


def _request(server, method, path, body=None, headers=None, token=True):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = dict(headers or {})
    if token:
        headers.setdefault("X-Minorguard-Token", server.token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def test_token_and_host_are_required(served):
    server, _, _ = served
    assert urlsplit(server.url).hostname == "127.0.0.1"
    assert _request(server, "GET", "/", token=False)[0] == 403
    assert _request(server, "GET", "/api/state", token=False)[0] == 403
    assert _request(server, "GET", "/api/state", headers={"X-Minorguard-Token": "x" * 32})[0] == 403
    assert _request(server, "GET", "/photo/0.jpg?token=wrong", token=False)[0] == 403
    status, body = _request(server, "GET", f"/?token={server.token}", token=False)
    assert status == 200 and b"<script nonce=" in body
    # DNS rebinding: a page elsewhere that resolves its own name to 127.0.0.1
    for host in (f"evil.example:{server.port}", "evil.example", "127.0.0.1:1", f"[::1]:{server.port}", ""):
        assert _request(server, "GET", "/api/state", headers={"Host": host})[0] == 403, host
    assert _request(server, "GET", "/api/state", headers={"Host": f"localhost:{server.port}"})[0] == 200
    # a decision from another origin, or not as JSON, is refused before it is read
    decision = {"photo": 0, "face": 1, "kind": "hide", "reviewer": "Ana"}
    assert _request(server, "POST", "/api/decide", decision, headers={"Origin": "http://evil.example"})[0] == 403
    assert _request(server, "POST", "/api/decide", decision, headers={"Content-Type": "text/plain"})[0] == 415
    assert _request(server, "POST", "/api/decide", decision, token=False)[0] == 403


def test_only_loopback_is_bound(served):
    server, _, _ = served
    assert server._server.server_address[0] == "127.0.0.1"


def _flagged(state, name):
    photo = next(p for p in state["photos"] if p["name"] == name)
    return photo, [f for f in photo["faces"] if f["flagged"]]


def test_decide_reload_and_two_tabs(served):
    server, _, register = served
    state = json.loads(_request(server, "GET", "/api/state")[1])
    # a photo with nothing to decide is only counted
    listed = [p["name"] for p in state["photos"]]
    assert "faceaisharp_obama_family.jpg" in listed and len(listed) + sum(state["others"].values()) == 2
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    assert photo["verdict"] == "BLOCK" and len(faces) == 2
    for path in (f"/photo/{photo['id']}.jpg", f"/face/{photo['id']}/{faces[0]['index']}.jpg"):
        status, jpeg = _request(server, "GET", path)
        assert status == 200 and jpeg[:3] == b"\xff\xd8\xff"
    # no name, no decision
    status, body = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[0]["face"], "kind": "adult", "reviewer": ""})
    assert status == 400 and "name" in json.loads(body)["error"]
    # two tabs decide the same face: the later decision stands, both are logged
    for kind, who in (("adult", "Ana"), ("hide", "Besa")):
        status, body = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[0]["face"], "kind": kind, "reviewer": who, "reason": f"tab {who}"})
        assert status == 200, body
    for f in faces[1:]:
        status, body = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": f["face"], "kind": "adult", "reviewer": "Ana"})
        assert status == 200
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    assert faces[0]["current"]["kind"] == "hide" and faces[0]["current"]["reviewer"] == "Besa"
    assert [h["kind"] for h in faces[0]["history"]] == ["adult", "hide"]
    assert faces[0]["kind"] == "blocked" and faces[1]["kind"] == "adult"
    assert photo["verdict"] == "BLOCK" and photo["model_verdict"] == "BLOCK"
    log = [e for e in register.audit_entries() if e["action"].startswith("review_")]
    assert [(e["action"], e["actor"]) for e in log] == [("review_adult", "Ana"), ("review_hide", "Besa"), ("review_adult", "Ana")]
    # undo the hide: the page and the verdict follow
    status, body = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[0]["face"], "kind": "adult", "reviewer": "Ana"})
    assert json.loads(body)["photo"]["verdict"] == "PASS"


def test_changed_photo_is_shown_and_not_decided(served, photos):
    server, _, _ = served
    folder = photos[0]
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    status, _ = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[0]["face"], "kind": "adult", "reviewer": "Ana"})
    assert status == 200
    path = folder / "faceaisharp_obama_family.jpg"
    with Image.open(path) as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path, quality=90)
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    assert photo["changed"] is True
    assert all(f["current"] is None and not f["history"] for f in faces)  # old decisions do not apply
    assert photo["verdict"] == "BLOCK"
    status, body = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[1]["face"], "kind": "adult", "reviewer": "Ana"})
    assert status == 409 and "changed" in json.loads(body)["error"]
    # a photo deleted since the scan is shown as missing, and takes no decision either
    path.unlink()
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    assert photo["missing"] is True and photo["changed"] is False
    assert _request(server, "GET", f"/photo/{photo['id']}.jpg")[0] == 404
    status, _ = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[1]["face"], "kind": "adult", "reviewer": "Ana"})
    assert status == 409


def test_consent_search_shows_scope(served):
    server, app, register = served
    from datetime import date

    from register_fixtures import PDF

    child = register.add_child("Ema Çela")
    register.add_consent(child.id, PDF, date(2026, 1, 5), ["facebook", "website"], purposes=["school news"], valid_until=date(2099, 1, 1))
    old = register.add_consent(child.id, PDF, date(2026, 1, 6), ["instagram"])
    register.withdraw_consent(old.id, "parent asked")
    app.channel = None
    _, body = _request(server, "GET", "/api/children?q=cela")
    children = json.loads(body)["children"]
    assert [c["name"] for c in children] == ["Ema Çela"]
    consents = {c["status"]: c for c in children[0]["consents"]}
    assert consents["active"]["channels"] == ["facebook", "website"] and consents["active"]["purposes"] == ["school news"]
    assert consents["active"]["valid_until"] == "2099-01-01"
    assert consents["withdrawn"]["covers"] is False and "withdrawn" in consents["withdrawn"]["why"]


def test_ctrl_c_stops_cleanly_and_keeps_decisions(env, photos):
    """`review FOLDER` scans the folder itself (the e2e test starts from a scan's JSON instead).

    Started as a shell's background job starts it, with SIGINT ignored: Python keeps an inherited
    ignore, and before the fix `kill -INT` left the page running.
    """
    folder, results = photos
    db = env / "data" / "register.sqlite3"
    Register(db).close()  # named with --db, so it must exist: a check never makes one
    process = subprocess.Popen(
        [sys.executable, "-m", "minorguard", "review", str(folder), "--no-open", "--lang", "en", "--db", str(db), "--workers", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + process.stderr.read()
        url = urlsplit(line.strip().split()[-1])
        server = SimpleNamespace(port=url.port, token=url.query.split("token=")[1])
        state = json.loads(_request(server, "GET", "/api/state")[1])
        photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
        status, _ = _request(server, "POST", "/api/decide", {"photo": photo["id"], "face": faces[0]["face"], "kind": "adult", "reviewer": "Ana"})
        assert status == 200
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "review stopped" in errors and "Traceback" not in errors
    family = next(r for r in results if "obama" in r.source)
    with Register(db) as register:
        rows = Reviews(register).for_photo(family.sha256)
        assert [(r.kind, r.reviewer) for r in rows] == [("adult", "Ana")]
        # the page's own scan is in the log as `scan`'s is
        assert sorted(e["subject"] for e in register.audit_entries() if e["action"] == "photo_checked") == ["BLOCK", "PASS"]
        assert register.audit_verify().ok


def test_scan_cli_applies_decisions(env, photos):
    from minorguard.cli import main

    folder, results = photos
    family = next(r for r in results if "obama" in r.source)
    db = env / "data" / "register.sqlite3"
    with Register(db) as register:
        reviews = Reviews(register)
        for face in family.faces:
            if face.action.value != "allow":
                b = face.box
                reviews.record(family.sha256, face.index, (b.x, b.y, b.width, b.height), "adult", "Ana", "teacher's daughters, 19")
    out = env / "rezultati.json"
    assert main(["scan", str(folder), "--db", str(db), "--json", str(out), "--workers", "1"]) == 0
    photos_out = json.loads(out.read_text(encoding="utf-8"))["photos"]
    assert next(p for p in photos_out if "obama" in p["source"])["verdict"] == "PASS"
    reviewed = [f for p in photos_out for f in p["faces"] if f["reason"] == "reviewer"]
    assert len(reviewed) == 2 and all("Ana" in f["detail"] for f in reviewed)


def test_bad_sources_are_one_line_errors(env, photos, capsys):
    from minorguard.cli import main

    _, results = photos
    other = env / "shënime.txt"
    other.write_text("not a photo folder", encoding="utf-8")
    broken = env / "rezultat.json"
    broken.write_text('{"photos": 3}', encoding="utf-8")
    truncated = env / "gjysmë.json"
    write_json(results, truncated)
    truncated.write_text(truncated.read_text(encoding="utf-8")[:200], encoding="utf-8")
    for source, words in ((env / "mungon", "does not exist"), (other, "folder or one scan result"),
                          (broken, "not a minorguard scan result"), (truncated, "not a readable JSON")):
        assert main(["review", str(source), "--no-open", "--lang", "en"]) == 64
        assert words in capsys.readouterr().err


def test_refusals_reach_the_page_in_the_reviewers_language(served):
    server, app, _ = served
    app.lang = "sq"
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo, faces = _flagged(state, "faceaisharp_obama_family.jpg")
    decision = {"photo": photo["id"], "face": faces[0]["face"], "reviewer": "Ana"}
    status, body = _request(server, "POST", "/api/decide", {**decision, "kind": "fshehur"})  # the register refuses it
    assert status == 400 and json.loads(body)["error"].startswith("vendim shqyrtimi i panjohur 'fshehur'; përdorni një nga:")
    status, body = _request(server, "POST", "/api/decide", {**decision, "face": 99, "kind": "hide"})  # the page refuses it
    assert status == 404 and json.loads(body)["error"] == f"nuk ka fytyrë 99 në foton {photo['id']}"
    Path(app.paths[photo["id"]]).unlink()  # gone since the scan: its face thumbnail says why, in Albanian too
    status, body = _request(server, "GET", f"/face/{photo['id']}/{faces[0]['index']}.jpg")
    assert status == 404 and body.decode("utf-8").strip().endswith(": skedari nuk u gjet")


def test_after_the_key_is_rotated_the_page_says_so_in_one_line(served, env):
    """The audit's case: /api/state and /api/children answered 500 "the request failed: KeyProblem: ..."."""
    server, _, _ = served
    with Register(env / "data" / "register.sqlite3") as other:
        other.rotate_key()
    for path in ("/api/state", "/api/children?q=ana"):
        status, body = _request(server, "GET", path)
        answer = json.loads(body)
        assert status == 503 and answer["code"] == "register.key_changed", (path, answer)
        assert "rotate-key" in answer["error"] and "KeyProblem" not in answer["error"]


def test_a_match_too_young_to_settle_a_face_opens_the_consent_dialog_on_that_child(env, guard, tmp_path):
    """Under 13 (estimated) a consent match goes to a person: the page names the child the match pointed to, and the
    consent search finds it by that id. A stricter office policy (every face under 30 confirmed by a person) makes the
    portrait's girls, read as 25 and 18, such faces."""
    from datetime import date

    from PIL import Image
    from register_fixtures import PDF

    from minorguard import CheckContext, Guard, open_checks
    from minorguard.rules.policy import load_policy, policy_from_mapping

    stricter = policy_from_mapping({"consent": {"match_alone_from_age": 30}}, load_policy())
    family = ROOT / "sample_images" / "faceaisharp_obama_family.jpg"
    enlarged = tmp_path / "familja.jpg"
    with Image.open(family) as image:
        image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(enlarged, quality=95)
    Register(env / "data" / "register.sqlite3").close()
    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    with open_checks(context=context, guard=Guard(policy=stricter, pack=guard.pack)) as checks:
        girls = {}
        for number, name in ((2, "Vajza e madhe"), (4, "Vajza e vogël")):
            child = checks.register.add_child(name)
            checks.enrol(child.id, enlarged, number)
            checks.register.add_consent(child.id, PDF + child.id.encode(), date(2026, 9, 1), ["facebook"])
            girls[number] = child.id
        result = checks.check(family)
        app = ReviewApp([result], Reviews(checks.register), stricter, lang="en", channel="facebook", when=date(2026, 12, 1))
        faces = {f["face"]: f for p in app.state()["photos"] for f in p["faces"]}
        assert {n: faces[n]["suggested_child"] for n in girls} == girls
        assert all("a face match alone cannot tell children apart" in faces[n]["text"] for n in girls)
        assert [f["suggested_child"] for n, f in faces.items() if n not in girls] == [None, None]
        found = app.search_children(girls[2])
        assert [c["id"] for c in found] == [girls[2]] and found[0]["consents"][0]["covers"]
        assert app.search_children("ch-00000000") == []
