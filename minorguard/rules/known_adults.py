"""Scan-time matching of faces against the register's known adults.

A known adult (a minister, staff, a partner school's teacher) is enrolled once
with reference photos; at scan time a face the age model leaves unsure about
may be recognised as that adult and allowed, with reason ``known_adult``.

Two gates keep a known adult from ever clearing a child (see the policy's
``[known_adults]`` section for the measured values):

* the match must be confident: similarity at least ``match_threshold`` (set for
  a false match rate of at most 1 in 10,000 between different people), and no
  second known adult within ``margin`` of the best;
* the age model must not lean towards minor: P(under 18) below ``max_p_minor``.

An expired known adult is never used; the face is decided as if unknown and
its detail says which record expired, so the report shows why.

This module holds the pure rules (``match_known_adult``, ``known_adult_clears``)
and a small in-memory matcher; loading from the register is
:meth:`KnownAdultMatcher.from_register`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date as Date
from typing import Any

import numpy as np

from minorguard.locale import t
from minorguard.rules.policy import Policy, known_adult_gate
from minorguard.types import AgeEstimate

__all__ = ["KnownAdultMatch", "KnownAdultMatcher", "KnownAdultRef", "known_adult_clears", "match_known_adult"]


@dataclass(frozen=True, slots=True)
class KnownAdultRef:
    """One enrolled adult as the matcher sees it (decrypted, in memory only)."""

    id: str
    name: str
    embeddings: np.ndarray  # N x D, L2-normalised
    role: str = ""
    expires: Date | None = None  # inclusive; None: no expiry

    def expired_on(self, when: Date) -> bool:
        return self.expires is not None and when > self.expires


@dataclass(frozen=True, slots=True)
class KnownAdultMatch:
    """The best known adult for one face, and whether the match may be used."""

    adult_id: str
    name: str
    role: str
    similarity: float
    confident: bool  # above the threshold, unambiguous and not expired
    ambiguous: bool = False
    expired: bool = False
    expires: Date | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """What the report shows: the name, the role, the similarity."""
        role = f", {self.role}" if self.role else ""
        return f"{self.name}{role}; similarity {self.similarity:.3f}"


def _best_per_adult(embedding: np.ndarray, adults: Sequence[KnownAdultRef]) -> list[tuple[float, KnownAdultRef]]:
    vector = np.asarray(embedding, np.float32)
    vector = vector / max(1e-9, float(np.linalg.norm(vector)))
    scored = []
    for adult in adults:
        refs = np.asarray(adult.embeddings, np.float32).reshape(-1, vector.shape[0])
        if len(refs):
            scored.append((float((refs @ vector).max()), adult))
    scored.sort(key=lambda item: -item[0])
    return scored


def match_known_adult(
    embedding: np.ndarray,
    adults: Sequence[KnownAdultRef],
    when: Date,
    threshold: float,
    margin: float,
    lang: str = "en",
) -> KnownAdultMatch | None:
    """The known adult this face matches at ``threshold``, or None when none does.

    The similarity to one person is the best over their reference photos.
    Expired adults are compared too, so that a face that would have matched
    one is reported as such instead of silently looking unknown.
    """
    scored = [(s, a) for s, a in _best_per_adult(embedding, adults) if s >= threshold]
    if not scored:
        return None
    best_sim, best = scored[0]
    if best.expired_on(when):
        return KnownAdultMatch(best.id, best.name, best.role, best_sim, False, expired=True, expires=best.expires,
                               note=t("note.adult_expired", lang, name=best.name, date=best.expires))
    rivals = [a for s, a in scored[1:] if best_sim - s < margin and a.id != best.id]
    if rivals:
        return KnownAdultMatch(best.id, best.name, best.role, best_sim, False, ambiguous=True, expires=best.expires,
                               note=t("note.adult_equal", lang, name=best.name, other=rivals[0].name))
    return KnownAdultMatch(best.id, best.name, best.role, best_sim, True, expires=best.expires)


def known_adult_clears(age: AgeEstimate | None, match: KnownAdultMatch | None, policy: Policy) -> bool:
    """True only for a confident, current match on a face the age model does not call minor.

    No age estimate means the child gate cannot be checked: never cleared.
    """
    return (
        match is not None
        and match.confident
        and not match.expired
        and not match.ambiguous
        and age is not None
        and age.p_under_18 < known_adult_gate(policy)
    )


def wants_known_adult(age: AgeEstimate | None, policy: Policy) -> bool:
    """Whether matching can change the decision: spares the embedding otherwise."""
    return age is not None and age.p_under_18 < known_adult_gate(policy)


class KnownAdultMatcher:
    """The known adults of a register, held in memory for one scan."""

    def __init__(self, adults: Iterable[KnownAdultRef], policy: Policy, embedder: str | None = None, lang: str = "en") -> None:
        self.adults = tuple(adults)
        self.lang = lang  # of the match notes, which the reasons a communicator reads quote
        self.threshold = policy.known_adult_match_threshold
        self.margin = policy.known_adult_margin
        self.embedder = embedder

    def __len__(self) -> int:
        return len(self.adults)

    def expired(self, when: Date) -> list[KnownAdultRef]:
        return [a for a in self.adults if a.expired_on(when)]

    def match(self, embedding: np.ndarray, when: Date) -> KnownAdultMatch | None:
        return match_known_adult(embedding, self.adults, when, self.threshold, self.margin, self.lang)

    @classmethod
    def from_register(cls, register: Any, policy: Policy, embedder: str | None = None, lang: str = "en") -> KnownAdultMatcher:
        """Every known adult of a ``consent_db.Register``, embeddings decrypted into memory.

        Expired adults are loaded too, so that a face matching one is reported
        as "expired" instead of looking unknown; they never clear a face.
        Adults enrolled with another embedder than the scan's are left out:
        their vectors live in another space and would match at random.
        """
        refs = []
        for info, matrix in register.known_adult_embeddings(include_expired=True):
            if embedder and info.embedder and info.embedder != embedder:
                continue
            refs.append(KnownAdultRef(info.id, info.name, np.asarray(matrix, np.float32), info.role, info.expires))
        return cls(refs, policy, embedder, lang)
