"""Target evaluation: the predicates on closed-form runs, probabilities, dims, JSON shape."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fake_model import FakeModel

from sim.batch import run_scenarios
from sim.errors import InputError
from sim.scenarios import load_levers, load_scenario_text
from sim.targets import evaluate, load_targets, summarize, target_quantities, target_years

DATA = Path(__file__).parent / "data"
LEVERS = load_levers(DATA / "levers.toml")
TARGETS = load_targets(DATA / "targets.toml")


def scenario(name: str, **levers: float):
    body = f'name = "{name}"\n[levers]\n' + "".join(f"{k} = {v}\n" for k, v in levers.items())
    return load_scenario_text(body, LEVERS, directory=DATA)


def expected_values(tp: float, cs: float, spending: float, upgrade: float) -> dict[str, float]:
    """The fake model's closed forms read through each predicate by hand."""
    growth = 0.05 + 0.1 * cs + 0.02 * tp
    return {
        "high_tech_enterprises_2025": 114 * math.exp(growth * 10),
        # yearly retail sales grow by exp(r) a year, so the 2021–2025 average growth is e^r − 1
        "retail_sales_growth": math.exp(0.06 * spending) - 1,
        "services_share_2025": 0.9,
        # ∫ GDP over (2020, 2025] with GDP = 900 + 10·u·(t − 2015)
        "gdp_cumulative": 900 * 5 + 5 * upgrade * (10**2 - 5**2),
    }


def test_catalogue_lists_quantities_and_years():
    assert target_quantities(TARGETS) == [
        "high_tech_enterprises",
        "retail_sales_total",
        "services_value_added_total",
        "gdp_total",
    ]
    # growth of a running total over 2021–2025 reads 2019, 2020, 2024 and 2025
    assert target_years(TARGETS) == [2019, 2020, 2024, 2025]
    assert not TARGETS["foreign_investment"].represented


def test_values_thresholds_and_met_on_scenarios():
    settings = [
        ("low", dict(talent_programme=0, hightech_certification_support=0.0)),
        ("high", dict(talent_programme=4, hightech_certification_support=1.0, building_upgrade=6)),
        ("spend", dict(consumption_stimulus=2)),
    ]
    ds = run_scenarios(FakeModel(), [scenario(n, **lv) for n, lv in settings], LEVERS)
    ev = evaluate(ds, TARGETS)
    assert ev["value"].dims == ("scenario", "target")
    assert list(ev["target"].values) == [k for k, t in TARGETS.items() if t.represented]
    for name, _ in settings:
        s = ds.sel(scenario=name)
        want = expected_values(
            float(s["lever_talent_programme"]),
            float(s["lever_hightech_certification_support"]),
            float(s["lever_consumption_stimulus"]),
            float(s["lever_building_upgrade"]),
        )
        for key, value in want.items():
            assert float(ev["value"].sel(scenario=name, target=key)) == pytest.approx(value, 1e-12)
    met = ev["met"].to_pandas()
    assert met.loc["high", "high_tech_enterprises_2025"]  # 114·e^1.55 ≈ 537 ≥ 500
    assert not met.loc["low", "high_tech_enterprises_2025"]
    assert met.loc["spend", "retail_sales_growth"]  # e^0.12 − 1 ≈ 12.7 % ≥ 10 %
    assert not met.loc["low", "retail_sales_growth"]
    # no member dim: probabilities are 0 or 1 and equal met
    np.testing.assert_array_equal(ev["probability"].values, met.values.astype(float))
    assert list(ev["all_met_probability"].values) == [0.0, 0.0, 0.0]
    assert "lever_talent_programme" in ev.coords  # the lever coords follow the results


def test_all_met_when_every_target_is():
    s = scenario(
        "all",
        talent_programme=4,
        hightech_certification_support=1.0,
        consumption_stimulus=2,
        building_upgrade=6,
    )
    ev = evaluate(run_scenarios(FakeModel(), [s], LEVERS), TARGETS)
    assert bool(ev["met"].all())
    assert float(ev["all_met_probability"].item()) == 1.0


def test_ensemble_results_keep_the_sample_dim():
    model = FakeModel()
    s = scenario("s", talent_programme=4, consumption_stimulus=2, building_upgrade=6)
    members = np.array([5.0, 8.0, 12.0, 15.0])
    ds = run_scenarios(model, [s], LEVERS, ensemble={"talent_residence_time": members})
    assert ds["high_tech_enterprises"].dims == ("scenario", "sample", "time")
    ev = evaluate(ds, TARGETS)
    assert ev["value"].dims == ("scenario", "sample", "target")
    assert ev["probability"].dims == ("scenario", "target")
    assert ev["all_met_probability"].dims == ("scenario",)
    assert len(model.calls) == 1 and model.calls[0]["n"] == 4


def synthetic(met_pattern: np.ndarray, dims: tuple[str, ...]) -> xr.Dataset:
    """A results Dataset whose high-tech count at 2025 is 600 where met, 400 where not."""
    time = np.arange(2015.0, 2026.0)
    level = np.where(met_pattern, 600.0, 400.0)[..., None] * np.ones(time.size)
    ds = xr.Dataset({"high_tech_enterprises": ((*dims, "time"), level)}, coords={"time": time})
    return ds


ONE_TARGET = {"high_tech_enterprises_2025": TARGETS["high_tech_enterprises_2025"]}


