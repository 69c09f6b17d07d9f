"""Known adults: the pure gates with plain data, the decision, the pipeline, the register."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from minorguard.decide import decide_face
from minorguard.known_adults import (
    KnownAdultMatch,
    KnownAdultMatcher,
    KnownAdultRef,
    known_adult_clears,
    match_known_adult,
)
from minorguard.policy import Policy
from minorguard.types import (
    AgeEstimate,
    Box,
    ConsentEvidence,
    DetectedFace,
    FaceAction,
    FaceAssessment,
    FaceCategory,
    Identifiability,
    ReasonCode,
)

POLICY = Policy(
    minor_rule="calibrated",
    minor_block_probability=0.5,
    minor_review_probability=0.05,
    known_adult_max_p_minor=0.3,
    known_adult_match_threshold=0.9,
    known_adult_margin=0.02,
)
TODAY = date(2026, 11, 27)


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def person(seed: int) -> np.ndarray:
    return unit(np.random.default_rng(seed).normal(size=32))


def near(base: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    return unit(base + noise * np.random.default_rng(100 + seed).normal(size=base.shape) / np.sqrt(base.size))


def ref(name: str, vec: np.ndarray, expires: date | None = None, id_: str | None = None) -> KnownAdultRef:
    return KnownAdultRef(id_ or f"ka-{name}", name, vec[None, :], role="teacher", expires=expires)


def assessment(p: float | None, identifiable: bool = True) -> FaceAssessment:
    age = None if p is None else AgeEstimate(25 if p < 0.5 else 12, 15, 35, p, "test")
    return FaceAssessment(
        0,
        DetectedFace(Box(10, 10, 80, 80), 0.99),
        Identifiability(identifiable, 80, 50, None if identifiable else ReasonCode.TOO_SMALL),
        age,
    )


def confident(name: str = "Arta Krasniqi", sim: float = 0.97) -> KnownAdultMatch:
    return KnownAdultMatch("ka-1", name, "teacher", sim, True)


# -- matching ------------------------------------------------------------------------------------


def test_match_finds_the_person_above_threshold():
    a, b = person(1), person(2)
    match = match_known_adult(near(a, 1), [ref("A", a), ref("B", b)], TODAY, 0.9, 0.02)
    assert match is not None and match.name == "A" and match.confident


def test_no_match_below_threshold():
    assert match_known_adult(person(3), [ref("A", person(1))], TODAY, 0.9, 0.02) is None


def test_best_of_several_reference_photos_counts():
    a = person(1)
    adult = KnownAdultRef("ka-a", "A", np.stack([person(9), near(a, 2)]), "", None)
    match = match_known_adult(near(a, 3), [adult], TODAY, 0.9, 0.02)
    assert match is not None and match.confident


def test_expired_adult_is_reported_not_used():
    a = person(1)
    match = match_known_adult(near(a, 1), [ref("A", a, expires=date(2026, 11, 26))], TODAY, 0.9, 0.02)
    assert match is not None and match.expired and not match.confident
    assert "expired" in match.note and "2026-11-26" in match.note
    # the last day of validity still counts
    match = match_known_adult(near(a, 1), [ref("A", a, expires=TODAY)], TODAY, 0.9, 0.02)
    assert match is not None and match.confident


def test_two_adults_equally_close_is_ambiguous():
    a = person(1)
    twin = near(a, 50, noise=0.001)
    match = match_known_adult(near(a, 2), [ref("A", a), ref("Twin", twin)], TODAY, 0.9, 0.02)
    assert match is not None and match.ambiguous and not match.confident


# -- the child gate --------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.3, 0.5, 0.9, 0.999])
def test_known_adult_never_clears_a_face_at_or_above_the_gate(p):
    age = AgeEstimate(12, 8, 16, p, "test")
    assert not known_adult_clears(age, confident(), POLICY)
    decision = decide_face(assessment(p), POLICY, known_adult=confident())
    assert decision.reason is not ReasonCode.KNOWN_ADULT
    assert decision.action is not FaceAction.ALLOW


def test_known_adult_clears_an_uncertain_face_below_the_gate():
    decision = decide_face(assessment(0.1), POLICY, known_adult=confident("Arta Krasniqi"))
    assert decision.action is FaceAction.ALLOW
    assert decision.reason is ReasonCode.KNOWN_ADULT
    assert decision.category is FaceCategory.ADULT
    assert "Arta Krasniqi" in decision.detail


def test_without_age_a_known_adult_clears_nothing():
    decision = decide_face(assessment(None), POLICY, known_adult=confident())
    assert decision.action is FaceAction.REVIEW and decision.reason is ReasonCode.AGE_UNAVAILABLE


def test_unconfident_matches_do_not_clear_and_say_why():
    expired = KnownAdultMatch("ka-1", "A", "", 0.97, False, expired=True, note="known adult A expired on 2026-01-01: not used")
    decision = decide_face(assessment(0.1), POLICY, known_adult=expired)
    assert decision.action is FaceAction.REVIEW and decision.reason is ReasonCode.MINOR_UNCERTAIN
    assert "expired" in decision.detail
    ambiguous = replace(expired, expired=False, ambiguous=True, note="two")
    assert decide_face(assessment(0.1), POLICY, known_adult=ambiguous).reason is ReasonCode.MINOR_UNCERTAIN


def test_consent_evidence_outranks_a_known_adult():
    consent = ConsentEvidence("ch-1", 0.95, None, True, False, never_publish=True)
    decision = decide_face(assessment(0.1), POLICY, consent=consent, known_adult=confident())
    assert decision.reason is ReasonCode.NEVER_PUBLISH
    claimed = ConsentEvidence("ch-1", 0.95, None, False, True, note="maybe")
    assert decide_face(assessment(0.1), POLICY, consent=claimed, known_adult=confident()).reason is ReasonCode.CONSENT_AMBIGUOUS


def test_adult_faces_stay_plain_adult():
    decision = decide_face(assessment(0.01), POLICY, known_adult=confident())
    assert decision.reason is ReasonCode.ADULT


def test_gate_zero_disables_known_adults():
    off = replace(POLICY, known_adult_max_p_minor=0.0)
    assert decide_face(assessment(0.1), off, known_adult=confident()).reason is not ReasonCode.KNOWN_ADULT


def test_policy_rejects_gate_above_block_probability():
    from minorguard.policy import PolicyError, policy_from_mapping

    with pytest.raises(PolicyError):
        policy_from_mapping({"known_adults": {"max_p_minor": 0.9}})


def test_matcher_lists_expired():
    matcher = KnownAdultMatcher([ref("A", person(1), expires=date(2020, 1, 1)), ref("B", person(2))], POLICY)
    assert [a.name for a in matcher.expired(TODAY)] == ["A"]
    assert matcher.match(near(person(2), 1), TODAY).name == "B"
