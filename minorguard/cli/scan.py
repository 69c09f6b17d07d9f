"""`minorguard scan` and `minorguard models`: check photos and folders, list the model pack."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from minorguard.cli.common import (
    checking_guard,
    console,
    err,
    exit_code,
    fail,
    finish_checks,
    parse_date,
    refuse_unsafe_outputs,
)
from minorguard.cli.ctrl_c import stop_if_pressed
from minorguard.cli.lang import Lang, LangOpt, say
from minorguard.locale import t
from minorguard.locale.coded_error import CodedError
from minorguard.locale.os_reasons import say_os_error
from minorguard.photos.file_names import json_text, visible
from minorguard.types import to_jsonable

__all__ = ["models_cmd", "scan"]


class Engine(str, Enum):
    local = "local"
    isolated = "isolated"
    ray = "ray"


def _open_jsonl(path: Path, lang: str, checks: Any) -> Any:
    """The --jsonl file, streamed to as results come: owner-only (0600) as the other reports are (child refs, consent
    ids and paths are in it), created so and made so before an existing file is emptied and written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o600)
                else:  # pragma: no cover - Windows before Python 3.13
                    os.chmod(path, 0o600)
                os.ftruncate(fd, 0)
            return os.fdopen(fd, "w", encoding="utf-8")
        except BaseException:
            os.close(fd)
            raise
    except OSError as error:
        checks.close()
        fail(t("scan.jsonl_unwritable", lang, path=path, error=say_os_error(error, lang)))


# what SQLite says of a results file it cannot use, and the catalogue's reason for it
_STORE_REASONS = (("not a database", "scan.store.not_results"), ("unable to open", "scan.store.unopenable"),
                  ("readonly database", "scan.store.read_only"), ("database is locked", "scan.store.busy"))


