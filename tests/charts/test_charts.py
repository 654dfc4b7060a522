"""Every chart kind from small synthetic results: what is on the Axes, not just that it runs."""

from __future__ import annotations

import io
import warnings

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from charts.synthetic import GRID_BUILDING, GRID_TALENT, make_results
from plots import KINDS, compare, fan, forecast, heatmap, labels, matrix, series, tornado
from plots import calibration as calibration_chart
from sim.errors import InputError
from sim.observed import Observation
from sim.targets import evaluate


def legend_texts(figure) -> list[str]:
    legends = list(figure.legends) + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def markers(ax, marker: str) -> list[tuple[float, float]]:
    return [
        (float(line.get_xdata()[0]), float(line.get_ydata()[0]))
        for line in ax.get_lines()
        if line.get_marker() == marker
    ]


def record_points(ax) -> list[tuple[float, float]]:
    return [
        (float(x), float(y))
        for container in ax.containers
        for x, y in zip(*container.lines[0].get_data(), strict=True)
    ]


def yearly(ds, name, aggregate, year):
    return series.year_values(ds[name], aggregate).sel(year=year)


# ----------------------------------------------------------------------------- forecast


def test_forecast_panels_lines_record_and_targets(results, targets, observations):
    figure = forecast.plot(results, targets=targets, observations=observations)
    axes = figure.axes
    # one panel per target quantity, named as the targets name it; the share target has no
    # place on a quantity's axis
    assert [ax.get_title().replace("\n", " ") for ax in axes] == [
        "High-tech enterprises",
        "High-level talent introduced, per year",
        "Retail sales of consumer goods, per year",
        "Key commercial buildings (≥ 5000 m²)",
    ]
    assert [ax.get_ylabel() for ax in axes] == [
        "firms",
        "persons/year",
        "100 million yuan/year",
        "buildings",
    ]
    assert axes[-1].get_xlabel() == "Year (end of)"
    assert "12 ensemble members" in figure.get_suptitle()
    assert legend_texts(figure) == [
        "Baseline",
        "Talent first",
        "Balanced",
        "13th FYP record (±2σ)",
        "Target",
    ]
    # a line per scenario: the median over the members, per year
    hte = axes[0]
    lines = [line for line in hte.get_lines() if line.get_label() in ("Baseline", "Talent first")]
    assert len(lines) == 2
    expected = results["high_tech_enterprises"].sel(scenario="talent_first").median("sample")
    at_year_ends = expected.sel(time=np.arange(2015.0, 2026.0))
    np.testing.assert_allclose(lines[1].get_ydata(), at_year_ends.values)
    # the record, where observed.csv puts it
    assert record_points(hte) == [(2015.0, 114.0), (2020.0, 244.0)]
    assert record_points(axes[2]) == [(2016.0, 810.0)]
    # targets: a level threshold, a growth path's end, a needed yearly average, a net increase
    assert markers(hte, "^") == [(2025.0, 500.0)]
    base = float(yearly(results, "retail_sales_total", "annual", 2020).median())
    ((x, y),) = markers(axes[2], "^")
    assert x == 2025.0 and y == pytest.approx(base * 1.1**5)
    assert markers(axes[1], "^") == [(2025.0, 200.0)]
    buildings_2020 = float(yearly(results, "key_commercial_buildings", "level", 2020).median())
    assert markers(axes[3], "^") == [(2025.0, 100.0), (2025.0, pytest.approx(buildings_2020 + 11))]
    assert "≥ 500 firms, 2025" in " ".join(t.get_text() for t in hte.texts)


def test_forecast_without_ensemble_draws_the_runs(best_fit, targets, observations):
    figure = forecast.plot(best_fit, targets=targets, observations=observations)
    assert "ensemble" not in figure.get_suptitle()
    line = next(li for li in figure.axes[0].get_lines() if li.get_label() == "Balanced")
    expected = best_fit["high_tech_enterprises"].sel(scenario="balanced", time=2025.0)
    assert line.get_ydata()[-1] == pytest.approx(float(expected))


