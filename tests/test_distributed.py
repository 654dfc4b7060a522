"""Sweeps on a Dask cluster give the local result, exactly, even when a worker dies.

A two-worker LocalCluster (worker processes, as on a real cluster) runs a small sweep of the
real Heping model; its Dataset must be identical to the same sweep run in this process.
One test kills a worker process in the middle of a chunk; the scheduler runs that chunk
again elsewhere and the result is still identical.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import xarray as xr

from sim import cli
from sim.distributed import (
    KEY_PREFIX,
    DaskExecutor,
    ModelSource,
    WorkersLostError,
    dask_client,
    worker_cache_info,
    worker_model,
)
from sim.errors import InputError
from sim.scenarios import load_levers
from sim.sweep import load_sweep, run_sweep
from sim.targets import load_targets

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "model"
SCENARIOS = REPO / "scenarios"

TINY_MODEL = """{UTF-8}
growth rate = 0.1
~ 1/Year ~ A constant a run can set |
population = INTEG(population * growth rate, 100)
~ persons ~ |
FINAL TIME = 2025 ~ Year ~ |
INITIAL TIME = 2015 ~ Year ~ |
SAVEPER = 1 ~ Year ~ |
TIME STEP = 0.25 ~ Year ~ |
"""


# ------------------------------------------------------------------ the worker-side cache


def tiny_source(tmp_path: Path, text: str = TINY_MODEL) -> ModelSource:
    import sim

    path = tmp_path / "tiny.mdl"
    path.write_text(text, encoding="utf-8")
    return ModelSource.from_model(sim.load_model(path))


def test_worker_compiles_a_model_once_and_records_its_file_name(tmp_path):
    source = tiny_source(tmp_path)
    first = worker_model(source)
    again = worker_model(source)
    assert again is first
    assert worker_cache_info()[source.sha256] >= 2
    assert first.threads == 1  # one engine thread per worker process
    ds = first.run({"growth_rate": [0.1, 0.2]}, 2)
    assert ds.attrs["model_file"] == "tiny.mdl" and ds.attrs["model_sha256"] == source.sha256


def test_worker_uses_only_the_file_name_it_is_given(tmp_path):
    import hashlib

    text = TINY_MODEL.replace("growth rate = 0.1", "growth rate = 0.15").encode()
    source = ModelSource("../../sneaky.mdl", text, hashlib.sha256(text).hexdigest())
    model = worker_model(source)
    assert model.run(None, 1).attrs["model_file"] == "sneaky.mdl"
    # joined naively to the worker's temporary folder, the name would land here
    assert not (Path(tempfile.gettempdir()).parent / "sneaky.mdl").exists()


def test_worker_refuses_text_that_does_not_match_its_hash(tmp_path):
    source = tiny_source(tmp_path)
    forged = ModelSource(source.name, source.text.replace(b"0.1", b"0.2"), source.sha256)
    with pytest.raises(InputError, match="does not match its sha256"):
        worker_model(forged)


def test_worker_runs_the_safety_check_on_the_text_it_receives(tmp_path):
    import hashlib

    # A lookup range that PySD's parser would eval(): refused before PySD sees it.
    text = TINY_MODEL.replace(
        "growth rate = 0.1",
        "growth rate = WITH LOOKUP(Time, ([(__import__('os'),0)-(1,1)],(0,0),(1,1)))",
    ).encode()
    source = ModelSource("evil.mdl", text, hashlib.sha256(text).hexdigest())
    with pytest.raises(InputError, match=r"evil\.mdl"):
        worker_model(source)


def test_a_model_file_changed_after_loading_is_not_shipped(tmp_path):
    import sim

    path = tmp_path / "tiny.mdl"
    path.write_text(TINY_MODEL, encoding="utf-8")
    model = sim.load_model(path)
    path.write_text(TINY_MODEL.replace("0.1", "0.3"), encoding="utf-8")
    with pytest.raises(InputError, match="changed after it was loaded"):
        ModelSource.from_model(model)


# ------------------------------------------------------------------ a real two-worker cluster


@pytest.fixture(scope="module")
def heping():
    """The engine model, lever catalogue and targets of the shipped Heping model."""
    import sim

    return (
        sim.load_model(MODEL / "heping.mdl"),
        load_levers(MODEL / "levers.toml"),
        load_targets(MODEL / "targets.toml"),
    )


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes, one thread each, shared by this module."""
    with dask_client(workers=2) as connected:
        yield connected