def test_probability_is_the_fraction_of_members():
    pattern = np.array([[True, True, False, False], [True, False, False, False]])
    ds = synthetic(pattern, ("scenario", "sample")).assign_coords(scenario=["a", "b"])
    ev = evaluate(ds, ONE_TARGET)
    np.testing.assert_allclose(ev["probability"].values[:, 0], [0.5, 0.25])
    np.testing.assert_allclose(ev["all_met_probability"].values, [0.5, 0.25])


def test_member_weights_weight_the_probability():
    pattern = np.array([[True, False, False, False]])
    ds = synthetic(pattern, ("scenario", "sample")).assign_coords(scenario=["a"])
    ds["sample_weight"] = ("sample", np.array([0.7, 0.1, 0.1, 0.1]))
    ev = evaluate(ds, ONE_TARGET)
    assert float(ev["probability"].item()) == pytest.approx(0.7)
    out = summarize(ev, ds)["scenarios"]["a"]
    assert out["targets"]["high_tech_enterprises_2025"]["probability"] == pytest.approx(0.7)
    # the weighted median member meets the target
    assert out["targets"]["high_tech_enterprises_2025"]["value"] == 600.0
    assert out["targets"]["high_tech_enterprises_2025"]["met"] is True


def test_sweep_without_ensemble_takes_the_fraction_of_runs():
    ds = synthetic(np.array([True, False, True, False, True]), ("run",))
    ev = evaluate(ds, ONE_TARGET)
    assert ev["probability"].dims == ("target",)
    assert float(ev["probability"].item()) == pytest.approx(0.6)
    summary = summarize(ev, ds, name="sw")
    assert list(summary["scenarios"]) == ["sw"]
    assert summary["scenarios"]["sw"]["all_met_probability"] == pytest.approx(0.6)


def test_sweep_with_ensemble_gives_a_probability_per_run():
    pattern = np.array([[True, True], [False, True], [False, False]])
    ev = evaluate(synthetic(pattern, ("run", "sample")), ONE_TARGET)
    assert ev["probability"].dims == ("run", "target")
    np.testing.assert_allclose(ev["probability"].values[:, 0], [1.0, 0.5, 0.0])


def test_at_most_comparison_and_nan_is_not_met():
    at_most = {"t": dataclasses.replace(TARGETS["retail_sales_growth"], comparison="<=", key="t")}
    time = np.arange(2015.0, 2026.0)
    # running totals: yearly amounts 10 a year (growth 0), and one run whose 2020 amount is 0
    flat = np.cumsum(np.full(time.size, 10.0)) - 10
    broken = flat.copy()
    broken[time >= 2020] -= 10  # yearly(2020) = 0: growth undefined
    ds = xr.Dataset(
        {"retail_sales_total": (("scenario", "time"), np.stack([flat, broken]))},
        coords={"time": time, "scenario": ["ok", "broken"]},
    )
    ev = evaluate(ds, at_most)
    assert float(ev["value"].sel(scenario="ok").item()) == pytest.approx(0.0, abs=1e-15)
    assert bool(ev["met"].sel(scenario="ok").item())  # 0 ≤ 10 %
    assert np.isnan(float(ev["value"].sel(scenario="broken").item()))
    assert not bool(ev["met"].sel(scenario="broken").item())
    summary = summarize(ev, ds)
    assert summary["scenarios"]["broken"]["targets"]["t"]["value"] is None
    json.dumps(summary, allow_nan=False)  # valid JSON, no NaN


def test_missing_variable_names_it_and_suggests():
    ds = synthetic(np.array([True]), ("scenario",)).rename(
        high_tech_enterprises="high_tech_enterprise"
    )
    with pytest.raises(InputError) as info:
        evaluate(ds, ONE_TARGET, source="r.nc")
    text = info.value.one_line()
    assert text.startswith("r.nc: targets.high_tech_enterprises_2025.quantity")
    assert "'high_tech_enterprises'" in text and "did you mean 'high_tech_enterprise'" in text


def test_missing_year_is_an_input_error():
    ds = synthetic(np.array([True]), ("scenario",)).isel(time=slice(0, 6))  # ends 2020
    with pytest.raises(InputError, match=r"reads Time = 2025.*2015–2020"):
        evaluate(ds, ONE_TARGET)


def test_json_shape():
    ds = run_scenarios(FakeModel(), [scenario("a"), scenario("b", talent_programme=4)], LEVERS)
    summary = summarize(evaluate(ds, TARGETS), ds)
    assert set(summary) == {"scenarios"}
    assert list(summary["scenarios"]) == ["a", "b"]
    for entry in summary["scenarios"].values():
        assert set(entry) == {"targets", "all_met_probability"}
        assert set(entry["targets"]) == {k for k, t in TARGETS.items() if t.represented}
        for result in entry["targets"].values():
            assert set(result) == {"value", "threshold", "met", "probability"}
            assert isinstance(result["met"], bool)
    json.dumps(summary, allow_nan=False)


def test_unrepresented_target_needs_a_reason(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(
        '[targets.x]\nname_en = "x"\nname_zh = "x"\nquote = "q"\nkind = "level"\nyear = 2025\n'
        'comparison = ">="\nthreshold = 1\nunit = "u"\nrepresented = false\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"targets.x.reason: an unrepresented target needs"):
        load_targets(path)


def test_bad_comparison_is_named(tmp_path):
    text = (DATA / "targets.toml").read_text(encoding="utf-8").replace('">="', '"=>"', 1)
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"high_tech_enterprises_2025.comparison.*'>='"):
        load_targets(path)
