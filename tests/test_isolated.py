"""Bounded work per photo (issue 17): scan (its default engine, isolated) judges each photo in a worker process within a time
and a memory limit; a photo past either becomes ERROR with the reason, its worker is replaced, the batch goes on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from minorguard.cli import EXIT_BLOCK, main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    photos = tmp_path / "foto"
    shutil.copytree(SAMPLES, photos, ignore=shutil.ignore_patterns("LICENSES"))
    return photos


def _photos(report: Path) -> list[dict]:
    photos = json.loads(report.read_text(encoding="utf-8"))["photos"]
    for p in photos:
        p.pop("timings_ms")
    return photos


def test_within_the_limits_a_worker_process_gives_the_local_engines_results(folder, tmp_path):
    local, isolated = tmp_path / "local.json", tmp_path / "isolated.json"
    common = ["scan", str(folder), "--channel", "facebook", "--no-group", "--lang", "en"]
    assert main([*common, "--json", str(local), "--engine", "local"]) == EXIT_BLOCK
    assert main([*common, "--json", str(isolated), "--workers", "2"]) == EXIT_BLOCK  # the default engine
    assert _photos(isolated) == _photos(local)


@pytest.mark.parametrize(("option", "value", "codes", "said"), [
    ("--photo-seconds", "0.2", {"too_slow"}, "took longer than 0.2 s"),
    # numpy and Pillow raise MemoryError at the cap; native code may instead end the worker: ERROR either way
    ("--photo-memory-mb", "32", {"out_of_memory", "internal_error"}, "while checking"),
])
def test_a_photo_past_a_limit_is_an_error_with_its_reason_and_the_batch_goes_on(folder, tmp_path, capsys, option, value, codes, said):
    report = tmp_path / "raporti.json"
    # no --engine: the default bounds every photo
    exit_code = main(["scan", str(folder), "--no-group", "--lang", "en", "--json", str(report), "--workers", "1", option, value])
    assert exit_code == EXIT_BLOCK  # ERROR blocks publication, as every ERROR does
    photos = json.loads(report.read_text(encoding="utf-8"))["photos"]
    assert len(photos) == 5  # every photo has its answer: no photo stopped the others
    # the megapixel photos are past either limit on any machine; the 512 px astronaut once finished in 0.2 s (CI)
    large = [p for p in photos if "mpx" in p["source"]]
    assert len(large) == 2 and all(p["verdict"] == "ERROR" for p in large)
    assert {p["error_code"] for p in photos if p["verdict"] == "ERROR"} <= codes
    out = capsys.readouterr().out
    assert said in out or "worker checking it stopped" in out


def test_default_workers_never_exceed_the_photos_or_the_cores():
    from minorguard.application.isolated import default_workers

    assert default_workers(1) == 1
    assert 1 <= default_workers(1000) <= (os.cpu_count() or 1)


def test_default_workers_fit_the_free_memory(monkeypatch):
    from minorguard.application import isolated

    monkeypatch.setattr(isolated, "_available_mb", lambda: isolated.WORKER_MB - 1)
    assert isolated.default_workers(100) == 1  # not enough for two copies of the models: one worker, not swapping
    monkeypatch.setattr(isolated, "_available_mb", lambda: None)
    assert isolated.default_workers(100) == min(100, os.cpu_count() or 1)


def test_ctrl_c_stops_a_scan_and_its_workers_without_a_traceback(folder, tmp_path):
    """Ctrl-C reaches the driver and every worker (one process group): exit 130, and no worker prints the traceback
    of the photo it was judging."""
    import signal
    import subprocess
    import sys

    # Copies of one BLOCK photo: files of one size are handed out in name order (the largest first, ties as listed)
    # and each result is printed as it comes, so the first line comes after a photo or two and most of the scan is
    # still to do when the key is pressed. The samples and their copies printed their first line only near the end
    # (their smallest photos, handed out last, come first in name order): a key pressed a moment late reached an
    # interpreter that had finished the scan and was shutting down, and the run ended with -2 instead of 130.
    photos = tmp_path / "kopje"
    photos.mkdir()
    for k in range(40):
        shutil.copy(folder / "faceaisharp_obama_family.jpg", photos / f"foto_{k:02d}.jpg")
    scan = subprocess.Popen([sys.executable, "-m", "minorguard", "scan", str(photos), "--lang", "en", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = scan.stdout.readline()  # the first verdict: the workers are judging
    os.killpg(scan.pid, signal.SIGINT)
    out, err = scan.communicate(timeout=120)
    assert first.startswith("BLOCK"), first + out + err
    assert "minorguard summary" not in out, "the scan had ended before the key reached it: nothing was interrupted"
    assert scan.returncode == 130, err
    assert "Traceback" not in out + err
    assert err.split() == ["interrupted"], err  # said once, in the run's language (typer's exit 130 said nothing)
    assert len((first + out).splitlines()) < 40


def test_a_worker_interrupted_while_it_starts_goes_on_without_a_traceback(tmp_path, monkeypatch, capfd):
    """Ctrl-C reaches the workers too, and a new one spends a second or more importing before it can set SIGINT
    aside: one pressed then ended it with a KeyboardInterrupt traceback (the scan itself stopped with 130). A worker
    starts with SIGINT held back, so the key does not end it; the scan's own process stops the scan."""
    import signal

    from minorguard.application.isolated import WorkerPool

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    pool = WorkerPool(1)
    try:
        [worker] = pool.workers
        os.kill(worker.process.pid, signal.SIGINT)  # at once: the new interpreter has not imported anything yet
        assert worker.description(300) is not None, "the worker ended before it loaded its models"
    finally:
        pool.close()
    assert "KeyboardInterrupt" not in capfd.readouterr().err