def small_sweep(folder: Path, catalogue, *, samples: int = 96, extra: str = ""):
    """The shipped all-lever LHS sweep, shrunk to ``samples`` points in chunks of 16."""
    text = (SCENARIOS / "sweep_levers_lhs.toml").read_text(encoding="utf-8")
    text = text.replace("samples = 4096", f"samples = {samples}\nchunk_size = 16{extra}")
    path = folder / "sweep.toml"
    path.write_text(text, encoding="utf-8")
    for name in ("baseline.toml",):
        (folder / name).write_text((SCENARIOS / name).read_text(encoding="utf-8"), "utf-8")
    return load_sweep(path, catalogue)


def test_two_workers_give_the_local_dataset_and_compile_once_each(tmp_path, heping, client):
    model, catalogue, targets = heping
    sweep = small_sweep(tmp_path, catalogue)
    local = run_sweep(model, sweep, catalogue, targets)
    done: list[int] = []
    remote = run_sweep(
        model, sweep, catalogue, targets, executor=DaskExecutor(client), progress=done.append
    )
    xr.testing.assert_identical(local, remote)
    assert sorted(done) == [16] * 6
    caches = client.run(worker_cache_info)
    assert len(caches) == 2
    for cache in caches.values():
        assert list(cache) in ([], [model.sha256])  # at most one compiled model per worker
    served = sum(cache.get(model.sha256, 0) for cache in caches.values())
    assert served >= 6  # every chunk was served from a compiled model, compiled ≤ 2 times


def test_keep_all_on_the_cluster_equals_local(tmp_path, heping, client):
    model, catalogue, targets = heping
    sweep = small_sweep(tmp_path, catalogue, samples=40)
    local = run_sweep(model, sweep, catalogue, targets, keep="all")
    remote = run_sweep(model, sweep, catalogue, targets, keep="all", executor=DaskExecutor(client))
    xr.testing.assert_identical(local, remote)
    assert remote.sizes["time"] == local.sizes["time"] > 5  # whole trajectories came back


def test_an_input_problem_on_a_worker_reaches_the_client_as_is(tmp_path, heping, client):
    model, catalogue, targets = heping
    sweep = small_sweep(tmp_path, catalogue)
    with open(tmp_path / "baseline.toml", "a", encoding="utf-8") as base:
        base.write("\n[run]\nfinal_time = 2022\n")  # the targets read 2025
    sweep = load_sweep(sweep.path, catalogue)
    with pytest.raises(InputError) as local:
        run_sweep(model, sweep, catalogue, targets)
    with pytest.raises(InputError) as remote:
        run_sweep(model, sweep, catalogue, targets, executor=DaskExecutor(client))
    assert "which this sweep's runs do not save" in str(local.value)
    assert str(remote.value) == str(local.value)
    # the sweep's other chunks were cancelled: nothing of it stays on the cluster
    deadline = time.monotonic() + 30
    while [k for k in client.who_has() if str(k).startswith(KEY_PREFIX)]:
        assert time.monotonic() < deadline, client.who_has()
        time.sleep(0.1)


class KillOnFirstChunk(distributed.WorkerPlugin):
    """Ends its worker's process abruptly when the chunk at ``start`` begins to execute,
    the first time only (a marker file remembers, across the restarted worker)."""

    name = "kill-on-first-chunk"

    def __init__(self, marker: str, start: int) -> None:
        self.marker = marker
        self.suffix = f"-{start}"

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or not str(key).startswith(KEY_PREFIX):
            return
        if str(key).endswith(self.suffix) and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)


def test_a_worker_killed_mid_sweep_loses_nothing(tmp_path, heping, client):
    model, catalogue, targets = heping
    sweep = small_sweep(tmp_path, catalogue)
    local = run_sweep(model, sweep, catalogue, targets)
    pids_before = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    client.register_plugin(KillOnFirstChunk(str(marker), start=48))
    try:
        remote = run_sweep(model, sweep, catalogue, targets, executor=DaskExecutor(client))
    finally:
        client.unregister_worker_plugin(KillOnFirstChunk.name)
    assert marker.exists(), "no worker was killed: the test did not test anything"
    assert int(marker.read_text()) in pids_before
    xr.testing.assert_identical(local, remote)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead worker


