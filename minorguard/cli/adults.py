"""`minorguard adult add/list/remove`: the register's known adults.

Parsing and rendering only: checks live in :mod:`minorguard.application.known_adults`,
storage (encrypted embeddings, audit log) in ``consent_db``. Bad input is one
line and exit code 64, with nothing written.
"""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from minorguard.cli.common import build_guard, fail, parse_date
from minorguard.cli.events import open_register
from minorguard.cli.lang import Lang, LangOpt, say
from minorguard.locale import t

__all__ = ["adult_app"]

adult_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Known adults (staff, officials): recognised as adults at scan time when the age model is unsure.")
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)



DbOpt = typer.Option(None, "--db", help="Register: file path or database URL (default $MINORGUARD_DB or the user's data folder).")
ByOpt = typer.Option(None, "--by", help="Who adds or removes (default $MINORGUARD_ACTOR or the login name).")
PhotoOpt = typer.Option(..., "--photo", help="Reference photo (repeat for several); one face each.")
PolicyOpt = typer.Option(None, "--policy", help="Policy TOML overriding the defaults.")



def _problem(problem, lang: str) -> str:
    """The enrolment problem in the communicator's language (English text if no key)."""
    from minorguard.application.known_adults import enrol_problem_text

    return enrol_problem_text(problem, lang)


def _register_error() -> type[Exception]:
    from consent_db import RegisterError

    return RegisterError


def _date(value: str | None, option: str) -> Date | None:

    return parse_date(value, option)


@adult_app.command("add")
def add(
    name: str = typer.Argument(..., help="Full name, as the report will show it."),
    photos: list[Path] = PhotoOpt,
    face: int | None = typer.Option(None, "--face", min=1, help="Which face of a photo with several, counted left to right."),
    role: str = typer.Option("", "--role", help="Role, e.g. 'minister', 'teacher at partner school'."),
    expires: str | None = typer.Option(None, "--expires", help="Last day the record may be used, YYYY-MM-DD."),
    confirm_adult: bool = typer.Option(False, "--confirm-adult", help="Enrol although the age model calls the face a possible minor: you vouch that the person is an adult."),
    policy: Path | None = PolicyOpt,
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    db: str | None = DbOpt,
    by: str | None = ByOpt,
    lang: Lang = LangOpt,
) -> None:
    """Enrol an adult from reference photos (only face embeddings are kept, encrypted)."""
    from minorguard.application.known_adults import (
        EnrolProblem,
        check_adult_entry,
        enrol_known_adult,
        known_adult_references,
    )

    until = _date(expires, "--expires")
    for photo in photos:
        if photo.is_dir():  # "path does not exist" said of a folder that does
            fail(f"{photo}: {t('photo_error.not_a_file', lang.value)}")
        if not photo.is_file():
            fail(t("cli.path_missing", lang.value, path=photo))
    guard = build_guard(policy, models)  # the scan's faces and numbers, so --face names the face it showed
    chosen: list = []
    try:
        # the photos first: one refused must write nothing, not even a register that did not exist yet
        check_adult_entry(name, until)
        references = known_adult_references(guard, photos, face, confirm_adult)
    except EnrolProblem as problem:
        fail(_problem(problem, lang.value))
    with open_register(db, by) as reg:
        try:
            info = enrol_known_adult(reg, guard, name, photos, role=role, expires=until, face=face,
                                     confirm_adult=confirm_adult, chosen=chosen, references=references)
        except EnrolProblem as problem:
            fail(_problem(problem, lang.value))
        except _register_error() as error:
            fail(say(error, lang.value))
    err.print(t("adult.added", lang.value, id=info.id, name=info.name, n=info.count))
    for ref in chosen:  # which face of each photo, so the person can see whom they enrolled
        err.print(t("adult.face_used", lang.value, path=ref.path, face=ref.face_number, n=ref.faces_in_photo, box=ref.box),
                  highlight=False, soft_wrap=True)


@adult_app.command("list")
def list_cmd(
    all_: bool = typer.Option(False, "--all", help="Include expired known adults."),
    db: str | None = DbOpt,
    lang: Lang = LangOpt,
) -> None:
    """Known adults, oldest first; expired ones are marked and never used."""
    today = Date.today()
    with open_register(db, lang=lang.value, create=False) as reg:
        adults = reg.list_known_adults(include_expired=all_)
    table = Table(title=t("adult.list_title", lang.value))
    for column in ("id", "name", "role", "expires", "photos", "added"):
        table.add_column(column if column == "id" else t(f"col.{column}", lang.value), overflow="fold")
    for a in adults:
        expired = a.expires is not None and a.expires < today
        until = str(a.expires) if a.expires else "-"
        if expired:
            until += " " + t("adult.expired_mark", lang.value)
        table.add_row(a.id, a.name, a.role, until, str(a.count), f"{a.added_at:%Y-%m-%d} {a.added_by}")
    console.print(table)


@adult_app.command("remove")
def remove(
    adult_id: str = typer.Argument(..., help="Id of the known adult (see `minorguard adult list --all`)."),
    db: str | None = DbOpt,
    by: str | None = ByOpt,
    lang: Lang = LangOpt,
) -> None:
    """Remove a known adult; their face embeddings are erased, the audit log keeps the removal."""
    with open_register(db, by, lang.value, create=False) as reg:
        try:
            reg.remove_known_adult(adult_id)
        except _register_error() as error:  # NotFound: one line, exit 64
            fail(say(error, lang.value))
    err.print(t("adult.removed", lang.value, id=adult_id))


# -- scan integration ------------------------------------------------------------------------------


def groups_json(batch) -> list[dict]:
    """The groups for the JSON report: members by photo and face, never embeddings."""
    if batch is None:
        return []
    return [
        {"group": g.id, "side": g.side, "mixed_ages": g.mixed_ages, "paired_with": g.paired_with,
         "faces": [{"source": s, "face": i + 1, "face_index": i} for s, i in g.members]}
        for g in batch.groups
    ]
