"""The default pack's fused detector: grouping, joint scoring, and real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from minorguard.models.detectors import _merged, cluster_candidates, drop_parts_of_faces, fusion_features
from minorguard.models.pack import DEFAULT_FUSION, default_detector
from minorguard.types import Box, DetectedFace


def face(x: float, y: float, size: float, score: float) -> DetectedFace:
    return DetectedFace(Box(x, y, size, size), score)


def test_proposals_of_one_face_from_two_detectors_form_one_group():
    leaders, scores = cluster_candidates(
        [(face(10, 10, 40, 0.7), 0), (face(12, 11, 38, 0.9), 1), (face(200, 10, 40, 0.3), 1), (face(11, 10, 40, 0.2), 0)],
        n_sources=2,
    )
    assert len(leaders) == 2
    assert leaders[0].score == 0.9  # the best box leads its group
    np.testing.assert_allclose(scores, [[0.7, 0.9], [0.0, 0.3]])


def test_a_group_box_is_the_score_weighted_mean_of_each_sources_best_box():
    # RetinaFace draws (10, 10, 40, 40) at 0.6, CenterFace (20, 16, 30, 34) at 0.9; a weaker
    # second RetinaFace box of the same face (0.3) must not pull the mean.
    leaders, scores = cluster_candidates(
        [(face(10, 10, 40, 0.6), 0), (DetectedFace(Box(20, 16, 30, 34), 0.9), 1), (face(13, 10, 40, 0.3), 0)],
        n_sources=2,
    )
    assert len(leaders) == 1
    box = leaders[0].box
    w0, w1 = 0.6 / 1.5, 0.9 / 1.5
    assert (box.x, box.y, box.width, box.height) == pytest.approx(
        (w0 * 10 + w1 * 20, w0 * 10 + w1 * 16, w0 * 40 + w1 * 30, w0 * 40 + w1 * 34)
    )
    assert leaders[0].score == 0.9
    np.testing.assert_allclose(scores, [[0.6, 0.9]])
    # a large face keeps its leading box: the minor estimator was fitted on those boxes
    big, _ = cluster_candidates([(face(10, 10, 200, 0.6), 0), (DetectedFace(Box(20, 16, 190, 204), 0.9), 1)], n_sources=2)
    assert big[0].box == Box(20, 16, 190, 204)


def test_a_face_both_detectors_see_beats_one_seen_by_one_detector():
    heights = np.array([24.0, 24.0])
    both = fusion_features(np.array([[0.5, 0.5]]), heights[:1])
    one = fusion_features(np.array([[0.0, 0.5]]), heights[:1])
    assert DEFAULT_FUSION.score(both, zoomed=False)[0] > DEFAULT_FUSION.score(one, zoomed=False)[0]
    # and a confident CenterFace hit on a mid-size face passes on its own
    assert DEFAULT_FUSION.score(fusion_features(np.array([[0.0, 0.9]]), np.array([60.0])), zoomed=False)[0] > 0.5


def test_a_box_on_part_of_a_surer_larger_face_is_dropped():
    whole = face(100, 100, 1000, 0.99)
    eyes_and_nose = face(300, 350, 450, 0.8)  # inside it, 45% of its height
    assert drop_parts_of_faces([eyes_and_nose, whole]) == [whole]


@pytest.mark.parametrize(
    "other",
    [
        face(300, 350, 250, 0.8),  # much smaller (25% of the height): a face in a picture behind, kept
        face(300, 350, 450, 0.999),  # surer than the large box: the large box may be the wrong one
        face(800, 350, 450, 0.8),  # half outside: a neighbour's face
    ],
)
def test_faces_that_are_not_parts_of_another_are_kept(other):
    whole = face(100, 100, 1000, 0.99)
    assert drop_parts_of_faces([whole, other]) == [whole, other]


@pytest.fixture(scope="module")
def detector():
    return default_detector(0.5)


def test_blank_and_noise_images_have_no_faces(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert detector.detect(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)) == []


def test_family_portrait_faces_in_input_pixels(detector, sample_images):
    rgb = np.asarray(Image.open(sample_images / "faceaisharp_obama_family.jpg").convert("RGB"))
    faces = detector.detect(rgb)
    assert len(faces) == 4
    for f in faces:
        assert 0 <= f.box.x and f.box.x2 <= rgb.shape[1] and 0 <= f.box.y and f.box.y2 <= rgb.shape[0]
        assert len(f.landmarks) == 5
    # half the size (no zoom pass change: both sizes are under 1024 px) gives half the boxes
    half = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] // 2, rgb.shape[0] // 2), Image.BILINEAR))
    small = detector.detect(half)
    assert len(small) == 4
    big_heights = sorted(f.box.height for f in faces)
    small_heights = sorted(f.box.height for f in small)
    for b, s in zip(big_heights, small_heights):
        assert s == pytest.approx(b / 2, rel=0.2)


def test_group_photo_finds_the_crowd(detector, sample_images):
    # European Council family photo: about 30 people in rows, faces ~45 px at 1600 px.
    rgb = np.asarray(Image.open(sample_images / "faceaisharp_group_10mpx.jpg").convert("RGB").reduce(2))
    faces = detector.detect(rgb)
    assert 28 <= len(faces) <= 36


def test_overlapping_crops_merge_into_their_bounding_box_and_others_stay():
    # 1 and 2 overlap; their union then overlaps 3; 4 touches nobody (shared edges do not overlap)
    rects = [[0, 0, 64, 64], [32, 32, 96, 96], [90, 0, 160, 40], [160, 160, 192, 192], [192, 0, 224, 32]]
    assert sorted(_merged(rects)) == [[0, 0, 160, 96], [160, 160, 192, 192], [192, 0, 224, 32]]
    assert _merged([]) == []


def _same_faces_as_the_whole_pass(rgb: np.ndarray, score_tolerance: float) -> list[tuple[int, float]]:
    """Detect with RetinaFace on crops and over the whole photo: the same faces and fused scores. Returns the
    (pixels, scale) of every image RetinaFace was given in the run on crops."""
    whole = default_detector(0.5, retinaface_on_crops=False).detect(rgb)
    cropped = default_detector(0.5)
    seen = []
    retinaface = cropped.detectors[0]
    original = retinaface.detect_at

    def counting(image, scale, threshold, exact=False):
        seen.append((image.shape[0] * image.shape[1], scale))
        return original(image, scale, threshold, exact)

    retinaface.detect_at = counting
    faces = cropped.detect(rgb)
    assert len(faces) == len(whole) >= 28
    for f in whole:
        match = max(faces, key=lambda g: f.box.iou(g.box))
        assert f.box.iou(match.box) > 0.9
        assert match.score == pytest.approx(f.score, abs=score_tolerance)
    return seen


def test_retinaface_on_crops_finds_what_the_whole_photo_pass_finds(sample_images):
    """RetinaFace's full-size pass only around CenterFace's faces: the same faces and fused scores as the pass over
    the whole photo, while RetinaFace sees a fraction of its pixels."""
    rgb = np.asarray(Image.open(sample_images / "faceaisharp_group_10mpx.jpg").convert("RGB"))
    seen = _same_faces_as_the_whole_pass(rgb, 0.01)
    working = (2048 * rgb.shape[0] / rgb.shape[1]) * 2048
    coarse = 640 * 640 * rgb.shape[0] / rgb.shape[1]
    # the coarse pass, and crops of under half the photo
    assert coarse < sum(pixels * scale * scale for pixels, scale in seen) < 0.5 * working + coarse


def test_enlarged_retinaface_on_crops_finds_what_the_whole_enlarged_pass_finds(sample_images):
    """A small photo (<= 640 px) is also searched enlarged; RetinaFace's enlarged pass runs only around the small
    faces whose verdict it can change: the group photo shrunk to 640 px (31 faces of 11-14 px) gives the same faces
    and fused scores, while RetinaFace enlarges under half of the photo."""
    rgb = np.asarray(Image.open(sample_images / "faceaisharp_group_10mpx.jpg").convert("RGB").resize((640, 267), Image.BILINEAR))
    seen = _same_faces_as_the_whole_pass(rgb, 0.02)  # a crop's edge moves an 11 px face's score a little
    assert 0 < sum(pixels for pixels, scale in seen if scale > 1) < 0.5 * rgb.shape[0] * rgb.shape[1]


def test_centerface_takes_only_the_image_as_input(detector):
    # Its weights listed as inputs stop ONNX Runtime from folding BatchNorm into
    # Conv, which doubled CenterFace's time (benchmarks/README.md, Speed).
    centerface = detector.detectors[1]
    assert [i.name for i in centerface._session.get_inputs()] == ["input.1"]


def _config(session, key: str) -> str | None:
    try:
        return session.get_session_options().get_session_config_entry(key)
    except RuntimeError:  # ONNX Runtime's answer for a key never set
        return None


def test_sessions_share_one_arena_and_compute_the_same(detector, sample_images):
    # Each session growing its own arena held 1.4-1.8 GB per worker; the shared one
    # must only move where buffers come from, never a number.
    import onnxruntime as ort

    retinaface = detector.detectors[0]
    assert _config(retinaface._session, "session.use_env_allocators") == "1"
    own = ort.SessionOptions()
    own.intra_op_num_threads = 1
    own_arena = ort.InferenceSession(retinaface._weights, sess_options=own, providers=["CPUExecutionProvider"])
    assert _config(own_arena, "session.use_env_allocators") is None
    rgb = np.asarray(Image.open(sample_images / "faceaisharp_obama_family.jpg").convert("RGB"))
    bgr = rgb[..., ::-1].astype(np.float32) - np.array([104, 117, 127], np.float32)
    tensor = {"input": np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])}
    for shared, alone in zip(retinaface._session.run(None, tensor), own_arena.run(None, tensor)):
        np.testing.assert_array_equal(shared, alone)


@pytest.mark.parametrize("onnx_first", [False, True])
def test_centerface_loads_without_the_onnx_package_and_beside_it(onnx_first):
    """Importing onnx (its C extension) took 0.6 s of every checking process's start; the graph is edited with its
    protobuf messages alone. A process that imports onnx too (the insightface pack does), before or after, still works."""
    import subprocess
    import sys

    code = ("import sys\n" + ("import onnx\n" if onnx_first else "") +
            "from minorguard.models.detectors import CenterFaceDetector\n"
            "import numpy as np\n"
            "d = CenterFaceDetector(int8=True)\n"
            "assert d.detect(np.zeros((64, 96, 3), np.uint8)) == []\n"
            "print('onnx' in sys.modules)\n"
            "import onnx\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(onnx_first)
