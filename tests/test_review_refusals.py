"""What the review page refuses or must not hide: a result that carries reviewers' decisions but not the models', a register or context
`scan` would refuse, photos that could not be checked, bad API input, and the audit of its own scan."""

# ruff: noqa: F811  (the fixtures are imported from test_review_server)

from __future__ import annotations

import json
import shutil

import pytest
from test_review_server import _request, env, photos, served  # noqa: F401  (fixtures and the HTTP helper)

from consent_db import Register
from consent_db.reviews import Reviews
from minorguard.report.files import explain_error, write_json
from minorguard.report.results_json import read_report
from minorguard.review.app import ReviewApp

FAMILY = "faceaisharp_obama_family.jpg"
PORTRAIT = "faceaisharp_biden_7mpx.jpg"


@pytest.fixture
def no_serving(monkeypatch):
    """`minorguard review` run in this process stops at once instead of serving: a page that should have been
    refused makes the command return 0 here, rather than hang the test."""
    from minorguard.review.server import ReviewServer

    served = []
    monkeypatch.setattr(ReviewServer, "serve_forever", lambda self: served.append(self.url))
    return served


def _register(env):
    db = env / "data" / "register.sqlite3"
    Register(db).close()
    return db


def _decide(db, result, kind, faces):
    with Register(db) as register:
        reviews = Reviews(register)
        for face in faces:
            b = face.box
            reviews.record(result.sha256, face.index, (b.x, b.y, b.width, b.height), kind, "Ana", "checked", source=result.source)


def _flagged(result):
    return [f for f in result.faces if f.action.value != "allow"]


def _by_name(results, name):
    return next(r for r in results if r.source.endswith(name))


# -- 1. a scan result written with reviewers' decisions ---------------------------------------------------------


def test_a_scan_result_with_reviewers_decisions_is_reviewed_from_the_models_own(env, photos, no_serving, capsys):
    """After an undo the page showed the reviewer's ALLOW as the models' decision, PASS, while `scan` blocked. A
    report written with the register's reviews keeps each reviewed face's own decision: the page starts from it
    and applies the register's decisions as they stand now, so an undo gives back the models' BLOCK."""
    from minorguard.cli import main

    folder, results = photos
    db = _register(env)
    family = _by_name(results, FAMILY)
    flagged = _flagged(family)
    _decide(db, family, "adult", flagged)
    report = env / "pas_vendimeve.json"
    assert main(["scan", str(folder), "--db", str(db), "--json", str(report), "--workers", "1", "--lang", "en", "--engine", "local"]) == 0
    capsys.readouterr()
    written = next(p for p in json.loads(report.read_text(encoding="utf-8"))["photos"] if p["source"].endswith(FAMILY))
    reviewed = [f for f in written["faces"] if f["reason"] == "reviewer"]
    assert len(reviewed) == len(flagged) == 2 and written["verdict"] == "PASS"
    assert all(f["models_decision"]["action"] == "block" and f["models_decision"]["models_decision"] is None for f in reviewed)

    assert main(["review", str(report), "--no-open", "--lang", "en", "--db", str(db)]) == 0
    assert "Traceback" not in capsys.readouterr().err and len(no_serving) == 1

    # the library's page: the models' BLOCK under the reviewer's PASS, and the BLOCK again once the decisions are cleared
    back, _ = read_report(report)
    with Register(db) as register:
        app = ReviewApp(back, Reviews(register), _policy(), lang="en")
        at = next(i for i, r in enumerate(app.results) if r.source.endswith(FAMILY))
        state = app.photo_state(at)
        assert (state["model_verdict"], state["verdict"]) == ("BLOCK", "PASS")
        assert [f["kind"] for f in state["faces"] if f["flagged"]] != [f["model_kind"] for f in state["faces"] if f["flagged"]]
    _decide(db, family, "clear", flagged)
    with Register(db) as register:
        state = ReviewApp(back, Reviews(register), _policy(), lang="en").photo_state(at)
    assert (state["model_verdict"], state["verdict"]) == ("BLOCK", "BLOCK")


