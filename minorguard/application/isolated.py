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

import contextlib
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

__all__ = ["Limits", "WorkerPool", "check_isolated", "default_workers"]

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


def _serve(conn: Connection, policy: Any, models: str | None, memory_mb: int) -> None:
    """A worker: load the models, then open the driver's checks (the spec it sends), cap memory, then judge each
    path it is sent until told to stop.

    The models load before the spec arrives, while the driver still opens its own checks (a one-photo scan on two
    cores: 1.8 s -> 1.5 s). They load from the same policy and pack as the driver's; a spec whose policy differs
    from the one loaded (a file changed in between) loads them again from the spec's."""
    import signal

    # Ctrl-C reaches the whole process group: the driver stops the scan and ends its workers, which must not each
    # print a traceback of the photo they were judging or the model they were loading
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started with SIGINT blocked (_sigint_held_back): ignored from here on
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    from minorguard.application.checks import open_worker_checks
    from minorguard.locale.coded_error import CodedError
    from minorguard.models.base import describe_pack
    from minorguard.pipeline import Guard

    try:
        guard: Guard | None = Guard(policy=policy, pack=models)
    except Exception:  # the driver loads the same and says why; loaded again below, where it fails as the driver did
        guard = None
    try:
        conn.send(describe_pack(guard.pack) if guard is not None else None)
        spec = conn.recv()
    except (EOFError, OSError):
        return
    if spec is None:  # the driver stopped before any photo (a usage error, a register it could not open)
        return
    if guard is not None and guard.policy != spec["policy"]:
        guard = None
    try:
        # the register's models load here (the driver holds only their names): one that cannot be used stops the
        # scan with its own line, as it did when the driver loaded it
        checks = open_worker_checks(spec, models, "isolated worker", guard=guard)
    except CodedError as error:
        conn.send(("refused", error.phrase()))
        return
    if spec.get("pack") is not None and checks.guard.pack_label != spec["pack"]:
        # judged with other models than the driver's, whose pack every audit entry names: nothing is judged
        raise SystemExit(3)
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


_UNREAD = object()


class _Worker:
    def __init__(self, ctx: Any, args: tuple, without_main: bool = False) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, *args), daemon=True)
        with _sigint_held_back():
            if without_main:
                _start_without_main(self.process)
            else:
                self.process.start()
        child.close()
        self.busy: tuple[int, str, float] | None = None  # (index, path, started)
        self._description: Any = _UNREAD
        self.refusal: Any = None

    def description(self, timeout: float) -> dict[str, Any] | None:
        """The pack this worker loaded, by name (``describe_pack``; its first message), or ``None``: it could not
        load one, or cannot describe it without loading more."""
        if self._description is _UNREAD:
            try:
                self._description = self.conn.recv() if self.conn.poll(timeout) else None
            except (EOFError, OSError):
                self._description = None
        return self._description

    def send(self, message: Any) -> None:
        """The spec (or None: stop) to a worker that may have died: ready() or the next photo says so."""
        try:
            self.conn.send(message)
        except OSError:
            pass

    def ready(self, timeout: float) -> bool:
        self.description(timeout)  # read first, in order
        try:
            message = self.conn.recv() if self.conn.poll(timeout) else None
        except (EOFError, OSError):
            return False
        if isinstance(message, tuple) and message[:1] == ("refused",):
            self.refusal = message[1]  # what it could not open or load, said as the worker's own error says it
        return message == "ready"

    def stop(self, wait: bool = True) -> None:
        if self.process.is_alive():
            self.process.kill()
        if wait:
            self.process.join(5)
        self.conn.close()


