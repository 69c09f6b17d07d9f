"""Shared helpers for benchmarks: where the evaluation data is, and writing figures."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SHARED = Path(os.environ.get("MINORGUARD_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
EVAL = SHARED / "eval"
RESULTS = Path(__file__).resolve().parent / "results"


def require_shared() -> None:
    if not EVAL.is_dir():
        sys.exit(f"evaluation data not found at {EVAL} (set MINORGUARD_SHARED)")


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def print_table(headers: list[str], rows: list[list]) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
