"""The register under stress (issue 17): processes killed with SIGKILL while they write, on SQLite and PostgreSQL;
PostgreSQL stopped in the middle of a scan. The short form runs here; `python -m stress.register_soak` runs the
full one (five minutes, or --seconds N)."""

# ruff: noqa: F811  (pytest fixtures imported from register_fixtures)
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from photo_variants import write_variants
from register_fixtures import register_env  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"


def test_writers_killed_again_and_again_lose_nothing_committed(register_env, tmp_path):
    from stress.register_soak import run

    figures = run(register_env["url"], float(os.environ.get("MINORGUARD_SOAK_S", "15")), 3, tmp_path)
    assert figures["kills"] >= 5 and figures["operations_committed"] > 50, figures
    assert figures["audit_ok"], figures["audit_problems"]
    assert figures["missing"] == []


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of this test's own, so that it can be stopped without stopping anyone else's."""
    import tempfile

    initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL server binaries not installed (apt install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="minorguard-pg-test-"))
    home.chmod(0o755)  # the server runs as the postgres user, who must reach its folder
    port = 56000 + os.getpid() % 1000
    env = {**os.environ, "TMPDIR": str(home), "MINORGUARD_PG_PORT": str(port)}
    started = subprocess.run(["bash", str(ROOT / "scripts" / "start_test_postgres.sh")], env=env, capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        pytest.skip(f"a private PostgreSQL could not start: {started.stderr[-500:]}")
    bin_dir = initdb[-1].parent
    folder = home / "minorguard-pg"
    run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []

    def stop() -> None:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)

    yield started.stdout.strip(), stop
    stop()
    shutil.rmtree(home, ignore_errors=True)


def test_postgresql_stopped_in_the_middle_of_a_scan_never_passes_a_photo(private_postgres, tmp_path, monkeypatch):
    from consent_db import Register

    url, stop = private_postgres
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    Register(url).close()
    folder = tmp_path / "foto"
    folder.mkdir()
    # The scan hands the largest files out first and writes its results in name order. Named by size, the results come
    # one by one from the first photo on, and most photos are still to judge when the server stops; named by picture,
    # the first lines came with 32 of the 40 photos judged, a second or two before the scan would have ended.
    written = write_variants(folder, 8)
    for rank, path in enumerate(sorted(written, key=lambda p: p.stat().st_size, reverse=True)):
        path.rename(folder / f"{rank:02d}_{path.name}")
    lines, report = tmp_path / "rezultatet.jsonl", tmp_path / "raporti.json"
    scan = subprocess.Popen([sys.executable, "-m", "minorguard", "scan", str(folder), "--db", url, "--workers", "1",
                             "--jsonl", str(lines), "--json", str(report), "--lang", "en"],
                            env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and scan.poll() is None:
        if lines.exists() and len(lines.read_text(encoding="utf-8").splitlines()) >= 3:
            stop()  # the register's server goes away with photos still to judge
            break
        time.sleep(0.1)
    _, err = scan.communicate(timeout=300)
    assert scan.returncode == 64, (scan.returncode, err[-2000:])
    assert "register" in err.lower()
    assert not report.exists()  # no report of verdicts that were never recorded
    written = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert 3 <= len(written) < len(list(folder.iterdir()))  # the scan stopped at the first photo it could not record
    shutil.rmtree(folder)
