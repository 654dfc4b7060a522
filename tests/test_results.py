"""Results files: provenance attrs, the non-finite check, atomic NetCDF and CSV output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from fake_model import FakeModel

from sim.batch import run_scenarios
from sim.fileio import sha256_file
from sim.results import (
    NonFiniteResultError,
    check_finite,
    finish,
    provenance,
    write_csv,
    write_netcdf,
)
from sim.scenarios import load_levers, load_scenario

DATA = Path(__file__).parent / "data"
LEVERS = load_levers(DATA / "levers.toml")


@pytest.fixture
def scenario_files(tmp_path):
    (tmp_path / "base.toml").write_text(
        'name = "base"\ntitle_zh = "基线"\n[levers]\ntalent_programme = 2\n', encoding="utf-8"
    )
    (tmp_path / "push.toml").write_text(
        'name = "push"\nbase = "base"\n[levers]\nbuilding_upgrade = 5\n', encoding="utf-8"
    )
    return [tmp_path / "base.toml", tmp_path / "push.toml"]


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.mdl"
    path.write_text("{UTF-8}\nx = 1\n~ ~|\n", encoding="utf-8")
    return path


def results(scenario_files, model_file, **kwargs):
    scenarios = [load_scenario(p, LEVERS) for p in scenario_files]
    ds = run_scenarios(FakeModel(), scenarios, LEVERS, **kwargs)
    return finish(ds, provenance(kind="run", model_file=model_file, scenarios=scenarios))


def test_netcdf_round_trip_keeps_provenance_and_labels(tmp_path, scenario_files, model_file):
    ds = results(scenario_files, model_file)
    path = write_netcdf(ds, tmp_path / "out" / "r.nc")
    with xr.open_dataset(path) as back:
        assert back.attrs["model_sha256"] == sha256_file(model_file)
        assert json.loads(back.attrs["scenario_sha256"]) == {
            "base": sha256_file(scenario_files[0]),
            "push": sha256_file(scenario_files[1]),
        }
        sources = json.loads(back.attrs["scenario_sources"])
        assert [Path(f).name for f, _ in sources["push"]] == ["push.toml", "base.toml"]
        assert back.attrs["kind"] == "run"
        assert back.attrs["seed"] == "none"
        assert back.attrs["heping_sd_version"]
        assert back.attrs["created"].endswith("+00:00")
        assert back["high_tech_enterprises"].attrs["long_name_zh"] == "高新技术企业"
        assert back["lever_building_upgrade"].attrs["units"] == "buildings/Year"
        assert list(back["title_zh"].values) == ["基线", "push"]  # titles are not inherited
        xr.testing.assert_allclose(back.load(), ds)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r.nc"]  # no temporary left


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, scenario_files, model_file):
    target = tmp_path / "r.nc"
    target.write_bytes(b"previous complete file")
    ds = results(scenario_files, model_file)
    ds.attrs["unwritable"] = object()  # NetCDF cannot store this: the write fails midway
    with pytest.raises(TypeError):
        write_netcdf(ds, target)
    assert target.read_bytes() == b"previous complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["r.nc", "base.toml", "push.toml", "model.mdl"]
    )


def test_non_finite_names_variable_scenario_and_time(tmp_path, model_file):
    (tmp_path / "ok.toml").write_text('name = "ok"\n', encoding="utf-8")
    (tmp_path / "bad.toml").write_text(
        'name = "bad"\n[parameters]\ninstability = 2.5\n', encoding="utf-8"
    )
    scenarios = [load_scenario(tmp_path / f, LEVERS) for f in ("ok.toml", "bad.toml")]
    ds = run_scenarios(FakeModel(), scenarios, LEVERS)
    with pytest.raises(NonFiniteResultError) as info:
        check_finite(ds)
    text = info.value.one_line()
    # log(1 − 2.5·(t − 2015)/10) is −inf at 2019 and NaN after
    assert "'unstable_quantity'" in text
    assert "scenario 'bad'" in text
    assert "time 2019" in text
    assert "-inf" in text


def test_non_finite_in_a_sweep_names_the_run_and_its_levers():
    time = np.arange(2015.0, 2020.0)
    values = np.ones((3, time.size))
    values[2, 3] = np.nan
    values[1, 4] = np.inf  # later in time: not the one to report
    ds = xr.Dataset(
        {"x": (("run", "time"), values)},
        coords={"run": [0, 1, 2], "time": time, "lever_hq_attraction": ("run", [0.5, 1.0, 2.5])},
    )
    with pytest.raises(NonFiniteResultError) as info:
        check_finite(ds)
    assert "'x' at run 2 (lever_hq_attraction=2.5), time 2018" in str(info.value)


def test_finite_results_pass():
    check_finite(xr.Dataset({"x": (("run", "time"), np.ones((2, 3)))}))


def test_csv_one_file_per_scenario(tmp_path, scenario_files, model_file):
    ds = results(scenario_files, model_file)
    written = write_csv(ds, tmp_path / "csv")
    assert sorted(p.name for p in written) == ["base.csv", "push.csv", "variables.csv"]
    frame = pd.read_csv(tmp_path / "csv" / "push.csv")
    assert list(frame.columns) == ["time", *ds.data_vars]
    np.testing.assert_allclose(
        frame["gdp_total"], ds["gdp_total"].sel(scenario="push").values, rtol=1e-15
    )
    catalog = pd.read_csv(tmp_path / "csv" / "variables.csv")
    assert catalog.set_index("variable").loc["gdp_total", "long_name_zh"] == "地区生产总值累计"


def test_csv_with_ensemble_is_long(tmp_path, scenario_files, model_file):
    ds = results(scenario_files, model_file, ensemble={"instability": [0.0, 0.1]})
    write_csv(ds, tmp_path / "csv")
    frame = pd.read_csv(tmp_path / "csv" / "base.csv")
    assert list(frame.columns[:2]) == ["sample", "time"]
    assert len(frame) == 2 * ds.sizes["time"]
