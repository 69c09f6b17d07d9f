"""One decision per person: the people of a batch (pure), group decisions on the review page, remembering an adult."""

# ruff: noqa: F811  (the env fixture is imported from test_review_server)

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date

import pytest
from PIL import Image
from test_grouping import ADULT_AGE, CHILD_AGE, POLICY, UNSURE_AGE, decision, photo
from test_review_server import env  # noqa: F401  (fixture: a data folder of its own)

from consent_db import Register
from consent_db.reviews import Reviews
from minorguard.faces.grouping import EmbeddingStore, group_results
from minorguard.report.files import write_json
from minorguard.report.people import people_of
from minorguard.report.results_json import read_report
from minorguard.review.app import ReviewApp, ReviewProblem

FAMILY = "faceaisharp_obama_family.jpg"
PORTRAIT = "faceaisharp_biden_7mpx.jpg"


# -- people_of: plain data ----------------------------------------------------------------------


def _grouped(face, group):
    return replace(face, group=group)


def test_people_from_face_numbers_follow_batch_order():
    results = [
        photo("a.jpg", _grouped(decision(0, UNSURE_AGE), 2), _grouped(decision(1, CHILD_AGE), 1)),
        photo("b.jpg", _grouped(decision(0, CHILD_AGE), 1), decision(1, ADULT_AGE)),
        photo("c.jpg", _grouped(decision(0, UNSURE_AGE), 2)),
    ]
    people = people_of(results, POLICY)
    assert [(p.id, p.faces, p.side, p.photos) for p in people] == [
        (2, ((0, 0), (2, 0)), "minor", 2),
        (1, ((0, 1), (1, 0)), "minor", 2),
    ]


def test_a_person_is_labelled_as_the_age_model_calls_them_unsure_included():
    """The "minor" side holds possible minors and faces the model is unsure about: an unsure young-looking adult
    was labelled "a possible minor" beside an offer to remember them as an adult."""
    from minorguard.report.people import side_key
    from minorguard.rules.decide import categorize
    from minorguard.types import AgeEstimate, FaceCategory

    pilot = AgeEstimate(31, 27, 36, 0.04, "test")  # the sample Apollo pilot: uncertain, not a possible minor
    assert categorize(pilot, POLICY) is FaceCategory.UNCERTAIN
    results = [
        photo("a.jpg", _grouped(decision(0, pilot), 2), _grouped(decision(1, CHILD_AGE), 1), _grouped(decision(2, ADULT_AGE), 3)),
        photo("b.jpg", _grouped(decision(0, pilot), 2), _grouped(decision(1, CHILD_AGE), 1), _grouped(decision(2, ADULT_AGE), 3)),
    ]
    keys = {p.id: side_key(p, results, POLICY) for p in people_of(results, POLICY)}
    assert keys == {2: "review.person_side_uncertain", 1: "review.person_side_minor", 3: "review.person_side_adult"}


def test_a_group_the_age_model_calls_child_and_adult_is_never_one_person():
    """A hand-edited report, or one from an older scan, may put both in one group: it is split here anyway."""
    results = [
        photo("a.jpg", _grouped(decision(0, CHILD_AGE), 4)),
        photo("b.jpg", _grouped(decision(0, ADULT_AGE), 4)),
        photo("c.jpg", _grouped(decision(0, CHILD_AGE), 4)),
    ]
    first, second = people_of(results, POLICY)
    assert (first.faces, first.side, first.mixed_ages) == (((0, 0), (2, 0)), "minor", True)
    assert (second.faces, second.side, second.mixed_ages) == (((1, 0),), "adult", True)
    assert first.paired_with == second.id and second.paired_with == first.id
    assert all((p.side == "adult") == all(results[i].faces[j].age is ADULT_AGE for i, j in p.faces) for p in (first, second))


def test_people_from_the_report_groups_keep_the_split_mark_and_skip_unknown_photos():
    results = [photo("a.jpg", decision(0, CHILD_AGE)), photo("b.jpg", decision(0, CHILD_AGE), decision(1, ADULT_AGE))]
    groups = [
        {"group": 1, "side": "minor", "mixed_ages": True, "paired_with": 2,
         "faces": [{"source": "a.jpg", "face": 0}, {"source": "b.jpg", "face": 0}, {"source": "gone.jpg", "face": 0}]},
        {"group": 2, "side": "adult", "mixed_ages": True, "paired_with": 1, "faces": [{"source": "b.jpg", "face": 1}]},
        {"group": 3, "side": "adult", "faces": [{"source": "b.jpg", "face": 9}]},  # no such face: left out
    ]
    people = people_of(results, POLICY, groups)
    assert [(p.id, p.faces, p.mixed_ages, p.paired_with) for p in people] == [
        (1, ((0, 0), (1, 0)), True, 2),
        (2, ((1, 1),), True, 1),
    ]