def test_forecast_chosen_quantity_and_unknown_quantity(results, targets, observations):
    figure = forecast.plot(results, targets=targets, observations=observations, quantities=["gdp"])
    assert [ax.get_title() for ax in figure.axes] == ["GDP"]
    assert figure.axes[0].get_ylabel() == "100 million yuan/year"
    with pytest.raises(InputError, match="gpd") as error:
        forecast.plot(results, targets=targets, observations=observations, quantities=["gpd"])
    assert "'gdp'" in str(error.value)


# ----------------------------------------------------------------------------- fan


def test_fan_bands_median_and_targets(results, targets, observations):
    figure = fan.plot(results, targets=targets, observations=observations)
    assert figure.get_suptitle() == "Baseline: forecast uncertainty (12 ensemble members)"
    hte = figure.axes[0]
    bands = [c for c in hte.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    values = results["high_tech_enterprises"].sel(scenario="baseline", time=2025.0).values
    outer = bands[0].get_paths()[0].vertices[:, 1]
    assert outer.max() == pytest.approx(np.quantile(values, 0.95, method="hazen"))
    inner = bands[1].get_paths()[0].vertices[:, 1]
    assert inner.max() == pytest.approx(np.quantile(values, 0.75, method="hazen"))
    median = next(li for li in hte.get_lines() if li.get_label() == "_median")
    assert median.get_ydata()[-1] == pytest.approx(np.median(values))
    assert markers(hte, "^") == [(2025.0, 500.0)]
    assert legend_texts(figure) == [
        "Median",
        "5–95 % range",
        "25–75 % range",
        "13th FYP record (±2σ)",
        "Target",
    ]


def test_fan_weighted_members(results, targets, observations):
    # all the weight on the first member: every band collapses onto it
    weights = np.zeros(results.sizes["sample"])
    weights[0] = 1.0
    weighted = results.assign(sample_weight=("sample", weights))
    figure = fan.plot(weighted, targets=targets, observations=observations)
    band = figure.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    member = results["high_tech_enterprises"].sel(scenario="baseline", sample=0)
    assert band.max() == pytest.approx(float(member.sel(time=2025.0)))


def test_fan_picks_a_scenario_and_names_a_wrong_one(results, targets, observations):
    figure = fan.plot(results, scenario="talent_first", targets=targets, observations=observations)
    assert figure.get_suptitle().startswith("Talent first:")
    with pytest.raises(InputError, match="did you mean 'talent_first'"):
        fan.plot(results, scenario="talnt_first", targets=targets, observations=observations)


def test_fan_of_a_sweep_pools_its_runs_and_members(sweep, targets, observations):
    figure = fan.plot(sweep, targets=targets, observations=observations)
    assert figure.get_suptitle() == (
        "Sweep: spread of outcomes over 20 lever settings × 8 ensemble members"
    )
    band = figure.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    pooled = sweep["high_tech_enterprises"].sel(time=2025.0).values.ravel()
    assert band.max() == pytest.approx(np.quantile(pooled, 0.95, method="hazen"))
    one_member = sweep.isel(sample=0, drop=True).assign_attrs(sweep_name="grid")
    figure = fan.plot(one_member, targets=targets, observations=observations)
    assert figure.get_suptitle() == "grid: spread of outcomes over 20 lever settings"
    with pytest.raises(InputError, match="no scenarios"):
        fan.plot(sweep, scenario="baseline", targets=targets, observations=observations)


def test_scenario_charts_refuse_a_sweep(sweep, targets, observations):
    with pytest.raises(InputError, match=r"compares scenarios.*heatmap or fan"):
        forecast.plot(sweep, targets=targets, observations=observations)


def test_yearly_amounts_skip_years_whose_previous_year_is_missing(results):
    sparse = results["retail_sales_total"].sel(time=[2019.0, 2020.0, 2024.0, 2025.0])
    amounts = series.year_values(sparse, "annual")
    assert list(amounts["year"].values) == [2020, 2025]
    full = series.year_values(results["retail_sales_total"], "annual")
    np.testing.assert_allclose(amounts.sel(year=2025), full.sel(year=2025))
    assert amounts.attrs["units"] == "亿元"


def test_fan_needs_an_ensemble(best_fit, targets, observations):
    with pytest.raises(InputError, match=r"needs an ensemble.*sample.*heping-sd run"):
        fan.plot(best_fit, targets=targets, observations=observations)


# ----------------------------------------------------------------------------- compare, matrix


def test_compare_one_panel_per_target_with_threshold(evaluated, targets):
    figure = compare.plot(evaluated, targets=targets)
    represented = [t for t in targets.values() if t.represented]
    assert len(figure.axes) == len(represented) == 6
    for ax, target in zip(figure.axes, represented, strict=True):
        assert ax.get_title().replace("\n", " ") == target.name_en
        scale = 100 if target.kind in ("growth", "share") else 1
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        thresholds = [line.get_xdata()[0] for line in dashed]
        assert thresholds == [pytest.approx(target.threshold * scale)]
    assert figure.axes[0].get_xlabel() == "firms, 2025"
    assert figure.axes[1].get_xlabel() == "persons, total 2021–2025"
    assert figure.axes[2].get_xlabel() == "average annual growth, %/yr,\n2021–2025"
    ticks = figure.axes[0].get_yticks()
    names = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert dict(zip(ticks, names, strict=True)) == {2: "Baseline", 1: "Talent first", 0: "Balanced"}
    # the medians: one dot per scenario, at the median over the members
    dots = markers(figure.axes[0], "o")
    expected = evaluated["value"].sel(target="high_tech_enterprises_2025").median("sample")
    assert [x for x, _ in dots] == pytest.approx(list(expected.values))
    assert "Target" in legend_texts(figure)


def test_matrix_cells_are_the_probabilities(evaluated, targets):
    figure = matrix.plot(evaluated, targets=targets)
    ax = figure.axes[0]
    (image,) = [i for i in ax.get_images() if isinstance(i, AxesImage)]
    table = np.asarray(image.get_array())
    np.testing.assert_allclose(table[:-1], evaluated["probability"].transpose("target", "scenario"))
    np.testing.assert_allclose(table[-1], evaluated["all_met_probability"])
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "High-tech enterprises: ≥ 500 firms, 2025"
    assert rows[-1] == "All targets"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "Talent first", "Balanced"]
    cells = [t.get_text() for t in ax.texts]
    assert cells[-1] == labels.probability_text(float(evaluated["all_met_probability"][-1]))
    assert figure.axes[1].get_ylabel() == "Probability met"


