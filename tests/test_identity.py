"""Consent matching compares dlib's descriptor and FaceRes's identity feature together (issue 16, item 4); registers
whose enrolments were described by dlib alone are described again from their stored photos."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minorguard import CheckContext, Guard, Verdict, open_checks
from minorguard.models.identity import IDENTITY_SPREAD, fuse_identity

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
FAMILY = SAMPLES / "faceaisharp_obama_family.jpg"
BIDEN = SAMPLES / "faceaisharp_biden_7mpx.jpg"


def test_the_fused_description_ranks_pairs_as_the_sum_of_the_two_z_scored_cosines():
    rng = np.random.default_rng(7)
    dlib, faceres = rng.normal(size=(40, 128)), rng.normal(size=(40, 1024))
    fused = fuse_identity(dlib, faceres)
    assert fused.shape == (40, 1152) and np.allclose(np.linalg.norm(fused, axis=1), 1, atol=1e-5)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    iu = np.triu_indices(40, k=1)
    z_sum = (unit(dlib) @ unit(dlib).T)[iu] / IDENTITY_SPREAD["dlib"] + (unit(faceres) @ unit(faceres).T)[iu] / IDENTITY_SPREAD["faceres"]
    cosine = (fused @ fused.T)[iu]
    slope, offset = np.polyfit(z_sum, cosine, 1)  # an increasing affine map of the z-score sum, nothing else
    assert slope > 0 and np.abs(cosine - (slope * z_sum + offset)).max() < 1e-5


def _faces(guard: Guard, source) -> tuple:
    photo = guard._load(source, "test")
    return photo, guard.detect(photo)


def test_a_girl_matches_herself_in_another_copy_and_not_a_stranger(guard):
    """Real models on the sample portrait: the consent description of the left girl (face 2) from the portrait and
    from a smaller, re-compressed copy agree above the match threshold; the Biden portrait's face stays below review."""
    consent = guard.pack.consent_embedder
    assert consent.name == "dlib-resnet-v1+hse-faceres-s115"
    photo, faces = _faces(guard, FAMILY)
    girl = consent.embed(photo.pixels, [faces[1]])[0]
    with Image.open(FAMILY) as image:
        buffer = io.BytesIO()
        image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.BILINEAR).save(buffer, "JPEG", quality=80)
    copy, copy_faces = _faces(guard, buffer.getvalue())
    again = consent.embed(copy.pixels, [copy_faces[1]])[0]
    biden_photo, biden_faces = _faces(guard, BIDEN)
    stranger = consent.embed(biden_photo.pixels, biden_faces[:1])[0]
    assert float(girl @ again) >= guard.policy.consent_match_threshold
    assert float(girl @ stranger) < guard.policy.consent_review_threshold


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    return tmp_path / "data"


def test_an_old_registers_enrolments_are_described_again_and_their_children_recognised(guard, data_dir, tmp_path):
    """A register written before the fused description holds dlib vectors: the scan cannot compare them (the girl
    blocks and a notice says what to run); ``redescribe_enrolments`` describes them again from the stored photo, after
    checking that the face found is the one enrolled; then the girl passes under her consent. An enrolment whose
    number now finds another face is left as it was and said."""
    from consent_db import Register
    from minorguard.application.enrolment import redescribe_enrolments

    context = CheckContext(channel="facebook", when=date(2026, 12, 1))
    fresh = Guard(policy=guard.policy, pack=guard.pack)
    photo, faces = _faces(guard, FAMILY)
    plain = guard.pack.embedder.embed(photo.pixels, faces)
    Register(tmp_path / "r.sqlite3").close()  # an old office's register (a check never makes one)
    with open_checks(db=str(tmp_path / "r.sqlite3"), context=context, guard=fresh) as checks:
        reg = checks.register
        girl = reg.add_child("Vajza Çelë")
        reg.add_enrolment(girl.id, photo.data, plain[1], face_index=2, face_height_px=faces[1].box.height, embedder="dlib-resnet-v1")
        reg.add_consent(girl.id, b"%PDF-1.4\n% leje\n%%EOF\n", date(2026, 9, 1), ["facebook"])
        other = reg.add_child("Motra")
        moved = FAMILY.read_bytes() + b"\0"  # another file (sha256) of the same picture, enrolled under a number that finds another face
        reg.add_enrolment(other.id, moved, plain[3], face_index=3, face_height_px=faces[3].box.height, embedder="dlib-resnet-v1")
        before = checks.check(FAMILY)
        assert before.verdict is Verdict.BLOCK
        assert any("child redescribe" in n for n in checks.notices)
        assert not any(f.consent is not None and f.consent.record_id for f in before.faces)
        done = {d.child_id: d for d in redescribe_enrolments(reg, fresh)}
        assert done[girl.id].done and not done[other.id].done and "not the face enrolled" in done[other.id].why
        after = checks.check(FAMILY)
    left_girl = next(f for f in after.faces if f.number == 2)
    assert left_girl.reason.value == "consent" and left_girl.consent.child_ref == girl.id


