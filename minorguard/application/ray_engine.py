"""Checking an archive on Ray, when one machine is not enough (``pip install minorguard[ray]``).

The per-photo check is the same ``Guard.check`` the local engine runs: each Ray
actor opens the same register read-only (consents, events, reviewers' decisions,
known adults, wired by ``open_checks``) and loads the models once, then judges the
photos it is given by path. The register stays the single writer of its audit log:
actors never write to it; the driver collects each result and audits it before
it is used (``Checks.audited``). Results come back in
the input's order (the driver keeps a window of photos in flight, so the actors
stay busy), so a report from Ray is the local engine's report.

Paths must be readable where the actors run (one machine, or a shared file system),
and the register must be reachable from them (a PostgreSQL URL, or a SQLite file on
the same machine); its key and data folder travel in Ray's runtime environment.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from minorguard.locale.coded_error import CodedError
from minorguard.types import PhotoResult

__all__ = ["EngineUnavailable", "check_on_ray"]

# what a worker needs to open the same register and policy as the driver
_ENV = ("MINORGUARD_DATA_DIR", "MINORGUARD_KEY", "MINORGUARD_DB", "MINORGUARD_ACTOR", "MINORGUARD_LANG")


class EngineUnavailable(CodedError, RuntimeError):
    """Ray is not installed, or the cluster cannot be reached or cannot run minorguard's workers."""

    catalogue = "engine"


def _remote_checker(ray: Any) -> Any:
    @ray.remote(num_cpus=1)
    class Checker:
        def __init__(self, spec: dict[str, Any], models: str | None) -> None:
            from minorguard.application.checks import open_worker_checks

            # opened once per worker: the models, and the register's decisions (read, never written here)
            self.checks = open_worker_checks(spec, models, "ray worker")

        def ready(self) -> str:
            return self.checks.guard.pack_label

        def check(self, path: str) -> tuple[PhotoResult, list]:
            return self.checks.check_in_worker(path)

    return Checker


def check_on_ray(checks: Any, sources: Iterable[Path], *, address: str | None = None, workers: int | None = None,
                 models: str | None = None) -> Iterator[PhotoResult]:
    """Results for ``sources`` in their order, judged by Ray actors with ``checks``' policy, register and context,
    not yet audited: the driver audits them (``checks.audited``). ``address``: a running cluster ("auto",
    "HOST:PORT"); None starts one on this machine. ``models``: the pack the driver's guard was loaded with."""
    try:
        import ray
    except ImportError:
        raise EngineUnavailable("not_installed") from None
    items = [os.fsdecode(Path(p).resolve()) for p in sources]
    env = {k: os.environ[k] for k in _ENV if os.environ.get(k)}
    if checks.register is not None:
        env.setdefault("MINORGUARD_DB", checks.register.store.url)
    started_here = not ray.is_initialized()
    if started_here:
        _reachable(address)
        try:
            ray.init(address=address, runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR", configure_logging=False)
        except Exception as error:  # the cluster's own errors: one line, not Ray's traceback
            raise EngineUnavailable("unreachable", address=address or "local", error=str(error).splitlines()[0]) from None
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = max(1, min(count, len(items)))
        spec = checks.worker_spec()
        Checker = _remote_checker(ray)
        actors = [Checker.remote(spec, models) for _ in range(count)]
        try:
            labels = set(ray.get([a.ready.remote() for a in actors]))
        except Exception as error:
            raise EngineUnavailable("workers_failed", error=str(error).strip().splitlines()[-1]) from None
        if labels != {checks.guard.pack_label}:  # every photo must be judged by the same models as the driver says
            raise EngineUnavailable("other_models", workers=", ".join(sorted(labels)), driver=checks.guard.pack_label)
        yield from _in_order(ray, actors, items, checks)
    finally:
        if started_here:
            ray.shutdown()


def _reachable(address: str | None) -> None:
    """A HOST:PORT that answers no connection is said at once: Ray itself would retry for minutes."""
    import socket

    if not address or ":" not in address or address.startswith(("ray://", "auto")):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except (OSError, ValueError) as error:
        raise EngineUnavailable("unreachable", address=address, error=str(error)) from None


def _in_order(ray: Any, actors: list[Any], items: list[str], checks: Any) -> Iterator[PhotoResult]:
    window = 2 * len(actors)
    in_flight: deque = deque()
    next_item = 0
    while next_item < len(items) or in_flight:
        while next_item < len(items) and len(in_flight) < window:
            actor = actors[next_item % len(actors)]
            in_flight.append((items[next_item], actor.check.remote(items[next_item])))
            next_item += 1
        path, ref = in_flight.popleft()
        try:
            result, vectors = ray.get(ref)
            checks.keep_embeddings(vectors)
        except Exception as error:  # a worker lost mid-photo: that photo is not passed
            result = checks.guard.error_result(path, None, "internal_error", f"{path}: worker lost: {error}")
        yield result
