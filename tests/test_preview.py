"""A photo file's EXIF preview is judged when it is not the picture itself: an editor that crops a photo may
keep the preview of the whole, and anyone can extract it from the published file (minorguard.photos.thumbnail)."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minorguard.cli import EXIT_BLOCK, EXIT_PASS, main
from minorguard.photos.thumbnail import exif_thumbnail, same_picture
from tests.exif_photo import SOURCE, write_photo_with_preview


def _portrait() -> Image.Image:
    with Image.open(SOURCE) as image:
        return image.convert("RGB")


def _left_adult_only(portrait: Image.Image) -> Image.Image:
    """The portrait cropped to the father on the left (face 1); both girls are outside the crop."""
    return portrait.crop((0, 0, 240, portrait.height))


@pytest.fixture
def cropped_with_old_preview(tmp_path) -> Path:
    portrait = _portrait()
    preview = portrait.resize((480, 320))  # some cameras keep a larger preview; the girls' faces are ~60 px in it
    return write_photo_with_preview(tmp_path / "babai_i_prerë.jpg", _left_adult_only(portrait), preview)


def test_the_preview_is_read_from_the_exif_block(cropped_with_old_preview, tmp_path):
    data = cropped_with_old_preview.read_bytes()
    preview = exif_thumbnail(data)
    assert preview is not None and preview.startswith(b"\xff\xd8")
    with Image.open(__import__("io").BytesIO(preview)) as image:
        assert image.size == (480, 320)
    plain = tmp_path / "pa_pamje.jpg"
    _portrait().save(plain, "JPEG")
    assert exif_thumbnail(plain.read_bytes()) is None
    assert exif_thumbnail(None) is None


def test_a_preview_of_the_picture_itself_is_the_same_picture_and_one_from_before_a_crop_is_not():
    portrait = _portrait()
    picture = np.asarray(portrait)
    small = portrait.copy()
    small.thumbnail((160, 120))
    boxed = Image.new("RGB", (160, 120))
    boxed.paste(small, (0, (120 - small.height) // 2))  # letterboxed, as cameras store it
    assert same_picture(np.asarray(small), picture)
    assert same_picture(np.asarray(boxed), picture)
    assert same_picture(np.asarray(small.rotate(90, expand=True)), picture)  # stored sideways
    w, h = portrait.size
    crop = np.asarray(portrait.crop((int(w * 0.08), int(h * 0.08), w - int(w * 0.08), h - int(h * 0.08))))
    assert not same_picture(np.asarray(small), crop)  # the same proportions, but more of the scene
    assert not same_picture(np.asarray(small), np.asarray(_left_adult_only(portrait)))


def test_a_cropped_photo_whose_preview_still_shows_the_children_blocks(guard, cropped_with_old_preview, tmp_path):
    plain = tmp_path / "babai.jpg"
    _left_adult_only(_portrait()).save(plain, "JPEG", quality=92)
    assert guard.check(plain).verdict.value == "PASS"  # the crop alone shows one adult

    result = guard.check(cropped_with_old_preview)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"
    assert result.sha256 is not None and result.source == str(cropped_with_old_preview)
    assert (result.width, result.height) == (480, 320)  # the faces' boxes are the preview's
    assert sum(f.action.value == "block" for f in result.faces) == 2
    assert "preview differs" in result.hints

    # an export writes the picture alone, without the preview: judged as such, it is the adult's photo
    export = guard.check(cropped_with_old_preview, first_frame_of_mpo=True)
    assert export.verdict.value == "PASS" and not export.preview


def test_a_preview_that_is_the_picture_changes_nothing(guard, tmp_path):
    portrait = _portrait()
    small = portrait.copy()
    small.thumbnail((160, 120))
    path = write_photo_with_preview(tmp_path / "familja.jpg", portrait, small)
    result = guard.check(path)
    assert not result.preview and "preview differs" not in result.hints
    assert result.verdict.value == "BLOCK" and (result.width, result.height) == portrait.size


def test_the_command_says_the_faces_are_in_the_preview(cropped_with_old_preview, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    report, table = tmp_path / "r.json", tmp_path / "r.csv"
    code = main(["scan", str(cropped_with_old_preview), "--lang", "en", "--json", str(report), "--csv", str(table)])
    assert code == EXIT_BLOCK
    out = capsys.readouterr().out
    assert "the preview picture stored in the file (EXIF)" in out and "from before a crop" in out
    from minorguard.report.results_json import read_results

    [again] = read_results(report)  # the review page reads reports back
    assert again.preview == "EXIF" and (again.width, again.height) == (480, 320)
    [photo] = json.loads(report.read_text(encoding="utf-8"))["photos"]
    assert photo["preview"] == "EXIF" and photo["verdict"] == "BLOCK"
    rows = list(csv.DictReader(table.read_text(encoding="utf-8-sig").splitlines()))
    assert {r["preview"] for r in rows} == {"EXIF"}

    assert main(["scan", str(cropped_with_old_preview), "--lang", "sq"]) == EXIT_BLOCK
    assert "pamja paraprake e ruajtur në skedar (EXIF)" in capsys.readouterr().out


def test_an_export_of_it_leaves_the_preview_out(cropped_with_old_preview, tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    out = tmp_path / "publikim"
    assert main(["export", str(cropped_with_old_preview), "--out", str(out), "--lang", "en"]) == EXIT_PASS
    [copy] = [p for p in out.iterdir() if p.suffix == ".jpg"]
    assert exif_thumbnail(copy.read_bytes()) is None
    assert main(["scan", str(copy), "--lang", "en"]) == EXIT_PASS


def test_the_review_page_shows_the_preview_and_refuses_decisions_on_its_faces(guard, cropped_with_old_preview, tmp_path, monkeypatch):
    """Its faces' boxes are the preview's: a decision stored with them would be matched (by position) to the
    picture's faces on the next scan. The page shows them from the preview and says what to do instead."""
    from consent_db import Register
    from consent_db.reviews import Reviews
    from minorguard.review.app import ReviewApp, ReviewProblem

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    result = guard.check(cropped_with_old_preview)
    register = Register(tmp_path / "data" / "register.sqlite3")
    try:
        app = ReviewApp([result], Reviews(register), guard.policy, lang="en")
        state = app.photo_state(0)
        assert [f["decidable"] for f in state["faces"] if f["flagged"]] == [False, False]
        with Image.open(__import__("io").BytesIO(app.preview(0))) as shown:
            assert shown.size == (480, 320)  # the preview, where the boxes are
        girl = next(f["face"] for f in state["faces"] if f["model_kind"] != "adult" and f["flagged"])
        with pytest.raises(ReviewProblem) as refused:
            app.decide({"photo": 0, "face": girl, "kind": "allow", "reviewer": "Ana", "reason": "prova"})
        assert refused.value.status == 409 and "exported copy" in str(refused.value)
        assert Reviews(register).for_photo(result.sha256) == []
    finally:
        register.close()


