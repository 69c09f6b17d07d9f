"""The register under stress: several processes add, withdraw and record scans against one register while
one of them is killed with SIGKILL every few seconds; afterwards the audit chain must verify and every
operation a process saw committed must be in the register.

    python -m stress.register_soak [--seconds 300] [--workers 3] [--db URL]     # full: five minutes
    python -m stress.register_soak --seconds 20                                 # the short form CI runs

Without ``--db`` the register is a SQLite file in a temporary folder; with a PostgreSQL URL the same run
goes against that server. Each worker appends one line to its journal (flushed and fsynced) after each
operation returns, so the journal holds only what the register had committed; a kill between the commit
and the journal line loses the line, never the record. Prints one JSON line with the figures; exit 1 if
anything committed is missing or the chain does not verify.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def worker(url: str, journal: Path, seed: int) -> None:
    """Until killed: add a child with a consent, withdraw a consent, or record a scan's checks."""
    from consent_db import Register, RegisterBusy

    rng = random.Random(seed)
    with Register(url, busy_timeout_s=60) as reg, journal.open("a", encoding="utf-8") as out:
        def wrote(line: dict) -> None:
            out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())

        mine: list[str] = []
        n = 0
        while True:
            n += 1
            op = rng.random()
            try:
                if op < 0.4 or not mine:
                    child = reg.add_child(f"Fëmija {seed}-{n}")
                    consent = reg.add_consent(child.id, PDF + f"{seed}-{n}".encode(), date.today() - timedelta(days=3), ["facebook"])
                    mine.append(consent.id)
                    wrote({"op": "add", "child": child.id, "consent": consent.id})
                elif op < 0.6:
                    record = mine.pop(rng.randrange(len(mine)))
                    reg.withdraw_consent(record, "soak")
                    wrote({"op": "withdraw", "consent": record})
                else:
                    sha = f"{seed:08x}{n:056x}"
                    reg.audit_checks([(sha, {"verdict": "BLOCK", "tool": "soak"})])
                    wrote({"op": "check", "sha256": sha})
            except RegisterBusy:
                time.sleep(0.05)  # another writer held the lock past the wait: try again, as a scan would


def run(url: str, seconds: float, workers: int, folder: Path) -> dict:
    from consent_db import Register

    # the key lives in the data folder: the caller's when it has one (a test), else one of the run's own
    data = os.environ.get("MINORGUARD_DATA_DIR") or str(folder / "data")
    os.environ["MINORGUARD_DATA_DIR"] = data
    env = {**os.environ, "MINORGUARD_ACTOR": "soak"}
    Register(url).close()  # created once, with its key, before the workers race
    procs: dict[int, subprocess.Popen] = {}

    def start(slot: int, generation: int) -> None:
        journal = folder / f"journal-{slot}-{generation}.jsonl"
        errors = (folder / f"stderr-{slot}-{generation}.txt").open("wb")
        procs[slot] = subprocess.Popen([sys.executable, "-m", "stress.register_soak", "--worker", url, str(journal),
                                        str(slot * 1000 + generation)], env=env, stdout=subprocess.DEVNULL, stderr=errors,
                                       cwd=Path(__file__).resolve().parents[1])
        errors.close()

    generation = 0
    for slot in range(workers):
        start(slot, generation)
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(1.0, 3.0))
        slot = rng.randrange(workers)
        procs[slot].send_signal(signal.SIGKILL)
        procs[slot].wait()
        kills += 1
        generation += 1
        start(slot, generation)
        for other, proc in procs.items():
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                said = b"".join(f.read_bytes() for f in folder.glob(f"stderr-{other}-*.txt")).decode(errors="replace")
                raise SystemExit(f"worker {other} stopped by itself: {said[-2000:]}")
    for proc in procs.values():
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    kills += len(procs)
    lines = [json.loads(line) for j in sorted(folder.glob("journal-*.jsonl"))
             for line in j.read_text(encoding="utf-8").splitlines() if line.strip()]
    missing: list[str] = []
    with Register(url) as reg:
        verified = reg.audit_verify()
        consents = {c.id: c for c in reg.list_consents()}
        checked = {e["photo_sha256"] for e in reg.audit_entries() if e["action"] == "photo_checked"}
    withdrawn = {line["consent"] for line in lines if line["op"] == "withdraw"}
    for line in lines:
        if line["op"] == "add" and line["consent"] not in consents:
            missing.append(f"consent {line['consent']}")
        elif line["op"] == "withdraw" and consents.get(line["consent"]) and consents[line["consent"]].status != "withdrawn":
            missing.append(f"withdrawal of {line['consent']}")
        elif line["op"] == "check" and line["sha256"] not in checked:
            missing.append(f"check {line['sha256'][:16]}")
    return {"seconds": seconds, "workers": workers, "kills": kills, "operations_committed": len(lines),
            "adds": sum(line["op"] == "add" for line in lines), "withdrawals": len(withdrawn),
            "checks": sum(line["op"] == "check" for line in lines), "audit_entries": verified.entries,
            "audit_ok": verified.ok, "audit_problems": list(verified.problems), "missing": missing[:20]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL; default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minorguard-soak-") as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite:///{folder / 'register.sqlite3'}"
        figures = run(url, args.seconds, args.workers, folder)
    print(json.dumps(figures, ensure_ascii=False))
    sys.exit(0 if figures["audit_ok"] and not figures["missing"] and figures["operations_committed"] else 1)


if __name__ == "__main__":
    main()
