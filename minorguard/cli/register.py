"""`minorguard child / guardian / consent / register / audit`: the consent register from the command line.

Parsing and rendering only: validation, storage, encryption and the audit log
belong to ``consent_db``. Bad input is one line and exit code 64, nothing written.
The scan helpers at the end plug the register's matcher into ``minorguard scan``.
"""

from __future__ import annotations

import csv
import io
import stat
import sys
from dataclasses import asdict
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minorguard.cli.common import EXIT_BLOCK, build_guard, fail
from minorguard.cli.events import open_register
from minorguard.cli.lang import Lang, LangOpt, say
from minorguard.locale import t
from minorguard.locale.os_reasons import say_os_error
from minorguard.photos.file_names import json_text
from minorguard.report.files import EXCEL_UTF8

__all__ = ["IMPORT_COLUMNS", "register_commands"]

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

child_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Children in the consent register: add, list, show, enrol photos, erase photos, never-publish, erase a record.")
guardian_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Parents and guardians of enrolled children.")
consent_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Signed consent forms: add, withdraw, list.")
register_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The whole register: export (no biometric data), import from CSV, rotate its key.")
audit_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The register's hash-chained audit log.")

DB_HELP = "Register: file path or database URL (default $MINORGUARD_DB or the user's data folder)."
BY_HELP = "Who is acting (written to the audit log; default $MINORGUARD_ACTOR or the login name)."

# Columns of `minorguard register import` (README, "Consent register"); one row per signed form.
IMPORT_COLUMNS = (
    "child_ref", "child_name", "date_of_birth", "guardian_name", "guardian_relation", "guardian_contact",
    "document", "date_signed", "channels", "purposes", "events", "valid_from", "valid_until", "never_publish_reason",
)
EXPORT_COLUMNS = (
    "child_ref", "child_name", "date_of_birth", "never_publish", "never_publish_reason", "enrolment_photos", "erased_on",
    "consent_id", "guardian_id", "document_sha256", "document_type", "date_signed", "recorded_by", "channels", "purposes",
    "events", "valid_from", "valid_until", "status", "withdrawn_on", "withdrawn_reason",
)



class Format(str, Enum):
    json = "json"
    csv = "csv"


# typer parameters that are lists, paths or enums (module-level: ruff B008)
PhotosArg = typer.Argument(..., help="Reference photos of the child (one face each, or use --face).")
DocumentOpt = typer.Option(None, "--document", help="The signed form: PDF or image scan (stored encrypted).")
ChannelOpt = typer.Option([], "--channel", help="facebook, instagram, x, youtube, tiktok, website, print or all; repeat or comma-separate.")
PurposeOpt = typer.Option([], "--purpose", help="What the photos may be used for (free text; repeatable).")
EventsOpt = typer.Option([], "--event", help="Limit the consent to these event ids (repeatable).")
FormatOpt = typer.Option(Format.json, "--format", help="json (nested) or csv (one row per consent).")
OutputOpt = typer.Option(None, "--output", "-o", help="File to write (default: standard output).")
CsvArg = typer.Argument(..., help="CSV file, one row per signed form (columns in the README).")



class OpenRegister:
    """``with OpenRegister(db, by, lang) as reg:`` — the register, with every RegisterError as a usage error.

    ``create=False`` for a command that only reads the register or changes records already in it: a register that
    does not exist is one line (exit 64) and nothing is made (``events.open_register``). Only the commands that add
    to a register (child add, register import, key create, event add, adult add) make one."""

    def __init__(self, db: str | None, by: str | None = None, lang: Lang = Lang.sq, *, create: bool = True) -> None:
        self.db, self.by, self.lang, self.create, self.reg = db, by, lang.value, create, None

    def __enter__(self):
        self.reg = open_register(self.db, self.by, self.lang, create=self.create)
        return self.reg

    def __exit__(self, kind, error, _tb) -> bool:
        from consent_db import RegisterError

        if self.reg is not None:
            self.reg.close()
        if isinstance(error, RegisterError):
            fail(say(error, self.lang))
        return False


