"""Errors whose one line exists in every language of the message catalogue.

The raising code names a catalogue key and the values that go into it; the
English line (``str(error)``) and any other language come from the same
catalogue entry, so the two cannot drift apart as hand-written English beside a
translation would.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from minorguard.locale import t

__all__ = ["CodedError", "Problem", "say_problem", "say_reader_error"]

# tomllib's errors end with where it stopped: "Invalid value (at line 2, column 17)", "... (at end of document)"
_WHERE = re.compile(r"\s*\(at (?:line (?P<line>\d+), column (?P<column>\d+)|(?P<end>end of document))\)\s*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong: catalogue key ``<catalogue>.<code>`` and the values its text takes.

    A value may itself be a Problem, or a tuple of them: a phrase of the catalogue
    said in the reader's language inside the line.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


class CodedError(Exception):
    """One or more problems, shown joined by "; " in the reader's language (``text(lang)``)."""

    catalogue: ClassVar[str] = ""

    def __init__(self, code: str, **params: Any) -> None:
        self._init((Problem(code, params),))

    @classmethod
    def of(cls, problems: list[Problem] | tuple[Problem, ...]) -> CodedError:
        """Several problems found at once (a policy file with three bad values says all three)."""
        error = cls.__new__(cls)
        error._init(tuple(problems))
        return error

    def _init(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__(self.text("en"))

    @property
    def code(self) -> str:
        return self.problems[0].code

    def text(self, lang: str) -> str:
        return "; ".join(say_problem(p, self.catalogue, lang) for p in self.problems)

    def phrase(self) -> tuple[Problem, ...]:
        """These problems as a value inside another error's line, said in that line's language (not fixed in
        English when the inner error was raised)."""
        return tuple(Problem(p.code if "." in p.code else f"{self.catalogue}.{p.code}", p.params) for p in self.problems)


def say_problem(problem: Problem, catalogue: str, lang: str) -> str:
    """``problem`` in ``lang``: key ``<catalogue>.<code>`` (a code with a dot is a full key, ``event.exists``).

    A value that is itself a Problem, or a tuple of them, is said in the same language.
    """

    def said(value: Any) -> Any:
        if isinstance(value, Problem):
            return say_problem(value, catalogue, lang)
        if isinstance(value, (tomllib.TOMLDecodeError, UnicodeDecodeError)):
            return say_reader_error(value, lang)
        if isinstance(value, tuple) and value and all(isinstance(v, Problem) for v in value):
            return "; ".join(said(v) for v in value)
        return value

    key = problem.code if "." in problem.code else f"{catalogue}.{problem.code}"
    return t(key, lang, **{name: said(value) for name, value in problem.params.items()})


def say_reader_error(error: ValueError, lang: str) -> str:
    """Where a file's reader stopped, in ``lang`` (line and column; the byte that is not UTF-8), with the reader's
    own words after it; any other error as it reads."""
    if isinstance(error, UnicodeDecodeError):
        return t("file.not_utf8", lang, position=error.start + 1)
    text = str(error)
    where = _WHERE.search(text)
    if where is None:
        return text
    detail = text[: where.start()].strip() or text
    if where["end"]:
        return t("file.at_end", lang, detail=detail)
    return t("file.at_line", lang, line=where["line"], column=where["column"], detail=detail)
