from __future__ import annotations

import pytest

from minorguard.policy import PolicyError, load_policy


def test_default_policy_loads_and_has_a_version():
    policy = load_policy()
    assert policy.publish_long_side == 2048
    assert len(policy.version) == 12


def test_override_file(tmp_path):
    path = tmp_path / "strict.toml"
    path.write_text("[events]\nexemption_enabled = false\n[identifiability]\nmin_face_px = 16\n", encoding="utf-8")
    policy = load_policy(path)
    assert policy.exemption_enabled is False and policy.min_face_px == 16
    assert policy.version != load_policy().version


def test_policy_saved_by_notepad_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "rregullat.toml"
    path.write_bytes("\ufeff# rregullat e zyrës\r\n[events]\r\nexemption_enabled = false\r\n".encode("utf-8"))
    assert load_policy(path).exemption_enabled is False


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[minor]\nchallenge_age = 12\n", "challenge_age"),
        ("[nonsense]\nx = 1\n", "unknown policy section"),
        ("[minor]\nbogus = 1\n", "unknown policy key"),
        ("[events]\nexemption_enabled = 'yes'\n", "true or false"),
        ("[minor\n", "not valid TOML"),
    ],
)
def test_bad_policy_files_explain_themselves(tmp_path, text, fragment):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=fragment):
        load_policy(path)