def test_matrix_refuses_nan(evaluated, targets):
    broken = evaluated.copy()
    broken["probability"] = broken["probability"].where(broken["target"] != "retail_sales_growth")
    with pytest.raises(InputError, match=r"probability.*NaN.*target=retail_sales_growth"):
        matrix.plot(broken, targets=targets)


# ----------------------------------------------------------------------------- heatmap


def test_heatmap_grid_of_the_all_met_probability(sweep, evaluated_sweep, targets, levers):
    figure = heatmap.plot(
        sweep,
        targets=targets,
        lever_catalogue=levers,
    )
    ax = figure.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    grid = np.asarray(mesh.get_array()).reshape(GRID_BUILDING.size, GRID_TALENT.size)
    expected = evaluated_sweep["all_met_probability"].values.reshape(
        GRID_BUILDING.size, GRID_TALENT.size
    )
    np.testing.assert_allclose(grid, expected)
    assert ax.get_xlabel() == "High-level talent programme (programme intensity)"
    assert ax.get_ylabel() == "Building upgrade programme (buildings/year)"
    assert figure.axes[1].get_ylabel() == "P(all targets met)"
    assert "8 ensemble members" in figure.get_suptitle()
    # the status quo (1, 2) outlined: the cell spanning 0.5–1.5 × 1–3
    (outline,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert (outline.get_x(), outline.get_width()) == (0.5, 1.0)
    assert (outline.get_y(), outline.get_height()) == (1.0, 2.0)
    assert legend_texts(figure) == ["Status quo"]


def test_heatmap_of_a_bare_grid_takes_names_and_units_from_the_catalogue(sweep, targets, levers):
    """assess's own grid has no lever attrs and fixes the other levers at its mix."""
    bare = sweep.copy()
    for name in ("lever_talent_programme", "lever_building_upgrade"):
        bare[name].attrs = {}
    bare.attrs["base_scenario"] = "cheapest_mix"
    figure = heatmap.plot(bare, targets=targets, lever_catalogue=levers, lang="en")
    ax = figure.axes[0]
    assert ax.get_xlabel() == "High-level talent programme (programme intensity)"
    assert ax.get_ylabel() == "Building upgrade programme (buildings/year)"
    assert "other levers as in scenario 'cheapest_mix'" in figure.get_suptitle()
    zh = heatmap.plot(bare, targets=targets, lever_catalogue=levers, lang="zh")
    assert zh.axes[0].get_ylabel().startswith("楼宇提升计划（")
    assert "情景“cheapest_mix”" in zh.get_suptitle()


def test_cells_below_ten_percent_keep_a_decimal():
    assert [labels.probability_text(p) for p in (0.0, 0.004, 0.012, 0.1, 0.55)] == [
        "0%",
        "0.4%",
        "1.2%",
        "10%",
        "55%",
    ]


def test_heatmap_of_one_target(sweep, evaluated_sweep, targets):
    figure = heatmap.plot(sweep, target="high_tech_enterprises_2025", targets=targets)
    (mesh,) = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    expected = evaluated_sweep["probability"].sel(target="high_tech_enterprises_2025")
    np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(), expected.values)
    assert " ".join(figure.get_suptitle().split()).startswith(
        "Probability of meeting the target High-tech enterprises: ≥ 500 firms, 2025"
    )
    assert "≥\n" not in figure.get_suptitle()
    assert figure.axes[1].get_ylabel() == "Probability met"
    with pytest.raises(InputError, match="did you mean 'high_tech_enterprises_2025'"):
        heatmap.plot(sweep, target="high_tech_enterprise_2025", targets=targets)


