"""The insightface pack loads a user's folder of ONNX models, offline, by signature.

No insightface weights ship with minorguard (their licence is non-commercial),
so the test builds tiny ONNX files with the signatures insightface's router
and classes expect, and simple weights whose outputs are predictable:

* detector (SCRFD layout, 9 outputs, strides 8/16/32, 2 anchors, landmarks):
  only stride 32 scores, and only on the 32 px cell whose mean brightness is the
  image's maximum (score sigmoid(2)); its box is that cell, its landmarks sit
  at fixed places inside it;
* genderage: 1x3x96x96 -> 1x3, constant (gender 1, age 0.30 -> 30 years);
* ArcFace: Nx3x112x112 -> Nx512, a fixed random projection of the 14 px
  pooled chip, so it depends on the aligned pixels.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

onnx = pytest.importorskip("onnx")
pytest.importorskip("insightface")
from onnx import TensorProto, helper, numpy_helper

from minorguard.models.base import ModelError
from minorguard.models.insightface_pack import (
    GENDERAGE_AGE_SD,
    INSIGHTFACE_LICENCE,
    load_insightface_pack,
)
from minorguard.models.pack import ModelPack, load_pack
from minorguard.types import DetectedFace

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_images" / "faceaisharp_obama_family.jpg"
SCORE = 1 / (1 + math.exp(-2.0))  # what the fake detector gives its one hit
MARKS = (0.3, 0.35, 0.7, 0.35, 0.5, 0.55, 0.35, 0.75, 0.65, 0.75)  # in stride units from the cell corner


def _opset():
    return [helper.make_opsetid("", 13)]


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=_opset(), producer_name="minorguard-test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _head(name: str, x: str, stride: int, channels: int, bias: np.ndarray, k: int, nodes, inits, weight=None):
    """A stride x stride conv (constant unless ``weight``) reshaped to SCRFD's (N, k) rows."""
    w = np.zeros((channels, 3, stride, stride), np.float32) if weight is None else weight
    inits += [numpy_helper.from_array(w, f"{name}_w"), numpy_helper.from_array(bias.astype(np.float32), f"{name}_b")]
    inits.append(numpy_helper.from_array(np.array([-1, k], np.int64), f"{name}_shape"))
    nodes += [
        helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [f"{name}_c"], kernel_shape=[stride, stride], strides=[stride, stride]),
        helper.make_node("Transpose", [f"{name}_c"], [f"{name}_t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", [f"{name}_t", f"{name}_shape"], [name]),
    ]


def build_detector(path: Path) -> Path:
    nodes: list = []
    inits: list = []
    outputs = {"score": [], "bbox": [], "kps": []}
    for stride in (8, 16, 32):
        n = f"n{stride}"
        if stride == 32:
            # mean brightness of each 32 px cell, for both anchors
            mean_w = np.full((2, 3, 32, 32), 1.0 / (3 * 32 * 32), np.float32)
            _head("bright", "input.1", 32, 2, np.zeros(2), 1, nodes, inits, weight=mean_w)
            inits += [numpy_helper.from_array(np.array(200.0, np.float32), "gain"), numpy_helper.from_array(np.array(2.0, np.float32), "offset")]
            nodes += [
                helper.make_node("ReduceMax", ["bright"], ["peak"], axes=[0, 1], keepdims=1),
                helper.make_node("Sub", ["bright", "peak"], ["below"]),
                helper.make_node("Mul", ["below", "gain"], ["scaled"]),
                helper.make_node("Add", ["scaled", "offset"], ["logit"]),
                helper.make_node("Sigmoid", ["logit"], ["score_32"]),
            ]
        else:
            _head(f"score_{stride}", "input.1", stride, 2, np.full(2, -10.0), 1, nodes, inits)
        _head(f"bbox_{stride}", "input.1", stride, 8, np.tile([0.0, 0.0, 1.0, 1.0], 2), 4, nodes, inits)
        _head(f"kps_{stride}", "input.1", stride, 20, np.tile(MARKS, 2), 10, nodes, inits)
        outputs["score"].append(helper.make_tensor_value_info(f"score_{stride}", TensorProto.FLOAT, [n, 1]))
        outputs["bbox"].append(helper.make_tensor_value_info(f"bbox_{stride}", TensorProto.FLOAT, [n, 4]))
        outputs["kps"].append(helper.make_tensor_value_info(f"kps_{stride}", TensorProto.FLOAT, [n, 10]))
    graph = helper.make_graph(
        nodes,
        "scrfd_like",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "?", "?"])],
        outputs["score"] + outputs["bbox"] + outputs["kps"],  # SCRFD reads scores, boxes, landmarks by stride
        inits,
    )
    return _save(graph, path)


