"""`minorguard review FOLDER|RESULT.json`: the local review page (parse, call, render).

Registered on the main app by :mod:`minorguard.cli`; the page is
:mod:`minorguard.review.server` over :class:`minorguard.review.app.ReviewApp`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minorguard.cli.common import build_guard, console, err, fail, finish_checks, parse_date
from minorguard.cli.lang import LANG_ENV, Lang, say
from minorguard.locale import t
from minorguard.locale.os_reasons import say_os_error

__all__ = ["review_cmd"]

# The CLI helpers are imported when the command runs: minorguard.cli imports this
# module to register the command, so importing it back here at load time would be circular.
_SQ = Lang("sq")


def _scan_folder(
    folder: Path, recursive: bool, policy: Path | None, models: str | None, linker, context, workers: int, register, lang: str
):
    """The folder checked through the application layer as `scan --json` checks it, without the reviewers' own decisions.

    ``linker`` is accepted for callers that have one; the register's events are read again here.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from minorguard.application.checks import open_checks
    from minorguard.locale.coded_error import CodedError
    from minorguard.photos.discover import discover_photos

    del linker
    sources = list(discover_photos([folder], recursive))
    try:
        # consents, events and known adults apply as in `scan`; no review lookup: the page shows the models' own
        # decisions; grouping by person, so the page can offer one decision per person
        checks = open_checks(policy, models, context=context, tool="minorguard review", lang=lang, photos=len(sources),
                             group=True, register=register, apply_reviews=False)
    except CodedError as error:
        fail(say(error, lang))
    for notice in checks.notices:
        err.print(notice, soft_wrap=True)
    judged = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
        task = bar.add_task("scan", total=len(sources))
        for result in checks.check_many(sources, workers=workers or None):
            judged.append(result)
            bar.advance(task)
    results, batch = finish_checks(checks, judged, lang, audit=False)  # grouped; the register stays open for the page
    _audit_as_scan(checks, sources, judged, workers, lang)
    return results, checks.guard.policy, (batch.groups if batch is not None else None), checks.guard


def _audit_as_scan(checks, sources: list, judged: list, workers: int, lang: str) -> None:
    """One ``photo_checked`` entry per photo with the verdict `scan` gives it: the reviewers' decisions applied.

    The page judged without them (it shows the models' decisions and applies the stored ones on top), and its
    results, audited as they were, logged BLOCK for a photo a reviewer had let through and PASS for one a
    reviewer had hidden. A photo with stored decisions is judged again with them; the others' results are
    the same either way.
    """
    from consent_db.reviews import Reviews
    from minorguard.application.checks import open_checks
    from minorguard.locale.coded_error import CodedError

    audited = list(judged)
    try:
        stored = Reviews(checks.register).for_photos([r.sha256 for r in judged if r.sha256])
        # an ERROR and a file of several frames take no reviewer's decision: their results stand as judged
        again = [i for i, r in enumerate(judged) if not r.error and r.frames <= 1 and stored.get(r.sha256 or "")]
        if again:
            reviewed = open_checks(guard=checks.guard, register=checks.register, context=checks.context,
                                   tool=checks.tool, lang=lang, apply_reviews=True)
            for i, result in zip(again, reviewed.check_many([sources[i] for i in again], workers=workers or None)):
                audited[i] = result
        checks.audit(audited)
    except CodedError as error:  # fail closed: decisions that cannot be audited are not to be relied on
        checks.close()
        fail(say(error, lang))


def _open_review_register(db: str | None, event: str | None, lang: str):
    """The register the page keeps its decisions in, opened by `scan`'s rule: one named (--db, $MINORGUARD_DB) or
    needed by --event must exist, and one that exists must open; a mistyped name stops here (exit 64) instead of
    serving a new, empty register beside the real one."""
    from minorguard.application.checks import RegisterUnavailable, open_register_for_checks
    from minorguard.cli.events import open_register

    try:
        register = open_register_for_checks(db, event)
    except RegisterUnavailable as error:
        fail(say(error, lang))
    if register is None:  # nothing named and none anywhere: the page needs somewhere to keep the decisions
        register = open_register(None, lang=lang)
    return register


def _refuse_bad_context(register, policy, context, lang: str) -> None:
    """--channel and --event checked as `scan` checks them (a folder's scan does it in open_checks): a page for a
    channel or event that does not exist would judge consents against a publication nobody makes."""
    from minorguard.application.checks import refuse_unknown_channel
    from minorguard.locale.coded_error import CodedError
    from minorguard.rules.events import RegisterEventLinker

    try:
        refuse_unknown_channel(context.channel, policy)
        if context.event_id is not None:
            RegisterEventLinker.from_register(register, lang).get(context.event_id)
    except CodedError as error:
        register.close()
        fail(say(error, lang))