# -- the review page: real models on real photos --------------------------------------------------


def _event_folder(env, sample_images, name: str, copies: int = 2):
    """The same photo as several different files (re-encoded), as an event folder shows the same people."""
    folder = env / "festa_e_shkollës"
    folder.mkdir(exist_ok=True)
    shutil.copy(sample_images / name, folder / f"foto_1_{name}")
    with Image.open(sample_images / name) as image:
        for n in range(2, copies + 1):
            image.save(folder / f"foto_{n}_ç_{name}", quality=90 - n)
    return sorted(folder.iterdir())


def _scan(guard, paths):
    guard.embeddings = EmbeddingStore()
    try:
        results = [guard.check(p) for p in paths]
        return group_results(results, guard.embeddings.as_mapping(), guard.policy)
    finally:
        guard.embeddings = None


def test_one_decision_covers_every_face_of_a_person_and_is_audited_once(env, guard, sample_images):
    batch = _scan(guard, _event_folder(env, sample_images, FAMILY))
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app = ReviewApp(batch.results, Reviews(register), guard.policy, lang="en", groups=batch.groups)
        state = app.state()
        people = state["people"]
        assert len(people) >= 2 and all(len(p["faces"]) == 2 and p["photos"] == 2 for p in people)  # at least the two girls
        assert all(p["side"] == "minor" for p in people)
        girl = people[0]
        cards = {(ph["id"], f["index"]): f for ph in state["photos"] for f in ph["faces"]}
        assert all(cards[(f["photo"], f["index"])]["person"] == girl["id"] for f in girl["faces"])
        assert all(cards[(f["photo"], f["index"])]["face"] == f["face"] == f["index"] + 1 for f in girl["faces"])

        entries = register.audit_verify().entries
        answer = app.decide_group({"group": girl["id"], "kind": "hide", "reviewer": "Ana", "reason": "no form"})
        assert answer["faces"] == 2 and len(answer["photos"]) == 2
        for ph in answer["photos"]:
            face = next(f for f in ph["faces"] if f["person"] == girl["id"])
            assert face["current"]["kind"] == "hide" and face["kind"] == "blocked"
        assert register.audit_verify().entries == entries + 1
        entry = register.audit_entries(limit=1)[0]
        assert entry["action"] == "review_group_hide"
        details = entry["details"] if isinstance(entry["details"], dict) else json.loads(entry["details"])
        assert len(details["faces"]) == 2 and {f["photo_sha256"] for f in details["faces"]} == {r.sha256 for r in batch.results}
        assert not any("source" in f for f in details["faces"])  # never a file name in the log
        after = next(p for p in app.state()["people"] if p["id"] == girl["id"])
        assert after["todo"] == 0 and all(f["current"] == "hide" for f in after["faces"])

        # undo for the person, then the models' decision stands again on both photos
        app.decide_group({"group": girl["id"], "kind": "clear", "reviewer": "Ana"})
        assert next(p for p in app.state()["people"] if p["id"] == girl["id"])["todo"] == 2

        # bad requests: nothing recorded
        entries = register.audit_verify().entries
        for payload, status in (
            ({"group": 999, "kind": "hide", "reviewer": "Ana"}, 404),
            ({"group": girl["id"], "kind": "hide", "reviewer": " "}, 400),
            ({"group": girl["id"], "kind": "bless", "reviewer": "Ana"}, 400),
            ({"group": girl["id"], "kind": "confirm", "reviewer": "Besa"}, 409),  # nothing awaits a second reviewer
            ({"group": girl["id"], "kind": "hide", "reviewer": "Ana", "remember": {"name": "X"}}, 400),
            ({"group": girl["id"], "kind": "adult", "reviewer": "Ana", "remember": {"name": "X"}}, 409),  # no models given
        ):
            with pytest.raises(ReviewProblem) as problem:
                app.decide_group(payload)
            assert problem.value.status == status, payload
        assert register.audit_verify().entries == entries

        # one photo of the person edited on disk: the whole decision is refused
        edited = app.paths[girl["faces"][1]["photo"]]
        with Image.open(edited) as image:
            image.save(edited, quality=70)
        with pytest.raises(ReviewProblem) as problem:
            app.decide_group({"group": girl["id"], "kind": "hide", "reviewer": "Ana"})
        assert problem.value.status == 409 and edited.name in problem.value.message
        assert register.audit_verify().entries == entries


