"""Command line: parse, call the library, render. No policy lives here."""

from __future__ import annotations

import sys
from datetime import date as Date
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minorguard.cli_help import localise_help
from minorguard.cli_lang import Lang, LangOpt, accept_lang, current_lang, lang_in_argv, say
from minorguard.locale import t
from minorguard.photos.file_names import show_on

app = typer.Typer(add_completion=False, no_args_is_help=True, help="minorguard: keep identifiable minors out of published photos (rule 5).")
console = Console(stderr=False, highlight=False)
err = Console(stderr=True, highlight=False)

EXIT_PASS, EXIT_REVIEW, EXIT_BLOCK, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 64, 70



class UsageProblem(Exception):
    """A user error: one line, exit code 64."""


def _fail(message: str) -> None:
    raise UsageProblem(message)


def _guard(policy: Path | None, models: str | None, **collaborators):
    from minorguard.models.base import ModelError
    from minorguard.pipeline import Guard
    from minorguard.rules.policy import PolicyError

    try:
        return Guard(policy=policy, pack=models, **collaborators)
    except (PolicyError, ModelError) as error:
        _fail(say(error, current_lang()))


def parse_date(when: str | None, option: str = "--date", lang: str | None = None) -> Date | None:
    """A YYYY-MM-DD option value, or a usage error (in ``lang``, default the command's --lang)."""
    if not when:
        return None
    try:
        return Date.fromisoformat(when)
    except ValueError:
        _fail(t("register.bad_date", lang or current_lang(), what=option, value=when))
    return None


def checking_guard(
    policy, models, db, event, channel, publish_date, lang: str, photos: int = 1, group: bool = False, purpose: str | None = None,
    tool: str = "minorguard scan",
):
    """The application layer's checks (``application.Checks``) for `scan` and `export`, or a usage error (exit 64).

    Events, consent matching, reviewers' decisions and known adults all come
    from the same register, wired the same way for every entry point, so a photo
    gets the same decision whichever command or tool checks it.
    """
    from minorguard.application.checks import open_checks
    from minorguard.locale.coded_error import CodedError
    from minorguard.pipeline import CheckContext

    context = CheckContext(channel=channel, when=publish_date, event_id=event, purpose=purpose)
    try:
        checks = open_checks(policy, models, db, context, tool=tool, lang=lang, photos=photos, group=group)
    except CodedError as error:  # policy, models, register, events: one line in the reader's language
        _fail(say(error, lang))
    except ValueError as error:  # a register record the matcher cannot read
        _fail(str(error))
    for notice in checks.notices:
        err.print(f"[yellow]{t('cli.warning', lang)}:[/] {escape(notice)}", soft_wrap=True)
    return checks


def finish_checks(checks, results, lang: str):
    """Audit the batch and group it (application layer), then say what the grouping found; (results, groups)."""
    from consent_db import RegisterError

    try:
        results, batch = checks.finish(results)
    except RegisterError as error:  # fail closed: decisions that cannot be audited are not to be relied on
        checks.close()
        _fail(t("register.audit_unwritten", lang, error=say(error, lang)))
    if batch is not None:
        to_decide = [g for g in batch.groups if any(
            f.group == g.id and f.action.value != "allow" for r in batch.results for f in r.faces)]
        faces = sum(1 for r in batch.results for f in r.faces if f.group is not None and f.action.value != "allow")
        if faces:
            err.print(t("group.summary", lang, faces=faces, groups=len(to_decide)))
        for g in batch.groups:
            if g.mixed_ages and g.side == "adult":
                err.print(t("group.mixed", lang, id=g.id, other=g.paired_with))
        if batch.note:
            err.print(batch.note)
    return results, batch


def _exit_code(verdicts) -> int:
    from minorguard.types import Verdict

    worst = max((v.severity for v in verdicts), default=0)
    if worst >= Verdict.BLOCK.severity:
        return EXIT_BLOCK
    return EXIT_REVIEW if worst == Verdict.REVIEW.severity else EXIT_PASS


