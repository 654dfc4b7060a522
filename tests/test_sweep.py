"""Sweep files, designs and chunked execution."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fake_model import FakeModel

from sim.batch import run_scenarios
from sim.errors import InputError
from sim.results import NonFiniteResultError
from sim.scenarios import load_levers, load_scenario_text
from sim.sweep import DESIGNS, design_points, load_sweep, run_sweep
from sim.targets import evaluate, load_targets, target_quantities, target_years

DATA = Path(__file__).parent / "data"
LEVERS = load_levers(DATA / "levers.toml")
TARGETS = load_targets(DATA / "targets.toml")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "base.toml").write_text(
        'name = "base"\n[levers]\nconsumption_stimulus = 2\n', encoding="utf-8"
    )
    return tmp_path


def sweep_file(folder: Path, body: str, name: str = "sw"):
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\nbase = "base"\n{body}', encoding="utf-8")
    return path


def load(folder: Path, body: str):
    return load_sweep(sweep_file(folder, body), LEVERS)


def error(folder: Path, body: str) -> str:
    with pytest.raises(InputError) as info:
        load(folder, body)
    text = info.value.one_line()
    assert "\n" not in text and text.startswith(str(folder / "sw.toml"))
    return text


LHS = """design = "lhs"
samples = 64
seed = 7
[levers.talent_programme]
[levers.hightech_certification_support]
range = [0.1, 0.9]
[levers.building_upgrade]
values = [0, 3, 6]
"""


def test_registry_has_the_four_designs():
    assert set(DESIGNS) == {"grid", "lhs", "sobol", "factorial"}


def test_grid_is_every_combination(folder):
    sweep = load(
        folder,
        'design = "grid"\n[levers.talent_programme]\npoints = 5\n'
        "[levers.hq_attraction]\nvalues = [0.5, 2.5]\n",
    )
    points = design_points(sweep)
    assert points.shape == (10, 2) == (sweep.size, 2)
    assert {tuple(p) for p in points} == {
        (a, b) for a in [0.0, 1.0, 2.0, 3.0, 4.0] for b in [0.5, 2.5]
    }


def test_factorial_is_the_range_ends(folder):
    sweep = load(
        folder,
        'design = "factorial"\n[levers.talent_programme]\nrange = [1, 3]\n'
        "[levers.hq_attraction]\n[levers.building_upgrade]\n",
    )
    points = design_points(sweep)
    assert points.shape == (8, 3)
    assert {tuple(p) for p in points} == {
        (a, b, c) for a in (1.0, 3.0) for b in (0.0, 3.0) for c in (0.0, 6.0)
    }


def test_lhs_is_stratified_reproducible_and_in_range(folder):
    sweep = load(folder, LHS)
    points = design_points(sweep)
    assert points.shape == (64, 3)
    # a Latin hypercube puts exactly one point in each of the n equal bins of every axis
    for j, (low, high) in enumerate([(0.0, 4.0), (0.1, 0.9)]):
        bins = np.floor((points[:, j] - low) / (high - low) * 64).astype(int)
        assert sorted(bins) == list(range(64))
    assert set(points[:, 2]) <= {0.0, 3.0, 6.0}
    np.testing.assert_array_equal(points, design_points(load(folder, LHS)))
    other = design_points(load(folder, LHS.replace("seed = 7", "seed = 8")))
    assert not np.array_equal(points, other)


def test_sobol_needs_a_power_of_two(folder):
    body = 'design = "sobol"\nsamples = 100\nseed = 1\n[levers.talent_programme]\n'
    assert "not a power of two" in error(folder, body) and "64 or 128" in error(folder, body)
    points = design_points(load(folder, body.replace("100", "128")))
    assert points.shape == (128, 1)
    assert 0.0 <= points.min() and points.max() <= 4.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('design = "lsh"\n[levers.talent_programme]\n', "did you mean 'lhs'"),
        ('design = "lhs"\nsamples = 4\n[levers.talent_programe]\n', "did you mean 'talent_prog"),
        (
            'design = "lhs"\nsamples = 4\n[levers.talent_programme]\nrange = [0, 9]\n',
            "[0, 4] intensity",
        ),
        ('design = "grid"\n[levers.talent_programme]\n', "levers.talent_programme.points"),
        ('design = "grid"\nsamples = 5\n[levers.talent_programme]\npoints = 3\n', "samples"),
        ('design = "lhs"\n[levers.talent_programme]\n', "samples: missing"),
        ('design = "lhs"\nsamples = 0\n[levers.talent_programme]\n', "integer ≥ 1"),
        ('design = "lhs"\nsamples = 4\nkeep = "some"\n[levers.hq_attraction]\n', "'targets'"),
        ('design = "lhs"\nsamples = 4\n', "no levers to sweep"),
        ('design = "lhs"\nsamples = 4\n[levers.hq_attraction]\nrange = [2, 1]\n', "empty range"),
        ('design = "lhs"\nsamples = 4\nbase2 = 1\n[levers.hq_attraction]\n', "did you mean 'base'"),
    ],
)
def test_bad_sweep_files_are_one_line(folder, body, expected):
    assert expected in error(folder, body)


def test_huge_grid_is_refused_before_running(folder):
    body = 'design = "grid"\n' + "".join(
        f"[levers.{key}]\npoints = 100\n" for key in list(LEVERS)[:5]
    )
    assert "more than 100,000,000" in error(folder, body)


def test_each_run_equals_the_same_setting_run_as_a_scenario(folder):
    sweep = load(folder, LHS)
    ds = run_sweep(FakeModel(), sweep, LEVERS, TARGETS, keep="all")
    assert ds["gdp_total"].dims == ("run", "time")
    for i in (0, 17, 63):
        levers = {
            key: float(ds[f"lever_{key}"][i]) for key in ("talent_programme", "building_upgrade")
        }
        levers["hightech_certification_support"] = float(
            ds["lever_hightech_certification_support"][i]
        )
        body = 'name = "one"\nbase = "base"\n[levers]\n' + "".join(
            f"{k} = {v!r}\n" for k, v in levers.items()
        )
        alone = run_scenarios(
            FakeModel(), [load_scenario_text(body, LEVERS, directory=folder)], LEVERS
        )
        for name in ("high_tech_enterprises", "gdp_total", "retail_sales_total"):
            np.testing.assert_array_equal(ds[name][i].values, alone[name][0].values)


def test_chunking_does_not_change_results(folder):
    sweep = load(folder, LHS)
    model = FakeModel()
    whole = run_sweep(model, sweep, LEVERS, TARGETS, chunk_size=1000)
    model = FakeModel()
    done = []
    pieces = run_sweep(model, sweep, LEVERS, TARGETS, chunk_size=10, progress=done.append)
    xr.testing.assert_identical(whole, pieces)
    assert done == [10] * 6 + [4]
    assert [c["n"] for c in model.calls] == [10] * 6 + [4]


def test_keep_targets_stores_only_what_the_targets_read(folder):
    sweep = load(folder, LHS)
    full = run_sweep(FakeModel(), sweep, LEVERS, TARGETS, keep="all")
    lean = run_sweep(FakeModel(), sweep, LEVERS, TARGETS, keep="targets")
    assert list(lean.data_vars) == target_quantities(TARGETS)
    assert list(lean["time"].values) == target_years(TARGETS)
    assert lean.nbytes < full.nbytes
    # the evaluation is the same either way
    xr.testing.assert_identical(evaluate(lean, TARGETS), evaluate(full, TARGETS))


def test_non_finite_stops_the_sweep_naming_the_run(folder):
    (folder / "base.toml").write_text(
        'name = "base"\n[parameters]\ninstability = 1.5\n', encoding="utf-8"
    )
    sweep = load(folder, 'design = "grid"\n[levers.hq_attraction]\nvalues = [0.5, 2.0]\n')
    with pytest.raises(NonFiniteResultError) as info:
        run_sweep(FakeModel(), sweep, LEVERS, TARGETS, keep="all")
    assert "'unstable_quantity' at run 0 (lever_hq_attraction=0.5), time 2022" in str(info.value)


def test_keep_targets_still_checks_every_saved_time(folder):
    (folder / "base.toml").write_text(
        'name = "base"\n[parameters]\ninstability = 1.5\n', encoding="utf-8"
    )
    early = dataclasses.replace(
        TARGETS["high_tech_enterprises_2025"], quantity="unstable_quantity", year=2016
    )
    sweep = load(folder, 'design = "grid"\n[levers.hq_attraction]\nvalues = [0.5, 2.0]\n')
    # the target reads only 2016, which is finite; the run goes NaN in 2022
    with pytest.raises(NonFiniteResultError, match="time 2022"):
        run_sweep(FakeModel(), sweep, LEVERS, {"early": early}, keep="targets")


def test_sweep_with_ensemble_has_a_sample_dim(folder):
    sweep = load(folder, 'design = "grid"\n[levers.hq_attraction]\nvalues = [0.5, 2.0]\n')
    ds = run_sweep(FakeModel(), sweep, LEVERS, TARGETS, ensemble={"instability": [0.0, 0.1, 0.2]})
    assert ds["gdp_total"].dims == ("run", "sample", "time")
    assert evaluate(ds, TARGETS)["probability"].dims == ("run", "target")


def test_sweep_attrs_say_what_was_run(folder):
    ds = run_sweep(FakeModel(), load(folder, LHS), LEVERS, TARGETS)
    assert ds.attrs["design"] == "lhs" and ds.attrs["samples"] == 64
    assert ds.attrs["base_scenario"] == "base" and ds.attrs["keep"] == "targets"
    assert ds["lever_talent_programme"].attrs["long_name_zh"] == "高层次人才引进计划"
    assert "lever_hq_attraction" not in ds.coords  # not swept