def test_a_child_cannot_be_remembered_as_a_known_adult(env, guard, sample_images):
    """The girls marked adult and remembered: refused (the model calls them possible minors), nothing recorded.

    The age model reads one of them as a 27-year-old with P(under 18) 0.07: under
    the known-adult gate. Remembering her would clear her in every later photo.
    """
    from minorguard.rules.decide import categorize
    from minorguard.types import FaceCategory

    batch = _scan(guard, _event_folder(env, sample_images, FAMILY))
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app = ReviewApp(batch.results, Reviews(register), guard.policy, lang="en", groups=batch.groups, guard=guard)
        entries = register.audit_verify().entries
        minors = [p for p in app.people.values()
                  if any(categorize(batch.results[i].faces[j].age, guard.policy) is FaceCategory.POSSIBLE_MINOR for i, j in p.faces)]
        assert len(minors) >= 2  # at least the two girls
        assert not any(p["rememberable"] for p in app.state()["people"] if p["id"] in {m.id for m in minors})
        for person in minors:
            with pytest.raises(ReviewProblem) as problem:
                app.decide_group({"group": person.id, "kind": "adult", "reviewer": "Ana", "remember": {"name": f"P{person.id}"},
                                  "faces": [(photo, index + 1) for photo, index in person.faces]})  # face numbers
            assert problem.value.status == 409 and "possible minor" in problem.value.message
        assert register.list_known_adults(include_expired=True) == []
        assert all(Reviews(register).for_photo(r.sha256) == [] for r in batch.results)
        assert register.audit_verify().entries == entries
        # marking them adult for these photos stays a person's call (with its own audit entry)
        everyone = {"group": minors[0].id, "kind": "adult", "reviewer": "Ana", "reason": "seen the forms"}
        with pytest.raises(ReviewProblem) as problem:  # a row that may hold a child: each face ticked, or nothing
            app.decide_group(everyone)
        assert problem.value.status == 409 and "tick each face" in problem.value.message
        assert register.audit_verify().entries == entries
        first = minors[0].faces[0]
        answer = app.decide_group({**everyone, "faces": [[first[0], first[1] + 1]]})  # its face number
        assert answer["faces"] == 1  # only the ticked face: the row's other face still waits for a person
        assert register.audit_verify().entries == entries + 1


def test_remembered_from_the_page_the_next_event_passes(env, guard, sample_images):
    """An adult the model is unsure about (strict policy): decided once for the person, remembered, known next time."""
    from minorguard.pipeline import Guard

    # a policy under which the model is unsure about this adult (every face to a person, none called a minor)
    strict = Guard(policy=replace(guard.policy, minor_review_probability=0.0, challenge_age=25), pack=guard.pack)
    batch = _scan(strict, _event_folder(env, sample_images, PORTRAIT))
    report = env / "skanimi.json"
    write_json(batch.results, report, {"groups": [
        {"group": g.id, "side": g.side, "mixed_ages": g.mixed_ages, "paired_with": g.paired_with,
         "faces": [{"source": s, "face": i} for s, i in g.members]} for g in batch.groups]})
    results, groups = read_report(report)  # as `minorguard review skanimi.json` reads it
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app = ReviewApp(results, Reviews(register), strict.policy, lang="sq", groups=groups, base_dir=env, guard=lambda: strict)
        (person,) = app.state()["people"]
        assert person["rememberable"] and person["side"] == "minor"  # uncertain: a person decides, and may remember
        with pytest.raises(ReviewProblem) as problem:  # an expiry already past: nothing written
            app.decide_group({"group": person["id"], "kind": "adult", "reviewer": "Ana",
                              "faces": [[f["photo"], f["face"]] for f in person["faces"]],
                              "remember": {"name": "Arben Çela", "expires": "2001-01-01"}})
        assert problem.value.status == 409
        assert register.list_known_adults(include_expired=True) == []
        answer = app.decide_group({"group": person["id"], "kind": "adult", "reviewer": "Ana", "reason": "minister",
                                   "faces": [[f["photo"], f["face"]] for f in person["faces"]],
                                   "remember": {"name": "Arben Çela", "role": "minister", "expires": "2030-12-31"}})
        assert answer["known_adult"]["name"] == "Arben Çela" and answer["faces"] == 2
        (known,) = register.list_known_adults()
        assert (known.role, known.expires) == ("minister", date(2030, 12, 31))
        assert register.audit_entries(limit=1)[0]["action"] == "review_group_adult"
        assert known.id in json.dumps(register.audit_entries(limit=1)[0]["details"], ensure_ascii=False)

    # the next event: a new photo of the same person passes as a known adult
    from minorguard.rules.known_adults import KnownAdultMatcher

    with Register(env / "data" / "register.sqlite3") as register:
        strict.known_adults = KnownAdultMatcher.from_register(register, strict.policy, strict.pack.embedder.name)
        try:
            with Image.open(sample_images / PORTRAIT) as image:
                image.save(env / "ngjarja_2.jpg", quality=80)
            result = strict.check(env / "ngjarja_2.jpg")
        finally:
            strict.known_adults = None
    assert result.verdict.value == "PASS"
    assert result.faces[0].reason.value == "known_adult" and "Arben Çela" in result.faces[0].detail