def test_heatmap_without_members_shows_each_run_met_or_not(sweep, targets):
    deterministic = sweep.isel(sample=0, drop=True)
    evaluation = evaluate(deterministic, targets)
    assert evaluation["all_met_probability"].dims == ()  # pooled over the runs
    figure = heatmap.plot(deterministic, targets=targets)
    (mesh,) = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    values = np.asarray(mesh.get_array())
    assert set(np.unique(values)) <= {0.0, 1.0}
    np.testing.assert_array_equal(values.ravel(), evaluation["met"].all("target").values)


def test_heatmap_refuses_what_is_not_a_two_lever_grid(results, sweep, targets):
    with pytest.raises(InputError, match="grid sweep over two levers"):
        heatmap.plot(results, targets=targets)
    with pytest.raises(InputError, match="1 are missing"):
        heatmap.plot(sweep.isel(run=slice(1, None)), targets=targets)
    three = sweep.assign_coords(lever_hq_attraction=("run", np.arange(sweep.sizes["run"])))
    with pytest.raises(InputError, match="varies 3 lever"):
        heatmap.plot(three, targets=targets)
    figure = heatmap.plot(three, levers=["talent_programme", "building_upgrade"], targets=targets)
    assert figure.axes[0].get_xlabel().startswith("High-level talent programme")
    with pytest.raises(InputError, match="did you mean 'talent_programme'"):
        heatmap.plot(three, levers=["talent_program", "building_upgrade"], targets=targets)


# ----------------------------------------------------------------------------- tornado


def test_tornado_bars_sorted_by_total_effect(sensitivity, levers):
    figure = tornado.plot(sensitivity, lever_catalogue=levers)
    ax = figure.axes[0]
    labels_bottom_up = [t.get_text() for t in ax.get_yticklabels()]
    assert labels_bottom_up == [
        "Consumption stimulus",
        "Talent residence time",
        "Building upgrade programme",
        "Economy growth rate",
        "High-level talent programme",
    ]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    totals, firsts = bars[:5], bars[5:]
    assert [b.get_width() for b in totals] == sorted(sensitivity["ST"].values)
    assert firsts[-1].get_width() == pytest.approx(0.31)  # S1 of the talent programme
    assert legend_texts(figure) == [
        "Total (ST)",
        "First order (S1)",
        "policy lever",
        "model parameter",
    ]
    assert "P(all targets met)" in figure.get_suptitle()
    assert ax.get_xlabel() == "Sobol index"