def test_the_html_report_draws_the_preview(guard, cropped_with_old_preview, tmp_path):
    from minorguard.report.html import render_html

    result = guard.check(cropped_with_old_preview)
    page = render_html([result], "en")
    assert 'width="480" height="320"' in page  # the preview's picture, not the 240 x 427 crop
    assert "from before a crop" in page


def test_a_cameras_own_preview_is_taken_for_the_picture(guard, sample_images):
    """The Biden portrait carries the preview its camera wrote (160 x 128): the same picture, nothing to add."""
    from minorguard.photos.decode import load_photo
    from minorguard.photos.thumbnail import load_preview

    path = sample_images / "faceaisharp_biden_7mpx.jpg"
    photo = load_photo(path, target_long_side=2048)
    preview = load_preview(photo, max_pixels=100_000_000, target_long_side=2048, label="biden")
    assert preview is not None and preview.pixels.shape[:2] == (160, 128)
    assert same_picture(preview.pixels, photo.pixels)
    result = guard.check(path)
    assert not result.preview and "preview differs" not in result.hints


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = __import__("io").BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.mark.parametrize("where", ["Photoshop", "XMP"])
def test_photoshop_and_xmp_previews_are_judged_too(guard, tmp_path, where):
    from tests.exif_photo import photoshop_preview_segment, with_segment_after_soi, xmp_preview_segment

    portrait = _portrait()
    preview = _jpeg(portrait.resize((360, 240)), quality=80)
    segment = photoshop_preview_segment(preview) if where == "Photoshop" else xmp_preview_segment(preview)
    path = tmp_path / f"prerë_{where}.jpg"
    path.write_bytes(with_segment_after_soi(_jpeg(_left_adult_only(portrait), 92), segment))
    from minorguard.photos.thumbnail import embedded_previews

    assert [(p.where, p.data) for p in embedded_previews(path.read_bytes()) if p.declared] == [(where, preview)]
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == where and (result.width, result.height) == (360, 240)