@contextlib.contextmanager
def _sigint_held_back() -> Iterator[None]:
    """Block SIGINT in this thread while a worker starts: the new interpreter inherits the blocked signal, so a Ctrl-C
    while it imports (a second or more) cannot end it with a KeyboardInterrupt traceback before ``_serve`` ignores
    SIGINT. This process gets its own Ctrl-C as soon as the mask is restored, and stops the scan as ever."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # not POSIX: nothing to hold back with
        yield
        return
    from multiprocessing import resource_tracker

    # spawn starts multiprocessing's resource tracker on first use, and unblocks SIGINT in this thread after it has
    # started it: started first, it leaves the mask below alone
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_without_main(process: Any) -> None:
    """Start a spawned worker without running the driver's main module again in it.

    ``spawn`` re-imports ``__main__`` in the child so that functions defined there can be found; a worker's
    target lives in this module, and the command line's main (typer, rich and every command) costs a tenth of a
    second per worker. Only for the command line (``WorkerPool(without_main=True)``): every thread of the process
    sees the stand-in while a worker starts, and a library caller's thread pickling a class of its own script
    then would fail."""
    import sys
    import types

    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__: nothing to re-import
    try:
        process.start()
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class WorkerPool:
    """Worker processes started early: each loads the models while the driver opens its own checks (the register,
    the policy), and gets the driver's checks (``Checks.worker_spec``) when ``check_isolated`` first uses the pool.
    ``close`` ends them, whether or not they were used."""

    def __init__(self, photos: int, *, policy: Any = None, models: str | None = None, workers: int | None = None,
                 limits: Limits = Limits(), without_main: bool = False) -> None:
        self.ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no thread of this one is copied half-way
        self.args = (policy, models, limits.memory_mb)
        self.limits = limits
        self.without_main = without_main
        count = max(1, min(workers, photos)) if workers else default_workers(photos)
        self.workers = [_Worker(self.ctx, self.args, without_main) for _ in range(count)]
        self.spec: dict[str, Any] | None = None

    def described_pack(self, timeout: float = 300) -> Any:
        """The workers' pack as names only (``described_pack``), for the driver: it judges nothing, and loading the
        models it would not run took the CPU the workers load theirs with (a 13-photo scan on two cores: 0.3-0.4 s).
        ``None`` where a worker could not load or describe its pack, or two differ: the driver then loads the pack
        itself, and says why it could not where that fails."""
        from minorguard.models.base import described_pack

        descriptions = [w.description(timeout) for w in self.workers]
        if None in descriptions or any(d != descriptions[0] for d in descriptions):
            return None
        return described_pack(descriptions[0])

    def bind(self, checks: Any) -> None:
        self.spec = checks.worker_spec()
        for w in self.workers:
            w.send(self.spec)
        for w in self.workers:
            if not w.ready(300):
                raise _failed(w)

    def replace(self, old: _Worker) -> _Worker:
        old.busy = None
        old.stop()
        fresh = _Worker(self.ctx, self.args, self.without_main)
        fresh.send(self.spec)
        if not fresh.ready(300):
            raise _failed(fresh)
        self.workers[self.workers.index(old)] = fresh
        return fresh

    def close(self) -> None:
        for w in self.workers:
            w.send(None)  # ends a worker whether it waits for its spec or for a photo
            w.stop(wait=False)
        for w in self.workers:  # reaped together: each gives back a gigabyte as it ends
            w.process.join(5)
        self.workers = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_isolated(checks: Any, sources: Iterable[Path], *, workers: int | None = None, limits: Limits = Limits(),
                   models: str | None = None, pool: WorkerPool | None = None) -> Iterator[PhotoResult]:
    """Results for ``sources`` in their order, each judged in a worker process within ``limits``, not yet audited:
    the driver audits them (``checks.audited``). ``pool``: workers started earlier (``WorkerPool``) with the same
    policy and models; this call binds them to ``checks`` and closes them when it ends."""
    items = [os.fsdecode(Path(p)) for p in sources]
    if not items:
        if pool is not None:
            pool.close()
        return
    if pool is None:
        pool = WorkerPool(len(items), policy=checks.guard.policy, models=models, workers=workers, limits=limits)
    with pool:
        pool.bind(checks)
        yield from _run(pool, items, checks)


def _largest_first(items: list[str]) -> deque[tuple[int, str]]:
    """Photos to hand out, the largest files first: a large photo started last would keep one worker busy while the
    others wait at the end of the batch. Results still come out in the photos' order."""
    def size(item: tuple[int, str]) -> int:
        try:
            return os.stat(item[1]).st_size
        except OSError:  # judged (and refused) like any other; where it is handed out does not matter
            return 0
    return deque(sorted(enumerate(items), key=size, reverse=True))


def _run(pool: WorkerPool, items: list[str], checks: Any) -> Iterator[PhotoResult]:
    limits = pool.limits
    queue = _largest_first(items)
    done: dict[int, PhotoResult] = {}
    next_out = 0
    while next_out < len(items):
        for w in list(pool.workers):
            if w.busy is None and queue:
                index, path = queue.popleft()
                try:
                    w.conn.send(path)
                except OSError:
                    # it died while idle (the system's memory killer): this photo goes to its replacement, not
                    # to a BrokenPipeError that ended the scan with no report (an audit)
                    queue.appendleft((index, path))
                    pool.replace(w)
                    continue
                w.busy = (index, path, time.monotonic())
        busy = [w for w in pool.workers if w.busy is not None]
        if not busy:  # every worker was replaced before it took a photo: hand them out again
            continue
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
                w.process.join(1)  # its exit code is there only once it has been joined ("exit None" before)
                result = checks.guard.error_result(path, None, "internal_error",
                                                   f"{path}: the worker checking it stopped (exit {w.process.exitcode})")
                pool.replace(w)
            elif result.verdict is Verdict.ERROR and result.error_code == "out_of_memory":
                pool.replace(w)  # a worker that hit its cap starts clean
            else:
                w.busy = None
            done[index] = result
        now = time.monotonic()
        for w in list(pool.workers):
            if w.busy is not None and now - w.busy[2] > limits.seconds:
                index, path, _ = w.busy
                done[index] = checks.guard.error_result(path, None, "too_slow", f"{path}: checking took longer than {limits.seconds:g} s; stopped")
                pool.replace(w)
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1


def _failed(worker: _Worker) -> Exception:
    """A worker that never became ready: the scan stops (one line, exit 64), nothing is judged without its models."""
    from minorguard.application.ray_engine import EngineUnavailable

    worker.process.join(5)  # its own exit code, not the kill's (it closed its end of the pipe as it ended)
    worker.stop()
    if worker.refusal is not None:
        return EngineUnavailable.of(worker.refusal)
    return EngineUnavailable("isolated_failed", exit_code=worker.process.exitcode)