@app.command()
def scan(
    paths: list[Path] = typer.Argument(..., help="Photos or folders to check."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into sub-folders."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the full results as JSON."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write one row per face as CSV."),
    html_out: Path | None = typer.Option(None, "--html", help="Write one self-contained HTML report with previews."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML overriding the defaults."),
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    workers: int = typer.Option(0, "--workers", min=0, help="Photos checked at once (0: all cores)."),
    lang: Lang = LangOpt,
    channel: str | None = typer.Option(None, "--channel", help="Where it will be published (facebook, instagram, ...); faces are judged at that channel's size."),
    when: str | None = typer.Option(None, "--date", help="Publication date YYYY-MM-DD (default today)."),
    event: str | None = typer.Option(None, "--event", help="Event id the photos belong to."),
    purpose: str | None = typer.Option(
        None, "--purpose", help="What the photos are published for; consents limited to purposes must list it.",
    ),
    db: str | None = typer.Option(None, "--db", help="Register (consent, events): file path or database URL."),
    group: bool | None = typer.Option(
        None, "--group/--no-group",
        help="Group the faces to decide by person (default: when --json or --html is written).",
    ),
) -> None:
    """Check photos for identifiable minors. Exit code: 0 all PASS, 1 REVIEW, 2 BLOCK or ERROR, 64 usage error."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from minorguard.photos.discover import MissingPath, discover_photos
    from minorguard.report.files import write_csv, write_json

    lang_s = lang.value
    publish_date = parse_date(when)
    left_out: list[Path] = []
    try:
        sources = list(discover_photos(paths, recursive, left_out))
    except MissingPath as missing:
        _fail(t("cli.path_missing", lang_s, path=missing.path))
    if not sources:
        _fail(t("cli.no_photos", lang_s))
    from minorguard.cli_adults import groups_json

    # Grouping needs a face embedding per face to decide (~75 ms each on a laptop
    # CPU, a third of a folder scan's time); it serves the reports a reviewer
    # works from, so by default it runs only when one is written.
    if group is None:
        group = json_out is not None or html_out is not None
    checks = checking_guard(policy, models, db, event, channel, publish_date, lang_s, len(sources), group, purpose)
    guard = checks.guard
    results = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True) as progress:
        task = progress.add_task("scan", total=len(sources))
        for result in checks.check_many(sources, workers=workers or None):
            results.append(result)
            progress.advance(task)
            if result.verdict.value != "PASS":
                _print_photo(result, lang_s)
    results, batch = finish_checks(checks, results, lang_s)
    checks.close()
    _print_summary(results, lang_s)
    if left_out:  # photos there were never seen: say so, never leave them out without a word
        err.print(f"[yellow]{t('cli.warning', lang_s)}:[/] {escape(t('cli.folders_not_searched', lang_s, n=len(left_out)))}", soft_wrap=True)
    if json_out:
        write_json(results, json_out, {"policy": guard.policy.to_dict(), "policy_version": guard.policy.version, "model_pack": guard.pack_label, "groups": groups_json(batch)})
        err.print(t("cli.written", lang_s, path=json_out))
    if csv_out:
        write_csv(results, csv_out, lang_s)
        err.print(t("cli.written", lang_s, path=csv_out))
    if html_out:
        from minorguard.report.html import write_html

        write_html(
            results, html_out, lang_s, info={"policy": guard.policy.version, "models": guard.pack_label},
            groups=batch.groups if batch is not None else None, policy=guard.policy,
        )
        err.print(t("cli.written", lang_s, path=html_out))
    raise typer.Exit(_exit_code(r.verdict for r in results))


_COLOURS = {"PASS": "green", "REVIEW": "yellow", "BLOCK": "red", "ERROR": "magenta"}


def _print_photo(result, lang: str) -> None:
    from minorguard.report.files import explain_face

    label = t(f"verdict.{result.verdict.value}", lang)
    colour = _COLOURS[result.verdict.value]
    if result.error:
        from minorguard.report.files import explain_error

        console.print(f"[{colour}]{label:10}[/] {escape(explain_error(result, lang))}", soft_wrap=True)
        return
    reasons = [f"{t('face', lang, n=d.index + 1)}: {explain_face(d, lang)}" for d in result.faces if d.action.value != "allow"]
    where = f" ({t('cli.frame', lang, k=result.frame + 1, n=result.frames)})" if result.frames > 1 and result.frame is not None else ""
    console.print(f"[{colour}]{label:10}[/] {escape(result.source)}{where} — " + escape("; ".join(reasons)), soft_wrap=True)

    from minorguard.cli_events import hint_text

    for hint in result.hints:  # hints never change a verdict: a possible event, a metadata problem
        console.print(f"{'':10} [dim]{escape(hint_text(hint, lang))}[/]", soft_wrap=True)


def _print_summary(results, lang: str) -> None:
    from collections import Counter

    counts = Counter(r.verdict.value for r in results)
    table = Table(title=t("summary.title", lang))
    for verdict in ("PASS", "REVIEW", "BLOCK", "ERROR"):
        table.add_column(t(f"verdict.{verdict}", lang), justify="right", style=_COLOURS[verdict])
    table.add_row(*(str(counts.get(v, 0)) for v in ("PASS", "REVIEW", "BLOCK", "ERROR")))
    console.print(table)


@app.command("models")
def models_cmd(
    models: str | None = typer.Option(None, "--models", help="'default' or a folder of insightface ONNX models."),
    lang: Lang = LangOpt,
) -> None:
    """List the model pack in use: every file, its sha256 and licence."""
    from minorguard.models.base import ModelError
    from minorguard.models.pack import load_pack

    try:
        pack = load_pack(models)
        files = pack.files()
    except ModelError as error:
        _fail(say(error, lang.value))
    table = Table(title=f"{t('cli.models_title', lang.value)}: {pack.label}")
    for column in ("role", "model", "licence", "sha256", "source", "location"):
        table.add_column(column, overflow="fold")
    for f in files:
        table.add_row(f.role, f.name, f.licence, f.sha256, f.source, f.location)
    console.print(table)
    if pack.licence_note:
        console.print(pack.licence_note)


from minorguard.cli_events import event_app

app.add_typer(event_app, name="event")

from minorguard.cli_register import register_commands

register_commands(app)

from minorguard.cli_adults import adult_app

app.add_typer(adult_app, name="adult")


from minorguard.cli_export import export_cmd

app.command("export")(export_cmd)

from minorguard.cli_review import review_cmd

app.command("review")(review_cmd)

for _group in (app, event_app, adult_app, *(sub.typer_instance for sub in app.registered_groups)):
    accept_lang(_group)


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps usage errors to exit code 64 and never shows a traceback."""
    lang = lang_in_argv(list(sys.argv[1:] if argv is None else argv))
    error_label = t("cli.error", lang)
    for stream in (sys.stdout, sys.stderr):
        show_on(stream)  # a photo's file name that is not UTF-8 must not stop the command
    try:
        command = typer.main.get_command(app)
        localise_help(command, lang)
        code = command(args=argv, standalone_mode=False)
    except UsageProblem as problem:
        err.print(f"[red]{error_label}:[/] {escape(str(problem))}", soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print(t("cli.interrupted", lang))
        return 130
    except Exception as error:
        # typer vendors click; match its exceptions by shape, not by private import path
        name = type(error).__name__
        if name == "NoArgsIsHelpError":
            return EXIT_USAGE
        if hasattr(error, "format_message"):
            err.print(f"[red]{error_label}:[/] {escape(error.format_message())}", soft_wrap=True)
            return EXIT_USAGE
        if hasattr(error, "exit_code"):
            return int(error.exit_code)
        if name == "Abort":
            err.print(t("cli.aborted", lang))
            return 130
        # Last resort: one line, and an exit code that blocks any publishing script.
        err.print(f"[red]{error_label}:[/] {escape(type(error).__name__)}: {escape(str(error))}", soft_wrap=True)
        return EXIT_INTERNAL
    return code if isinstance(code, int) else 0


def run() -> None:
    sys.exit(main())
