"""Scan-time matching: a face embedding -> the best enrolled child and the consent that covers it.

:class:`RegisterMatcher` satisfies ``minorguard.pipeline.ConsentMatcher``. It reads
the register once (embeddings decrypted in memory only) and then answers from
memory, so a batch scan costs one database read. The rules:

- best similarity below ``review_threshold``: not an enrolled child (None);
- a runner-up child above ``review_threshold`` within ``margin`` of the best: ambiguous;
- best below ``match_threshold`` or ambiguous: not confident (the decision gives REVIEW);
- otherwise the record is the newest active consent covering the channel, date and event.

Thresholds come from the policy (``[consent]``, measured by benchmarks/consent_matching.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date as Date
from typing import Any

import numpy as np

from consent_db.records import ChildInfo, ConsentInfo
from consent_db.register import Register
from minorguard.locale import t

__all__ = ["RegisterMatcher", "unrecognised_never_publish"]


class RegisterMatcher:
    def __init__(
        self,
        register: Register,
        match_threshold: float,
        review_threshold: float,
        margin: float,
        embedder: str | None = None,
        event_id: str | None = None,
        purpose: str | None = None,
        lang: str = "en",
    ) -> None:
        if not 0 < review_threshold <= match_threshold:
            raise ValueError("consent thresholds: need 0 < review_threshold <= match_threshold")
        self.register = register
        self.match_threshold, self.review_threshold, self.margin = match_threshold, review_threshold, margin
        self.event_id = event_id
        self.purpose = purpose
        self.lang = lang  # of the evidence's notes, which the reasons a communicator reads quote
        vectors, self.children = register.match_view(embedder)
        self._ids = list(vectors)
        self._refs = [vectors[i] for i in self._ids]
        # enrolments made with another embedder cannot be compared: those children stay unrecognised (fail closed)
        self.skipped = sum(c.enrolment_photos for c in self.children.values()) - sum(len(v) for v in self._refs)
        compared = {i: len(v) for i, v in vectors.items()}
        # never-publish children with no enrolment photo, or some that cannot be compared: the event exemption must
        # not let a child through unseen who may be one of them (checks wire it so)
        self.unrecognised_never_publish = unrecognised_never_publish(self.children.values(), compared)

    @classmethod
    def from_policy(
        cls, register: Register, policy, embedder: str | None = None, event_id: str | None = None, purpose: str | None = None,
        lang: str = "en",
    ) -> RegisterMatcher:
        return cls(
            register, policy.consent_match_threshold, policy.consent_review_threshold, policy.consent_margin, embedder,
            event_id, purpose, lang,
        )

    @property
    def enrolled(self) -> int:
        return len(self._ids)

    def _scores(self, embedding: np.ndarray) -> np.ndarray:
        vector = np.asarray(embedding, dtype=np.float32).ravel()
        vector = vector / max(1e-9, float(np.linalg.norm(vector)))
        return np.array([float(np.max(ref @ vector)) if ref.shape[1] == vector.shape[0] else -1.0 for ref in self._refs])

    def covering(self, child: ChildInfo, channel: str | None, when: Date) -> ConsentInfo | None:
        found = [c for c in child.consents if c.covers(channel, when, self.event_id, self.purpose)]
        return max(found, key=lambda c: c.recorded_at) if found else None

    def match(self, embedding: np.ndarray, channel: str | None, when: Date):
        from minorguard.types import ConsentEvidence

        if not self._ids:
            return None
        scores = self._scores(embedding)
        order = np.argsort(scores)[::-1]
        best = float(scores[order[0]])
        if best < self.review_threshold:
            return None
        child = self.children[self._ids[order[0]]]
        runner = None
        if len(order) > 1 and scores[order[1]] >= self.review_threshold and best - scores[order[1]] < self.margin:
            runner = self.children[self._ids[order[1]]]
        ambiguous = runner is not None
        confident = best >= self.match_threshold and not ambiguous
        record = self.covering(child, channel, when)
        if ambiguous:
            note = f"{child.id} {best:.3f} vs {runner.id} {float(scores[order[1]]):.3f}"
        elif not confident:
            note = t("note.consent_below", self.lang, child=child.id, similarity=f"{best:.3f}", threshold=f"{self.match_threshold:.3f}")
        elif record is None:
            where = channel or t("note.unnamed_channel", self.lang)
            limited = [c for c in child.consents if c.purposes and any(c.covers(channel, when, self.event_id, p) for p in c.purposes)]
            if self.purpose is None and limited:  # the consent would cover a purpose of its own: say which to give
                note = t("note.consent_needs_purpose", self.lang, child=child.id, purposes=", ".join(limited[0].purposes))
            elif self.purpose is None:
                note = t("note.consent_none", self.lang, child=child.id, channel=where, date=when.isoformat())
            else:
                note = t("note.consent_none_purpose", self.lang, child=child.id, channel=where, date=when.isoformat(),
                         purpose=repr(self.purpose))
        else:
            note = f"{child.id}: {record.id}"
        return ConsentEvidence(
            child_ref=child.id,
            similarity=best,
            record_id=record.id if record else None,
            confident=confident,
            ambiguous=ambiguous,
            # a possible never-publish child blocks even when the match is not certain
            never_publish=child.never_publish or bool(runner and runner.never_publish),
            note=note,
        )

    def document_sha256(self, record_id: str | None) -> str | None:
        for child in self.children.values():
            for consent in child.consents:
                if consent.id == record_id:
                    return consent.document_sha256
        return None


def unrecognised_never_publish(children: Iterable[Any], compared: dict[str, int] | None = None) -> int:
    """How many never-publish children a scan cannot recognise: no enrolment photo at all (set on the list before
    any photo, or after a withdrawal erased the photos), or enrolments this scan's embedder cannot compare.
    ``compared``: each child's comparable enrolments (none given: none comparable)."""
    compared = compared or {}
    return sum(1 for c in children if c.never_publish and (c.enrolment_photos == 0 or compared.get(c.id, 0) < c.enrolment_photos))