def test_a_chunk_that_kills_every_worker_stops_the_sweep(tmp_path, heping, client, monkeypatch):
    model, catalogue, targets = heping
    sweep = small_sweep(tmp_path, catalogue)
    # the scheduler runs in this process: let a chunk kill one worker only, not four
    monkeypatch.setattr(client.cluster.scheduler, "allowed_failures", 0)
    client.register_plugin(KillOnFirstChunk(str(tmp_path / "killed"), start=32))
    try:
        # every chunk queued on the dead worker failed with it, not only the killer
        with pytest.raises(WorkersLostError, match=r"runs \d+–\d+ of the sweep: every worker"):
            run_sweep(model, sweep, catalogue, targets, executor=DaskExecutor(client))
    finally:
        client.unregister_worker_plugin(KillOnFirstChunk.name)
    assert (tmp_path / "killed").exists()
    client.wait_for_workers(2, timeout=60)


# ------------------------------------------------------------------ the command line


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
    )


def test_cli_two_workers_equal_the_local_run(tmp_path):
    """``heping-sd sweep scenarios/sweep_levers_lhs.toml --workers 2`` equals the local run."""
    lhs = str(SCENARIOS / "sweep_levers_lhs.toml")
    common = ("--chunk-size", "1024", "--no-progress")
    local = run_cli("sweep", lhs, "--out", "local.nc", *common, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    dask = run_cli("sweep", lhs, "--out", "dask.zarr", "--workers", "2", *common, cwd=tmp_path)
    assert dask.returncode == 0, dask.stderr
    with xr.open_dataset(tmp_path / "local.nc") as a, xr.open_zarr(tmp_path / "dask.zarr") as b:
        a, b = a.load(), b.load()
    assert a.sizes["run"] == 4096
    assert a.attrs.pop("created") and b.attrs.pop("created")  # the only attr that may differ
    xr.testing.assert_identical(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.zarr", "local.nc"]


def test_cli_on_an_existing_cluster_equals_the_local_run(tmp_path, heping, client):
    """With ensemble members too: the workers run each setting over the same members."""
    sweep = small_sweep(tmp_path, heping[1])
    address = client.cluster.scheduler_address
    members = ("--members", "8")
    local = run_cli("sweep", str(sweep.path), "--out", "local.nc", *members, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    remote = run_cli(
        "sweep",
        str(sweep.path),
        "--out",
        "remote.nc",
        "--scheduler",
        address,
        *members,
        cwd=tmp_path,
    )
    assert remote.returncode == 0, remote.stderr
    with xr.open_dataset(tmp_path / "local.nc") as a, xr.open_dataset(tmp_path / "remote.nc") as b:
        a, b = a.load(), b.load()
    assert a.attrs.pop("created") and b.attrs.pop("created")
    assert a.attrs["calibration"] == "ensemble" and 1 < a.sizes["sample"] <= 8
    xr.testing.assert_identical(a, b)


def test_cli_unreachable_scheduler_exits_2_quickly(tmp_path):
    lhs = str(SCENARIOS / "sweep_levers_lhs.toml")
    began = time.monotonic()
    result = run_cli(
        "sweep",
        lhs,
        "--out",
        "x.nc",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--connect-timeout",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--scheduler" in lines[0] and "tcp://127.0.0.1:9" in lines[0] and "2 s" in lines[0]
    assert time.monotonic() - began < 30
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--workers", "0"), "--workers"),
        (("--scheduler", "nonsense://x"), "is not a Dask scheduler address"),
        (("--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0"), "--connect-timeout"),
    ],
)
def test_cli_bad_cluster_options_exit_2(tmp_path, capsys, args, fragment):
    lhs = str(SCENARIOS / "sweep_levers_lhs.toml")
    assert cli.main(["sweep", lhs, "--out", str(tmp_path / "x.nc"), *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_workers_and_scheduler_are_exclusive(tmp_path, capsys):
    lhs = str(SCENARIOS / "sweep_levers_lhs.toml")
    with pytest.raises(SystemExit) as info:
        cli.main(["sweep", lhs, "--out", "x.nc", "--workers", "2", "--scheduler", "tcp://h:1"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
