"""Hints for the communicator that never change a verdict (for example, 'looks outdoor')."""

from __future__ import annotations

from typing import Sequence

from .types import EventEvidence, FaceDecision, PhotoMetadata

__all__ = ["photo_hints"]


def photo_hints(meta: PhotoMetadata | None, decisions: Sequence[FaceDecision], event: EventEvidence | None) -> tuple[str, ...]:
    hints: list[str] = []
    if meta is not None:
        hints.extend(f"metadata: {p}" for p in meta.problems)
    return tuple(hints)
