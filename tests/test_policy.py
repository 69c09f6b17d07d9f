from __future__ import annotations

import pytest

from minorguard.rules.policy import PolicyError, load_policy


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
        ("[identifiability]\nmin_face_px = 100000\n", "min_face_px 0-256"),  # every face "not identifiable": all pass
    ],
)
def test_bad_policy_files_explain_themselves(tmp_path, text, fragment):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=fragment):
        load_policy(path)


def test_each_channel_is_judged_at_its_own_publication_size(tmp_path):
    policy = load_policy()
    assert policy.publication_side(None) == 2048  # no channel: the publication size
    assert policy.publication_side("facebook") == 2048 and policy.publication_side("Instagram") == 1080
    assert policy.publication_side("x") == 4096
    # print, a website, and a channel nobody sized: the photo's own size, so a face is never judged smaller than it shows
    assert policy.publication_side("print") is None and policy.publication_side("gazeta-lokale") is None
    path = tmp_path / "kanalet.toml"
    path.write_text("[identifiability]\nchannel_long_side = { website = 1600, gazeta-lokale = 3000 }\n", encoding="utf-8")
    office = load_policy(path)
    assert office.publication_side("website") == 1600 and office.publication_side("gazeta-lokale") == 3000
    assert office.publication_side("instagram") == 1080  # channels the file does not name keep their sizes


@pytest.mark.parametrize("table", ["{ x = 10 }", "{ x = -1 }", "{ x = 'big' }", "2048"])
def test_bad_channel_sizes_are_refused(tmp_path, table):
    path = tmp_path / "p.toml"
    path.write_text(f"[identifiability]\nchannel_long_side = {table}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="channel_long_side|must be a table"):
        load_policy(path)
