"""One numbering of a photo's faces for every command, report and page.

A person reads a photo left to right, so face 1 is the leftmost face (ties:
the upper one), and the number a communicator sees in a scan's console line
is the number the CSV, the JSON, the HTML report, the review page and
``child enrol --face`` / ``adult add --face`` mean. Before, the console counted
in detection order, the CSV from 0 and enrolment from the left: an enrolment
by the console's number stored the mother's face under the girl's record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from minorguard.types import DetectedFace

__all__ = ["face_number", "reading_order"]

_F = TypeVar("_F", bound=DetectedFace)


def reading_order(faces: Sequence[_F]) -> list[_F]:
    """The faces left to right by their box's left edge, then top to bottom."""
    return sorted(faces, key=lambda f: (round(f.box.x, 3), round(f.box.y, 3)))


def face_number(index: int) -> int:
    """The number people see for the face at ``index`` of a result (1 = leftmost)."""
    return index + 1
