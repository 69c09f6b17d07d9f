"""The web service under load: photos per second and latency at 1, 4 and 16 clients, 1 and 2 workers.

    python -m benchmarks.service [--seconds 30] [--workers 1 2] [--clients 1 4 16]

Each configuration starts ``minorguard serve`` as its own process (a fresh register with
one API key in a temporary folder), waits for /v1/health, and has N client threads post
the photos of ``../shared/samples`` to /v1/check (channel facebook) over and over for
``--seconds``; a request's latency is from sending it to the whole answer read. Every
answer must be 200: any other status is counted and reported. Memory is the resident
size of the server's processes (parent and workers) at the end.

The library baseline checks the same photos one after another through ``open_checks``
with a register of its own (what one client of the service gets, minus HTTP), and the
overhead at 1 client is the service's median latency against the library's.
The target of issue 19: within 15% at 1 client.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks.common import SHARED, print_table, write_json

SUFFIXES = {".jpg", ".jpeg", ".png"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, key: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (uvicorn's workers)."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
        except (OSError, StopIteration):
            pass
    return total


def library_baseline(photos: list[Path], seconds: float) -> dict:
    from minorguard import CheckContext, open_checks

    with tempfile.TemporaryDirectory() as home:
        os.environ["MINORGUARD_DATA_DIR"] = home
        with open_checks(db=str(Path(home) / "register.sqlite3"), context=CheckContext(channel="facebook"), tool="bench") as checks:
            for p in photos:  # warm
                checks.check(p.read_bytes())
            latencies = []
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                for p in photos:
                    data = p.read_bytes()
                    start = time.perf_counter()
                    checks.check(data)
                    latencies.append(time.perf_counter() - start)
    return {"photos": len(latencies), "photos_per_s": round(len(latencies) / sum(latencies), 3),
            "median_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 1)}


def _load(url: str, key: str, blobs: list[bytes], clients: int, seconds: float) -> tuple[list[float], list[int], float]:
    """``clients`` threads posting ``blobs`` round and round for ``seconds``: (latencies of 200s, other statuses, wall s)."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            blob = blobs[i % len(blobs)]
            i += 1
            start = time.perf_counter()
            status = _post(url, key, blob)
            took = time.perf_counter() - start
            with lock:
                if status == 200:
                    latencies.append(took)
                else:
                    errors.append(status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.monotonic() - began


def run_service(photos: list[Path], workers: int, clients_list: list[int], seconds: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k not in ("MINORGUARD_DB", "MINORGUARD_KEY")}
        env["MINORGUARD_DATA_DIR"] = home
        db = str(Path(home) / "register.sqlite3")
        made = subprocess.run([sys.executable, "-m", "minorguard", "key", "create", "--tool", "bench", "--db", db],
                              env=env, capture_output=True, text=True, check=True)
        key = made.stdout.strip()
        port = _port()
        server = subprocess.Popen([sys.executable, "-m", "minorguard", "serve", "--port", str(port), "--db", db,
                                   "--workers", str(workers), "--timeout", "600"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/v1/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if server.poll() is not None or time.monotonic() - started > 300:
                        raise SystemExit("the service did not start") from None
                    time.sleep(0.5)
            ready_s = time.monotonic() - started
            blobs = [p.read_bytes() for p in photos]
            for blob in blobs:  # warm every worker's first use a little
                _post(f"{base}/v1/check?channel=facebook", key, blob)
            for clients in clients_list:
                latencies, errors, wall = _load(f"{base}/v1/check?channel=facebook", key, blobs, clients, seconds)
                ordered = sorted(latencies)
                rows.append({
                    "workers": workers, "clients": clients, "photos": len(latencies), "errors": len(errors),
                    "photos_per_s": round(len(latencies) / wall, 3),
                    "median_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
                    "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1) if ordered else None,
                    "rss_mb": round(_rss_mb(server.pid)), "ready_s": round(ready_s, 1),
                })
                print(rows[-1], flush=True)
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "samples")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"photos not found at {args.folder} (set MINORGUARD_SHARED)")
    photos = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in SUFFIXES)
    library = library_baseline(photos, args.seconds)
    print({"library": library}, flush=True)
    rows = []
    for workers in args.workers:
        rows += run_service(photos, workers, args.clients, args.seconds)
    one = next((r for r in rows if r["workers"] == 1 and r["clients"] == 1), None)
    overhead = round(one["median_ms"] / library["median_ms"] - 1, 3) if one and one["median_ms"] else None
    print_table(["workers", "clients", "photos/s", "median ms", "p95 ms", "errors", "RSS MB"],
                [[r["workers"], r["clients"], r["photos_per_s"], r["median_ms"], r["p95_ms"], r["errors"], r["rss_mb"]] for r in rows])
    print(f"library, one photo after another: {library['photos_per_s']} photos/s, median {library['median_ms']} ms; "
          f"service overhead at 1 client (median latency): {overhead:+.1%}" if overhead is not None else "")
    path = write_json("service.json", {
        "photos": [p.name for p in photos], "seconds": args.seconds, "cpus": os.cpu_count(), "library": library,
        "service": rows, "overhead_1_client": overhead, "target_overhead": 0.15,
    })
    print(f"written {path}")


if __name__ == "__main__":
    main()
