"""Bounded work per photo: each photo judged in a worker process with a time and a memory limit.

Threads share the models but cannot be stopped: a pathological file would hold its
thread (and the scan) for as long as it takes. Here each worker is a process that
loads the models and opens the register once (like a Ray actor), caps its own memory
(``RLIMIT_AS``: its size after loading plus the photo budget) and judges one photo at
a time. A photo past the time limit has its worker killed and becomes ERROR
(``too_slow``); one that runs out of memory becomes ERROR (``out_of_memory``); a
worker that dies makes its photo ERROR (``internal_error``). The worker is replaced
and the batch goes on. Workers never write to the register: the driver audits every
result (``Checks.audited``).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from minorguard.types import PhotoResult, Verdict

__all__ = ["Limits", "check_isolated", "default_workers"]

# What one worker holds while it judges a 10-megapixel photo (measured on ../shared/samples: 0.93-0.94 GB at
# peak since every session draws from one shared arena, 1.1-1.4 GB before; minorguard.models.onnx_session).
WORKER_MB = 1100


@dataclass(frozen=True, slots=True)
class Limits:
    seconds: float = 120.0  # per photo
    memory_mb: int = 4096  # per photo, above what the worker holds once its models are loaded


def default_workers(photos: int) -> int:
    """One worker per core, but no more than the free memory holds: each worker loads its own models, and a laptop
    with many cores and little memory would otherwise swap (threads share one copy; processes cannot)."""
    count = os.cpu_count() or 1
    available = _available_mb()
    if available is not None:
        count = min(count, max(1, available // WORKER_MB))
    return max(1, min(count, photos))


def _available_mb() -> int | None:
    try:
        with open("/proc/meminfo") as meminfo:
            return next(int(line.split()[1]) // 1024 for line in meminfo if line.startswith("MemAvailable"))
    except (OSError, StopIteration, ValueError):
        return None  # not Linux: one worker per core


def _serve(conn: Connection, spec: dict[str, Any], models: str | None, memory_mb: int) -> None:
    """A worker: load once, cap memory, then judge each path it is sent until told to stop."""
    import signal

    from minorguard.application.checks import open_worker_checks

    # Ctrl-C reaches the whole process group: the driver stops the scan and ends its workers, which must not each
    # print a traceback of the photo they were judging
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    checks = open_worker_checks(spec, models, "isolated worker")
    checks.guard.check(_warm_photo(), checks.context)  # lazily built parts exist before the cap is set
    _cap_memory(memory_mb)
    conn.send("ready")
    while True:
        try:
            path = conn.recv()
            if path is None:
                return
            conn.send(checks.check_in_worker(path))
        except (EOFError, OSError):  # the driver is gone: nobody is waiting for this photo
            return


def _cap_memory(memory_mb: int) -> None:
    """Cap the address space at the loaded size plus the budget, where the system can (Linux). Elsewhere only the
    time limit holds; a photo's decoded size is still refused above the loader's pixel limit."""
    try:
        import resource

        with open("/proc/self/status") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        cap = (size_kb + memory_mb * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, OSError, StopIteration, ValueError):
        pass


def _warm_photo() -> Any:
    import numpy as np

    return np.full((64, 64, 3), 128, np.uint8)


class _Worker:
    def __init__(self, ctx: Any, args: tuple) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, *args), daemon=True)
        self.process.start()
        child.close()
        self.busy: tuple[int, str, float] | None = None  # (index, path, started)

    def ready(self, timeout: float) -> bool:
        return self.conn.poll(timeout) and self.conn.recv() == "ready"

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def check_isolated(checks: Any, sources: Iterable[Path], *, workers: int | None = None, limits: Limits = Limits(),
                   models: str | None = None) -> Iterator[PhotoResult]:
    """Results for ``sources`` in their order, each judged in a worker process within ``limits``, not yet audited:
    the driver audits them (``checks.audited``)."""
    items = [os.fsdecode(Path(p)) for p in sources]
    if not items:
        return
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no thread of this one is copied half-way
    args = (checks.worker_spec(), models, limits.memory_mb)
    count = max(1, min(workers, len(items))) if workers else default_workers(len(items))
    pool = [_Worker(ctx, args) for _ in range(count)]
    try:
        for w in pool:
            if not w.ready(300):
                raise _failed(w)
        yield from _run(ctx, args, pool, items, checks, limits)
    finally:
        for w in pool:
            try:
                w.conn.send(None)
            except OSError:
                pass
            w.stop()


def _run(ctx: Any, args: tuple, pool: list[_Worker], items: list[str], checks: Any, limits: Limits) -> Iterator[PhotoResult]:
    queue = deque(enumerate(items))
    done: dict[int, PhotoResult] = {}
    next_out = 0
    while next_out < len(items):
        for w in pool:
            if w.busy is None and queue:
                index, path = queue.popleft()
                w.conn.send(path)
                w.busy = (index, path, time.monotonic())
        busy = [w for w in pool if w.busy is not None]
        soonest = min(w.busy[2] for w in busy) + limits.seconds
        for conn in wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=max(0.0, soonest - time.monotonic())):
            w = next(x for x in busy if conn in (x.conn, x.process.sentinel))
            if w.busy is None:
                continue
            index, path, _ = w.busy
            try:
                result, vectors = w.conn.recv() if w.conn.poll() else (None, [])
            except (EOFError, OSError):
                result, vectors = None, []
            checks.keep_embeddings(vectors)
            if result is None:  # the worker died on this photo (a crash, or memory the cap refused in native code)
                result = checks.guard.error_result(path, None, "internal_error",
                                                   f"{path}: the worker checking it stopped (exit {w.process.exitcode})")
                pool[pool.index(w)] = _replace(ctx, args, w)
            elif result.verdict is Verdict.ERROR and result.error_code == "out_of_memory":
                pool[pool.index(w)] = _replace(ctx, args, w)  # a worker that hit its cap starts clean
            else:
                w.busy = None
            done[index] = result
        now = time.monotonic()
        for w in list(pool):
            if w.busy is not None and now - w.busy[2] > limits.seconds:
                index, path, _ = w.busy
                done[index] = checks.guard.error_result(path, None, "too_slow", f"{path}: checking took longer than {limits.seconds:g} s; stopped")
                pool[pool.index(w)] = _replace(ctx, args, w)
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1


def _replace(ctx: Any, args: tuple, old: _Worker) -> _Worker:
    old.busy = None
    old.stop()
    fresh = _Worker(ctx, args)
    if not fresh.ready(300):
        raise _failed(fresh)
    return fresh


def _failed(worker: _Worker) -> Exception:
    """A worker that never became ready: the scan stops (one line, exit 64), nothing is judged without its models."""
    from minorguard.application.ray_engine import EngineUnavailable

    worker.stop()
    return EngineUnavailable("isolated_failed", code=worker.process.exitcode)