def build_genderage(path: Path) -> Path:
    inits = [
        numpy_helper.from_array(np.zeros((3, 3), np.float32), "fc_w"),
        numpy_helper.from_array(np.array([0.2, 0.8, 0.30], np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("GlobalAveragePool", ["data"], ["pooled"], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["fc1"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "genderage_like",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3])],
        inits,
    )
    return _save(graph, path)


def build_arcface(path: Path) -> Path:
    rng = np.random.default_rng(5)
    inits = [
        numpy_helper.from_array(rng.standard_normal((192, 512)).astype(np.float32), "proj_w"),
        numpy_helper.from_array(np.zeros(512, np.float32), "proj_b"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["input.1"], ["pooled"], kernel_shape=[14, 14], strides=[14, 14], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "proj_w", "proj_b"], ["683"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_like",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["None", 512])],
        inits,
    )
    return _save(graph, path)


BUILDERS = {"det_10g.onnx": build_detector, "genderage.onnx": build_genderage, "w600k_r50.onnx": build_arcface}


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("buffalo_fake")
    for name, build in BUILDERS.items():
        build(folder / name)
    return folder


@pytest.fixture(scope="module")
def pack(model_folder) -> ModelPack:
    return load_insightface_pack(model_folder, 0.5)


@pytest.fixture(scope="module")
def sample_rgb() -> np.ndarray:
    with Image.open(SAMPLE) as image:
        return np.asarray(image.convert("RGB"))


def _blob_image(width=1000, height=700, cx=613.0, cy=341.0, sigma=60.0) -> np.ndarray:
    """Black image with one bright Gaussian spot: the fake detector's only face."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    spot = 255.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return np.repeat(spot[..., None], 3, axis=2).astype(np.uint8)


# -- loading -----------------------------------------------------------------


def test_folder_loads_through_model_zoo(pack):
    import insightface.model_zoo as zoo

    assert pack.name.startswith("insightface:")
    assert isinstance(pack.detector._model, zoo.SCRFD)
    assert isinstance(pack.age_model._model, zoo.Attribute)
    assert isinstance(pack.embedder._model, zoo.ArcFaceONNX)
    assert pack.embedder.dimension == 512
    assert "non-commercial" in pack.licence_note


def test_load_pack_dispatches_a_folder(model_folder):
    pack = load_pack(model_folder, detector_threshold=0.7)
    assert pack.detector.score_threshold == 0.7
    assert pack.detector.name == "scrfd:det_10g"


def test_roles_come_from_the_onnx_signature_not_the_name(tmp_path):
    folder = tmp_path / "modelet e zyrës ç"  # Albanian folder names work too
    folder.mkdir()
    # every file carries another role's name
    build_detector(folder / "w600k_r50.onnx")
    build_genderage(folder / "det_10g.onnx")
    build_arcface(folder / "genderage.onnx")
    pack = load_insightface_pack(folder, 0.5)
    assert pack.name == "insightface:modelet e zyrës ç"
    assert Path(pack.detector.files()[0].location).name == "w600k_r50.onnx"
    assert Path(pack.age_model.files()[0].location).name == "det_10g.onnx"
    assert Path(pack.embedder.files()[0].location).name == "genderage.onnx"


def test_nothing_touches_the_network(model_folder, monkeypatch, tmp_path, sample_rgb):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HOME", str(tmp_path))  # insightface's cache root is ~/.insightface
    pack = load_insightface_pack(model_folder, 0.5)
    faces = pack.detector.detect(sample_rgb)
    pack.age_model.age_distributions(sample_rgb, faces)
    pack.embedder.embed(sample_rgb, faces)
    assert not (tmp_path / ".insightface").exists(), "insightface created its download cache"


# -- running on a real photo -------------------------------------------------


def test_detect_on_a_real_photo(pack, sample_rgb):
    faces = pack.detector.detect(sample_rgb)
    h, w = sample_rgb.shape[:2]
    assert 1 <= len(faces) <= len(pack.detector.input_sizes)  # one hit per detector size at most
    for face in faces:
        assert isinstance(face, DetectedFace)
        assert face.score == pytest.approx(SCORE, abs=1e-4)
        assert len(face.landmarks) == 5 and all(len(p) == 2 for p in face.landmarks)
        b = face.box
        assert 0 <= b.x < b.x2 <= w and 0 <= b.y < b.y2 <= h
        assert all(b.x <= x <= b.x2 and b.y <= y <= b.y2 for x, y in face.landmarks)
        assert face.detector == "scrfd:det_10g"


def test_boxes_are_in_input_image_pixels(pack):
    cx, cy = 613.0, 341.0  # inside a 32 px cell at both detector sizes, not on its edge
    faces = pack.detector.detect(_blob_image(cx=cx, cy=cy))
    # one hit per detector size: 640 px (scale 0.64) and 1280 px (scale 1.28)
    assert sorted(round(f.box.width) for f in faces) == [25, 50]
    for face in faces:
        # the brightest cell holds the spot's centre, mapped back to the photo's pixels
        assert face.box.x < cx < face.box.x2 and face.box.y < cy < face.box.y2


def test_threshold_above_the_score_finds_nothing(model_folder, sample_rgb):
    strict = load_insightface_pack(model_folder, 0.95)
    assert strict.detector.detect(sample_rgb) == []


def test_age_distributions(pack, sample_rgb):
    faces = pack.detector.detect(sample_rgb)
    probs = pack.age_model.age_distributions(sample_rgb, faces)
    ages = pack.age_model.ages
    assert isinstance(ages, np.ndarray) and ages[0] == 0 and ages[-1] == 100
    assert probs.shape == (len(faces), len(ages)) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert all(ages[row.argmax()] == 30 for row in probs)  # the fake model says age 0.30
    expected = probs @ ages
    spread = np.sqrt(probs @ (ages - 30) ** 2)
    np.testing.assert_allclose(expected, 30, atol=0.5)
    np.testing.assert_allclose(spread, GENDERAGE_AGE_SD, rtol=0.05)
    assert pack.age_model.age_distributions(sample_rgb, []).shape == (0, len(ages))


def test_embeddings_are_normalised_and_follow_the_landmarks(pack, sample_rgb):
    faces = pack.detector.detect(sample_rgb)
    vectors = pack.embedder.embed(sample_rgb, faces)
    assert vectors.shape == (len(faces), 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # shifting the photo and the landmarks together gives the same aligned chip
    face = faces[0]
    shifted = np.zeros_like(sample_rgb)
    shifted[:, 10:] = sample_rgb[:, :-10]
    moved = DetectedFace(face.box, face.score, tuple((x + 10, y) for x, y in face.landmarks), face.detector)
    again = pack.embedder.embed(shifted, [moved])
    np.testing.assert_allclose(again[0], vectors[0], atol=1e-4)
    # a different face position gives a different vector
    other = DetectedFace(face.box, face.score, tuple((x + 150, y + 40) for x, y in face.landmarks), face.detector)
    assert float(pack.embedder.embed(sample_rgb, [other])[0] @ vectors[0]) < 0.99
    assert pack.embedder.embed(sample_rgb, []).shape == (0, 512)


def test_embedding_without_landmarks_is_refused(pack, sample_rgb):
    face = pack.detector.detect(sample_rgb)[0]
    with pytest.raises(ModelError, match="landmarks"):
        pack.embedder.embed(sample_rgb, [DetectedFace(face.box, face.score, (), "other")])


# -- the models command and clear errors ---------------------------------------


def test_models_command_lists_files_with_sha256_and_licence(model_folder, capsys, monkeypatch):
    from minorguard import cli

    monkeypatch.setattr(cli.console, "width", 400)  # keep each sha256 on one line
    assert cli.main(["models", "--models", str(model_folder), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    for name in BUILDERS:
        digest = hashlib.sha256((model_folder / name).read_bytes()).hexdigest()
        assert digest in out, f"{name} sha256 not listed"
        assert str(model_folder / name) in out
    assert out.count(INSIGHTFACE_LICENCE) >= 3
    for role in ("detector", "age", "embedding"):
        assert role in out


@pytest.mark.parametrize("missing, role", [("det_10g.onnx", "detector"), ("genderage.onnx", "genderage"), ("w600k_r50.onnx", "recognition")])
def test_missing_model_is_named(model_folder, tmp_path, capsys, missing, role):
    from minorguard import cli

    for name in BUILDERS:
        if name != missing:
            shutil.copy(model_folder / name, tmp_path / name)
    with pytest.raises(ModelError, match=f"lacks {role}"):
        load_insightface_pack(tmp_path, 0.5)
    assert cli.main(["models", "--models", str(tmp_path), "--lang", "en"]) == 64
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert f"lacks {role}" in err and "Traceback" not in err


def test_empty_folder(tmp_path, capsys):
    from minorguard import cli

    (tmp_path / "readme.txt").write_text("no models here")
    with pytest.raises(ModelError, match="no .onnx files"):
        load_insightface_pack(tmp_path, 0.5)
    assert cli.main(["models", "--models", str(tmp_path)]) == 64


@pytest.mark.parametrize("content", [b"", b"this is not a model\n", b"\x08\x07" + bytes(range(256)) * 4])
def test_invalid_onnx_file_is_named(model_folder, tmp_path, capsys, content):
    from minorguard import cli

    for name in BUILDERS:
        shutil.copy(model_folder / name, tmp_path / name)
    (tmp_path / "broken.onnx").write_bytes(content)
    with pytest.raises(ModelError, match="broken.onnx.*not a valid ONNX model"):
        load_insightface_pack(tmp_path, 0.5)
    assert cli.main(["models", "--models", str(tmp_path)]) == 64
    assert "broken.onnx" in " ".join(capsys.readouterr().err.split())


def test_two_models_for_one_role_are_refused(model_folder, tmp_path):
    for name in BUILDERS:
        shutil.copy(model_folder / name, tmp_path / name)
    build_arcface(tmp_path / "glintr100.onnx")
    with pytest.raises(ModelError, match="2 recognition models"):
        load_insightface_pack(tmp_path, 0.5)


def test_a_path_that_is_no_folder(tmp_path):
    with pytest.raises(ModelError):
        load_pack(tmp_path / "nowhere")


def test_scan_runs_with_the_folder_and_names_the_pack(model_folder, tmp_path):
    import json

    from minorguard import cli

    out = tmp_path / "r.json"
    code = cli.main(["scan", str(SAMPLE), "--models", str(model_folder), "--json", str(out), "--lang", "en"])
    assert code in (cli.EXIT_PASS, cli.EXIT_REVIEW, cli.EXIT_BLOCK)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert "insightface:" in report["model_pack"] and "scrfd:det_10g" in report["model_pack"]
    photo = report["photos"][0]
    assert photo["verdict"] != "ERROR" and len(photo["faces"]) >= 1
    assert all("insightface:" in p["model_pack"] for p in report["photos"])
    # the calibrated estimator was fitted on the default pack's age model: not applied here
    assert report["policy"]["minor_rule"] == "challenge_age" and "minor estimator raw" in report["model_pack"]


def test_scan_with_an_incomplete_folder_is_a_usage_error(model_folder, tmp_path, capsys):
    from minorguard import cli

    shutil.copy(model_folder / "det_10g.onnx", tmp_path / "det_10g.onnx")
    assert cli.main(["scan", str(SAMPLE), "--models", str(tmp_path)]) == cli.EXIT_USAGE  # Albanian by default
    err = " ".join(capsys.readouterr().err.split())
    assert "i mungon genderage, recognition" in err and "genderage: modeli i atributeve gjini-moshë" in err


def test_files_that_differ_from_the_folders_own_manifest_are_refused(model_folder, tmp_path):
    """The audit's case: forged graphs (a detector that finds no face) loaded beside insightface's own manifest.json,
    which insightface refuses them by, and every photo passed."""
    import hashlib
    import json
    import shutil

    folder = tmp_path / "buffalo_ç"
    shutil.copytree(model_folder, folder)
    detector = next(p for p in folder.glob("*.onnx") if "det" in p.name)
    digest = hashlib.sha256(detector.read_bytes()).hexdigest()
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"manifest_version": 2, "tasks": {"detection": {"file": detector.name, "sha256": digest}}}))
    assert load_insightface_pack(folder, 0.5).detector is not None  # as pinned: used
    manifest.write_text(json.dumps({"manifest_version": 2, "tasks": {"detection": {"file": detector.name, "sha256": "0" * 64}}}))
    with pytest.raises(ModelError, match="differs from the sha256"):
        load_insightface_pack(folder, 0.5)
    manifest.write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read"):
        load_insightface_pack(folder, 0.5)


# -- a folder or a model that cannot be read, loaded or run --------------------


def _copy_pack(model_folder: Path, folder: Path, leave_out: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in BUILDERS:
        if name != leave_out:
            shutil.copy(model_folder / name, folder / name)
    return folder


def build_arcface_onnx_runtime_refuses(path: Path) -> Path:
    """ArcFace's signature (so it takes the recognition role), valid ONNX, but one node is an operator of a domain
    ONNX Runtime does not know: its session cannot be created."""
    build_arcface(path)
    model = onnx.load(str(path))
    graph = model.graph
    graph.node[-1].output[0] = "683_plain"
    graph.node.append(helper.make_node("Unheard", ["683_plain"], ["683"], domain="org.minorguard.none", name="unheard"))
    model.opset_import.append(helper.make_opsetid("org.minorguard.none", 1))
    onnx.save(model, str(path))
    return path


def build_misshapen_detector(path: Path) -> Path:
    """The SCRFD layout (9 outputs), but stride 8's boxes cut to 7 rows: ONNX Runtime runs it, and insightface's
    decoding then fails on every picture ("operands could not be broadcast together with shapes (..) (7,)")."""
    build_detector(path)
    model = onnx.load(str(path))
    graph = model.graph
    next(n for n in graph.node if "bbox_8" in n.output).output[0] = "bbox_8_all"
    for name, value in (("cut_start", [0]), ("cut_end", [7]), ("cut_axis", [0])):
        graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    graph.node.append(helper.make_node("Slice", ["bbox_8_all", "cut_start", "cut_end", "cut_axis"], ["bbox_8"], name="cut"))
    onnx.save(model, str(path))
    return path


def test_a_model_folder_that_cannot_be_listed_is_one_line_in_the_runs_language(model_folder, tmp_path, unlistable, capsys):
    """Was exit 70 and "gabim: PermissionError: [Errno 13] Permission denied: '...'"."""
    from minorguard import cli

    folder = _copy_pack(model_folder, tmp_path / "modelet ç")
    unlistable(folder)
    with pytest.raises(ModelError, match="cannot be read \\(permission denied\\)"):
        load_insightface_pack(folder, 0.5)
    assert cli.main(["models", "--models", str(folder)]) == cli.EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert f"dosja e modeleve {folder} nuk lexohet (nuk ka leje)" in err and "PermissionError" not in err
    # the local engine: the workers of the isolated one are other processes, which this test's refusal does not reach
    assert cli.main(["scan", str(SAMPLE), "--models", str(folder), "--engine", "local", "--lang", "en"]) == cli.EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert f"the model folder {folder} cannot be read (permission denied)" in err and "Errno" not in err


def test_a_model_file_that_cannot_be_read_is_not_called_invalid(model_folder, tmp_path, monkeypatch, capsys):
    import builtins

    from minorguard import cli

    folder = _copy_pack(model_folder, tmp_path / "modelet")
    closed = str(folder / "genderage.onnx")
    real_open = builtins.open

    def refusing(file, *args, **kwargs):
        if str(file) == closed:
            raise PermissionError(13, "Permission denied", closed)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing)
    with pytest.raises(ModelError, match="genderage.onnx in .* cannot be read \\(permission denied\\)"):
        load_insightface_pack(folder, 0.5)
    assert cli.main(["models", "--models", str(folder)]) == cli.EXIT_USAGE
    err = " ".join(capsys.readouterr().err.split())
    assert f"genderage.onnx në {folder} nuk lexohet (nuk ka leje)" in err
    assert "ONNX" not in err and "Errno" not in err


def test_a_recognition_model_onnx_runtime_refuses_stops_every_command_before_any_photo(model_folder, tmp_path, capsys):
    """The ArcFace session loaded when a photo first needed it: `models` refused the pack, a one-photo scan gave a
    verdict, and a grouped scan made every photo ERROR."""
    from minorguard import cli
    from minorguard.pipeline import Guard

    folder = _copy_pack(model_folder, tmp_path / "buffalo", leave_out="w600k_r50.onnx")
    build_arcface_onnx_runtime_refuses(folder / "w600k_r50.onnx")
    with pytest.raises(ModelError, match="w600k_r50.onnx in .* did not load as an ONNX model"):
        Guard(pack=str(folder))
    assert cli.main(["models", "--models", str(folder), "--lang", "en"]) == cli.EXIT_USAGE
    line = " ".join(capsys.readouterr().err.split())
    assert "w600k_r50.onnx" in line and "did not load" in line
    report = tmp_path / "r.json"
    for engine in ("isolated", "local"):  # isolated: the scan's default, its workers and driver each load the pack
        code = cli.main(["scan", str(SAMPLE), "--models", str(folder), "--engine", engine, "--json", str(report), "--lang", "en"])
        assert code == cli.EXIT_USAGE, engine
        assert " ".join(capsys.readouterr().err.split()) == line, engine  # the one line `models` gives
        assert not report.exists()


def test_a_detector_that_fails_on_any_picture_stops_before_any_photo_is_judged(model_folder, tmp_path, capsys):
    """Was "ERROR a.jpg: ValueError: operands could not be broadcast together with shapes (12800,) (7,)" per photo."""
    from minorguard import cli

    folder = _copy_pack(model_folder, tmp_path / "buffalo", leave_out="det_10g.onnx")
    build_misshapen_detector(folder / "det_10g.onnx")
    with pytest.raises(ModelError, match="det_10g.onnx in .* failed when run on a trial picture") as raised:
        load_insightface_pack(folder, 0.5)
    assert raised.value.code == "trial_failed" and "ValueError" in str(raised.value)
    assert cli.main(["scan", str(SAMPLE), str(SAMPLE), "--models", str(folder)]) == cli.EXIT_USAGE  # Albanian
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert f"det_10g.onnx në {folder} u ngarkua, por dështoi kur u provua në një figurë prove" in err
    assert "Traceback" not in err and "ValueError" in err  # the model's own words only after the line that names it
    assert captured.out == ""  # no photo judged, no summary


def test_a_model_that_fails_on_a_photo_is_named_in_its_error(pack, sample_rgb, monkeypatch):
    """A failure the trial picture did not show (one photo's): that photo is ERROR, naming the model file."""
    from minorguard.pipeline import Guard
    from minorguard.report.files import explain_error

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together with shapes (12800,) (7,)")

    monkeypatch.setattr(pack.detector._model, "detect", broken)
    result = Guard(pack=pack).check(sample_rgb, label="a.jpg")
    assert result.verdict.value == "ERROR" and result.error_code == "model_failed"
    assert "det_10g.onnx" in result.error and "failed when it ran (ValueError: operands" in result.error
    said = explain_error(result, "sq")
    assert said.startswith("a.jpg: një model dështoi në këtë foto") and "det_10g.onnx" in said
