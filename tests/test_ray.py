"""scan --engine ray (issue 20): a local Ray head on 127.0.0.1, a few hundred photos, the local engine's results."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from photo_variants import write_variants
from register_fixtures import consent_for_the_portraits_girls

from minorguard.cli import main

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'minorguard[ray]' (the test extras include it)")

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"
VARIANTS = 40  # 5 sample photos x 40 = 200 photos


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """`ray start --head` on 127.0.0.1 with two CPUs, stopped afterwards."""
    import secrets

    port = _free_port()
    binary = Path(sys.executable).with_name("ray")
    # token authentication, as a cluster should run: the head and this driver share the token
    auth = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {**os.environ, **auth}
    temp = tmp_path_factory.mktemp("ray")
    started = subprocess.run([str(binary), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                              "--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                             env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    yield f"127.0.0.1:{port}", auth
    subprocess.run([str(binary), "stop", "--force"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def archive(guard, tmp_path, monkeypatch):
    from consent_db import Register
    from minorguard import CheckContext, Guard, open_checks

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    db = str(tmp_path / "data" / "regjistri.sqlite3")
    Register(db).close()  # the office's register; a check never makes one
    with open_checks(db=db, context=CheckContext(channel="facebook"), tool="test", guard=Guard(policy=guard.policy, pack=guard.pack)) as checks:
        consent_for_the_portraits_girls(checks, tmp_path, ["facebook"])
    folder = tmp_path / "arkivi"
    folder.mkdir()
    write_variants(folder, VARIANTS)
    return {"db": db, "folder": folder, "tmp": tmp_path}


def _report(path: Path) -> list[dict]:
    photos = json.loads(path.read_text(encoding="utf-8"))["photos"]
    for p in photos:
        p.pop("timings_ms")  # how long a stage took is the one thing two runs never share
    return photos


def test_a_ray_scan_gives_the_local_engines_results_and_the_driver_audits_them(ray_head, archive, capsys):
    from consent_db import Register

    common = ["scan", str(archive["folder"]), "--channel", "facebook", "--date", "2026-12-01", "--db", archive["db"],
              "--no-group", "--lang", "en"]
    local, remote, lines = archive["tmp"] / "local.json", archive["tmp"] / "ray.json", archive["tmp"] / "ray.jsonl"
    local_code = main([*common, "--json", str(local)])
    with Register(archive["db"]) as reg:
        before = sum(e["action"] == "photo_checked" for e in reg.audit_entries())
    address, auth = ray_head
    # the driver as a user runs it: its own process, with the cluster's token in its environment
    env = {**os.environ, **auth, "MINORGUARD_DATA_DIR": os.environ["MINORGUARD_DATA_DIR"]}
    driver = subprocess.run([sys.executable, "-m", "minorguard", *common, "--json", str(remote), "--engine", "ray",
                             "--address", address, "--jsonl", str(lines)], env=env, capture_output=True, text=True, timeout=900)
    assert driver.returncode == local_code, driver.stderr[-3000:]
    expected, got = _report(local), _report(remote)
    assert len(got) == 5 * VARIANTS
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)  # byte for byte, timings aside
    family = [p for p in got if "obama_family" in p["source"]]
    # the register's consents reached the workers: the older girl passes on hers, the younger (under 13?) goes to a person
    assert family and all(p["verdict"] == "REVIEW" for p in family)
    assert all([f["reason"] for f in p["faces"]][1::2] == ["consent", "consent_young"] for p in family)
    streamed = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert [p["sha256"] for p in streamed] == [p["sha256"] for p in got]
    with Register(archive["db"]) as reg:
        after = sum(e["action"] == "photo_checked" for e in reg.audit_entries())
        assert reg.audit_verify().ok
    assert after - before == 5 * VARIANTS  # one writer: the driver audited every photo the workers judged


def test_a_cluster_that_cannot_be_reached_is_one_line_and_exit_64(archive, capsys):
    code = main(["scan", str(archive["folder"]), "--db", archive["db"], "--engine", "ray", "--address", f"127.0.0.1:{_free_port()}",
                 "--lang", "en"])
    assert code == 64
    err = capsys.readouterr().err
    assert "cannot be reached" in err and "Traceback" not in err
