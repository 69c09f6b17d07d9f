"""The policy: every threshold rule 5 depends on, with documented defaults.

A policy is a frozen dataclass loaded from TOML (see ``minorguard/rules/default_policy.toml``);
its ``version`` is a hash of the effective values, written into every result.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from minorguard.locale.coded_error import CodedError, Problem

__all__ = ["DEFAULT_POLICY_PATH", "Policy", "PolicyError", "load_policy"]

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")
CHANNEL_LONG_SIDE = {"facebook": 2048, "instagram": 1080, "x": 4096, "tiktok": 1080, "youtube": 0, "website": 0, "print": 0, "all": 0}


class PolicyError(CodedError, ValueError):
    """A policy file that cannot be used; the message names the key (catalogue keys ``policy.<code>``)."""

    catalogue = "policy"


@dataclass(frozen=True)
class Policy:
    # detection
    detector_threshold: float = 0.5
    # identifiability, judged at publication size
    publish_long_side: int = 2048  # without a channel; detection searches at this size
    # per channel the long side it publishes photos at; 0: the photo's own size (print, a website);
    # a channel not listed is judged at its own size too: an unknown size must not shrink a face
    channel_long_side: dict[str, int] = field(default_factory=lambda: dict(CHANNEL_LONG_SIDE))
    min_face_px: float = 20.0
    min_sharpness: float = 8.0
    # who is a minor
    minor_rule: str = "calibrated"  # "calibrated" (P(under 18)) or "challenge_age"
    challenge_age: float = 30.0
    interval_percentile: float = 0.10
    minor_block_probability: float = 0.5
    minor_review_probability: float = 0.0357  # as default_policy.toml: the calibrated estimator's review threshold
    # limits
    max_pixels: int = 100_000_000
    # events (rule 5's exemption)
    exemption_enabled: bool = True
    exempt_bases: tuple[str, ...] = ("public", "outdoor")
    # consent matching
    consent_match_threshold: float = 0.0
    consent_review_threshold: float = 0.0
    consent_margin: float = 0.03
    # review
    second_reviewer_required: bool = False
    # known adults (issue 9): a confident match clears a face only below this P(under 18)
    known_adult_max_p_minor: float = 0.0
    known_adult_match_threshold: float = 1.0
    known_adult_margin: float = 0.02
    # faces grouped across a batch (cosine similarity; linkage "average", "complete" or "single")
    grouping_enabled: bool = True
    grouping_threshold: float = 0.9
    grouping_linkage: str = "average"
    grouping_faces: str = "review"  # "review": only faces a person must decide; "all": every identifiable face
    notes: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        values = {k: v for k, v in asdict(self).items() if k != "notes"}
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=list).encode()).hexdigest()[:12]

    def publication_side(self, channel: str | None) -> int | None:
        """The long side a photo is published at on ``channel`` (None: its own size)."""
        if channel is None:
            return self.publish_long_side
        return self.channel_long_side.get(channel.strip().casefold()) or None

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k != "notes"}


_SECTIONS = {
    "detection": {"threshold": "detector_threshold"},
    "identifiability": {
        "publish_long_side": "publish_long_side",
        "channel_long_side": "channel_long_side",
        "min_face_px": "min_face_px",
        "min_sharpness": "min_sharpness",
    },
    "minor": {
        "rule": "minor_rule",
        "challenge_age": "challenge_age",
        "interval_percentile": "interval_percentile",
        "block_probability": "minor_block_probability",
        "review_probability": "minor_review_probability",
    },
    "limits": {"max_pixels": "max_pixels"},
    "events": {"exemption_enabled": "exemption_enabled", "exempt_bases": "exempt_bases"},
    "consent": {
        "match_threshold": "consent_match_threshold",
        "review_threshold": "consent_review_threshold",
        "margin": "consent_margin",
    },
    "review": {"second_reviewer_required": "second_reviewer_required"},
    "known_adults": {
        "max_p_minor": "known_adult_max_p_minor",
        "match_threshold": "known_adult_match_threshold",
        "margin": "known_adult_margin",
    },
    "grouping": {
        "enabled": "grouping_enabled",
        "similarity_threshold": "grouping_threshold",
        "linkage": "grouping_linkage",
        "faces": "grouping_faces",
    },
}


def _validate(policy: Policy) -> Policy:
    problems = []
    if not 0 < policy.detector_threshold < 1:
        problems.append(Problem("detector_threshold"))
    # a smallest identifiable face above 256 px would call nearly every face unidentifiable: all would pass
    if not 0 <= policy.min_face_px <= 256 or policy.publish_long_side < 64:
        problems.append(Problem("identifiability_sizes"))
    if any(not isinstance(side, int) or isinstance(side, bool) or not (side == 0 or side >= 64) for side in policy.channel_long_side.values()):
        problems.append(Problem("channel_sizes"))
    if policy.minor_rule not in ("calibrated", "challenge_age"):
        problems.append(Problem("minor_rule"))
    if not 0 <= policy.minor_review_probability <= policy.minor_block_probability <= 1:
        problems.append(Problem("minor_probabilities"))
    if policy.challenge_age < 18:
        problems.append(Problem("challenge_age"))
    if not 0 < policy.interval_percentile < 0.5:
        problems.append(Problem("interval_percentile"))
    if policy.max_pixels < 1:
        problems.append(Problem("max_pixels"))
    if not 0 < policy.consent_review_threshold <= policy.consent_match_threshold <= 1:
        problems.append(Problem("consent_thresholds"))
    unknown = set(policy.exempt_bases) - {"public", "outdoor"}
    if unknown:
        problems.append(Problem("exempt_bases", {"bases": sorted(unknown)}))
    if not 0 <= policy.known_adult_max_p_minor <= policy.minor_block_probability:
        problems.append(Problem("known_adult_p_minor"))
    if not -1 <= policy.known_adult_match_threshold <= 1 or policy.known_adult_margin < 0:
        problems.append(Problem("known_adult_match"))
    if not -1 <= policy.grouping_threshold <= 1 or policy.grouping_linkage not in ("average", "complete", "single"):
        problems.append(Problem("grouping_values"))
    if policy.grouping_faces not in ("review", "all"):
        problems.append(Problem("grouping_faces"))
    if problems:
        raise PolicyError.of(problems)
    return policy


def policy_from_mapping(data: dict[str, Any], base: Policy | None = None) -> Policy:
    base = base or Policy()
    changes: dict[str, Any] = {}
    for section, values in data.items():
        if section not in _SECTIONS:
            raise PolicyError("unknown_section", section=section)
        if not isinstance(values, dict):
            raise PolicyError("not_table", section=section)
        for key, value in values.items():
            if key not in _SECTIONS[section]:
                raise PolicyError("unknown_key", setting=f"{section}.{key}")
            name = _SECTIONS[section][key]
            current = getattr(base, name)
            if isinstance(current, dict):
                if not isinstance(value, dict):
                    raise PolicyError("not_table", section=f"{section}.{key}")
                value = {**current, **{str(k).casefold(): v for k, v in value.items()}}  # an office overrides the channels it names
            elif isinstance(current, tuple):
                value = tuple(value)
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise PolicyError("not_bool", setting=f"{section}.{key}")
            elif isinstance(current, (int, float)) and not isinstance(value, (int, float)):
                raise PolicyError("not_number", setting=f"{section}.{key}")
            elif isinstance(current, str) and not isinstance(value, str):
                raise PolicyError("not_text", setting=f"{section}.{key}")
            changes[name] = type(current)(value) if isinstance(current, (int, float)) and not isinstance(current, bool) else value
    return _validate(replace(base, **changes))


def load_policy(path: str | Path | None = None) -> Policy:
    """The default policy, overlaid with the TOML file at ``path`` if given."""
    base = policy_from_mapping(_read_toml(DEFAULT_POLICY_PATH), Policy())
    if path is None:
        return base
    return policy_from_mapping(_read_toml(Path(path)), base)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: Windows Notepad saves UTF-8 with a byte-order mark, which TOML does not allow
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise PolicyError("file_not_found", path=path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PolicyError("not_toml", path=path, error=error) from None


assert {f.name for f in fields(Policy)} >= {n for s in _SECTIONS.values() for n in s.values()}
