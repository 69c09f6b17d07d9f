"""Where the register lives, with nothing heavy imported: a plain `minorguard scan` asks this
before deciding whether to open (and so import SQLAlchemy for) a register at all."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "DB_ENV", "data_dir"]

DB_ENV = "MINORGUARD_DB"
DATA_DIR_ENV = "MINORGUARD_DATA_DIR"


def data_dir() -> Path:
    """$MINORGUARD_DATA_DIR, or the platform's user data directory for 'minorguard'."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("minorguard", appauthor=False))
