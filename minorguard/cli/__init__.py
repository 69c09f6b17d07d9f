"""Command line: parse, call the application layer, render. No policy lives here.

The commands live in this package's modules; this one assembles them into one
``minorguard`` command and maps every failure to an exit code, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from minorguard.cli.adults import adult_app
from minorguard.cli.common import (
    EXIT_BLOCK,
    EXIT_INTERNAL,
    EXIT_PASS,
    EXIT_REVIEW,
    EXIT_USAGE,
    UsageProblem,
    console,
    err,
)
from minorguard.cli.ctrl_c import ctrl_c_remembered
from minorguard.cli.events import event_app
from minorguard.cli.export import export_cmd
from minorguard.cli.help import localise_help
from minorguard.cli.lang import accept_lang, lang_any_case, lang_in_argv, say_usage_error
from minorguard.cli.register import register_commands
from minorguard.cli.review import review_cmd
from minorguard.cli.scan import models_cmd, scan
from minorguard.cli.serve import key_app, serve_cmd
from minorguard.locale import t
from minorguard.photos.file_names import show_on

__all__ = ["EXIT_BLOCK", "EXIT_INTERNAL", "EXIT_PASS", "EXIT_REVIEW", "EXIT_USAGE", "app", "console", "main", "run"]


class _Interrupted(BaseException):
    """Ctrl-C inside a command, carried past typer to ``main``: typer turns a KeyboardInterrupt into a silent exit
    130, and the run ended without a word."""


class _Commands(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # `export`'s own (ExportInterrupted) is said and ended as exit 130 by the command
            raise _Interrupted from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True, help="minorguard: keep identifiable minors out of published photos (rule 5).")
app.command()(scan)
app.command("models")(models_cmd)
app.add_typer(event_app, name="event")
register_commands(app)
app.add_typer(adult_app, name="adult")
app.command("export")(export_cmd)
app.command("review")(review_cmd)
app.command("serve")(serve_cmd)
app.add_typer(key_app, name="key")

for _group in (app, event_app, adult_app, key_app, *(sub.typer_instance for sub in app.registered_groups)):
    accept_lang(_group)


# click's own usage errors, as they read, to the catalogue's line: the reader's language, not always English
_CLICK_LINES = (
    (r"Missing option '(?P<name>[^']+)'\.?", "cli.click.missing_option"),
    (r"Missing argument '(?P<name>[^']+)'\.?", "cli.click.missing_argument"),
    (r"No such option:? '?(?P<name>[^'\s]+?)'?\.?(?: \(Possible options: [^)]*\)| Did you mean '?(?P<hint>[^'?\s]+)'?\?)?",
     "cli.click.no_such_option"),
    (r"No such command '(?P<name>[^']+)'\.?", "cli.click.no_such_command"),
    (r"Got unexpected extra arguments? \((?P<name>.+)\)", "cli.click.extra_arguments"),
    (r"Invalid value for '(?P<name>[^']+)'(?P<env> \(env var: '[^']+'\))?: (?P<detail>.+)", "cli.click.invalid_value"),
)


def _usage_message(text: str, lang: str) -> str:
    """A usage error of the command line parser in ``lang`` (unknown forms stay as the parser wrote them)."""
    import re

    for pattern, key in _CLICK_LINES:
        found = re.fullmatch(pattern, text.strip(), re.DOTALL)
        if found:
            values = {k: v for k, v in found.groupdict().items() if v is not None}
            # typer names an option's variable whether or not the value came from it: left out (say_usage_error says
            # it where it did)
            detail = values.get("detail", "")
            line = t(key, lang, name=values["name"], detail=detail)
            return line + ("; " + t("cli.click.did_you_mean", lang, hint=values["hint"]) if "hint" in values else "")
    return text


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps usage errors to exit code 64 and never shows a traceback."""
    lang = lang_in_argv(list(sys.argv[1:] if argv is None else argv))
    error_label = t("cli.error", lang)
    for stream in (sys.stdout, sys.stderr):
        show_on(stream)  # a photo's file name that is not UTF-8 must not stop the command
    try:
        command = typer.main.get_command(app)
        localise_help(command, lang)
        lang_any_case(command)
        with ctrl_c_remembered():
            code = command(args=argv, standalone_mode=False)
    except UsageProblem as problem:
        err.print(f"[red]{error_label}:[/] {escape(str(problem))}", soft_wrap=True)
        return EXIT_USAGE
    except (KeyboardInterrupt, _Interrupted):
        err.print(t("cli.interrupted", lang))
        return 130
    except Exception as error:
        # typer vendors click; match its exceptions by shape, not by private import path
        name = type(error).__name__
        if name == "NoArgsIsHelpError":
            return EXIT_USAGE
        if hasattr(error, "format_message"):
            line = say_usage_error(error, lang) or _usage_message(error.format_message(), lang)
            err.print(f"[red]{error_label}:[/] {escape(line)}", soft_wrap=True)
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
