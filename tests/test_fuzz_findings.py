"""Every input the fuzzer (fuzz/photo.py) found to break the loader, kept as a regression test.

The files derive from the bundled public-domain portrait (the fuzzer's seeds). Each
must load, or be refused with PhotoError: never another exception, never a partial image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.photo import check_one

FINDINGS = sorted((Path(__file__).parent / "fuzz_findings").iterdir())


@pytest.mark.parametrize("path", FINDINGS, ids=[p.name for p in FINDINGS])
def test_fuzzer_finding_is_loaded_or_refused_cleanly(path):
    check_one(path.read_bytes())


def test_there_are_findings_to_check():
    assert FINDINGS, "tests/fuzz_findings/ is empty: the regression tests above would check nothing"


def test_a_damaged_orientation_tag_is_a_metadata_problem_not_a_crash():
    """The first finding: EXIF orientation stored as bytes raised ValueError in the metadata reader."""
    from PIL import Image

    from minorguard.photos.decode import PhotoError, load_photo
    from minorguard.photos.metadata import read_metadata

    with pytest.raises(PhotoError, match="truncated or damaged"):  # the file itself: refused with a reason
        load_photo((Path(__file__).parent / "fuzz_findings" / "exif_orientation_bytes.jpg").read_bytes())
    image = Image.new("RGB", (8, 8))
    exif = image.getexif()
    exif[0x0112] = b"\x00\x001"  # what the fuzzer put there
    exif[0x010F] = "Kamera"
    meta = read_metadata(None, image)
    assert meta.orientation is None and meta.camera == "Kamera"


def test_a_frame_that_claims_a_huge_size_is_refused_before_it_is_decoded():
    """A 1.5 KB GIF whose second frame claimed 815 million pixels took 8 GB and 20 s before the per-frame guard."""
    from minorguard.photos.decode import PhotoError, load_frames

    data = (Path(__file__).parent / "fuzz_findings" / "gif_frame_claims_815_megapixels.gif").read_bytes()
    count, frames = load_frames(data, max_pixels=100_000_000)
    assert count == 2
    with pytest.raises(PhotoError) as refused:
        list(frames)
    assert refused.value.code == "too_many_pixels"
