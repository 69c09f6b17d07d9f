"""Small interfaces every model pack implements, and the file record it reports."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from minorguard.locale.coded_error import CodedError
from minorguard.types import DetectedFace

__all__ = [
    "AgeModel",
    "Detector",
    "Embedder",
    "ModelError",
    "ModelFile",
    "ModelPack",
    "NamedOnly",
    "describe_pack",
    "described_pack",
    "gaussian_age_distribution",
    "sha256_of_bytes",
    "sha256_of_file",
]


class ModelError(CodedError, RuntimeError):
    """A model pack that cannot load or run; the message says what is missing (catalogue keys ``model.<code>``)."""

    catalogue = "model"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One weight file of a pack, as ``minorguard models`` lists it."""

    role: str
    name: str
    location: str
    sha256: str
    licence: str
    source: str


def sha256_of_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Detector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Faces in an RGB uint8 image, boxes in that image's pixels."""
        ...


class AgeModel(Protocol):
    name: str
    ages: np.ndarray  # the age (years) each probability refers to

    def age_distributions(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """One probability vector over ``ages`` per face (rows sum to 1)."""
        ...


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """One L2-normalised embedding per face."""
        ...


_EMBEDDER_LOCK = threading.Lock()


@dataclass
class ModelPack:
    """The models one Guard uses; the embedder loads on first use."""

    name: str
    detector: Any
    age_model: Any
    _embedder_factory: Any = None
    _embedder: Any = field(default=None, repr=False)
    licence_note: str = ""
    # builds the description consent matching compares from this pack (default: the embedder itself)
    _consent_factory: Any = None
    _consent_embedder: Any = field(default=None, repr=False)
    # the embedders' names before they load, where the pack knows them: the driver of worker processes holds no
    # models at all (``describe_pack``), and a worker need not load one to say its name; checked when each one loads
    _embedder_name: str | None = None
    _consent_name: str | None = None

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with _EMBEDDER_LOCK:  # threads of one server asking at once load it once
                if self._embedder is None:
                    if self._embedder_factory is None:
                        raise ModelError("no_embedder", pack=self.name)
                    embedder = self._embedder_factory()
                    _same_name(self._embedder_name, embedder.name)
                    self._embedder = embedder
        return self._embedder

    @property
    def consent_embedder(self) -> Any:
        """What enrolments store and scans compare with the register; ``embed(rgb, faces, dlib=None)``."""
        if self._consent_factory is None:
            return self.embedder
        if self._consent_embedder is None:
            embedder = self.embedder
            with _EMBEDDER_LOCK:
                if self._consent_embedder is None:
                    consent = self._consent_factory(self, embedder)
                    _same_name(self._consent_name, consent.name)
                    self._consent_embedder = consent
        return self._consent_embedder

    def consent_vectors(self, rgb: np.ndarray, faces: Any, embeddings: np.ndarray, identity: Any = None) -> np.ndarray:
        """The consent descriptions of ``faces`` whose ``embedder`` vectors are ``embeddings`` (computed once);
        ``identity``: per face, the identity feature the age reading already computed, or ``None``."""
        consent = self.consent_embedder
        if consent is self.embedder:
            return embeddings
        if identity is not None:
            return consent.embed(rgb, faces, dlib=embeddings, faceres=identity)
        return consent.embed(rgb, faces, dlib=embeddings)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.detector.name}; {self.age_model.name})"

    def files(self) -> list[ModelFile]:
        out = list(self.detector.files()) + list(self.age_model.files())
        seen = {f.location for f in out}
        if self._embedder_factory is not None:
            out += [f for f in self.embedder.files() if f.location not in seen]
        return out


def _same_name(declared: str | None, loaded: str) -> None:
    # a declared name that is not the loaded model's would let consent records of another embedder be compared
    if declared is not None and declared != loaded:
        raise RuntimeError(f"the pack declared the embedder {declared!r} but loaded {loaded!r}")


@dataclass(frozen=True)
class NamedOnly:
    """A model that runs in another process, known here by its name (and an age model's crops) only."""

    name: str
    variants: Any = None

    def __getattr__(self, attribute: str) -> Any:  # only attributes a dataclass field does not answer
        raise AttributeError(f"{self.name} runs in a worker process: this one holds its name, not {attribute!r}")


def describe_pack(pack: ModelPack) -> dict[str, Any] | None:
    """What a process that judges nothing needs of ``pack`` (the names its results and the register's checks use),
    as plain values; ``None`` where the embedders' names are not known without loading them."""
    if pack._embedder_factory is not None and pack._embedder_name is None:
        return None
    if pack._consent_factory is not None and pack._consent_name is None:
        return None
    variants = getattr(pack.age_model, "variants", None)
    return {"name": pack.name, "detector": pack.detector.name, "age_model": pack.age_model.name,
            "variants": {k: list(v) for k, v in variants.items()} if variants is not None else None,
            "embedder": pack._embedder_name, "consent": pack._consent_name, "licence_note": pack.licence_note}


def described_pack(description: dict[str, Any]) -> ModelPack:
    """A pack of ``NamedOnly`` models from ``describe_pack``: its label, policy checks and register wiring are those
    of the pack described; running one of its models fails loudly."""
    embedder, consent = description["embedder"], description["consent"]
    return ModelPack(
        name=description["name"],
        detector=NamedOnly(description["detector"]),
        age_model=NamedOnly(description["age_model"], description["variants"]),
        _embedder_factory=(lambda: NamedOnly(embedder)) if embedder is not None else None,
        _consent_factory=(lambda pack, _: NamedOnly(consent)) if consent is not None else None,
        _embedder_name=embedder,
        _consent_name=consent,
        licence_note=description["licence_note"],
    )


def gaussian_age_distribution(age: float, ages: np.ndarray, sd: float) -> np.ndarray:
    """A point estimate as a distribution, for models that give only a number."""
    probs = np.exp(-0.5 * ((ages - age) / sd) ** 2)
    return (probs / probs.sum()).astype(np.float32)