def test_a_second_reviewer_confirms_a_person_once(env, guard, sample_images):
    """Under the second-reviewer policy, a person marked adult waits for someone else, who confirms all faces at once."""
    batch = _scan(guard, _event_folder(env, sample_images, FAMILY))
    policy = replace(guard.policy, second_reviewer_required=True)
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app = ReviewApp(batch.results, Reviews(register), policy, lang="en", groups=batch.groups)
        person = app.state()["people"][0]
        app.decide_group({"group": person["id"], "kind": "adult", "reviewer": "Ana",
                          "faces": [[f["photo"], f["face"]] for f in person["faces"]]})
        waiting = next(p for p in app.state()["people"] if p["id"] == person["id"])
        assert all(f["pending_second"] for f in waiting["faces"]) and waiting["todo"] == 2
        with pytest.raises(ReviewProblem) as problem:
            app.decide_group({"group": person["id"], "kind": "confirm", "reviewer": " ana "})
        assert problem.value.status == 400 and "someone other" in problem.value.message
        answer = app.decide_group({"group": person["id"], "kind": "confirm", "reviewer": "Besa"})
        assert answer["faces"] == 2
        done = next(p for p in app.state()["people"] if p["id"] == person["id"])
        assert done["todo"] == 0 and all(f["kind"] == "adult" for f in done["faces"])
        assert [e["action"] for e in register.audit_entries(limit=2)] == ["review_group_adult", "review_group_confirm"]


def _strict_person(env, guard, sample_images, register, **policy_changes):
    """The Biden portrait twice under a policy that leaves the model unsure about him: one person, two faces."""
    from minorguard.pipeline import Guard

    strict = Guard(policy=replace(guard.policy, minor_review_probability=0.0, challenge_age=25, **policy_changes), pack=guard.pack)
    batch = _scan(strict, _event_folder(env, sample_images, PORTRAIT))
    app = ReviewApp(batch.results, Reviews(register), strict.policy, lang="en", groups=batch.groups, base_dir=env,
                    guard=lambda: strict)
    (person,) = app.state()["people"]
    assert person["side"] == "minor" and len(person["faces"]) == 2
    return app, person


def test_remembering_enrols_only_the_faces_the_reviewer_ticked(env, guard, sample_images):
    """A row the model is unsure about: the reviewer ticked one face and remembered the person; the other face,
    which nobody ticked, was enrolled too and passed every later scan as a known adult. The enrolment is in the
    reviewer's name."""
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app, person = _strict_person(env, guard, sample_images, register)
        first = person["faces"][0]
        answer = app.decide_group({"group": person["id"], "kind": "adult", "reviewer": "Ana",
                                   "faces": [[first["photo"], first["face"]]], "remember": {"name": "Arben Çela"}})
        assert answer["faces"] == 1
        (known,) = register.list_known_adults()
        assert known.count == 1 and known.added_by == "Ana"
        added = next(e for e in register.audit_entries(limit=5) if e["action"] == "known_adult_added")
        assert added["actor"] == "Ana"


def test_remembering_waits_for_nobody_under_a_second_reviewer_policy_so_it_is_refused(env, guard, sample_images):
    """Under `second_reviewer_required` one reviewer's "adult, and remember" enrolled the person at once, and they
    passed later photos that no second reviewer ever saw: refused, nothing recorded, and the page does not offer it."""
    with Register(env / "data" / "register.sqlite3", actor="zyra") as register:
        app, person = _strict_person(env, guard, sample_images, register, second_reviewer_required=True)
        assert person["rememberable"] is False
        entries = register.audit_verify().entries
        with pytest.raises(ReviewProblem) as problem:
            app.decide_group({"group": person["id"], "kind": "adult", "reviewer": "Ana",
                              "faces": [[f["photo"], f["face"]] for f in person["faces"]], "remember": {"name": "Arben Çela"}})
        assert problem.value.status == 409 and "second reviewer" in problem.value.message
        assert register.list_known_adults(include_expired=True) == [] and register.audit_verify().entries == entries