def test_tornado_names_parameters_with_the_names_stored_beside_the_indices(sensitivity, levers):
    kinds = sensitivity["factor_kind"].values.tolist()
    named = sensitivity.assign_coords(
        factor_name_en=("factor", ["x"] * 3 + ["Talent stay", "Growth"]),
        factor_name_zh=("factor", ["x"] * 3 + ["人才留驻年限", "经济增长率"]),
    )
    named.attrs["output"] = "worst_margin"
    assert kinds[3:] == ["parameter", "parameter"]
    figure = tornado.plot(named, lever_catalogue=levers, lang="zh")
    texts = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert "人才留驻年限" in texts and "经济增长率" in texts
    # levers the catalogue knows keep its names; the other falls back to the stored one
    assert {"楼宇提升计划", "高层次人才引进计划", "x"} <= set(texts)
    assert "最差目标余量" in figure.get_suptitle()


def test_tornado_needs_a_sensitivity_dataset(results):
    with pytest.raises(InputError, match=r"sensitivity Dataset.*factor"):
        tornado.plot(results)


# ----------------------------------------------------------------------------- calibration


def test_calibration_series_and_deviations(results, observations, targets):
    figure = calibration_chart.plot(results, observations=observations, targets=targets)
    panels = [ax for ax in figure.axes if ax.get_xlabel() == "Year (end of)"]
    assert [ax.get_title().replace("\n", " ") for ax in panels] == [
        "High-tech enterprises",
        "Retail sales of consumer goods, per year",
        "Key commercial buildings (≥ 5000 m²)",
    ]
    assert record_points(panels[0]) == [(2015.0, 114.0), (2020.0, 244.0)]
    (deviations,) = [ax for ax in figure.axes if ax.get_xlabel().startswith("Deviation")]
    names = [t.get_text().replace("\n", " ") for t in deviations.get_yticklabels()]
    assert names == [  # in file order, top down
        "High-tech enterprises 2015",
        "High-tech enterprises 2020",
        "Retail sales of consumer goods 2016",
        "Retail sales of consumer goods, total 2018–2021",
        "Key commercial buildings (≥ 5000 m²) 2020",
        "Services value added, share 2016",
    ]
    assert list(deviations.get_yticks()) == [5, 4, 3, 2, 1, 0]
    assert "(6 of 7)" in deviations.get_title().replace("\n", " ")
    # the deviation in σ of the 2020 high-tech enterprises, median over the members
    model = results["high_tech_enterprises"].sel(scenario="baseline", time=2020.0)
    sigma = 0.02 * 244
    dots = markers(deviations, "o")
    assert dots[1][0] == pytest.approx(float(((model - 244) / sigma).median()))
    assert deviations.get_xlim()[0] == -deviations.get_xlim()[1]


def test_calibration_needs_matching_quantities(results):
    unrelated = [
        Observation(
            key="x",
            value=1.0,
            unit="",
            rel_sigma=0.1,
            source="",
            quote="",
            note="",
            use="calibrate",
            quantity="no_such_quantity",
            aggregate="level",
            kind="level",
            year=2020,
        )
    ]
    with pytest.raises(InputError, match="no figure of the record"):
        calibration_chart.plot(results, observations=unrelated, targets={})


# ----------------------------------------------------------------------------- all kinds


def every_kind(
    results, best_fit, evaluated, sweep, evaluated_sweep, sensitivity, targets, observations, levers
):
    return {
        "forecast": lambda lang: forecast.plot(
            results, targets=targets, observations=observations, lang=lang
        ),
        "fan": lambda lang: fan.plot(
            results, targets=targets, observations=observations, lang=lang
        ),
        "compare": lambda lang: compare.plot(results, targets=targets, lang=lang),
        "heatmap": lambda lang: heatmap.plot(
            sweep, targets=targets, lever_catalogue=levers, lang=lang
        ),
        "matrix": lambda lang: matrix.plot(results, targets=targets, lang=lang),
        "tornado": lambda lang: tornado.plot(sensitivity, lever_catalogue=levers, lang=lang),
        "calibration": lambda lang: calibration_chart.plot(
            best_fit, observations=observations, targets=targets, lang=lang
        ),
    }


