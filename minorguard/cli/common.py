"""What every command shares: the consoles, exit codes, usage errors and the application layer's checks."""

from __future__ import annotations

import os
from datetime import date as Date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from minorguard.cli.lang import current_lang, say
from minorguard.locale import t

__all__ = [
    "EXIT_BLOCK", "EXIT_INTERNAL", "EXIT_PASS", "EXIT_REVIEW", "EXIT_USAGE", "UsageProblem", "build_guard", "checking_guard",
    "console", "err", "exit_code", "fail", "finish_checks", "parse_date", "refuse_unsafe_outputs",
]

class _ReaderMayLeave(Console):
    """A console whose reader may go away (`minorguard scan ... | head`): the run goes on without printing, so every
    photo is still judged and audited and the exit code still says the verdict (rich's own answer is exit 1)."""

    def on_broken_pipe(self) -> None:
        import sys

        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (sys.stderr if self.stderr else sys.stdout).fileno())


console = _ReaderMayLeave(stderr=False, highlight=False)
err = _ReaderMayLeave(stderr=True, highlight=False)

EXIT_PASS, EXIT_REVIEW, EXIT_BLOCK, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 64, 70



class UsageProblem(Exception):
    """A user error: one line, exit code 64."""


def fail(message: str) -> None:
    raise UsageProblem(message)


def _same_file_key(path: Path) -> tuple:
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)  # a hard link or another spelling of the same photo is the same file
    except OSError:
        return (os.path.abspath(path),)


def _not_a_folder(folder: Path) -> Path | None:
    """The part of ``folder``'s path that exists but is not a folder (a file where a folder is named), if any."""
    for part in (folder, *folder.parents):
        if part.exists():
            return None if part.is_dir() else part
    return None


def refuse_unsafe_outputs(outputs: list[Path | None], photos: list[Path], lang: str, makes_its_folder: Path | None = None) -> None:
    """Before any photo is judged: each file the run will write can be written and is none of the photos it checks
    (a report written over a photo destroyed the original), nor another output. ``makes_its_folder``: an output
    that creates its own folder (the incremental results file) need not find it there."""
    checked = {_same_file_key(p) for p in photos}
    seen: set[tuple] = set()
    for path in (p for p in [*outputs, makes_its_folder] if p is not None):
        key = _same_file_key(path)
        if key in checked:
            fail(t("cli.output_is_a_photo", lang, path=path))
        if key in seen:
            fail(t("cli.output_twice", lang, path=path))
        seen.add(key)
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            fail(t("cli.output_unwritable", lang, path=path, why=t("cli.why.is_folder", lang)))
        if path.exists() and not path.is_file():  # renaming a report over /dev/full replaced the device
            fail(t("cli.output_unwritable", lang, path=path, why=t("cli.why.not_regular", lang)))
        in_the_way = _not_a_folder(folder)
        if in_the_way is not None:  # "there is no folder afile" named a file the user can see there
            fail(t("cli.output_unwritable", lang, path=path, why=t("cli.why.file_not_folder", lang, folder=in_the_way)))
        if path is makes_its_folder and not folder.exists():
            continue
        if not folder.is_dir():
            fail(t("cli.output_unwritable", lang, path=path, why=t("cli.why.no_folder", lang, folder=folder)))
        if not os.access(folder, os.W_OK):
            fail(t("cli.output_unwritable", lang, path=path, why=t("cli.why.folder_read_only", lang, folder=folder)))


def build_guard(policy: Path | None, models: str | None, **collaborators):
    from minorguard.models.base import ModelError
    from minorguard.pipeline import Guard
    from minorguard.rules.policy import PolicyError

    try:
        return Guard(policy=policy, pack=models, **collaborators)
    except (PolicyError, ModelError) as error:
        fail(say(error, current_lang()))


def parse_date(when: str | None, option: str = "--date", lang: str | None = None) -> Date | None:
    """A YYYY-MM-DD option value, or a usage error (in ``lang``, default the command's --lang)."""
    from minorguard.application.checks import calendar_date

    if not when:
        return None
    try:
        return calendar_date(when)
    except ValueError:
        fail(t("register.bad_date", lang or current_lang(), what=option, value=when))
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
        fail(say(error, lang))
    except ValueError as error:  # a register record the matcher cannot read
        fail(str(error))
    for notice in checks.notices:
        err.print(f"[yellow]{t('cli.warning', lang)}:[/] {escape(notice)}", soft_wrap=True)
    return checks


def finish_checks(checks, results, lang: str, audit: bool = True):
    """Audit the batch and group it (application layer), then say what the grouping found; (results, groups)."""
    from consent_db import RegisterError

    try:
        results, batch = checks.finish(results, audit=audit)
    except RegisterError as error:  # fail closed: decisions that cannot be audited are not to be relied on
        checks.close()
        fail(say(error, lang))  # audit_unwritten, naming the register's error
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


def exit_code(verdicts) -> int:
    from minorguard.types import Verdict

    worst = max((v.severity for v in verdicts), default=0)
    if worst >= Verdict.BLOCK.severity:
        return EXIT_BLOCK
    return EXIT_REVIEW if worst == Verdict.REVIEW.severity else EXIT_PASS