def _say_errors(results, lang: str) -> None:
    """Each photo that could not be checked, named with its reason as `scan` says it (on stderr: the first line on
    stdout is the page's address)."""
    from rich.markup import escape

    from minorguard.photos.file_names import visible
    from minorguard.report.files import explain_error
    from minorguard.types import Verdict

    label = t("verdict.ERROR", lang)
    for r in results:
        if r.error or r.verdict is Verdict.ERROR:
            err.print(f"[magenta]{label:10}[/] {escape(visible(explain_error(r, lang) or r.source))}", soft_wrap=True, highlight=False)


def review_cmd(
    source: Annotated[Path, typer.Argument(help="A folder of photos (scanned now) or a scan result from `scan --json`.")],
    db: Annotated[str | None, typer.Option("--db", help="Register: file path or database URL (default: your data folder).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy TOML overriding the defaults.")] = None,
    models: Annotated[str | None, typer.Option("--models", help="'default' or a folder of insightface ONNX models.")] = None,
    lang: Annotated[Lang, typer.Option("--lang", envvar=LANG_ENV, help="Language of the page (sq or en).")] = _SQ,
    channel: Annotated[str | None, typer.Option("--channel", help="Where the photos will be published; faces are judged at that channel's size.")] = None,
    when: Annotated[str | None, typer.Option("--date", help="Publication date YYYY-MM-DD (default today).")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Event id the photos belong to.")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="What the photos are published for; consents limited to purposes must list it.")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Photos checked at once (0: all cores).")] = 0,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")] = True,
) -> None:
    """Review flagged faces in the browser: mark adult, link to a consent, or hide. Decisions are kept
    in the register (audited) and applied by later scans and exports. Stop with Ctrl-C."""
    import signal
    import webbrowser

    from minorguard.pipeline import CheckContext
    from minorguard.report.results_json import ResultsFileError, read_report
    from minorguard.review.app import ReviewApp, ReviewedResults, models_results
    from minorguard.review.server import ReviewServer
    from minorguard.rules.policy import PolicyError, load_policy

    lang_s = lang.value

    publish_date = parse_date(when)
    context = CheckContext(channel=channel, when=publish_date, event_id=event, purpose=purpose)
    if not source.exists():
        fail(t("cli.path_missing", lang_s, path=source))
    if source.is_dir():
        register = _open_review_register(db, event, lang_s)
        linker = None
        results, active_policy, groups, guard = _scan_folder(
            source, recursive, policy, models, linker, context, workers, register, lang_s
        )
        if not results:
            register.close()
            fail(t("cli.no_photos", lang_s))
        base_dir = None
    elif source.suffix.lower() == ".json":
        try:
            results, groups = read_report(source)
            active_policy = load_policy(policy)
            results = models_results(results)  # before any register is opened: nothing to close
        except (ResultsFileError, PolicyError, ReviewedResults) as error:
            fail(say(error, lang_s))
        register = _open_review_register(db, event, lang_s)
        _refuse_bad_context(register, active_policy, context, lang_s)
        base_dir = source.resolve().parent

        def guard():  # the models load only if the reviewer remembers someone
            return build_guard(policy, models)
    else:
        fail(t("review.bad_source", lang_s))
    from consent_db.reviews import Reviews

    _say_errors(results, lang_s)
    app = ReviewApp(
        results, Reviews(register), active_policy, lang=lang_s, base_dir=base_dir,
        channel=channel, when=publish_date, event_id=event, groups=groups, guard=guard, purpose=purpose,
    )
    try:
        server = ReviewServer(app, port=port)
    except OSError as error:
        register.close()
        fail(t("review.cannot_listen", lang_s, port=port, error=say_os_error(error, lang_s)))
    console.print(t("review.open", lang_s, url=server.url), soft_wrap=True, highlight=False)
    if open_browser:
        webbrowser.open(server.url)
    # "Stop with Ctrl-C" must hold however the command was started: a shell's
    # background job (`minorguard review ... &`) inherits SIGINT ignored, and
    # Python then leaves it ignored, so `kill -INT` did nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C: every decision was committed when it was made; close in order below
    finally:
        # a second Ctrl-C must not cut the closing short (a decision in flight, the database file)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            server.stop()
            label = register.label
            register.close()
        finally:
            signal.signal(signal.SIGINT, previous)
    err.print(t("review.stopped", lang_s, db=label), soft_wrap=True, highlight=False)