def test_workers_started_early_end_when_the_scan_stops_before_judging(folder, tmp_path, capsys):
    """The workers load their models while the driver opens the register: a register that does not exist stops
    the scan (exit 64), and the workers already started end with it."""
    import multiprocessing

    from minorguard.cli import EXIT_USAGE

    assert main(["scan", str(folder), "--lang", "en", "--db", str(tmp_path / "mistyped.db")]) == EXIT_USAGE
    assert "mistyped.db" in capsys.readouterr().err
    assert multiprocessing.active_children() == []


def test_a_worker_loaded_with_another_policy_judges_with_the_drivers(tmp_path, monkeypatch):
    """A pool started from one policy and bound to checks with another (the file changed in between) judges with
    the driver's: the spec's policy wins, never the one the worker happened to load."""
    from minorguard.application.checks import open_checks
    from minorguard.application.isolated import WorkerPool, check_isolated

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    strict = tmp_path / "strict.toml"
    strict.write_text("[minor]\nreview_probability = 0.0\nchallenge_age = 100\n", encoding="utf-8")
    photo = SAMPLES / "faceaisharp_obama_family.jpg"
    checks = open_checks(None)  # the default policy: the girls' faces are identifiable and block
    pool = WorkerPool(1, policy=strict)  # every face of the portrait a possible minor, the parents too
    [result] = check_isolated(checks, [photo], pool=pool)
    [local] = checks.check_many([photo])
    assert result.verdict.value == local.verdict.value == "BLOCK"
    assert [(f.category, f.reason) for f in result.faces] == [(f.category, f.reason) for f in local.faces]


def test_the_largest_photos_are_handed_out_first_and_results_keep_their_order(tmp_path):
    from minorguard.application.isolated import _largest_first

    sizes = {"a.jpg": 10, "b.jpg": 3000, "c.jpg": 200, "missing.jpg": None}
    items = []
    for name, size in sizes.items():
        path = tmp_path / name
        if size is not None:
            path.write_bytes(b"x" * size)
        items.append(str(path))
    assert [index for index, _ in _largest_first(items)] == [1, 2, 0, 3]


def test_workers_that_cannot_load_their_models_stop_the_scan_with_one_line(tmp_path, monkeypatch):
    """A worker that cannot load its models (here: a models folder that does not exist, given to the pool but not
    to the driver) says why, and the scan stops with that line in each language; a worker that ends without a
    reason (here: told to judge with another pack than the one it loaded) stops it with its exit code. Nothing is
    judged either way."""
    from minorguard.application.checks import open_checks
    from minorguard.application.isolated import WorkerPool, check_isolated
    from minorguard.application.ray_engine import EngineUnavailable

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    checks = open_checks(None)
    pool = WorkerPool(1, models=str(tmp_path / "no_models_here"))
    with pytest.raises(EngineUnavailable) as failed:
        list(check_isolated(checks, [SAMPLES / "skimage_astronaut.png"], pool=pool))
    assert failed.value.code == "model.bad_pack"
    assert "no_models_here" in failed.value.text("en") and "neither 'default' nor a folder" in failed.value.text("en")
    assert "nuk është as 'default' as dosje" in failed.value.text("sq")
    assert pool.workers == []

    spec = {**checks.worker_spec(), "pack": "another pack"}
    monkeypatch.setattr(checks, "worker_spec", lambda: spec)
    pool = WorkerPool(1)
    with pytest.raises(EngineUnavailable) as failed:
        list(check_isolated(checks, [SAMPLES / "skimage_astronaut.png"], pool=pool))
    assert failed.value.code == "isolated_failed" and "(exit 3)" in failed.value.text("en")
    assert "nuk mundi të ngarkonte modelet" in failed.value.text("sq")
    assert pool.workers == []


