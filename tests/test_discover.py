"""Finding the photos in folders (minorguard.photos.discover): every photo is found, nothing hangs or stops."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from minorguard.photos.discover import discover_photos

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
PORTRAIT = SAMPLES / "faceaisharp_obama_family.jpg"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_without_a_photo_suffix_does_not_hang_the_search(tmp_path):
    """The audit's case: a FIFO called IMG_0001 beside a photo blocked the search before any photo was judged."""
    os.mkfifo(tmp_path / "IMG_0001")
    shutil.copy(PORTRAIT, tmp_path / "foto_ë")  # a photo without a suffix is found by its first bytes
    found: list[Path] = []
    search = threading.Thread(target=lambda: found.extend(discover_photos([tmp_path])), daemon=True)
    search.start()
    search.join(30)
    assert not search.is_alive(), "the search hung on the named pipe"
    assert [p.name for p in found] == ["foto_ë"]


def test_a_tree_a_thousand_folders_deep_is_searched_to_the_bottom(tmp_path):
    """The audit's case: the search recursed once per folder and stopped at Python's limit (exit 70, no report)."""
    folder = tmp_path
    for _ in range(1100):  # one level at a time: pathlib's and os's makedirs recurse too
        folder = folder / "d"
        folder.mkdir()
    shutil.copy(PORTRAIT, folder / "thellë.jpg")
    shutil.copy(PORTRAIT, tmp_path / "sipër.jpg")
    try:
        found = list(discover_photos([tmp_path], recursive=True))
        assert [p.name for p in found] == ["thellë.jpg", "sipër.jpg"]  # name order: "d" before "sipër.jpg"
    finally:  # bottom up, one level at a time: pytest's own clean-up of old runs recurses and would fail on it
        (folder / "thellë.jpg").unlink()
        while folder != tmp_path:
            folder.rmdir()
            folder = folder.parent


def test_folders_are_searched_depth_first_in_name_order_and_left_out_without_recursive(tmp_path):
    for rel in ("a.jpg", "b/c.jpg", "b/d/e.jpg", "f.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PORTRAIT, tmp_path / rel)
    assert [p.relative_to(tmp_path).as_posix() for p in discover_photos([tmp_path], recursive=True)] == \
        ["a.jpg", "b/c.jpg", "b/d/e.jpg", "f.jpg"]
    left_out: list[Path] = []
    assert [p.name for p in discover_photos([tmp_path], left_out=left_out)] == ["a.jpg", "f.jpg"]
    assert [p.name for p in left_out] == ["b"]