@pytest.fixture(scope="module")
def draw(
    results, best_fit, evaluated, sweep, evaluated_sweep, sensitivity, targets, observations, levers
):
    return every_kind(
        results,
        best_fit,
        evaluated,
        sweep,
        evaluated_sweep,
        sensitivity,
        targets,
        observations,
        levers,
    )


def test_registry_names_every_kind(draw):
    assert (
        set(KINDS)
        == set(draw)
        == {"forecast", "fan", "compare", "heatmap", "matrix", "tornado", "calibration"}
    )


def render(figure) -> None:
    figure.savefig(io.BytesIO(), format="png", dpi=60)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_english_charts_need_no_cjk_font(draw, kind, monkeypatch):
    from plots import fonts

    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph, or any other warning, fails
        render(draw[kind]("en"))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_chinese_charts_have_every_glyph(draw, kind, cjk_font):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = draw[kind]("zh")
        render(figure)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    texts = [figure.get_suptitle()] + [ax.get_title() for ax in figure.axes]
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_chinese_without_a_font_warns_and_falls_back_to_english(draw, kind, monkeypatch):
    from plots import fonts

    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.warns(fonts.MissingCJKFontWarning, match="English labels"):
        figure = draw[kind]("zh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render(figure)
    texts = [figure.get_suptitle()] + [t.get_text() for ax in figure.axes for t in ax.texts]
    assert not any(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_charts_leave_rcparams_alone(draw, kind):
    before = dict(mpl.rcParams)
    draw[kind]("zh")
    assert dict(mpl.rcParams) == before


def test_nan_in_results_is_reported_not_plotted(targets, observations):
    broken = make_results(members=4)
    broken["high_tech_enterprises"][1, 2, 30] = np.inf
    with pytest.raises(
        InputError, match=r"high_tech_enterprises.*scenario=talent_first.*time=2022"
    ):
        forecast.plot(broken, targets=targets, observations=observations)
    with pytest.raises(InputError, match="high_tech_enterprises"):
        fan.plot(broken, scenario="talent_first", targets=targets, observations=observations)
    with pytest.raises(InputError, match="high_tech_enterprises"):
        calibration_chart.plot(
            broken, scenario="talent_first", observations=observations, targets=targets
        )


def test_weighted_quantiles():
    import xarray as xr

    values = xr.DataArray([0.0, 10.0], dims="sample")
    # the heavier member pulls the median towards it
    median = series.quantiles(values, xr.DataArray([3.0, 1.0], dims="sample"), [0.5])
    assert float(median.item()) == pytest.approx(2.5)
    rng = np.random.default_rng(0)
    data = xr.DataArray(rng.normal(size=(4, 30)), dims=("year", "sample"))
    equal = series.quantiles(data, xr.DataArray(np.full(30, 0.3), dims="sample"))
    np.testing.assert_allclose(equal, series.quantiles(data))
    np.testing.assert_allclose(
        series.quantiles(data).sel(quantile=0.25),
        np.quantile(data.values, 0.25, axis=1, method="hazen"),
    )
    # members of zero weight do not count
    halves = xr.DataArray(np.r_[np.ones(15), np.zeros(15)], dims="sample")
    np.testing.assert_allclose(
        series.quantiles(data, halves), series.quantiles(data.isel(sample=slice(0, 15)))
    )


def test_assess_heatmap_maps_the_most_moved_target_when_all_met_is_flat(sweep, targets):
    import dataclasses

    from sim.assess import heatmap_target

    assert np.ptp(evaluate(sweep, targets)["all_met_probability"].values) > 0
    assert heatmap_target(sweep, targets) is None  # the all-met surface shows something
    first = next(iter(targets))
    impossible = {**targets, first: dataclasses.replace(targets[first], threshold=1e12)}
    evaluation = evaluate(sweep, impossible)
    assert np.ptp(evaluation["all_met_probability"].values) == 0  # 0 % in every cell
    p = evaluation["probability"]
    spread = (p.max("run") - p.min("run")).to_series()
    assert heatmap_target(sweep, impossible) == spread.idxmax() != first
