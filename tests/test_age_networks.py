"""The networks converted from the npm registry (two age networks, dlib's descriptor): their files, their integrity
check, real faces."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from minorguard.models import converted
from minorguard.models.age_networks import FaceApiAgeModel, FaceResAgeModel, crop_face, fuse_readings
from minorguard.models.base import ModelError, sha256_of_file
from minorguard.models.dlib_models import EMBED_CHIP_PADDING, EMBED_CHIP_SIZE, DlibEmbedder
from minorguard.photos.decode import load_photo
from minorguard.types import Box


@pytest.fixture(scope="module")
def faceres() -> FaceResAgeModel:
    return FaceResAgeModel()


@pytest.fixture(scope="module")
def faceapi() -> FaceApiAgeModel:
    return FaceApiAgeModel()


def test_committed_files_match_their_provenance_and_carry_licences():
    provenance = json.loads(converted.PROVENANCE.read_text(encoding="utf-8"))["networks"]
    for key, licence_file, licence in (("faceres", "faceres", "Apache License"), ("faceapi", "faceapi", "MIT License"),
                                       ("descriptor", "faceapi", "MIT License")):
        info = provenance[key]
        path = converted.WEIGHTS / info["result_file"].rsplit("/", 1)[-1]
        assert sha256_of_file(path) == info["result_sha256"]
        assert info["licence_file"].endswith(f"LICENSE.{licence_file}.txt")
        assert licence in (converted.WEIGHTS / f"LICENSE.{licence_file}.txt").read_text(encoding="utf-8")
        assert info["reference_check"]["max_abs_diff"]  # the conversion was checked against the original model


def test_a_changed_model_file_refuses_to_load(tmp_path, monkeypatch):
    for name in ("age_faceres.onnx", "age_faceapi.onnx", "descriptor_faceapi.onnx", "age_networks_provenance.json"):
        shutil.copy(converted.WEIGHTS / name, tmp_path / name)
    for name in ("age_faceapi.onnx", "descriptor_faceapi.onnx"):
        changed = bytearray((tmp_path / name).read_bytes())
        changed[-1] ^= 1
        (tmp_path / name).write_bytes(bytes(changed))
    monkeypatch.setattr(converted, "PROVENANCE", tmp_path / "age_networks_provenance.json")
    FaceResAgeModel()  # untouched: loads
    with pytest.raises(ModelError, match="changed"):
        FaceApiAgeModel()
    with pytest.raises(ModelError, match="changed"):
        DlibEmbedder()
    (tmp_path / "age_faceres.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        FaceResAgeModel()


def test_crop_pads_outside_the_photo_with_zeros_and_mirrors():
    rgb = np.full((100, 100, 3), 200, np.uint8)
    crop = crop_face(rgb, Box(-10, 20, 40, 60), 1.0, square=True)
    assert crop.shape == (60, 60, 3)
    assert crop[:, :20].max() == 0 and crop[:, 25:].min() == 200
    assert np.array_equal(crop_face(rgb, Box(-10, 20, 40, 60), 1.0, square=True, mirrored=True), crop[:, ::-1])


def test_fused_distribution_keeps_each_network_and_sums_to_one():
    faceres = np.zeros(100)
    faceres[39] = 1  # age 40
    fused = fuse_readings({"cydral": np.full(81, 1 / 81), "faceres": faceres, "faceapi": np.array([12.0])})
    assert fused.sum() == pytest.approx(1.0)
    assert fused[40] == pytest.approx(0.5) and fused[6:19].sum() > 0.45  # a disagreement spreads the distribution
    assert fused[:18].sum() > 0.45  # so its lower percentile follows the younger reading


def test_networks_read_the_portraits_girls_younger_than_their_parents(faceres, faceapi, sample_images):
    photo = load_photo(sample_images / "faceaisharp_obama_family.jpg")
    from minorguard.models.pack import default_detector

    faces = sorted(default_detector().detect(photo.pixels), key=lambda f: f.box.x)
    assert len(faces) == 4
    boxes = [f.box for f in faces]
    res = faceres.distributions(photo.pixels, boxes) @ faceres.ages
    api = faceapi.predict_ages(photo.pixels, boxes)
    # left to right: mother, older girl, father, younger girl
    assert res[3] < 18 and res[3] < min(res[0], res[2])
    assert min(api[1], api[3]) < min(api[0], api[2])
    assert all(np.isfinite(res)) and all(np.isfinite(api))


@pytest.mark.shared
def test_networks_on_a_child_and_an_adult_from_shared(faceres, faceapi, shared):
    from minorguard.models.pack import default_detector

    base = shared / "eval" / "age" / "fgnet_dev"
    with open(base / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    child = next(r for r in rows if 4 <= int(r["age"]) <= 7)
    adult = next(r for r in rows if 35 <= int(r["age"]) <= 50)
    detector = default_detector()
    readings = {}
    for row in (child, adult):
        photo = load_photo(base / row["path"])
        face = max(detector.detect(photo.pixels), key=lambda f: f.box.height)
        readings[row["path"]] = (float(faceres.distributions(photo.pixels, [face.box])[0] @ faceres.ages),
                                 float(faceapi.predict_ages(photo.pixels, [face.box])[0]))
    assert max(readings[child["path"]]) < 14, readings
    assert min(readings[adult["path"]]) > 22, readings


def test_every_default_pack_file_is_checked_against_its_pin(tmp_path, monkeypatch):
    """A weight file of the default pack whose bytes changed refuses to load (issue: model integrity)."""
    from minorguard.models import dlib_models, pins
    from minorguard.models.pack import load_pack

    pack = load_pack()
    listed = {f.sha256 for f in pack.files()}
    assert set(pins.PINNED_SHA256.values()) <= listed  # every pin is a file the pack lists
    monkeypatch.setitem(pins.PINNED_SHA256, "cydral-age", "0" * 64)
    with pytest.raises(ModelError, match="changed"):
        dlib_models.CydralAgeModel()


def test_the_onnx_descriptor_is_dlibs_own_on_real_faces(sample_images):
    """The descriptor the register stores comes from face-api.js's copy of dlib's weights, run as ONNX: on the
    family portrait's faces it must agree with dlib's own network on the same chip (the 1-px box-shift noise that
    every threshold already absorbs is larger: benchmarks/descriptor_onnx.py)."""
    models = pytest.importorskip("face_recognition_models", reason="dlib's own descriptor weights: pip install -e '.[test]'")
    import dlib

    from minorguard.models.pack import default_detector

    photo = load_photo(sample_images / "faceaisharp_obama_family.jpg")
    faces = default_detector().detect(photo.pixels)
    assert len(faces) == 4
    embedder = DlibEmbedder()
    ours = embedder.embed(photo.pixels, faces)
    theirs = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    aligner = embedder.aligner
    for face, vector in zip(faces, ours):
        chip = aligner.chip(photo.pixels, aligner.shape(photo.pixels, face), EMBED_CHIP_SIZE, EMBED_CHIP_PADDING)
        own = np.asarray(theirs.compute_face_descriptor(chip), np.float64)
        assert float(vector @ own / np.linalg.norm(own)) > 0.999
    assert np.linalg.norm(ours, axis=1) == pytest.approx(1.0, abs=1e-5)
    different = ours @ ours.T
    assert different[~np.eye(4, dtype=bool)].max() < 0.95  # four people, four descriptors
    assert embedder.embed(photo.pixels, []).shape == (0, 128)