def test_a_report_without_the_models_own_decisions_is_refused(env, photos, no_serving, capsys):
    """A report of an earlier version kept only the reviewer's decision: the page cannot know what the models
    decided and refuses it (exit 64), in the reader's language; the folder itself can still be reviewed."""
    from minorguard.cli import main
    from minorguard.review.app import ReviewedResults

    folder, results = photos
    db = _register(env)
    family = _by_name(results, FAMILY)
    _decide(db, family, "adult", _flagged(family))
    report = env / "version_e_vjeter.json"
    assert main(["scan", str(folder), "--db", str(db), "--json", str(report), "--workers", "1", "--lang", "en", "--engine", "local"]) == 0
    payload = json.loads(report.read_text(encoding="utf-8"))
    for photo in payload["photos"]:
        for face in photo["faces"]:
            face.pop("models_decision", None)
    report.write_text(json.dumps(payload), encoding="utf-8")
    capsys.readouterr()

    assert main(["review", str(report), "--no-open", "--lang", "en", "--db", str(db)]) == 64
    error = " ".join(capsys.readouterr().err.split())
    assert f"{FAMILY}: face {_flagged(family)[0].number} carries a reviewer's decision (2 face(s)" in error
    assert "minorguard review FOLDER" in error and "Traceback" not in error
    assert main(["review", str(report), "--no-open", "--lang", "sq", "--db", str(db)]) == 64
    assert "mban një vendim shqyrtuesi" in " ".join(capsys.readouterr().err.split())
    assert no_serving == []

    old, _ = read_report(report)
    with Register(db) as register, pytest.raises(ReviewedResults) as refused:
        ReviewApp(old, Reviews(register), _policy(), lang="en")
    assert "carries a reviewer's decision" in str(refused.value) and "fytyra" in refused.value.text("sq")

    assert main(["review", str(folder), "--no-open", "--lang", "en", "--db", str(db), "--workers", "1"]) == 0
    assert len(no_serving) == 1


def _policy():
    from minorguard.rules.policy import load_policy

    return load_policy(None)


# -- 2. the register and the context, as `scan` checks them ------------------------------------------------------


def test_a_result_reviewed_against_a_mistyped_register_stops(env, photos, no_serving, capsys, monkeypatch):
    from minorguard.cli import main

    _, results = photos
    _register(env)  # the real register, in the data folder
    report = env / "rezultati.json"
    write_json(results, report)
    typo = env / "regjistri_gabim.sqlite3"

    assert main(["review", str(report), "--no-open", "--lang", "en", "--db", str(typo)]) == 64
    assert "there is no register at" in capsys.readouterr().err
    assert not typo.exists()  # no new, empty register beside the real one
    monkeypatch.setenv("MINORGUARD_DB", str(typo))
    assert main(["review", str(report), "--no-open", "--lang", "sq"]) == 64
    assert "regjistri nuk hapet dot" in " ".join(capsys.readouterr().err.split())
    assert not typo.exists()
    assert no_serving == []


def test_a_result_reviewed_for_an_unknown_channel_or_event_stops(env, photos, no_serving, capsys):
    from minorguard.cli import main

    _, results = photos
    _register(env)
    report = env / "rezultati.json"
    write_json(results, report)
    assert main(["review", str(report), "--no-open", "--lang", "en", "--channel", "nosuchchannel"]) == 64
    assert "nosuchchannel" in capsys.readouterr().err
    assert main(["review", str(report), "--no-open", "--lang", "en", "--event", "no-such-event"]) == 64
    assert "no-such-event" in capsys.readouterr().err
    assert no_serving == []
    # as `scan` answers the same input
    assert main(["scan", str(env / "ngjarja_ë"), "--lang", "en", "--channel", "nosuchchannel", "--workers", "1", "--engine", "local"]) == 64
    assert main(["review", str(report), "--no-open", "--lang", "en", "--channel", "facebook"]) == 0
    assert len(no_serving) == 1


# -- 3. photos that could not be checked --------------------------------------------------------------------------


def _with_broken_photos(folder, sample_images):
    (folder / "gjysmë.jpg").write_bytes((sample_images / FAMILY).read_bytes()[:3000])
    (folder / "shënim.jpg").write_text("jo foto", encoding="utf-8")


def test_photos_that_could_not_be_checked_are_named_on_the_page_with_their_reason(env, guard, sample_images):
    folder = env / "ngjarja"
    folder.mkdir()
    shutil.copy(sample_images / FAMILY, folder / FAMILY)
    _with_broken_photos(folder, sample_images)
    results = [guard.check(p) for p in sorted(folder.iterdir())]
    broken = [r for r in results if r.error]
    assert len(broken) == 2
    db = _register(env)
    with Register(db) as register:
        state = ReviewApp(results, Reviews(register), guard.policy, lang="sq").state()
    assert state["others"].get("ERROR") == 2
    assert sorted((e["name"], e["reason"]) for e in state["errors"]) == sorted(
        (r.source.rsplit("/", 1)[-1], explain_error(r, "sq")) for r in broken)
    assert any("cunguar" in e["reason"] for e in state["errors"])  # in the reviewer's language
    assert state["messages"]["review.errors"].startswith("Foto që nuk u kontrolluan")


