"""What rests on a consent, an event or a reviewer's decision: the photos to take down, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from minorguard.cli.common import console, err
from minorguard.locale import t

__all__ = ["COLUMNS", "print_relied"]

COLUMNS = ("photo_sha256", "how", "at", "tool", "channel", "date", "faces", "action", "output", "file_names")


def _rows(relied: list[Any], names: dict[str, list[str]]) -> list[dict[str, Any]]:
    rows = []
    for r in relied:
        row = r.to_dict()
        known = set(names.get(r.photo_sha256, []))
        if r.source:
            known.add(r.source)
        row["file_names"] = sorted(known)
        rows.append({k: row.get(k) for k in COLUMNS} | {"audit_seq": r.audit_seq})
    return rows


def print_relied(relied: list[Any], names: dict[str, list[str]], lang: str, csv_out: Path | None = None,
                 json_out: Path | None = None, what: str = "") -> None:
    """The table on the console, and the same rows as CSV and JSON when asked."""
    from minorguard.photos.file_names import json_text
    from minorguard.report.files import EXCEL_UTF8, atomic_write_text

    rows = _rows(relied, names)
    photos = len({r["photo_sha256"] for r in rows})
    console.print(t("relied.summary", lang, what=what, photos=photos, entries=len(rows)))
    if rows:
        table = Table()
        for column in ("photo", "how", "at", "tool", "channel", "date", "faces", "copy / file"):
            table.add_column(t("relied.col." + column.split(" ")[0], lang), overflow="fold")
        for r in rows:
            names = ", ".join(r["file_names"])
            where = (f"{r['output']}: {names}" if names else r["output"]) if r["output"] else names or "-"
            table.add_row(r["photo_sha256"][:16], t("relied.how." + r["how"], lang), (r["at"] or "")[:16], escape(r["tool"] or "-"),
                          r["channel"] or "-", r["date"] or "-", ", ".join(map(str, r["faces"])) or "-", escape(where))
        console.print(table)
    if csv_out is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([" ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v) for v in (r[c] for c in COLUMNS)])
        atomic_write_text(csv_out, EXCEL_UTF8 + buffer.getvalue())
        err.print(t("cli.written", lang, path=csv_out))
    if json_out is not None:
        atomic_write_text(json_out, json_text({"minorguard_relied": 1, "what": what, "photos": rows}, indent=2) + "\n")
        err.print(t("cli.written", lang, path=json_out))
