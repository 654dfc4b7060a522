"""Running scenarios in one batched call: shapes, ordering, overrides and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fake_model import FakeModel

from sim.batch import run_scenarios, simulate_cases
from sim.errors import InputError
from sim.scenarios import RunSettings, load_levers, load_scenario_text

DATA = Path(__file__).parent / "data"
LEVERS = load_levers(DATA / "levers.toml")


def scenario(name: str, body: str = ""):
    return load_scenario_text(f'name = "{name}"\n{body}', LEVERS, directory=DATA)


A = scenario("a", "[levers]\ntalent_programme = 0\n")
B = scenario("b", "[levers]\ntalent_programme = 4\nbuilding_upgrade = 6\n")
C = scenario("c", "[parameters]\ninstability = 0.5\n")


def test_one_engine_call_and_scenario_dims():
    model = FakeModel()
    ds = run_scenarios(model, [A, B, C], LEVERS)
    simulations = [c for c in model.calls if c["n"] > 1]
    assert len(simulations) == 1 and simulations[0]["n"] == 3
    # the only other call reads the model's own value of the overridden parameter
    assert [c["return_columns"] for c in model.calls if c["n"] == 1] == [["instability"]]
    assert ds["gdp_total"].dims == ("scenario", "time")
    assert list(ds["scenario"].values) == ["a", "b", "c"]
    assert list(ds["lever_talent_programme"].values) == [0.0, 4.0, 1.0]
    assert ds["lever_building_upgrade"].attrs["units"] == "buildings/Year"
    assert ds["lever_building_upgrade"].attrs["long_name_zh"] == "楼宇提质"
    # C overrides instability; the others keep the model's value
    assert list(ds["parameter_instability"].values) == [0.0, 0.0, 0.5]
    assert ds["gdp_total"].attrs["units"] == "亿元"


def test_a_scenario_in_a_batch_equals_the_same_scenario_alone():
    together = run_scenarios(FakeModel(), [A, B, C], LEVERS)
    for s in (A, B, C):
        alone = run_scenarios(FakeModel(), [s], LEVERS)
        xr.testing.assert_identical(
            together.sel(scenario=[s.name]).reset_coords(drop=True),
            alone.reset_coords(drop=True),
        )


def test_ensemble_is_case_major_and_scenario_parameters_win():
    members = np.array([0.0, 0.1, 0.3])
    ds = run_scenarios(FakeModel(), [A, C], LEVERS, ensemble={"instability": members})
    assert ds["unstable_quantity"].dims == ("scenario", "sample", "time")
    t = ds["time"].values - 2015
    for m, value in enumerate(members):
        np.testing.assert_allclose(
            ds["unstable_quantity"].sel(scenario="a").isel(sample=m), np.log(1 - value * t / 10)
        )
    # C sets instability itself, for every member
    np.testing.assert_allclose(
        ds["unstable_quantity"].sel(scenario="c"), np.log(1 - 0.5 * t / 10)[None, :].repeat(3, 0)
    )
    np.testing.assert_allclose(ds["sample_weight"].values, [1 / 3] * 3)


def test_member_weights_are_normalised_and_checked():
    ds = run_scenarios(
        FakeModel(), [A], LEVERS, ensemble={"instability": [0.0, 0.1]}, member_weights=[3, 1]
    )
    np.testing.assert_allclose(ds["sample_weight"].values, [0.75, 0.25])
    with pytest.raises(InputError, match="member weights"):
        run_scenarios(
            FakeModel(), [A], LEVERS, ensemble={"instability": [0, 0.1]}, member_weights=[1, -1]
        )


def test_ensemble_may_not_set_a_lever_constant():
    with pytest.raises(InputError, match="constant of lever 'hightech_certification_support'"):
        run_scenarios(FakeModel(), [A], LEVERS, ensemble={"certification_support": [0.1, 0.2]})


def test_unknown_parameter_names_the_nearest_constant():
    bad = scenario("bad", "[parameters]\ninstabilty = 0.1\n")
    with pytest.raises(InputError) as info:
        run_scenarios(FakeModel(), [A, bad], LEVERS)
    assert "parameters.instabilty" in str(info.value)
    assert "did you mean 'instability'" in str(info.value)


def test_duplicate_names_and_differing_run_settings_are_refused():
    with pytest.raises(InputError, match="two scenarios are named 'a'"):
        run_scenarios(FakeModel(), [A, A], LEVERS)
    longer = scenario("longer", "[run]\nfinal_time = 2030\n")
    with pytest.raises(InputError, match=r"run: \[run\] settings differ"):
        run_scenarios(FakeModel(), [A, longer], LEVERS)


def test_run_settings_reach_the_engine():
    longer = scenario("longer", "[run]\nfinal_time = 2030\nsaveper = 0.5\n")
    ds = run_scenarios(FakeModel(), [longer], LEVERS)
    assert ds["time"].values[-1] == 2030.0
    assert ds.sizes["time"] == 31


def test_simulate_cases_passes_scalars_for_shared_values():
    model = FakeModel()
    simulate_cases(
        model,
        {"instability": [0.1, 0.1], "building_upgrade_rate": [1.0, 2.0]},
        2,
        run=RunSettings(final_time=2020),
    )
    params = model.calls[0]["params"]
    assert params["instability"] == 0.1
    np.testing.assert_array_equal(params["building_upgrade_rate"], [1.0, 2.0])
