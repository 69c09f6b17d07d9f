"""Rule 5 as pure functions: facts + context + policy -> decisions. No I/O, no models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from minorguard.rules.known_adults import KnownAdultMatch, known_adult_clears
from minorguard.rules.policy import Policy
from minorguard.types import (
    AgeEstimate,
    ConsentEvidence,
    EventEvidence,
    FaceAction,
    FaceAssessment,
    FaceCategory,
    FaceDecision,
    ReasonCode,
    Verdict,
)

__all__ = ["ReviewerOverride", "categorize", "decide_face", "decide_faces", "photo_verdict"]


class ReviewerOverride:
    """A person's decision about a face, applied before the model's opinion."""

    __slots__ = ("action", "category", "consent", "note")

    def __init__(self, action: FaceAction, category: FaceCategory, note: str, consent: ConsentEvidence | None = None):
        self.action, self.category, self.note, self.consent = action, category, note, consent


def categorize(age: AgeEstimate | None, policy: Policy) -> FaceCategory:
    """Possible minor, uncertain or adult, by the policy's minor rule."""
    if age is None:
        return FaceCategory.UNCERTAIN
    if policy.minor_rule == "challenge_age":
        # A face is adult only when even the low end of its interval clears 18
        # and its estimate clears the challenge age.
        if age.expected < policy.challenge_age:
            return FaceCategory.POSSIBLE_MINOR
        if age.low < 18:
            return FaceCategory.UNCERTAIN
        return FaceCategory.ADULT
    if age.p_under_18 >= policy.minor_block_probability:
        return FaceCategory.POSSIBLE_MINOR
    if (age.disagreement or age.doubt) and age.p_under_18 < policy.minor_review_probability:
        # one age network reads a child where the others read an adult, or the face is one the networks cannot
        # read (turned, a 1-bit picture): a person decides
        return FaceCategory.UNCERTAIN
    if age.p_under_18 >= policy.minor_review_probability:
        # The estimator cannot rule a minor out. Its probability is honest but
        # low for children the age model reads as young adults (the two girls of
        # the sample portrait: 26.5 and 24.9 years, P 0.082 and 0.371), so a face
        # that also looks younger than the challenge age blocks; an older-looking
        # one goes to a person.
        return FaceCategory.POSSIBLE_MINOR if age.expected < policy.challenge_age else FaceCategory.UNCERTAIN
    return FaceCategory.ADULT


def _event_exempts(event: EventEvidence | None, policy: Policy) -> bool:
    return bool(
        policy.exemption_enabled
        and event is not None
        and event.event_id
        and not event.ambiguous
        and event.basis in policy.exempt_bases
    )


def _event_could_exempt(event: EventEvidence, policy: Policy) -> bool:
    # An ambiguous link carries every candidate's basis ("outdoor/public"); it
    # deserves a person only if one of them could exempt, else the block stands.
    # No basis at all means the candidates are unknown: a person decides.
    return event.basis is None or any(b in policy.exempt_bases for b in event.basis.split("/"))


# Children's faces look alike to a face description, and change year by year. An audit enrolled one baby of
# ../shared/samples and another photographer's baby matched her at 0.865, over the match threshold of 0.863 (set on
# FG-NET, mostly older children and adults), and passed. On all_age_faces' children (one photo per child: every pair
# is two children) a stranger's child estimated 4-8 matched an enrolled child over that threshold in 2.0% of trials,
# 8-13 in 0.8%, 13-18 in 0.16% (benchmarks/infant_matching.py). A consent is relied on by a match alone only on a
# face whose age estimate is at least ``consent_alone_from_age`` (13) years at the low end of its interval, on which
# the networks agree, and below 18 at that end only at ``consent_minor_match_threshold``; otherwise the match goes to a
# person, who links the consent on the review page. The low end, not the expected age: a walkthrough's 6-year-old
# was estimated 19 (the networks read 9, 11 and 32) and passed on a stranger's consent.
ADULT_AGE = 18.0


def too_young_to_match(age: AgeEstimate, policy: Policy) -> bool:
    """Whether a face may be too young for a face match alone to say which child it is."""
    return age.low < policy.consent_alone_from_age or age.disagreement


def short_of_minor_match(age: AgeEstimate, consent: ConsentEvidence, policy: Policy) -> bool:
    """Whether a match on a face that may be under 18 falls short of the similarity a minor's face needs (never less
    than the adults' own threshold)."""
    return age.low < ADULT_AGE and consent.similarity < minor_match_needed(policy)


def minor_match_needed(policy: Policy) -> float:
    """The similarity a consent match on a face that may be under 18 needs."""
    return max(policy.consent_minor_match_threshold, policy.consent_match_threshold)