def _column(table: Table, name: str, lang: str = "en") -> None:
    """Ids are what people copy into the next command: never cut or folded; the rest folds."""
    label = name if name == "id" else t("col." + name.replace(" ", "_"), lang)
    if name in ("id", "child", "active consents"):
        table.add_column(label, no_wrap=True, min_width=11)
    else:
        table.add_column(label, overflow="fold")


def _date(value: str | None, what: str, lang: Lang = Lang.en) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(t("register.bad_date", lang.value, what=what, value=value))
    return None


# -- child ------------------------------------------------------------------
@child_app.command("add")
def child_add(
    name: str = typer.Argument(..., help="The child's full name."),
    dob: str | None = typer.Option(None, "--dob", help="Date of birth YYYY-MM-DD."),
    another_child: bool = typer.Option(False, "--another-child", help="Add it although a child of the same name and date of birth is in the register: you say it is a different child."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Add a child; prints the child's id (the pseudonymous reference used in reports). A child of the same name
    (case, spaces and accents typed either way) and date of birth is refused, naming the one there."""
    from consent_db import Register, RegisterError

    birth = _date(dob, "--dob", lang)
    try:
        Register.check_child(name, birth)  # before the register is opened: a refused child must not leave a new one
    except RegisterError as error:
        fail(say(error, lang.value))
    with OpenRegister(db, by, lang) as reg:
        child = reg.add_child(name, birth, another_child=another_child)
    console.print(child.id)


@child_app.command("list")
def child_list(
    name: str | None = typer.Option(None, "--name", help="Only children of this name (case, spaces and accents typed either way)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Every child with consent status and enrolment count."""
    with OpenRegister(db, lang=lang, create=False) as reg:
        children = reg.find_children(name) if name else reg.list_children()
    today = date.today()
    table = Table(title=t("register.children_title", lang.value))
    for column in ("id", "name", "born", "photos", "active consents", "never publish"):
        _column(table, column, lang.value)
    yes = t("register.never_yes", lang.value)
    for c in children:
        active = [x for x in c.consents if x.status == "active" and (x.valid_until is None or x.valid_until >= today)]
        name = t("register.erased_name", lang.value, on=f"{c.erased_at:%Y-%m-%d}") if c.erased_at else escape(c.name)
        table.add_row(c.id, name, str(c.dob or ""), str(c.enrolment_photos), ", ".join(x.id for x in active) or "-", yes if c.never_publish else "")
    console.print(table)


@child_app.command("show")
def child_show(child_id: str = typer.Argument(...), db: str | None = typer.Option(None, "--db", help=DB_HELP), lang: Lang = LangOpt) -> None:
    """One child: guardians, consents (scope, validity, status) and enrolment count; never biometric data."""
    with OpenRegister(db, lang=lang, create=False) as reg:
        c = reg.get_child(child_id)
    lg = lang.value
    if c.erased_at:
        console.print(f"[bold]{c.id}[/]  " + t("register.erased_name", lg, on=f"{c.erased_at:%Y-%m-%d}"))
    else:
        console.print(f"[bold]{c.id}[/]  {escape(c.name)}  " + t("register.show_child", lg, born=c.dob or "?", n=c.enrolment_photos))
    if c.biometrics_erased_at:
        console.print(t("register.show_erased", lg, when=f"{c.biometrics_erased_at:%Y-%m-%d %H:%M}"))
    if c.never_publish:
        console.print(f"[red]{t('register.show_never', lg)}[/]: {escape(c.never_publish_reason or '')}")
    for g in c.guardians:
        if c.erased_at:  # the guardians' names, relations and contacts went with the record: only their ids stay
            console.print(t("register.show_guardian_erased", lg, id=g.id))
            continue
        console.print(escape(t("register.show_guardian", lg, id=g.id, name=g.name, relation=g.relation, contact=g.contact)))
    for x in c.consents:
        if x.status == "active":
            status = t("register.status_active", lg)
        elif x.withdrawn_reason:
            status = t("register.show_withdrawn", lg, on=x.withdrawn_on, reason=x.withdrawn_reason)
        else:  # erased with the child's record
            status = t("register.status_withdrawn", lg, on=x.withdrawn_on)
        console.print(escape(
            t("register.show_consent", lg, id=x.id, channels=", ".join(x.channels), start=x.valid_from,
              until=x.valid_until or t("register.show_open", lg), signed=x.date_signed, status=status,
              type=x.document_type, sha=x.document_sha256[:16])
            + (t("register.show_events", lg, ids=", ".join(x.event_ids)) if x.event_ids else "")
            + (t("register.show_purposes", lg, purposes=", ".join(x.purposes)) if x.purposes else "")
        ))


@child_app.command("enrol")
def child_enrol(
    child_id: str = typer.Argument(...),
    photos: list[Path] = PhotosArg,
    face: int | None = typer.Option(None, "--face", min=1, help="Which face to take when a photo shows several: the number a scan shows (1 = leftmost)."),
    confirm_child: bool = typer.Option(False, "--confirm-child", help="Enrol although the age estimate calls the face an adult: you vouch that it is the child."),
    policy: Path | None = typer.Option(None, "--policy", help="The policy the scan used: --face counts the faces it finds."),
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Turn reference photos into face embeddings (stored encrypted). Stops at the first refused photo."""
    from minorguard.application.enrolment import enrol_photo

    with OpenRegister(db, by, lang, create=False) as reg:
        reg.get_child(child_id)
        guard = build_guard(policy, models)  # the scan's faces and numbers, so --face names the face it showed
        for path in photos:
            done = enrol_photo(reg, child_id, path, face, guard=guard, confirm_child=confirm_child)
            console.print(t("register.enrolled", lang.value, path=path, face=done.face, n=done.faces_found,
                            px=f"{done.face_height_px:.0f}", box=done.box, id=done.enrolment_id))


@child_app.command("redescribe")
def child_redescribe(
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Describe enrolments made with another model pack again, from their stored photos, so that scans recognise those children."""
    from minorguard.application.enrolment import redescribe_enrolments

    with OpenRegister(db, by, lang, create=False) as reg:
        guard = build_guard(None, models)
        done = redescribe_enrolments(reg, guard)
    for item in done:
        if not item.done:
            err.print(t("register.redescribe_failed", lang.value, id=item.enrolment_id, child=item.child_id, why=item.why))
    console.print(t("register.redescribed", lang.value, n=sum(d.done for d in done), embedder=guard.pack.consent_embedder.name))
    if not all(d.done for d in done):
        raise typer.Exit(EXIT_BLOCK)


@child_app.command("never-publish")
def child_never_publish(
    child_id: str = typer.Argument(...),
    reason: str = typer.Option("", "--reason", help="Why (for example a custody or safeguarding case)."),
    off: bool = typer.Option(False, "--off", help="Clear the flag."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Mark a child never to be published, whatever consent exists (or --off to clear: with no consent in force, the
    child's enrolment photos and face embeddings are then erased, as a withdrawal erases them)."""
    with OpenRegister(db, by, lang, create=False) as reg:
        before = reg.get_child(child_id).enrolment_photos
        child = reg.set_never_publish(child_id, not off, reason)
    console.print(t("register.never_publish_on" if child.never_publish else "register.never_publish_off", lang.value, id=child.id))
    if off and before > child.enrolment_photos:
        console.print(t("register.never_publish_off_erased", lang.value, id=child.id, n=before - child.enrolment_photos))
    if child.never_publish and not child.enrolment_photos:
        # she cannot be recognised: outside events her face blocks anyway, at a public or outdoor event a person decides
        err.print(f"[yellow]{t('cli.warning', lang.value)}:[/] {t('register.never_publish_no_photo', lang.value, id=child.id)}", soft_wrap=True)


@child_app.command("erase-photos")
def child_erase_photos(
    child_id: str = typer.Argument(...),
    reason: str = typer.Option("", "--reason", help="Why (written to the audit log)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Erase a child's enrolment photos and face embeddings now (audited; no copy is left in the register's files).
    Refused for a child on the never-publish list: the photos are what recognises the child."""
    with OpenRegister(db, by, lang, create=False) as reg:
        erased = reg.erase_biometrics(child_id, reason.strip() or "erased on request (child erase-photos)")
    if erased:
        console.print(t("register.photos_erased", lang.value, id=child_id, n=erased))
    else:
        console.print(t("register.photos_none", lang.value, id=child_id))



@child_app.command("erase")
def child_erase(
    child_id: str = typer.Argument(...),
    reason: str = typer.Option("", "--reason", help="Why (for example the parent's request and its date; sealed in the audit log)."),
    yes: bool = typer.Option(False, "--yes", help="Erase for good (there is no undo)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Erase a child's record on request: name, date of birth, guardians, signed forms, enrolment photos and face
    embeddings; consents in force are withdrawn first. The id and the consents' dates and form digests stay for the
    audit log. Refused for a child on the never-publish list."""
    if not reason.strip():
        fail(t("register.empty_erase_reason", lang.value))
    if not yes:
        fail(t("register.erase_needs_yes", lang.value, id=child_id))
    with OpenRegister(db, by, lang, create=False) as reg:
        before = reg.get_child(child_id)
        child = reg.erase_child(child_id, reason)
    withdrawn = sum(1 for x in before.consents if x.status != "withdrawn")
    console.print(t("register.child_record_erased", lang.value, id=child.id, guardians=len(child.guardians), forms=len(child.consents),
                    photos=before.enrolment_photos, withdrawn=withdrawn), soft_wrap=True)

# -- guardian ---------------------------------------------------------------
@guardian_app.command("add")
def guardian_add(
    child_id: str = typer.Argument(...),
    name: str = typer.Argument(..., help="The guardian's full name."),
    relation: str = typer.Option("", "--relation", help="mother, father, legal guardian, ..."),
    contact: str = typer.Option("", "--contact", help="Phone or e-mail."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Add a parent or guardian of a child; prints the guardian's id."""
    with OpenRegister(db, by, lang, create=False) as reg:
        guardian = reg.add_guardian(child_id, name, relation, contact)
    console.print(guardian.id)


# -- consent ----------------------------------------------------------------
@consent_app.command("add")
def consent_add(
    child_id: str = typer.Argument(...),
    document: Path | None = DocumentOpt,
    signed: str | None = typer.Option(None, "--signed", help="Date the form was signed, YYYY-MM-DD (default today)."),
    channel: list[str] = ChannelOpt,
    purpose: list[str] = PurposeOpt,
    event: list[str] = EventsOpt,
    valid_from: str | None = typer.Option(None, "--from", help="First day of validity (default the signing date)."),
    valid_until: str | None = typer.Option(None, "--until", help="Last day of validity (default open-ended)."),
    guardian: str | None = typer.Option(None, "--guardian", help="Guardian id who signed."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Record a signed consent form; prints the record id that scan decisions will cite."""
    if document is None:
        fail(t("register.no_document", lang.value))
    when_signed = _date(signed, "--signed", lang) or date.today()
    start, end = _date(valid_from, "--from", lang), _date(valid_until, "--until", lang)
    with OpenRegister(db, by, lang, create=False) as reg:
        record = reg.add_consent(child_id, document, when_signed, channel, purpose, event, start, end, guardian)
    console.print(record.id)


@consent_app.command("withdraw")
def consent_withdraw(
    record_id: str = typer.Argument(...),
    reason: str = typer.Option("", "--reason", help="Why (required; for example: parent asked by phone)."),
    on: str | None = typer.Option(None, "--date", help="Date of withdrawal (default today)."),
    report: list[Path] = typer.Option([], "--report", help="A `scan --json` report that names the photos (repeatable)."),
    manifest: list[Path] = typer.Option([], "--manifest", help="An export manifest that names the photos and copies (repeatable)."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write the list as CSV."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the list as JSON."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Withdraw a consent and list the photos checked or exported under it (to take down what was published).
    Photos of the child block from now on; its biometric data is erased unless another consent is still in
    force or the child is on the never-publish list."""
    from consent_db import RegisterError
    from consent_db.reliance import names_from, relying_on
    from minorguard.cli.relied import print_relied

    when = _date(on, "--date", lang)
    try:
        names = names_from(report, manifest)  # a file that cannot be read: said before anything is withdrawn
    except RegisterError as error:
        fail(say(error, lang.value))
    with OpenRegister(db, by, lang, create=False) as reg:
        record = reg.withdraw_consent(record_id, reason, when)
        child = reg.get_child(record.child_id)
        relied = relying_on(reg, consent=record_id)
    console.print(t("register.withdrawn", lang.value, id=record.id, on=record.withdrawn_on, kept=child.enrolment_photos))
    console.print(t("relied.withdrawn_list", lang.value))
    print_relied(relied, names, lang.value, csv_out, json_out, record.id)


@consent_app.command("list")
def consent_list(
    child_id: str | None = typer.Option(None, "--child", help="Only this child's records."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Every consent record with its scope, validity and status."""
    with OpenRegister(db, lang=lang, create=False) as reg:
        records = reg.list_consents(child_id)
    table = Table(title=t("register.consents_title", lang.value))
    for column in ("id", "child", "channels", "from", "until", "signed", "status", "document sha256"):
        _column(table, column, lang.value)
    for x in records:
        if x.status == "active":
            status = t("register.status_active", lang.value)
        else:
            status = t("register.status_withdrawn", lang.value, on=x.withdrawn_on)
        table.add_row(x.id, x.child_id, ",".join(x.channels), str(x.valid_from), str(x.valid_until or "-"), str(x.date_signed), status, x.document_sha256[:16])
    console.print(table)


# -- register export / import -------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def export_rows(children) -> list[dict[str, Any]]:
    rows = []
    for c in children:
        base = {"child_ref": c.id, "child_name": c.name, "date_of_birth": c.dob or "", "never_publish": "yes" if c.never_publish else "no",
                "never_publish_reason": c.never_publish_reason or "", "enrolment_photos": c.enrolment_photos,
                "erased_on": f"{c.erased_at:%Y-%m-%d}" if c.erased_at else ""}
        if not c.consents:
            rows.append(base)
        for x in c.consents:
            rows.append({**base, "consent_id": x.id, "guardian_id": x.guardian_id or "", "document_sha256": x.document_sha256,
                         "document_type": x.document_type, "date_signed": x.date_signed, "recorded_by": x.recorded_by,
                         "channels": ";".join(x.channels), "purposes": ";".join(x.purposes), "events": ";".join(x.event_ids),
                         "valid_from": x.valid_from, "valid_until": x.valid_until or "", "status": x.status,
                         "withdrawn_on": x.withdrawn_on or "", "withdrawn_reason": x.withdrawn_reason or ""})
    return rows


@register_app.command("export")
def register_export(
    fmt: Format = FormatOpt,
    output: Path | None = OutputOpt,
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Export children, guardians and consents: no photos, embeddings or documents (their sha256 only)."""
    from minorguard.cli.common import refuse_unsafe_outputs
    from minorguard.report.files import atomic_write_text

    # before the register is read: an export that cannot be written must not be audited as made
    refuse_unsafe_outputs([output], [], lang.value)
    with OpenRegister(db, by, lang, create=False) as reg:
        data = reg.export()
    if fmt is Format.json:
        payload = {**data, "children": [asdict(c) for c in data["children"]]}
        text = json_text(_jsonable(payload), indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in export_rows(data["children"]):
            writer.writerow({k: _jsonable(v) for k, v in row.items()})
        text = buffer.getvalue()
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(output, (EXCEL_UTF8 + text) if fmt is Format.csv else text)
        err.print(t("cli.written", lang.value, path=output))


def read_import_csv(path: Path, reg=None, lang: Lang = Lang.en) -> list[dict[str, Any]]:
    """Parse and check every row before anything is written, and before a register is opened (``reg`` is not
    needed: a refused file must not leave a new register behind); the first bad row is the error."""
    from consent_db.register import MAX_DOCUMENT_BYTES, Register

    try:
        if not stat.S_ISREG(path.stat().st_mode):  # /dev/zero would fill memory; a pipe would wait forever
            fail(t("register.document_not_regular", lang.value, path=path))
        with open(path, "rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        fail(t("register.csv_unreadable", lang.value, path=path, error=say_os_error(error, lang.value)))
    if len(raw) > MAX_DOCUMENT_BYTES:
        fail(t("register.document_too_large", lang.value, path=path, limit=MAX_DOCUMENT_BYTES >> 20))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(t("register.csv_not_utf8", lang.value, path=path))
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") and "channels" in sample.split("\n", 1)[0] and ";" in sample.split("\n", 1)[0] else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = {"document", "date_signed", "channels"} - set(header)
    if missing or not ({"child_ref", "child_name"} & set(header)):
        if not ({"child_ref", "child_name"} & set(header)):
            missing = missing | {"child_name"}
        fail(t("register.csv_missing_columns", lang.value, path=path, columns=", ".join(sorted(missing)), expected=", ".join(IMPORT_COLUMNS)))
    unknown = set(header) - set(IMPORT_COLUMNS)
    if unknown:
        fail(t("register.csv_unknown_columns", lang.value, path=path, columns=", ".join(sorted(unknown)), expected=", ".join(IMPORT_COLUMNS)))
    from consent_db import RegisterError

    rows = []
    columns = len(reader.fieldnames or [])
    for number, record in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in record.items() if k}
        extra = [v for v in record.get(None) or [] if v is not None]  # values past the header's last column
        if not any(row.values()) and not any(v.strip() for v in extra):
            continue
        where = t("register.csv_line", lang.value, name=path.name, n=number)
        # a row of another length than the header: its values would be read in the wrong columns (an unquoted
        # "facebook;website" pushed the purposes into the events, the last column off the row, and imported)
        short = sum(1 for k, v in record.items() if k is not None and v is None)
        if extra or short:
            given = columns + len(extra) - short
            fail(t("register.csv_too_many_values" if extra else "register.csv_too_few_values", lang.value,
                   where=where, n=given, columns=columns, sep=delimiter))
        if not row.get("child_ref") and not row.get("child_name"):
            fail(t("register.csv_no_child", lang.value, where=where))
        doc = row.get("document", "")
        if not doc:
            fail(t("register.csv_no_document", lang.value, where=where))
        doc_path = (path.parent / doc) if not Path(doc).is_absolute() else Path(doc)
        split = lambda s: [p for p in s.replace(",", ";").split(";") if p.strip()]
        try:
            checked = Register.check_consent(
                doc_path, _date(row.get("date_signed"), f"{where}: date_signed", lang), split(row.get("channels", "")),
                split(row.get("purposes", "")), split(row.get("events", "")),
                _date(row.get("valid_from"), f"{where}: valid_from", lang), _date(row.get("valid_until"), f"{where}: valid_until", lang),
            )
        except RegisterError as error:
            fail(f"{where}: {say(error, lang.value)}")
        guardian = None
        if row.get("guardian_name"):
            guardian = {"name": row["guardian_name"], "relation": row.get("guardian_relation", ""), "contact": row.get("guardian_contact", "")}
        rows.append({"line": number, "child_ref": row.get("child_ref") or None, "child_name": row.get("child_name", ""),
                     "dob": _date(row.get("date_of_birth"), f"{where}: date_of_birth", lang), "guardian": guardian,
                     "never_publish_reason": row.get("never_publish_reason") or None, "consent": checked})
    if not rows:
        fail(t("register.csv_empty", lang.value, path=path))
    return rows


@register_app.command("import")
def register_import(
    path: Path = CsvArg,
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Import consent records from an office's CSV: all rows or none."""
    rows = read_import_csv(path, lang=lang)  # every row checked first: a refused file opens (and makes) no register
    with OpenRegister(db, by, lang) as reg:
        added = reg.import_rows(rows, source=path.name)
    console.print(t("register.imported", lang.value, n=len(added), children=len({a.child_id for a in added})))



@register_app.command("rotate-key")
def register_rotate_key(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Encrypt the whole register under a new key and replace the key file (when the key may have been copied); the
    old key is kept in a separate file for earlier backups (audited)."""
    with OpenRegister(db, by, lang, create=False) as reg:
        done = reg.rotate_key()
        label = reg.label
    console.print(t("register.key_rotated", lang.value, register=label, path=done.key_file, values=done.values), soft_wrap=True)
    if done.retired_key_file is not None:
        err.print(f"[yellow]{t('cli.warning', lang.value)}:[/] {escape(t('register.key_rotated_retired', lang.value, path=done.retired_key_file))}", soft_wrap=True)
    err.print(escape(t("register.key_rotated_restart", lang.value)), soft_wrap=True)

# -- audit ------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(db: str | None = typer.Option(None, "--db", help=DB_HELP), lang: Lang = LangOpt) -> None:
    """Check the hash chain: exit 0 if intact, 1 if an entry was changed or removed."""
    with OpenRegister(db, lang=lang, create=False) as reg:
        report = reg.audit_verify()
    if report.ok:
        console.print(t("register.audit_ok", lang.value, n=report.entries, head=report.head[:16]))
        return
    for problem in report.lines(lang.value):
        err.print(f"[red]{t('register.audit_label', lang.value)}:[/] {escape(problem)}")
    raise typer.Exit(1)


@audit_app.command("relied")
def audit_relied(
    consent: str | None = typer.Option(None, "--consent", help="A consent record's id (cr-...)."),
    event: str | None = typer.Option(None, "--event", help="An event's id."),
    review: int | None = typer.Option(None, "--review", help="A reviewer's decision number."),
    report: list[Path] = typer.Option([], "--report", help="A `scan --json` report that names the photos (repeatable)."),
    manifest: list[Path] = typer.Option([], "--manifest", help="An export manifest that names the photos and copies (repeatable)."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write the list as CSV."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the list as JSON."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    lang: Lang = LangOpt,
) -> None:
    """Every photo checked, exported or reviewed while relying on one consent, event or reviewer's decision."""
    from consent_db.reliance import names_from, relying_on
    from minorguard.cli.relied import print_relied

    lang_s = lang.value
    if sum(x is not None for x in (consent, event, review)) != 1:
        fail(t("relied.name_one", lang_s))
    from consent_db import RegisterError

    with OpenRegister(db, lang=lang, create=False) as reg:
        relied = relying_on(reg, consent=consent, event=event, review=review)
    try:
        names = names_from(report, manifest)
    except RegisterError as error:
        fail(say(error, lang_s))
    what = consent or event or f"#{review}"
    print_relied(relied, names, lang_s, csv_out, json_out, what)


def register_commands(app: typer.Typer) -> None:
    app.add_typer(child_app, name="child")
    app.add_typer(guardian_app, name="guardian")
    app.add_typer(consent_app, name="consent")
    app.add_typer(register_app, name="register")
    app.add_typer(audit_app, name="audit")