def test_review_folder_names_the_photos_it_could_not_check_on_the_console(env, sample_images, no_serving, capsys):
    from minorguard.cli import main

    folder = env / "ngjarja"
    folder.mkdir()
    shutil.copy(sample_images / FAMILY, folder / FAMILY)
    _with_broken_photos(folder, sample_images)
    db = _register(env)

    assert main(["review", str(folder), "--no-open", "--lang", "sq", "--db", str(db), "--workers", "1"]) == 0
    console = " ".join(capsys.readouterr().err.split())
    assert "gjysmë.jpg: skedari është i cunguar ose i dëmtuar" in console
    assert "shënim.jpg: nuk është skedar imazhi" in console


# -- 4. the API's input ------------------------------------------------------------------------------------------


def test_the_api_refuses_what_is_not_a_whole_number_or_text(served):
    server, app, register = served
    state = json.loads(_request(server, "GET", "/api/state")[1])
    photo = next(p for p in state["photos"] if p["name"] == FAMILY)
    face = next(f for f in photo["faces"] if f["flagged"])
    entries = register.audit_verify().entries
    ok = {"photo": photo["id"], "face": face["face"], "kind": "hide", "reviewer": "Ana"}
    for change, field in (
        ({"face": face["face"] + 0.9}, "face"),  # was recorded as face 1
        ({"face": True}, "face"),  # was recorded as face 1
        ({"face": "1"}, "face"),
        ({"photo": float("inf")}, "photo"),  # was a 500 with the exception's text
        ({"photo": 0.0}, "photo"),
        ({"kind": "adult", "confirms": "abc"}, "confirms"),  # was a 500
        ({"kind": "confirm", "confirms": [1]}, "confirms"),
        ({"consent_id": ["x"], "kind": "consent"}, "consent_id"),
        ({"reviewer": {"name": "Ana"}}, "reviewer"),
        ({"reason": 5}, "reason"),
        ({"kind": 3}, "kind"),
    ):
        status, body = _request(server, "POST", "/api/decide", {**ok, **change})
        answer = json.loads(body)
        assert status == 400 and answer["field"] == field and answer["code"].startswith("review.bad_"), (change, body)
        assert "Error" not in answer["error"], answer
    people = state["people"]
    group = {"group": people[0]["id"] if people else 1, "kind": "hide", "reviewer": "Ana"}
    for change, field in (({"group": float("inf")}, "group"), ({"group": True}, "group"),
                          ({"kind": "adult", "faces": [[0, "x"]]}, "faces"), ({"kind": "adult", "faces": "02"}, "faces")):
        status, body = _request(server, "POST", "/api/decide", {**group, **change})
        answer = json.loads(body)
        assert status == 400 and answer["field"] == field, (change, body)
    assert register.audit_verify().entries == entries  # nothing was recorded
    assert Reviews(register).for_photo(photo["sha256"]) == []
    # in the reviewer's language, with the same code
    app.lang = "sq"
    status, body = _request(server, "POST", "/api/decide", {**ok, "face": 1.9})
    answer = json.loads(body)
    assert status == 400 and answer == {"error": "face duhet të jetë numër i plotë, jo 1.9", "code": "review.bad_number", "field": "face"}
    # a whole number still decides
    status, body = _request(server, "POST", "/api/decide", ok)
    assert status == 200, body


# -- 5. the audit of the page's own scan ----------------------------------------------------------------------------


def _checked(db, tool):
    with Register(db) as register:
        out = {}
        for e in register.audit_entries():
            details = e["details"] if isinstance(e["details"], dict) else json.loads(e["details"])
            if e["action"] == "photo_checked" and details["tool"] == tool:
                out[e["photo_sha256"]] = (e["subject"], [tuple(f) for f in details["faces"]])
        return out


def test_review_folder_audits_the_verdict_with_reviewers_decisions_as_scan_does(env, photos, no_serving):
    """The page judges without the stored decisions (it applies them itself) and logged that verdict: BLOCK for a
    photo reviewers had let through, PASS for one a reviewer had hidden."""
    from minorguard.cli import main

    folder, results = photos
    db = _register(env)
    family, portrait = _by_name(results, FAMILY), _by_name(results, PORTRAIT)
    assert family.verdict.value == "BLOCK" and portrait.verdict.value == "PASS"
    _decide(db, family, "adult", _flagged(family))
    _decide(db, portrait, "hide", portrait.faces[:1])

    assert main(["review", str(folder), "--no-open", "--lang", "en", "--db", str(db), "--workers", "1"]) == 0
    assert main(["scan", str(folder), "--lang", "en", "--db", str(db), "--workers", "1", "--engine", "local"]) == 2
    review, scan = _checked(db, "minorguard review"), _checked(db, "minorguard scan")
    assert review[family.sha256][0] == "PASS" and review[portrait.sha256][0] == "BLOCK"
    assert review == scan  # verdicts and every face's action and reason