def decide_face(
    assessment: FaceAssessment,
    policy: Policy,
    consent: ConsentEvidence | None = None,
    event: EventEvidence | None = None,
    override: ReviewerOverride | None = None,
    known_adult: KnownAdultMatch | None = None,
) -> FaceDecision:
    """The action for one face and the single reason that settled it."""
    ident = assessment.identifiability
    # an expired or ambiguous known-adult match is not used, but the report says why
    known_note = known_adult.note if known_adult is not None and not known_adult.confident else ""

    def make(category: FaceCategory, action: FaceAction, reason: ReasonCode, detail: str = "") -> FaceDecision:
        return FaceDecision(
            index=assessment.index,
            box=assessment.face.box,
            score=assessment.face.score,
            category=category,
            action=action,
            reason=reason,
            identifiability=ident,
            age=assessment.age,
            consent=consent,
            event=event,
            detail=detail or known_note,
        )

    if not ident.identifiable:
        return make(FaceCategory.NOT_IDENTIFIABLE, FaceAction.ALLOW, ident.reason or ReasonCode.TOO_SMALL)
    category = categorize(assessment.age, policy)
    if category is FaceCategory.ADULT and consent is not None and (consent.never_publish or (consent.confident and not consent.ambiguous)):
        # The register knows this face: a child the age estimate reads as an adult (such faces are enrolled only
        # when the office confirms the child, --confirm-child) is still the child, and a face that may be a
        # never-publish child is treated as that child. A mere resemblance to another child does not count.
        category = FaceCategory.POSSIBLE_MINOR
    # never-publish outranks every other fact, a reviewer's included
    if consent is not None and consent.never_publish:
        return make(category, FaceAction.BLOCK, ReasonCode.NEVER_PUBLISH, consent.child_ref)
    if override is not None:
        models = decide_face(assessment, policy, consent, event, None, known_adult)
        decision = replace(make(override.category, override.action, ReasonCode.REVIEWER, override.note), models_decision=models)
        # a consent the reviewer linked is the evidence the report and the export rely on
        return replace(decision, consent=override.consent) if override.consent is not None else decision
    if category is FaceCategory.ADULT:
        # a resemblance the decision did not rest on is neither reported nor audited as a consent relied on
        return replace(make(category, FaceAction.ALLOW, ReasonCode.ADULT), consent=None)
    # a known adult clears only a face no consent record claims, and only below
    # the policy's P(under 18) gate: a known adult can never clear a child
    if consent is None and known_adult_clears(assessment.age, known_adult, policy):
        assert known_adult is not None
        return make(FaceCategory.ADULT, FaceAction.ALLOW, ReasonCode.KNOWN_ADULT, known_adult.label)
    if assessment.age is None:
        unavailable = make(category, FaceAction.REVIEW, ReasonCode.AGE_UNAVAILABLE, assessment.age_error or "")
    else:
        unavailable = None
    if consent is not None and consent.never_publish:
        return make(category, FaceAction.BLOCK, ReasonCode.NEVER_PUBLISH, consent.child_ref)
    if _event_exempts(event, policy):
        assert event is not None
        return make(category, FaceAction.ALLOW, ReasonCode.EVENT_EXEMPT, f"{event.event_id} ({event.basis})")
    if consent is not None:
        if consent.ambiguous or not consent.confident:
            return make(category, FaceAction.REVIEW, ReasonCode.CONSENT_AMBIGUOUS, consent.note)
        if consent.record_id:
            if unavailable is not None:  # which child it is cannot be told without an age either: a person decides
                return unavailable
            assert assessment.age is not None
            if too_young_to_match(assessment.age, policy):
                return make(category, FaceAction.REVIEW, ReasonCode.CONSENT_YOUNG, consent.note)
            if short_of_minor_match(assessment.age, consent, policy):
                return make(category, FaceAction.REVIEW, ReasonCode.CONSENT_MINOR_THRESHOLD,
                            f"{consent.note}, {consent.similarity:.3f} < {minor_match_needed(policy):.3f}")
            return make(category, FaceAction.ALLOW, ReasonCode.CONSENT, consent.record_id)
        return make(category, FaceAction.BLOCK, ReasonCode.CONSENT_OUT_OF_SCOPE, consent.note)
    if event is not None and event.ambiguous and policy.exemption_enabled and _event_could_exempt(event, policy):
        return make(category, FaceAction.REVIEW, ReasonCode.EVENT_AMBIGUOUS, event.note)
    if unavailable is not None:
        return unavailable
    if category is FaceCategory.UNCERTAIN:
        return make(category, FaceAction.REVIEW, ReasonCode.MINOR_UNCERTAIN)
    return make(category, FaceAction.BLOCK, ReasonCode.POSSIBLE_MINOR)


def decide_faces(
    assessments: Sequence[FaceAssessment],
    policy: Policy,
    consents: Sequence[ConsentEvidence | None] | None = None,
    event: EventEvidence | None = None,
    overrides: Sequence[ReviewerOverride | None] | None = None,
    known_adults: Sequence[KnownAdultMatch | None] | None = None,
) -> tuple[FaceDecision, ...]:
    n = len(assessments)
    consents = consents or [None] * n
    overrides = overrides or [None] * n
    known_adults = known_adults or [None] * n
    return tuple(
        decide_face(a, policy, c, event, o, k) for a, c, o, k in zip(assessments, consents, overrides, known_adults)
    )


def photo_verdict(decisions: Iterable[FaceDecision]) -> Verdict:
    """BLOCK if any face blocks, REVIEW if any needs a person, else PASS."""
    verdict = Verdict.PASS
    for decision in decisions:
        if decision.action is FaceAction.BLOCK:
            return Verdict.BLOCK
        if decision.action is FaceAction.REVIEW:
            verdict = Verdict.REVIEW
    return verdict
