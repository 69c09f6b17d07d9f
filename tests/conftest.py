"""Fixtures: the real models (loaded once per session) and the shared evaluation data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis fails an example that takes over 200 ms of wall-clock time. On a loaded machine (CI: 2 cores, shared) one
# example of a microsecond function can be held up that long, and the test then fails as "flaky" with nothing wrong
# in the code: no deadline (the properties are what is tested; test_events.py already said so for its own).
settings.register_profile("minorguard", deadline=None)
settings.load_profile("minorguard")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MINORGUARD_SHARED", ROOT.parent / "shared"))
SAMPLE_IMAGES = ROOT / "sample_images"


@pytest.fixture(autouse=True)
def _albanian_by_default(monkeypatch):
    """The tests expect the CLI's default language: a developer's own $MINORGUARD_LANG must not change it."""
    monkeypatch.delenv("MINORGUARD_LANG", raising=False)


@pytest.fixture(autouse=True)
def _no_users_own_data_folder(tmp_path, monkeypatch):
    """A test (or a command it starts) that does not name a data folder must not read or write the developer's own
    register: the platform's default folder is a fresh one per test (a stray key left there by one run made twelve
    CLI tests of the next fail with "the register's key is there but the register is not")."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared, or skip: it holds licensed data that cannot ship with the project."""
    if not (SHARED / "samples").is_dir():
        pytest.skip(f"../shared not found at {SHARED}: evaluation data and licensed samples are not on this machine")
    return SHARED


@pytest.fixture(scope="session")
def guard():
    from minorguard import Guard

    return Guard()


@pytest.fixture(scope="session")
def sample_images() -> Path:
    return SAMPLE_IMAGES


@pytest.fixture
def unlistable(monkeypatch):
    """Make folders behave as one without read permission does for a normal user (tests run as root in CI)."""
    closed: set[Path] = set()
    real_scandir, real_listdir = os.scandir, os.listdir

    def refusing(real):
        def call(path="."):
            if Path(path) in closed:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        return call

    monkeypatch.setattr(os, "scandir", refusing(real_scandir))
    monkeypatch.setattr(os, "listdir", refusing(real_listdir))
    return closed.add


@pytest.fixture
def tree_with_closed_subfolder(tmp_path, unlistable) -> tuple[Path, Path]:
    """``(folder, closed)``: the folder holds the family portrait and ``closed``, a sub-folder that cannot be listed."""
    import shutil

    folder = tmp_path / "ngjarja"
    closed = folder / "mbyllur"
    closed.mkdir(parents=True)
    shutil.copy(SAMPLE_IMAGES / "faceaisharp_obama_family.jpg", folder / "portret.jpg")
    unlistable(closed)
    return folder, closed