def test_the_driver_holds_the_workers_pack_by_name_and_labels_their_results_with_it(tmp_path, monkeypatch):
    """The driver judges nothing: it takes the pack its workers loaded by name (their CPU is not shared with a
    load of models it would never run), and its label, checks and audit entries are the loaded pack's."""
    from minorguard import Guard
    from minorguard.application.checks import open_checks
    from minorguard.application.isolated import WorkerPool, check_isolated
    from minorguard.models.base import NamedOnly

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    pool = WorkerPool(1)
    described = pool.described_pack()
    assert isinstance(described.detector, NamedOnly) and isinstance(described.age_model, NamedOnly)
    checks = open_checks(None, described)
    assert checks.guard.pack_label == Guard().pack_label
    assert checks.guard.policy.minor_rule == "calibrated"  # the estimator's fitted age model is the described one
    with pytest.raises(AttributeError, match="runs in a worker process"):
        described.detector.detect(None)
    [result] = check_isolated(checks, [SAMPLES / "faceaisharp_obama_family.jpg"], pool=pool)
    assert result.verdict.value == "BLOCK" and result.model_pack == checks.guard.pack_label


def test_a_pack_that_cannot_be_named_without_loading_more_is_loaded_by_the_driver_itself():
    from minorguard.models.base import ModelPack, NamedOnly, describe_pack

    undeclared = ModelPack(name="folder", detector=NamedOnly("scrfd"), age_model=NamedOnly("genderage"),
                           _embedder_factory=lambda: NamedOnly("arcface"))
    assert describe_pack(undeclared) is None  # naming its embedder would load it in every worker
    no_embedder = ModelPack(name="folder", detector=NamedOnly("scrfd"), age_model=NamedOnly("genderage"))
    assert describe_pack(no_embedder)["embedder"] is None


def test_a_scan_with_workers_loads_no_models_in_its_own_process(folder, tmp_path, monkeypatch):
    import minorguard.models.pack as packs

    def refuse(*_: object) -> None:
        raise AssertionError("the driver loaded the models")

    monkeypatch.setattr(packs, "_default_pack", refuse)  # this process only: the workers are fresh interpreters
    report = tmp_path / "r.json"
    assert main(["scan", str(folder), "--lang", "en", "--workers", "2", "--json", str(report)]) == EXIT_BLOCK
    photos = json.loads(report.read_text(encoding="utf-8"))["photos"]
    assert len(photos) == 5 and "ERROR" not in {p["verdict"] for p in photos}
    assert {p["model_pack"] for p in photos} == {json.loads(report.read_text(encoding="utf-8"))["model_pack"]}


def test_what_a_worker_cannot_open_or_load_stops_the_scan_with_the_workers_own_line(tmp_path, monkeypatch):
    """The driver holds only the models' names, so the register's embedder loads first in the workers: a model or a
    register they cannot use must stop the scan with its own reason, in each language, as it did in the driver (an
    audit: a damaged descriptor file let a scan with a register judge on; photos needing it became ERROR)."""
    from minorguard.application.checks import open_checks
    from minorguard.application.isolated import WorkerPool, check_isolated
    from minorguard.application.ray_engine import EngineUnavailable

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    checks = open_checks(None)
    unusable = tmp_path / "regjistri_dëmtuar.db"
    unusable.write_bytes(b"not a register" * 100)
    spec = {**checks.worker_spec(), "db": str(unusable)}  # what the worker gets cannot be opened there
    monkeypatch.setattr(checks, "worker_spec", lambda: spec)
    pool = WorkerPool(1)
    with pytest.raises(EngineUnavailable) as stopped:
        list(check_isolated(checks, [SAMPLES / "skimage_astronaut.png"], pool=pool))
    assert "regjistri_dëmtuar.db" in stopped.value.text("en") and "regjistri_dëmtuar.db" in stopped.value.text("sq")
    assert "could not load the models" not in stopped.value.text("en")
    assert pool.workers == []


def test_a_worker_that_dies_while_idle_is_replaced_and_the_photo_judged(tmp_path, monkeypatch):
    """The audit's case: a worker killed between photos (the system's memory killer) made the next hand-out raise
    BrokenPipeError, which ended the scan with no report."""
    import signal
    import time

    from minorguard.application.checks import open_checks
    from minorguard.application.isolated import Limits, WorkerPool, _run

    monkeypatch.setenv("MINORGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MINORGUARD_DB", raising=False)
    photos = [str(SAMPLES / "faceaisharp_obama_family.jpg"), str(SAMPLES / "skimage_astronaut.png")]
    with open_checks(None) as checks:
        pool = WorkerPool(len(photos), workers=1, limits=Limits())
        try:
            pool.bind(checks)
            os.kill(pool.workers[0].process.pid, signal.SIGKILL)
            pool.workers[0].process.join(10)
            time.sleep(0.2)
            results = list(_run(pool, photos, checks))
        finally:
            pool.close()
    assert [r.verdict.value for r in results] == ["BLOCK", "REVIEW"]
