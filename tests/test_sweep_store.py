"""Where a sweep's chunks go: in memory or a Zarr store, in any order, all or nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import xarray as xr
from fake_model import FakeModel

from sim import cli
from sim.fileio import replace_with_directory, temporary_directory_beside
from sim.results import NonFiniteResultError, ZarrSink, open_zarr
from sim.scenarios import load_levers
from sim.sweep import LocalExecutor, chunk_bounds, load_sweep, run_sweep
from sim.targets import load_targets

DATA = Path(__file__).parent / "data"
LEVERS = load_levers(DATA / "levers.toml")
TARGETS = load_targets(DATA / "targets.toml")

LHS = """name = "sw"
base = "base"
design = "lhs"
samples = 50
seed = 11
[levers.talent_programme]
[levers.hightech_certification_support]
[levers.building_upgrade]
values = [0, 3, 6]
"""


@pytest.fixture
def sweep(tmp_path):
    (tmp_path / "base.toml").write_text('name = "base"\n', encoding="utf-8")
    (tmp_path / "sw.toml").write_text(LHS, encoding="utf-8")
    return load_sweep(tmp_path / "sw.toml", LEVERS)


class ReversedExecutor(LocalExecutor):
    """Hands the chunks back last first, as a cluster may."""

    def map(self, model, task, chunks, points):
        results = list(super().map(model, task, chunks, points))
        yield from reversed(results)


PROVENANCE = {"kind": "sweep", "seed": 11, "model_file": "fake.mdl", "ok": True}


def test_chunk_bounds_cover_every_run_once():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(3, 10) == [(0, 3)]


@pytest.mark.parametrize("keep", ["targets", "all"])
def test_chunks_in_any_order_give_the_same_dataset(sweep, keep):
    ordered = run_sweep(FakeModel(), sweep, LEVERS, TARGETS, keep=keep, chunk_size=7)
    shuffled = run_sweep(
        FakeModel(), sweep, LEVERS, TARGETS, keep=keep, chunk_size=7, executor=ReversedExecutor()
    )
    xr.testing.assert_identical(ordered, shuffled)


@pytest.mark.parametrize("keep", ["targets", "all"])
def test_zarr_store_equals_the_in_memory_dataset(tmp_path, sweep, keep):
    memory = run_sweep(
        FakeModel(), sweep, LEVERS, TARGETS, keep=keep, chunk_size=7, attrs=PROVENANCE
    )
    out = tmp_path / "sweep.zarr"
    done: list[int] = []
    stored = run_sweep(
        FakeModel(),
        sweep,
        LEVERS,
        TARGETS,
        keep=keep,
        chunk_size=7,
        attrs=PROVENANCE,
        executor=ReversedExecutor(),
        sink=ZarrSink(out, chunk_runs=7),
        progress=done.append,
    )
    assert sum(done) == 50
    with open_zarr(out) as reopened:
        reopened = reopened.load()
    memory.attrs["ok"] = "true"  # stores hold strings and numbers (as NetCDF files do)
    xr.testing.assert_identical(reopened, memory)
    xr.testing.assert_identical(stored.load(), memory)
    assert reopened["gdp_total"].attrs["long_name_zh"] == "地区生产总值累计"
    # each engine chunk filled whole Zarr chunks
    assert reopened["gdp_total"].encoding["chunks"][0] == 7
    # nothing but the store beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "sw.toml", "sweep.zarr"]


def test_a_failed_sweep_leaves_no_store(tmp_path, sweep):
    (tmp_path / "base.toml").write_text(
        'name = "base"\n[parameters]\ninstability = 1.5\n', encoding="utf-8"
    )
    failing = load_sweep(tmp_path / "sw.toml", LEVERS)
    out = tmp_path / "sweep.zarr"
    with pytest.raises(NonFiniteResultError):
        run_sweep(
            FakeModel(), failing, LEVERS, TARGETS, keep="all", sink=ZarrSink(out, chunk_runs=7)
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "sw.toml"]


def test_a_failure_after_some_chunks_removes_the_partial_store(tmp_path, sweep):
    class FailsLate(LocalExecutor):
        def map(self, model, task, chunks, points):
            for number, item in enumerate(super().map(model, task, chunks, points)):
                if number == 3:
                    raise RuntimeError("worker lost")
                yield item

    out = tmp_path / "sweep.zarr"
    with pytest.raises(RuntimeError, match="worker lost"):
        run_sweep(
            FakeModel(),
            sweep,
            LEVERS,
            TARGETS,
            chunk_size=7,
            executor=FailsLate(),
            sink=ZarrSink(out, chunk_runs=7),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "sw.toml"]


def test_a_new_store_replaces_the_old_one_whole(tmp_path, sweep):
    out = tmp_path / "sweep.zarr"
    run_sweep(FakeModel(), sweep, LEVERS, TARGETS, sink=ZarrSink(out, chunk_runs=10))
    (tmp_path / "sw.toml").write_text(LHS.replace("samples = 50", "samples = 20"), "utf-8")
    smaller = load_sweep(tmp_path / "sw.toml", LEVERS)
    run_sweep(FakeModel(), smaller, LEVERS, TARGETS, sink=ZarrSink(out, chunk_runs=10))
    with open_zarr(out) as ds:
        assert ds.sizes["run"] == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.toml", "sw.toml", "sweep.zarr"]


def test_replacing_a_directory_keeps_the_old_one_if_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.zarr"
    target.mkdir()
    (target / "old").write_text("previous", encoding="utf-8")
    tmp = temporary_directory_beside(target)
    (tmp / "new").write_text("next", encoding="utf-8")
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(src) == tmp:
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        replace_with_directory(tmp, target)
    monkeypatch.undo()
    assert (target / "old").read_text(encoding="utf-8") == "previous"
    replace_with_directory(tmp, target)
    assert [p.name for p in target.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_temporary_directory_gets_the_mode_mkdir_would_give(tmp_path):
    made = temporary_directory_beside(tmp_path / "x.zarr")
    (tmp_path / "plain").mkdir()
    mode = stat.S_IMODE(os.stat(made).st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)


# ----------------------------------------------------------------- the command line


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "fake.mdl").write_text("{UTF-8}\nx = 1\n~ ~|\n", encoding="utf-8")
    for name in ("levers.toml", "targets.toml"):
        (folder / name).write_text((DATA / name).read_text(encoding="utf-8"), "utf-8")
    return folder


def test_cli_sweep_to_zarr_then_targets(tmp_path, sweep, model_dir, monkeypatch, capsys):
    import sim.commands.sweep

    monkeypatch.setattr(sim.commands.sweep, "load_engine_model", lambda path: FakeModel())
    common = ["--chunk-size", "7", "--no-progress", "--model", str(model_dir / "fake.mdl")]
    sweep_file = str(tmp_path / "sw.toml")
    assert cli.main(["sweep", sweep_file, "--out", str(tmp_path / "s.nc"), *common]) == 0
    assert cli.main(["sweep", sweep_file, "--out", str(tmp_path / "s.zarr"), *common]) == 0
    with xr.open_dataset(tmp_path / "s.nc") as nc, open_zarr(tmp_path / "s.zarr") as zarr:
        nc, zarr = nc.load(), zarr.load()
    assert nc.attrs.pop("created") and zarr.attrs.pop("created")
    xr.testing.assert_identical(nc, zarr)
    assert zarr.attrs["seed"] == 11 and zarr.attrs["kind"] == "sweep"
    capsys.readouterr()
    summaries = []
    for out in ("s.nc", "s.zarr"):
        targets = ["--json", "--targets", str(DATA / "targets.toml")]
        assert cli.main(["targets", str(tmp_path / out), *targets]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
    assert summaries[0] == summaries[1]


def test_cli_targets_on_a_directory_that_is_no_store(tmp_path, capsys):
    (tmp_path / "empty.zarr").mkdir()
    assert cli.main(["targets", str(tmp_path / "empty.zarr")]) == 2
    assert "cannot read as a Zarr store" in capsys.readouterr().err
