"""The outdoor hint: EV100 from EXIF exposure, never an exemption on its own."""

from __future__ import annotations

import math

import pytest
from exif_photo import write_exif_photo
from PIL import Image

from minorguard.photos.metadata import read_metadata
from minorguard.rules.hints import OUTDOOR_NO_EVENT, photo_hints
from minorguard.rules.outdoor import exposure_value, guess_outdoor
from minorguard.types import EventEvidence, PhotoMetadata, ReasonCode, Verdict


def exif(n=None, t=None, iso=None, flash=None, bv=None, gps=False) -> PhotoMetadata:
    return PhotoMetadata(f_number=n, exposure_time=t, iso=iso, flash_fired=flash, brightness_value=bv,
                         gps_lat=41.3 if gps else None, gps_lon=19.8 if gps else None)


def test_ev100_formula():
    ev, source = exposure_value(exif(8, 1 / 500, 100))
    assert source == "exposure" and ev == pytest.approx(math.log2(64 * 500), abs=1e-9)  # sunny 16-ish: 15.0
    # the same exposure at ISO 400 means a scene two stops darker
    assert exposure_value(exif(8, 1 / 500, 400))[0] == pytest.approx(ev - 2, abs=1e-9)


@pytest.mark.parametrize(
    ("meta", "setting"),
    [
        (exif(8, 1 / 500, 100), "outdoor"),  # sunshine, EV 15
        (exif(5.6, 1 / 250, 100), "outdoor"),  # overcast, EV 12.9
        (exif(2.5, 1 / 200, 800), "indoor"),  # lit room (the Biden portrait's EXIF), EV 7.3
        (exif(4, 1 / 60, 200), "indoor"),  # EV 8.9: a bright room
        (exif(5.6, 1 / 125, 100, flash=False), "unknown"),  # EV 11.9: dusk or a bright hall
        (exif(5.6, 1 / 125, 100, flash=True), "indoor"),  # same light with flash: leans indoor
        (exif(8, 1 / 500, 100, flash=True), "outdoor"),  # fill flash in sunshine stays outdoor
        (exif(bv=9.0), "outdoor"),  # APEX brightness only: EV100 = Bv + 5
        (exif(bv=1.7), "indoor"),
        (exif(), "unknown"),
        (exif(0, 1 / 100, 100), "unknown"),  # broken f-number
        (exif(8, -1, 100), "unknown"),
    ],
)
def test_settings(meta, setting):
    assert guess_outdoor(meta).setting == setting


def test_gps_alone_says_nothing():
    guess = guess_outdoor(exif(gps=True))
    assert guess.setting == "unknown" and "has GPS" in guess.cues


def test_hint_texts():
    sunny = exif(8, 1 / 500, 100)
    assert any(h.startswith(OUTDOOR_NO_EVENT) for h in photo_hints(sunny, (), None))
    linked = EventEvidence("E1", "public", "exif")
    assert not any(h.startswith(OUTDOOR_NO_EVENT) for h in photo_hints(sunny, (), linked))
    # a declared outdoor event whose photo looks like a room deserves a second look
    room = exif(2.5, 1 / 200, 800, flash=True)
    hints = photo_hints(room, (), EventEvidence("E1", "outdoor", "explicit"))
    assert any("looks indoor" in h and "E1" in h for h in hints)
    assert photo_hints(room, (), None) == ()


def test_exif_written_by_pillow_reads_back(tmp_path):
    path = write_exif_photo(tmp_path / "jashtë.jpg", exposure=(8, 1 / 500, 100), flash=False)
    with Image.open(path) as image:
        meta = read_metadata(path.read_bytes(), image)
    assert (meta.f_number, meta.iso, meta.flash_fired) == (8.0, 100, False)
    assert guess_outdoor(meta).setting == "outdoor"


def test_outdoor_hint_never_exempts(tmp_path, guard):
    photo = write_exif_photo(tmp_path / "p.jpg", "2026:06:01 11:00:00", "+02:00", (41.3275, 19.8187), (8, 1 / 500, 100))
    result = guard.check(photo)
    assert result.verdict is Verdict.BLOCK
    assert not any(d.reason is ReasonCode.EVENT_EXEMPT for d in result.faces)
    assert any(h.startswith(OUTDOOR_NO_EVENT) for h in result.hints)


def test_studio_portrait_in_samples_reads_indoor(shared):
    path = shared / "samples" / "faceaisharp_biden_7mpx.jpg"
    with Image.open(path) as image:
        guess = guess_outdoor(read_metadata(path.read_bytes(), image))
    assert guess.setting == "indoor" and guess.ev100 == pytest.approx(7.29, abs=0.05)


def test_scan_prints_the_hint_in_albanian(tmp_path, monkeypatch, capsys):
    from minorguard import cli

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))  # no register: nothing is linked
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    photo = write_exif_photo(tmp_path / "sheshi.jpg", exposure=(8, 1 / 500, 100))
    assert cli.main(["scan", str(photo)]) == 2  # the hint does not lift the block
    out = capsys.readouterr().out
    assert "duket në ambient të hapur; nuk është deklaruar asnjë ngjarje" in out and "EV100 15.0" in out