def test_a_preview_that_cannot_be_decoded_is_an_error_not_a_pass(guard, tmp_path, capsys, monkeypatch):
    """Truncated, it may still show its top rows in a viewer: it could not be judged, so the file is not passed."""
    portrait = _portrait()
    whole = _jpeg(portrait.resize((480, 320)))
    path = tmp_path / "babai.jpg"
    from tests.exif_photo import exif_with_preview

    _left_adult_only(portrait).save(path, "JPEG", quality=92, exif=exif_with_preview(whole[: len(whole) // 2]))
    result = guard.check(path)
    assert result.verdict.value == "ERROR" and result.error_code == "preview_unreadable"
    assert "EXIF" in result.error
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    assert main(["scan", str(path), "--lang", "sq"]) == EXIT_BLOCK
    assert "pamje paraprake që nuk lexohet" in capsys.readouterr().out
    out = tmp_path / "kopje"
    assert main(["export", str(path), "--out", str(out), "--lang", "en"]) == EXIT_PASS  # its copy has no preview


def test_a_preview_too_small_to_judge_is_an_error_that_says_so(guard, tmp_path, capsys, monkeypatch):
    """A 1x1 preview decodes: it is ERROR because nothing in it can be judged, and says that, not "cannot be read"."""
    path = tmp_path / "babai_çelës.jpg"
    from tests.exif_photo import exif_with_preview

    _left_adult_only(_portrait()).save(path, "JPEG", quality=92, exif=exif_with_preview(_jpeg(Image.new("RGB", (1, 1)))))
    result = guard.check(path)
    assert result.verdict.value == "ERROR" and result.error_code == "preview_too_small"
    assert "1x1 pixels" in result.error and "cannot be read" not in result.error
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    assert main(["scan", str(path), "--lang", "sq"]) == EXIT_BLOCK
    out = capsys.readouterr().out
    assert "pamje paraprake shumë të vogël" in out and "nuk lexohet" not in out


def test_a_photo_too_small_to_judge_is_an_error_that_says_so(guard, tmp_path):
    path = tmp_path / "pikë.png"
    Image.new("RGB", (1, 5)).save(path)
    result = guard.check(path)
    assert result.verdict.value == "ERROR" and result.error_code == "too_small" and "1x5 pixels" in result.error


def _blurred_girls(portrait: Image.Image) -> Image.Image:
    """The portrait with both girls' faces (2 and 4) blurred beyond recognition, as an office would before posting."""
    from PIL import ImageFilter

    out = portrait.copy()
    for box in ((240, 95, 315, 195), (448, 80, 528, 175)):
        out.paste(out.crop(box).filter(ImageFilter.GaussianBlur(12)), box[:2])
    return out


def test_a_photo_whose_childrens_faces_were_blurred_but_whose_preview_was_kept_blocks(guard, tmp_path):
    """The audit's case: the preview is the picture as a whole (correlation 0.99), yet it shows the girls' faces
    sharp. Each identifiable face of the preview must lie on an identifiable face of the picture."""
    portrait = _portrait()
    blurred = tmp_path / "e_mjegulluar.jpg"
    _blurred_girls(portrait).save(blurred, "JPEG", quality=92)
    assert guard.check(blurred).verdict.value == "PASS"
    small = portrait.copy()
    small.thumbnail((320, 320))
    path = write_photo_with_preview(tmp_path / "e_mjegulluar_me_pamje.jpg", _blurred_girls(portrait), small)
    assert same_picture(np.asarray(small), np.asarray(_blurred_girls(portrait)))  # as a whole, the same
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"


def test_a_preview_in_a_file_of_several_frames_is_judged(guard, tmp_path):
    """An MPO (many cameras write them) whose picture is the cropped adult and whose EXIF preview is the family."""
    from tests.exif_photo import exif_with_preview

    portrait = _portrait()
    crop = _left_adult_only(portrait)
    path = tmp_path / "kamera.mpo"
    crop.save(path, "MPO", save_all=True, append_images=[crop.resize((120, 213))], quality=90,
              exif=exif_with_preview(_jpeg(portrait.resize((480, 320)))))
    with Image.open(path) as check:
        assert check.format == "MPO" and getattr(check, "n_frames", 1) == 2
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"
    assert guard.check(path, first_frame_of_mpo=True).verdict.value == "PASS"  # the export's copy: no preview


def test_a_library_callers_opened_image_has_its_preview_judged(guard, cropped_with_old_preview):
    with Image.open(cropped_with_old_preview) as image:
        result = guard.check(image)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"


def test_a_preview_declared_where_there_is_none_is_an_error(guard, tmp_path):
    """IFD1 names a preview beyond the EXIF block: it cannot be found, so it cannot be judged."""
    import struct

    from tests.exif_photo import exif_with_preview

    block = bytearray(exif_with_preview(b"\xff\xd8\xff\xd9"))
    # IFD1's JPEGInterchangeFormat entry: its value, the offset, sits 8 bytes into the entry (6 + 26 + 2 + 12 + 8)
    struct.pack_into("<I", block, 6 + 26 + 2 + 12 + 8, 60000)
    path = tmp_path / "pa_pamje.jpg"
    _left_adult_only(_portrait()).save(path, "JPEG", exif=bytes(block))
    result = guard.check(path)
    assert result.verdict.value == "ERROR" and result.error_code == "preview_unreadable"


def test_a_preview_passed_on_consents_is_judged_again_when_one_is_withdrawn(guard, tmp_path, monkeypatch, capsys):
    """The picture shows the father alone; the preview the girls too, passed on their consents. The consents the
    preview rests on are audited with the file and watched by an incremental run."""
    from register_fixtures import consent_for_the_portraits_girls

    from consent_db import Register
    from consent_db.reliance import relying_on
    from minorguard import CheckContext, Guard, open_checks

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    db = str(tmp_path / "data" / "regjistri.sqlite3")
    Register(db).close()
    with open_checks(db=db, context=CheckContext(channel="facebook"), tool="test", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        records = consent_for_the_portraits_girls(checks, tmp_path, ["facebook"])
    folder = tmp_path / "arkivi"
    folder.mkdir()
    portrait = _portrait()
    write_photo_with_preview(folder / "babai.jpg", _left_adult_only(portrait), portrait.resize((560, 373)))
    store, report = tmp_path / "rezultatet.sqlite3", tmp_path / "r.json"
    scan = ["scan", str(folder), "--channel", "facebook", "--date", "2026-12-01", "--db", db, "--incremental", str(store),
            "--json", str(report), "--no-group", "--lang", "en"]
    assert main(scan) == 1  # REVIEW: the younger girl may be under 13, where her consent's match goes to a person
    [photo] = json.loads(report.read_text(encoding="utf-8"))["photos"]
    # the preview's verdict is the worse, so its result is the file's: the consent it rests on is audited with the file
    assert photo["preview"] == "EXIF"
    assert sorted(f["reason"] for f in photo["faces"] if f["consent"]) == ["consent", "consent_young"]
    with Register(db) as reg:
        import hashlib

        sha = hashlib.sha256((folder / "babai.jpg").read_bytes()).hexdigest()
        assert {(r.photo_sha256, r.how) for r in relying_on(reg, consent=records[0])} == {(sha, "checked")}
        reg.withdraw_consent(records[0], "prindi e tërhoqi")
    capsys.readouterr()
    assert main(scan) == EXIT_BLOCK
    assert "1 photo(s) judged" in " ".join(capsys.readouterr().err.split())


def test_a_heic_thumbnail_item_is_a_preview_too(guard, monkeypatch):
    """A phone's HEIC carries thumbnail items. One written from the picture itself changes nothing; one that shows
    the whole family while the picture shows the father alone blocks. libheif writes thumbnails from the picture
    only, so the second file's thumbnail is made to decode as the family."""
    import io

    pillow_heif = pytest.importorskip("pillow_heif")
    from minorguard.photos.thumbnail import embedded_previews

    buffer = io.BytesIO()
    _left_adult_only(_portrait()).save(buffer, "HEIF", quality=80, thumbnails=[256])
    heic = buffer.getvalue()
    [(where, png, _)] = embedded_previews(heic)
    with Image.open(io.BytesIO(png)) as thumbnail:
        assert where == "HEIF" and max(thumbnail.size) == 256
    assert guard.check(heic).verdict.value == "PASS"

    family = _portrait().resize((256, 171))
    monkeypatch.setattr(pillow_heif.HeifThumbnail, "to_pillow", lambda self: family)
    result = guard.check(heic)
    assert result.verdict.value == "BLOCK" and result.preview == "HEIF"
    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(heic)) as opened:  # a library caller's opened HEIC: the same
        result = guard.check(opened)
    assert result.verdict.value == "BLOCK" and result.preview == "HEIF"
    with Image.open(io.BytesIO(heic)) as loaded:  # opened from memory and loaded: pillow-heif has let the thumbnails go
        loaded.load()
        result = guard.check(loaded)
        assert result.verdict.value == "ERROR" and result.error_code == "preview_unreadable"
        # a picture made from it is pixels (it keeps the info, not the file): judged as such, as an array is
        from PIL import ImageOps

        for derived in (loaded.convert("RGB"), ImageOps.exif_transpose(loaded), loaded.copy()):
            assert guard.check(derived).verdict.value == "PASS"


def _pixelated_girls(portrait: Image.Image, block: int) -> Image.Image:
    out = portrait.copy()
    for box in ((240, 95, 315, 195), (448, 80, 528, 175)):
        face = out.crop(box)
        w, h = face.size
        out.paste(face.resize((max(1, w // block), max(1, h // block)), Image.NEAREST).resize((w, h), Image.NEAREST), box[:2])
    return out


@pytest.mark.parametrize(("block", "side"), [(6, 480), (10, 480), (6, 320)])
def test_faces_pixelated_in_the_picture_but_sharp_in_the_kept_preview_block(guard, tmp_path, block, side):
    """The second audit's case: the mosaics read as identifiable adults in the picture, on the very boxes of the
    preview's sharp girls. A preview face counts unless the picture's face there was decided at least as strictly
    or has the preview's pixels."""
    portrait = _portrait()
    preview = portrait.copy()
    preview.thumbnail((side, side))
    path = write_photo_with_preview(tmp_path / "mozaik.jpg", _pixelated_girls(portrait, block), preview)
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"


@pytest.mark.parametrize("side", [160, 320, 480])
def test_a_preview_of_the_picture_itself_never_changes_its_result(guard, tmp_path, side):
    """A camera's preview at 160-480 px, JPEG-compressed: every face's pixels are the picture's, so the picture's
    decisions stand (whatever the smaller faces would read as), for the portrait and for the cropped father."""
    for name, picture in (("familja", _portrait()), ("babai", _left_adult_only(_portrait()))):
        small = picture.copy()
        small.thumbnail((side, side))
        plain = tmp_path / f"{name}_{side}_pa.jpg"
        picture.save(plain, "JPEG", quality=92)
        with_preview = write_photo_with_preview(tmp_path / f"{name}_{side}.jpg", picture, Image.open(__import__("io").BytesIO(_jpeg(small, 75))))
        expected, result = guard.check(plain), guard.check(with_preview)
        assert not result.preview and "preview differs" not in result.hints
        assert [(f.action, f.reason) for f in result.faces] == [(f.action, f.reason) for f in expected.faces]


def test_an_event_applies_to_a_previews_faces_on_the_files_time(tmp_path, monkeypatch, capsys):
    """The preview is published with the picture: the event declared for the scan is checked against the file's
    time for the preview's faces too (a photo taken months before the event is not exempt)."""
    from tests.exif_photo import write_exif_photo

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    assert main(["event", "add", "--name", "Festa e qytetit", "--start", "2026-06-01T10:00", "--end", "2026-06-01T18:00",
                 "--tz", "Europe/Tirane", "--basis", "public", "--justification", "festa publike në shesh", "--id", "festa",
                 "--lang", "en"]) == 0
    whole = write_exif_photo(tmp_path / "e_plota.jpg", taken="2026:03:03 10:00:00", offset="+01:00")
    with Image.open(whole) as image:
        exif = image.getexif()
    crop = tmp_path / "e_prera.jpg"
    from tests.exif_photo import photoshop_preview_segment, with_segment_after_soi

    buffer = __import__("io").BytesIO()
    _left_adult_only(_portrait()).save(buffer, "JPEG", quality=92, exif=exif)
    crop.write_bytes(with_segment_after_soi(buffer.getvalue(), photoshop_preview_segment(_jpeg(_portrait().resize((480, 320)), 80))))
    scan = ["scan", "--event", "festa", "--lang", "en", "--no-group"]
    full_code = main([*scan, str(whole)])
    assert full_code != EXIT_PASS  # taken three months before the event: not exempt on the event's say-so
    capsys.readouterr()
    assert main([*scan, str(crop)]) == full_code


def test_the_review_page_counts_a_previews_faces_and_takes_no_group_decision_on_them(guard, tmp_path, monkeypatch):
    """The picture shows the father and the left girl; its kept preview the whole family. The picture's BLOCK
    stands with the preview's faces beside it: a reviewer who allows the left girl leaves the page at BLOCK, as
    every scan of the file says (the right girl is in the preview). A person seen only in a preview result gets
    no group decision: its boxes would land on the picture."""
    from consent_db import Register
    from consent_db.reviews import Reviews
    from minorguard.review.app import ReviewApp, ReviewProblem

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    portrait = _portrait()
    path = write_photo_with_preview(tmp_path / "babai_vajza.jpg", portrait.crop((0, 0, 330, portrait.height)), portrait.resize((480, 320)))
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview is None and result.preview_faces
    register = Register(tmp_path / "data" / "register.sqlite3")
    try:
        app = ReviewApp([result], Reviews(register), guard.policy, lang="en")
        girl = next(f["face"] for f in app.photo_state(0)["faces"] if f["flagged"] and f["decidable"])
        state = app.decide({"photo": 0, "face": girl, "kind": "adult", "reviewer": "Ana", "reason": "prova"})
        assert state["verdict"] == "BLOCK"
        assert any("from before a crop" in note for note in state["notes"])

        previewed = guard.check(write_photo_with_preview(tmp_path / "babai.jpg", _left_adult_only(portrait), portrait.resize((480, 320))))
        # a report whose grouping numbered the preview's faces (scans do not group them; a report may say so)
        grouped = dataclasses.replace(previewed, faces=tuple(dataclasses.replace(f, group=1) for f in previewed.faces))
        app = ReviewApp([grouped], Reviews(register), guard.policy, lang="en")
        assert app.people
        for person in app.people.values():
            with pytest.raises(ReviewProblem) as refused:
                app.decide_group({"group": person.id, "kind": "adult", "reviewer": "Ana", "faces": [[0, 2], [0, 4]]})
            assert refused.value.status == 409
    finally:
        register.close()


def _family_preview_jpeg() -> bytes:
    return _jpeg(_portrait().resize((360, 240)), quality=80)


def test_previews_in_older_or_odd_xmp_are_found(guard, tmp_path):
    """The second audit's XMP cases: the older xapGImg prefix, an attribute in single quotes, and a file with two
    XMP packets whose first holds the preview (Pillow keeps only the last)."""
    import base64

    from tests.exif_photo import _segment, with_segment_after_soi

    picture = _jpeg(_left_adult_only(_portrait()), 92)
    text = base64.b64encode(_family_preview_jpeg()).decode("ascii")
    namespace = b"http://ns.adobe.com/xap/1.0/\x00"
    packets = {
        "xap": f"<x:xmpmeta><xapGImg:image>{text}</xapGImg:image></x:xmpmeta>",
        "single": f"<x:xmpmeta><rdf:li xmpGImg:format='JPEG' xmpGImg:image='{text}'/></x:xmpmeta>",
    }
    for name, packet in packets.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(with_segment_after_soi(picture, _segment(0xE1, namespace + packet.encode("ascii"))))
        result = guard.check(path)
        assert result.verdict.value == "BLOCK" and result.preview == "XMP", name
    two = with_segment_after_soi(picture, _segment(0xE1, namespace + b"<x:xmpmeta><dc:title>Festa</dc:title></x:xmpmeta>"))
    two = with_segment_after_soi(two, _segment(0xE1, namespace + packets["xap"].encode("ascii")))
    (tmp_path / "two.jpg").write_bytes(two)
    assert guard.check(tmp_path / "two.jpg").preview == "XMP"


def test_a_preview_in_a_cameras_maker_note_is_found_and_a_false_find_is_passed_over(guard, tmp_path):
    """Cameras keep a larger preview inside their maker note, which editors copy verbatim. It is found by its JPEG
    start marker; bytes that only look like one do not make the photo an ERROR."""
    def with_maker_note(note: bytes) -> Path:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x927C] = note
        path = tmp_path / f"shenim_{len(note)}.jpg"
        _left_adult_only(_portrait()).save(path, "JPEG", quality=92, exif=exif)
        return path

    found = guard.check(with_maker_note(b"Nikon\x00\x02\x10\x00\x00" + _family_preview_jpeg()))
    assert found.verdict.value == "BLOCK" and found.preview == "maker note"
    false_find = guard.check(with_maker_note(b"Nikon\x00" + b"\xff\xd8\xff\x00 not a picture" * 4))
    assert false_find.verdict.value == "PASS"


def test_a_tiffs_photoshop_preview_is_found(guard, tmp_path):
    """Photoshop keeps its image resources in a TIFF's tag 34377, the preview among them."""
    import struct

    from PIL import TiffImagePlugin

    jpeg = _family_preview_jpeg()
    data = struct.pack(">IIIIIIHH", 1, 360, 1080, 240, 259200, len(jpeg), 24, 1) + jpeg
    resource = b"8BIM" + struct.pack(">H", 0x040C) + b"\x00\x00" + struct.pack(">I", len(data)) + data + b"\x00" * (len(data) & 1)
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[34377] = resource
    info.tagtype[34377] = 1  # BYTE
    path = tmp_path / "prerë.tif"
    _left_adult_only(_portrait()).save(path, "TIFF", tiffinfo=info)
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == "Photoshop"


def test_previews_split_across_segments_are_found_whole(guard, tmp_path):
    """Two ways a JPEG splits metadata over 64 KB, each carrying the family portrait's preview in front of a picture
    of the father alone: Extended XMP (chunks under one GUID, here out of order) and Photoshop resources continued in
    a second APP13 segment. Joined, each preview is judged and blocks; unjoined, the XMP one was never seen (a pass)
    and the Photoshop one was cut short (ERROR)."""
    import base64

    from minorguard.photos.thumbnail import embedded_previews
    from tests.exif_photo import _segment, photoshop_preview_segment, with_segment_after_soi

    picture = _jpeg(_left_adult_only(_portrait()), 92)
    preview = _family_preview_jpeg()
    packet = f"<x:xmpmeta><xmpGImg:image>{base64.b64encode(preview).decode('ascii')}</xmpGImg:image></x:xmpmeta>".encode()
    guid, half = b"0123456789ABCDEF0123456789ABCDEF", len(packet) // 2
    extension = b"http://ns.adobe.com/xmp/extension/\x00"
    chunk = lambda offset, part: _segment(0xE1, extension + guid + len(packet).to_bytes(4, "big") + offset.to_bytes(4, "big") + part)
    xmp = with_segment_after_soi(with_segment_after_soi(picture, chunk(0, packet[:half])), chunk(half, packet[half:]))
    main_xmp = b"http://ns.adobe.com/xap/1.0/\x00" + b'<x:xmpmeta><rdf:Description xmpNote:HasExtendedXMP="' + guid + b'"/></x:xmpmeta>'
    xmp = with_segment_after_soi(xmp, _segment(0xE1, main_xmp))
    whole = photoshop_preview_segment(preview)[4:]  # the payload: "Photoshop 3.0", then the resource
    header, resource = whole[:14], whole[14:]
    cut = len(resource) // 3
    photoshop = with_segment_after_soi(picture, _segment(0xED, header + resource[cut:]))
    photoshop = with_segment_after_soi(photoshop, _segment(0xED, header + resource[:cut]))  # the first segment first
    for where, data in (("XMP", xmp), ("Photoshop", photoshop)):
        path = tmp_path / f"ndarë_{where}.jpg"
        path.write_bytes(data)
        assert [(p.where, p.data) for p in embedded_previews(data) if p.declared] == [(where, preview)]
        result = guard.check(path)
        assert result.verdict.value == "BLOCK" and result.preview == where, where


def test_an_uncompressed_exif_preview_is_judged_and_one_that_cannot_be_read_is_an_error(guard, tmp_path):
    """Older cameras stored the EXIF preview as uncompressed RGB strips, not as a JPEG: it was never seen (a pass
    for a crop whose preview shows the children). One whose strips are shorter than its picture is ERROR."""
    from minorguard.photos.thumbnail import embedded_previews
    from tests.exif_photo import exif_with_uncompressed_preview

    portrait = _portrait()
    # the girls, their faces about 50 px: uncompressed, a preview must stay under the 64 KB of an EXIF block
    preview = portrait.crop((230, 60, 540, 210)).resize((186, 90))
    exif = exif_with_uncompressed_preview(preview)
    path = tmp_path / "kamera_e_vjetër.jpg"
    _left_adult_only(portrait).save(path, "JPEG", quality=92, exif=exif)
    [found] = [p for p in embedded_previews(path.read_bytes()) if p.declared]
    with Image.open(__import__("io").BytesIO(found.data)) as shown:
        assert found.where == "EXIF" and shown.size == (186, 90) and shown.tobytes() == preview.convert("RGB").tobytes()
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == "EXIF"
    short = tmp_path / "e_prerë.jpg"
    _left_adult_only(portrait).save(short, "JPEG", quality=92, exif=exif[:-1000])
    result = guard.check(short)
    assert result.verdict.value == "ERROR" and result.error_code == "preview_unreadable"


def test_a_photoshop_preview_in_a_segment_that_does_not_join_the_others_is_still_found(guard, tmp_path):
    """Joining APP13 segments must not lose what reading each alone finds: here a first segment of resources ends
    with padding, so the joined stream stops there, and the thumbnail is in a second, complete segment."""
    import struct

    from minorguard.photos.thumbnail import embedded_previews
    from tests.exif_photo import _segment, photoshop_preview_segment, with_segment_after_soi

    picture = _jpeg(_left_adult_only(_portrait()), 92)
    preview = _family_preview_jpeg()
    caption = b"Festa e shkoll\xc3\xabs"
    other = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(caption)) + caption + b"\x00\x00\x00\x00"
    data = with_segment_after_soi(picture, photoshop_preview_segment(preview))
    data = with_segment_after_soi(data, _segment(0xED, b"Photoshop 3.0\x00" + other))  # the padded one first
    (tmp_path / "dy_mjete.jpg").write_bytes(data)
    assert [(p.where, p.data) for p in embedded_previews(data) if p.declared] == [("Photoshop", preview)]
    assert guard.check(tmp_path / "dy_mjete.jpg").verdict.value == "BLOCK"


def test_an_exif_block_declaring_both_a_jpeg_and_an_uncompressed_preview_gives_both():
    """Each declared preview is judged: one declaration must not hide the other."""
    from minorguard.photos.thumbnail import _exif_previews

    tiff = b"II*\x00\x08\x00\x00\x00" + b"\xff\xd8\xff\xd9" + bytes([255, 0, 0, 0, 255, 0])
    ifd1 = {0x0201: 8, 0x0202: 4, 0x0103: 1, 0x0100: 2, 0x0101: 1, 0x0111: 12, 0x0117: 6}
    jpeg, strips = _exif_previews(b"Exif\x00\x00" + tiff, ifd1)
    assert jpeg == b"\xff\xd8\xff\xd9"
    with Image.open(__import__("io").BytesIO(strips)) as shown:
        assert shown.size == (2, 1) and list(shown.getdata()) == [(255, 0, 0), (0, 255, 0)]


def _with_the_portrait_hidden(where: str, path: Path) -> Path:
    """The father alone, with the whole portrait hidden where the audit put it: in the JPEG's comment, in its ICC
    profile after a real profile, or as a HEIC's metadata item of another type than pillow-heif shows."""
    from PIL import ImageCms

    portrait = _portrait()
    hidden = _jpeg(portrait, 60)
    father = _left_adult_only(portrait)
    if where == "comment":
        father.save(path, "JPEG", quality=92, comment=hidden)
    elif where == "ICC profile":
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        father.save(path, "JPEG", quality=92, icc_profile=profile + hidden)
    else:
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
        father.save(path, "HEIF", quality=80, metadata=[{"type": "mime", "content_type": "image/jpeg", "data": hidden}])
    return path


@pytest.mark.parametrize("where, name", [("comment", "koment.jpg"), ("ICC profile", "profili.jpg"), ("HEIF metadata", "send.heic")])
def test_a_picture_hidden_in_a_comment_an_icc_profile_or_a_heic_item_is_judged(guard, tmp_path, where, name):
    """The audit's case: the whole portrait inside the father's photo passed the scan (only APPn segments were searched,
    ICC profiles skipped), and export copied the comment and the profile with the picture in them."""
    path = _with_the_portrait_hidden(where, tmp_path / name)
    result = guard.check(path)
    assert result.verdict.value == "BLOCK" and result.preview == where, (result.verdict, result.preview)
    from minorguard.publish.export import export_photos

    photo = export_photos(guard, [path], tmp_path / "kopje").photos[0]
    assert photo.status.value == "exported"
    copy = (tmp_path / "kopje" / name).read_bytes()
    assert copy.count(b"\xff\xd8\xff") == (1 if name.endswith(".jpg") else 0)  # a JPEG's own start, nothing else
    assert guard.check(tmp_path / "kopje" / name).verdict.value == "PASS"
