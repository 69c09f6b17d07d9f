"""`minorguard export`: publishable copies with the faces rule 5 forbids hidden (parse, call, render).

Registered on the main app by :mod:`minorguard.cli`; the work is
:func:`minorguard.publish.export.export_photos`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from minorguard.cli.common import EXIT_BLOCK, EXIT_PASS, EXIT_REVIEW, checking_guard, console, err, fail, parse_date
from minorguard.cli.ctrl_c import stop_if_pressed
from minorguard.cli.lang import LANG_ENV, Lang
from minorguard.locale import t
from minorguard.photos.file_names import visible

__all__ = ["export_cmd"]


class HideOption(str, Enum):
    minors = "minors"
    unconsented = "unconsented-minors-and-unknown"
    all_faces = "all-faces"
    all = "all"  # all-faces by the web service's name for it: the same names everywhere (publish.export.HideMode)


class StyleOption(str, Enum):
    mosaic = "mosaic"
    solid = "solid"
    blur = "blur"


_COLOURS = {"exported": "green", "exists": "yellow", "refused": "red", "error": "magenta"}


def export_cmd(
    sources: Annotated[list[Path], typer.Argument(help="Photos or folders to export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the copies and minorguard-manifest.json.")],
    hide: Annotated[HideOption, typer.Option("--hide", case_sensitive=False, help="Which faces to hide.")] = HideOption.minors,
    style: Annotated[StyleOption, typer.Option("--style", case_sensitive=False, help="How hidden faces are painted.")] = StyleOption.mosaic,
    keep_review: Annotated[bool, typer.Option("--keep-review", help="Leave faces that need REVIEW visible.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace copies already in the output folder.")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders (mirrored).")] = False,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy TOML overriding the defaults.")] = None,
    models: Annotated[str | None, typer.Option("--models", help="'default' or a folder of insightface ONNX models.")] = None,
    lang: Annotated[Lang, typer.Option("--lang", envvar=LANG_ENV, help="Language of messages (sq or en).")] = Lang.sq,
    channel: Annotated[str | None, typer.Option("--channel", help="Where it will be published; faces are judged at that channel's size.")] = None,
    when: Annotated[str | None, typer.Option("--date", help="Publication date YYYY-MM-DD (default today).")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Event id the photos belong to.")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="What the photos are published for; consents limited to purposes must list it.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Photos prepared at once (0: all cores).")] = 0,
    db: Annotated[str | None, typer.Option("--db", help="Register (consent, events, reviews): file path or URL.")] = None,
) -> None:
    """Write copies with identifiable minors hidden, checked again. Exit code: 0 all exported, 1 some outputs existed (not overwritten), 2 some refused or failed, 64 usage or output-folder error, 70 internal error, 130 interrupted (Ctrl-C; the copies already made are kept, with their manifest)."""
    from consent_db import RegisterError
    from minorguard.cli.lang import say
    from minorguard.photos.discover import MissingPath
    from minorguard.publish.export import ExportError, ExportInterrupted, ExportStatus, explain_export

    lang_s = lang.value
    # the same collaborators as `scan`: the register's events, consents, reviewers' decisions, known adults
    checks = checking_guard(policy, models, db, event, channel, parse_date(when), lang_s, purpose=purpose, tool="minorguard export")
    register = checks.register

    def show(photo: Any) -> None:
        stop_if_pressed()  # a Ctrl-C whose KeyboardInterrupt a finaliser swallowed still stops the export here
        label = t(f"export.{photo.status.value}", lang_s)
        if photo.status is ExportStatus.EXISTS:
            detail = t("export.exists_detail", lang_s)
        elif lang_s != "en" and photo.code:
            detail = explain_export(photo, lang_s)
        elif photo.status is ExportStatus.REFUSED:
            detail = t("export.refused_detail", lang_s, detail=photo.message)
        else:
            detail = photo.message or (t("export.hidden", lang_s, n=len(photo.hidden)) if photo.hidden else "")
            if photo.kept_for_review:  # --keep-review: say which faces a person must still look at before it goes out
                kept = t("export.kept_for_review", lang_s, faces=", ".join(str(i + 1) for i in photo.kept_for_review))
                detail = f"{detail}; {kept}" if detail else kept
        line = f"[{_COLOURS[photo.status.value]}]{label:12}[/] {escape(visible(photo.source))}"
        console.print(line + (f" — {escape(visible(detail))}" if detail else ""), soft_wrap=True, highlight=False)

    try:
        summary = checks.export(
            sources, out, hide=hide.value, style=style.value, keep_review=keep_review, overwrite=overwrite,
            recursive=recursive, progress=show, workers=workers or None,
        )
    except ExportInterrupted as stop:
        # the library left the finished copies and a manifest listing exactly them
        done = sum(1 for p in stop.finished if p.status is ExportStatus.EXPORTED)
        err.print(t("export.interrupted", lang_s, n=done, path=stop.manifest))
        raise typer.Exit(130) from None
    except MissingPath as missing:
        fail(t("cli.path_missing", lang_s, path=missing.path))
    except ExportError as error:
        fail(t(f"export.{error.code}", lang_s, detail=error.message))
    except RegisterError as error:  # the audit could not be written: the copy it was for has been removed
        fail(t("export.audit_unwritten", lang_s, error=say(error, lang_s)))
    finally:
        if register is not None:
            register.close()
    if not summary.photos:
        fail(t("cli.no_photos", lang_s))
    if summary.unsearched_folders:
        err.print(f"[yellow]{t('cli.warning', lang_s)}:[/] " + escape(t("cli.folders_not_searched", lang_s, n=len(summary.unsearched_folders))),
                  soft_wrap=True)
    counts = ", ".join(f"{t('export.' + k, lang_s)}: {v}" for k, v in sorted(summary.counts.items()))
    console.print(f"{counts}\n{t('cli.written', lang_s, path=summary.manifest)}", highlight=False)
    statuses = {p.status for p in summary.photos}
    if statuses & {ExportStatus.REFUSED, ExportStatus.ERROR}:
        raise typer.Exit(EXIT_BLOCK)
    raise typer.Exit(EXIT_REVIEW if ExportStatus.EXISTS in statuses else EXIT_PASS)


