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
        ("[identifiability]\nmin_face_px = 100000\n", "min_face_px 0-64"),  # every face "not identifiable": all pass
        # the audit's policies, each of which passed the sample portrait's girls with exit 0 and no word
        ("[minor]\nblock_probability = 1.0\nreview_probability = 1.0\n", "block_probability <= 0.9"),
        ("[minor]\nblock_probability = true\n", "must be a number"),
        ("[identifiability]\nmin_sharpness = 1e9\n", "min_sharpness must be between 0 and 32"),
        ("[identifiability]\nmin_sharpness = inf\n", "finite"),
        ("[identifiability]\npublish_long_side = 64\n", "publish_long_side 320-100000"),
        ("[identifiability]\npublish_long_side = nan\n", "finite"),
        ("[identifiability]\nchannel_long_side = { facebook = 64 }\n", "channel_long_side"),
        ("[detection]\nthreshold = 0.999\n", "at most 0.9"),
        ("[identifiability]\nmin_face_px = 256\n", "min_face_px 0-64"),
        ("[minor]\nrule = 'challenge_age'\nchallenge_age = 18\ninterval_percentile = 0.49\n", "challenge_age must be between 25"),
        ("[consent]\nmatch_threshold = 0.001\nreview_threshold = 0.001\n", "review_threshold"),
        ("[consent]\nmargin = nan\n", "finite"),
        ("[known_adults]\nmatch_threshold = -1.0\n", "between 0.9 and 1"),
        ("[known_adults]\nmax_p_minor = 0.5\n", "between 0 and 0.08"),
        ("[known_adults]\nmargin = nan\n", "finite"),
        ("[limits]\nmax_pixels = inf\n", "finite"),
        ("[limits]\nmax_pixels = 1e30\n", "max_pixels"),
        ("[events]\nexempt_bases = 5\n", "list of texts"),
        ("[events]\nexempt_bases = [['public']]\n", "list of texts"),
        # a second audit: each value within its own limit, and the sample portrait's girls passed all the same
        ("[minor]\nreview_probability = 0.13\n", "review_probability <= 0.05"),  # the younger girl alone: P 0.12
        ("[identifiability]\npublish_long_side = 320\nmin_face_px = 64\n", "at 320 px it may be at most 10"),
        ("[identifiability]\nchannel_long_side = { facebook = 320 }\nmin_face_px = 64\n", "at 320 px it may be at most 10"),
        ("[identifiability]\nmin_face_px = 40\n", "at 1080 px it may be at most 34"),  # Instagram's size
        ("[identifiability]\npublish_long_side = 320.9\n", "whole number"),  # was cut to 320 without a word
        ("[grouping]\nsimilarity_threshold = -1\n", "0.7..1"),  # four people, a possible minor among them, one "person"
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


def test_a_folder_given_as_the_policy_is_a_clear_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(tmp_path)


def test_a_policy_built_in_code_starts_from_the_default_and_is_checked_as_a_file_is():
    """Policy() matched every face to a child at consent threshold 0.0, and a library caller's Policy was never
    checked at all."""
    from dataclasses import replace

    from minorguard.pipeline import Guard
    from minorguard.rules.policy import Policy

    assert Policy() == load_policy()
    with pytest.raises(PolicyError, match="block_probability"):
        Guard(policy=replace(Policy(), minor_block_probability=1.0), pack="default")


def test_the_known_adult_gate_follows_the_rule_the_guard_judges_with():
    """A pack other than the default switches the guard to the challenge-age rule, whose probabilities are over-
    confident: the gate must follow it there, not stay at the fused estimator's 0.08."""
    from dataclasses import replace

    from minorguard.rules.policy import known_adult_gate

    policy = load_policy()
    assert known_adult_gate(policy) == 0.08
    assert known_adult_gate(replace(policy, minor_rule="challenge_age")) == 0.002