def _store_reason(error: OSError | sqlite3.Error, lang: str) -> str:
    """Why the --incremental results file cannot be used, in ``lang`` (the system's or SQLite's English was the
    reason: "file is not a database")."""
    if isinstance(error, OSError):
        return say_os_error(error, lang)
    said = str(error).strip()
    for words, key in _STORE_REASONS:
        if words in said.lower():
            return t(key, lang)
    return t("scan.store.other", lang, error=said)


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
    incremental: Path | None = typer.Option(
        None, "--incremental",
        help="A results file: judge again only photos whose decision could have changed since (kept as each is judged; an interrupted run resumes).",
    ),
    engine: Engine = typer.Option(
        Engine.isolated, "--engine",
        help="isolated: each photo in a worker process within --photo-seconds and --photo-memory-mb (a worker per core, as memory allows); local: threads in this process sharing one copy of the models, no limits; ray: a Ray cluster (pip install 'minorguard[ray]').",
    ),
    photo_seconds: float = typer.Option(120.0, "--photo-seconds", min=0.1, help="A photo taking longer becomes ERROR and the scan goes on (isolated engine)."),
    photo_memory_mb: int = typer.Option(4096, "--photo-memory-mb", min=16, help="Memory a photo may take beyond the loaded models; more becomes ERROR (isolated engine, on Linux)."),
    address: str | None = typer.Option(None, "--address", help="The Ray cluster (HOST:PORT or auto); default: start one on this machine."),
    jsonl_out: Path | None = typer.Option(None, "--jsonl", help="Write each result as a JSON line as soon as it is judged."),
) -> None:
    """Check photos for identifiable minors. Exit code: 0 all PASS, 1 REVIEW, 2 BLOCK or ERROR, 64 usage error, 70 internal error, 130 interrupted (Ctrl-C)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from minorguard.photos.discover import MissingPath, discover_photos
    from minorguard.report.files import write_csv, write_json

    lang_s = lang.value
    publish_date = parse_date(when)
    left_out: list[Path] = []
    try:
        sources = list(discover_photos(paths, recursive, left_out))
    except MissingPath as missing:
        fail(t("cli.path_missing", lang_s, path=missing.path))
    if not sources:
        fail(t("cli.no_photos", lang_s))
    refuse_unsafe_outputs([json_out, csv_out, html_out, jsonl_out], sources, lang_s, makes_its_folder=incremental)
    from minorguard.cli.adults import groups_json

    # Grouping needs a face description per face to decide (~20 ms each on a laptop
    # CPU: dlib's descriptor and FaceRes's identity feature); it serves the reports
    # a reviewer works from, so by default it runs only when one is written.
    if group is None:
        group = json_out is not None or html_out is not None
    pool = None
    if engine is Engine.isolated:
        from minorguard.application.isolated import Limits, WorkerPool

        limits = Limits(photo_seconds, photo_memory_mb)
        if incremental is None:  # an incremental run may judge few photos or none: its workers start when needed
            # the workers load their models while this process opens the register and its own checks
            pool = WorkerPool(len(sources), policy=policy, models=models, workers=workers or None, limits=limits,
                              without_main=True)
    try:
        # the workers judge; this process labels, audits and groups their results, by the names of the models they
        # loaded (loading its own copy only where they could not describe or load theirs)
        described = pool.described_pack() if pool is not None else None
        checks = checking_guard(policy, described or models, db, event, channel, publish_date, lang_s, len(sources), group,
                                purpose)
        guard = checks.guard
        results = []
        store = summary = judge = None
        if engine is Engine.ray:
            from minorguard.application.ray_engine import check_on_ray

            judge = lambda paths: check_on_ray(checks, paths, address=address, workers=workers or None, models=models)
        elif engine is Engine.isolated:
            from minorguard.application.isolated import check_isolated

            judge = lambda paths: check_isolated(checks, paths, workers=workers or None, limits=limits, models=models, pool=pool)
        if incremental is not None:
            from minorguard.application.archive import ResultStore, RunSummary, check_incrementally

            try:
                store = ResultStore(incremental)
            except (OSError, sqlite3.Error) as error:
                checks.close()
                fail(t("scan.incremental_unusable", lang_s, path=incremental, error=_store_reason(error, lang_s)))
            summary = RunSummary()
            stream = check_incrementally(checks, sources, store, summary, workers=workers or None, judge=judge)
        elif judge is not None:  # the driver records what its workers judged
            stream = checks.audited(judge(sources))
        else:  # each result recorded before it is printed or streamed: a run cut short (a closed pipe, Ctrl-C) leaves no
            # decision it showed unaudited (without a register nothing is recorded)
            stream = checks.audited(checks.check_many(sources, workers=workers or None))
        lines = _open_jsonl(jsonl_out, lang_s, checks) if jsonl_out is not None else None
    except BaseException:  # stopped before judging (a usage error, a register that cannot be opened)
        if pool is not None:
            pool.close()
        raise
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                      TimeRemainingColumn(), console=err, transient=True) as progress:
            task = progress.add_task("scan", total=len(sources), rate="")
            began = time.monotonic()
            for result in stream:
                stop_if_pressed()  # a Ctrl-C whose KeyboardInterrupt a finaliser swallowed still stops the scan here
                results.append(result)
                if lines is not None:
                    lines.write(json_text(to_jsonable(result)) + "\n")
                    lines.flush()
                progress.update(task, advance=1, rate=f"{len(results) / max(time.monotonic() - began, 1e-6):.2f}/s")
                if result.verdict.value != "PASS":
                    _print_photo(result, lang_s)
    except CodedError as error:  # the engine or the register failed: nothing after this photo was judged
        checks.close()
        fail(say(error, lang_s))
    finally:
        if lines is not None:
            lines.close()
    results, batch = finish_checks(checks, results, lang_s, audit=False)  # every stream audited each result as it came
    checks.close()
    if store is not None:
        store.close()
        why = ", ".join(f"{t('scan.why.' + k, lang_s)} {n}" for k, n in summary.why_judged.most_common())
        err.print(t("scan.incremental", lang_s, judged=summary.judged, why=why or "-", reused=summary.reused, path=incremental))
    _print_summary(results, lang_s)
    if left_out:  # photos there were never seen: say so, never leave them out without a word
        err.print(f"[yellow]{t('cli.warning', lang_s)}:[/] {escape(t('cli.folders_not_searched', lang_s, n=len(left_out)))}", soft_wrap=True)
    if json_out:
        # folders left unsearched (no --recursive) are in the report too: a reader of the report alone must see that
        # photos there were never judged, not only the person who watched the console
        write_json(results, json_out, {"policy": guard.policy.to_dict(), "policy_version": guard.policy.version, "model_pack": guard.pack_label,
                                       "groups": groups_json(batch), "folders_not_searched": [os.fsdecode(p) for p in left_out]})
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
    if jsonl_out:  # written line by line as photos were judged: said like the other reports
        err.print(t("cli.written", lang_s, path=jsonl_out))
    raise typer.Exit(exit_code(r.verdict for r in results))


_COLOURS = {"PASS": "green", "REVIEW": "yellow", "BLOCK": "red", "ERROR": "magenta"}


def _print_photo(result, lang: str) -> None:
    from minorguard.photos.decode import TRANSPARENCY
    from minorguard.report.files import explain_face

    label = t(f"verdict.{result.verdict.value}", lang)
    colour = _COLOURS[result.verdict.value]
    if result.error:
        from minorguard.report.files import explain_error

        console.print(f"[{colour}]{label:10}[/] {escape(visible(explain_error(result, lang)))}", soft_wrap=True)
        return
    reasons = [f"{t('face', lang, n=d.index + 1)}: {explain_face(d, lang)}" for d in result.faces if d.action.value != "allow"]
    where = f" ({t('cli.frame', lang, k=result.frame + 1, n=result.frames)})" if result.frames > 1 and result.frame is not None else ""
    if result.preview:
        shown = t("cli.preview_transparency", lang) if result.preview == TRANSPARENCY else t("cli.preview", lang, where=result.preview)
        where += f" ({shown})"
    console.print(f"[{colour}]{label:10}[/] {escape(visible(result.source))}{where} — " + escape(visible("; ".join(reasons))), soft_wrap=True)

    from minorguard.rules.hints import hint_text

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
        fail(say(error, lang.value))
    table = Table(title=f"{t('cli.models_title', lang.value)}: {pack.label}")
    for column in ("role", "model", "licence", "sha256", "source", "location"):
        table.add_column(t(f"col.{column}", lang.value), overflow="fold")
    from minorguard.locale.model_words import model_text

    said = lambda text: model_text(text, lang.value)
    for f in files:  # names, hashes and paths as they are; the words around them in the reader's language
        table.add_row(said(f.role), said(f.name), said(f.licence), f.sha256, said(f.source), f.location)
    console.print(table)
    if pack.licence_note:
        console.print(escape(said(pack.licence_note)), highlight=False)