def test_the_redescribe_command_describes_an_old_enrolment_and_says_how_many(guard, data_dir, tmp_path, capsys):
    from consent_db import Register
    from minorguard.cli import main

    db = str(tmp_path / "r.sqlite3")
    photo, faces = _faces(guard, FAMILY)
    with Register(db) as reg:
        girl = reg.add_child("Vajza Çelë")
        reg.add_enrolment(girl.id, photo.data, guard.pack.embedder.embed(photo.pixels, faces[1:2])[0], face_index=2,
                          face_height_px=faces[1].box.height, embedder="dlib-resnet-v1")
    assert main(["child", "redescribe", "--db", db, "--lang", "en"]) == 0
    assert "1 enrolment photo(s) described again for dlib-resnet-v1+hse-faceres-s115" in capsys.readouterr().out
    with Register(db) as reg:
        assert list(reg.enrolment_embeddings("dlib-resnet-v1+hse-faceres-s115")) == [girl.id]
        assert [a["action"] for a in reg.audit_entries()][-1] == "photo_redescribed"


def test_an_enrolment_described_by_another_pack_is_redescribed_only_where_its_face_is_unambiguous(guard, data_dir, tmp_path):
    """Another pack's vector cannot confirm which face was enrolled, and face numbers changed meaning once: a photo of
    one face is described again, a photo of four is refused (the child stays unrecognised, so blocks)."""
    from consent_db import Register
    from minorguard.application.enrolment import redescribe_enrolments

    astronaut = SAMPLES / "skimage_astronaut.png"
    with Register(str(tmp_path / "r.sqlite3")) as reg:
        one, four = reg.add_child("Një"), reg.add_child("Katër")
        reg.add_enrolment(one.id, astronaut.read_bytes(), np.ones(512, np.float32), face_index=1, face_height_px=200, embedder="arcface")
        reg.add_enrolment(four.id, FAMILY.read_bytes(), np.ones(512, np.float32), face_index=2, face_height_px=90, embedder="arcface")
        done = {d.child_id: d for d in redescribe_enrolments(reg, Guard(policy=guard.policy, pack=guard.pack))}
    assert done[one.id].done
    assert not done[four.id].done and "no way to check" in done[four.id].why


def test_grouping_describes_a_face_from_the_age_readings_faceres_pass(guard, monkeypatch):
    """The identity feature comes from the pass that read the face's age: a check that groups its faces runs FaceRes
    once per face, and the descriptions equal those computed from scratch."""
    faceres = guard.pack.age_model.faceres
    photo, faces = _faces(guard, FAMILY)
    expected = guard.pack.consent_embedder.embed(photo.pixels, faces)

    class Sink:
        def __init__(self) -> None:
            self.vectors: dict[int, np.ndarray] = {}

        def put(self, source: str, index: int, vector: np.ndarray) -> None:
            self.vectors[index] = vector

    def no_second_pass(crops):
        raise AssertionError("FaceRes ran again for a face whose age it had read")

    monkeypatch.setattr(faceres, "features_from_crops", no_second_pass)
    sink = Sink()
    monkeypatch.setattr(guard, "embeddings", sink)
    result = guard.check(FAMILY)
    assert result.verdict is Verdict.BLOCK and sorted(sink.vectors) == [1, 3]  # the girls: the faces to decide
    for index, vector in sink.vectors.items():
        assert float(vector @ expected[index]) == pytest.approx(1.0, abs=1e-5)


def test_the_default_pack_names_its_embedders_before_they_load_and_as_they_load():
    """A worker describes its pack to the scan's driver without loading an embedder for its name; declared and loaded
    names must agree, or enrolments described by another embedder would be compared."""
    from minorguard.models.base import describe_pack
    from minorguard.models.pack import load_pack

    pack = load_pack()
    described = describe_pack(pack)
    assert pack._embedder is None and pack._consent_embedder is None  # describing loaded nothing
    assert (described["embedder"], described["consent"]) == (pack.embedder.name, pack.consent_embedder.name)
    assert described["consent"] == "dlib-resnet-v1+hse-faceres-s115"


def test_a_pack_whose_declared_embedder_is_not_the_one_it_loads_refuses_to_use_it():
    from minorguard.models.base import ModelPack, NamedOnly

    pack = ModelPack(name="p", detector=NamedOnly("d"), age_model=NamedOnly("a"),
                     _embedder_factory=lambda: NamedOnly("dlib-resnet-v2"), _embedder_name="dlib-resnet-v1")
    with pytest.raises(RuntimeError, match="declared the embedder 'dlib-resnet-v1' but loaded 'dlib-resnet-v2'"):
        pack.embedder  # noqa: B018
