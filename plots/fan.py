"""Fan chart: quantile bands over many runs, with the median, the record and the targets.

The runs are a scenario's ensemble members (``heping-sd run`` with a calibrated ensemble:
how sure the forecast is), or a sweep's lever settings (``heping-sd sweep``: how far the
levers can move the outcome). The title says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from plots import labels, marks, series, style
from sim.errors import InputError
from sim.observed import load_observed
from sim.targets import load_targets


@style.chart
def plot(
    results: xr.Dataset,
    *,
    scenario: str | None = None,
    targets: Mapping | None = None,
    observations: Sequence | None = None,
    quantities: Sequence[str] | None = None,
    lang: str = "en",
) -> Figure:
    """5–95 % and 25–75 % bands over the members, the median, the record and the targets.

    Parameters
    ----------
    results
        Output of ``heping-sd run`` with a calibrated ensemble (dims
        ``scenario × sample × time``; one scenario is drawn), or of ``heping-sd sweep``
        (dims ``run × [sample ×] time``; every run and member pooled). A
        ``sample_weight(sample)`` variable weights the ensemble members.
    scenario
        The scenario to draw (``run`` output); ``baseline`` if present, else the first.
    targets, observations
        Target catalogue (key → target) and 十三五 record (the shipped ones when ``None``).
    quantities
        Variables to draw, one panel each; by default every quantity a target tests.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    targets = load_targets() if targets is None else targets
    observations = load_observed() if observations is None else observations
    one, weights, title = _members(results, scenario, lang)
    panels = marks.panels_for(one, list(targets.values()), list(observations), quantities, "fan")

    figure, axes = style.panel_grid(len(panels))
    low_high = ((0.05, 0.95), (0.25, 0.75))
    any_record = any_target = False
    for ax, panel in zip(axes, panels, strict=True):
        variable = one[panel.quantity]
        series.require_finite(variable, panel.quantity)
        yearly = series.year_values(variable, panel.aggregate)
        bands = series.quantiles(yearly, weights)
        years = yearly["year"].values
        for (low, high), alpha in zip(low_high, style.BAND_ALPHAS, strict=True):
            ax.fill_between(
                years,
                bands.sel(quantile=low),
                bands.sel(quantile=high),
                color=style.color(0),
                alpha=alpha,
                linewidth=0,
                label=labels.phrase("band", lang, low=round(low * 100), high=round(high * 100)),
            )
        ax.plot(years, bands.sel(quantile=0.5), color=style.color(0), label="_median")
        any_record |= marks.draw_record(ax, observations, panel)
        any_target |= bool(marks.draw_targets(ax, one, panel, lang))
        ax.set_title(marks.panel_title(one, panel, lang))
        ax.set_ylabel(marks.panel_unit(one, panel, lang))
    all_years = series.year_values(one[panels[0].quantity], "level")["year"]
    marks.finish_time_axes(axes, lang, int(all_years.min()), int(all_years.max()))

    figure.suptitle(title)
    handles = [
        Line2D([], [], color=style.color(0), label=labels.phrase("median", lang)),
        *(
            Patch(
                color=style.color(0),
                alpha=alpha,
                linewidth=0,
                label=labels.phrase("band", lang, low=round(low * 100), high=round(high * 100)),
            )
            for (low, high), alpha in zip(low_high, style.BAND_ALPHAS, strict=True)
        ),
        *marks.legend_handles(lang, record=any_record, targets=any_target),
    ]
    marks.figure_legend(figure, handles)
    return figure


def _members(results: xr.Dataset, scenario: str | None, lang: str):
    """The Dataset with the members along ``sample``, their weights, and the chart's title."""
    if "scenario" in results.dims:
        if not series.has_members(results):
            raise InputError(
                "the fan chart needs an ensemble (a 'sample' dimension with 2 or more members); "
                "this results file has none",
                expected="`heping-sd run` with a calibrated ensemble (`heping-sd calibrate` "
                "first), or a sweep",
            )
        index = series.case_index(results, "scenario", scenario)
        one = results.isel(scenario=index)
        weights = one.get(series.WEIGHT)
        name = marks.scenario_names(results, "scenario", lang)[index]
        members = labels.phrase("members", lang, n=results.sizes[series.SAMPLE])
        title = labels.phrase("fan_title", lang, scenario=name, members=members)
    elif "run" in results.dims and results.sizes["run"] > 1:
        if scenario is not None:
            raise InputError("a sweep has no scenarios to choose from", key="--scenario")
        pooled = [d for d in ("run", series.SAMPLE) if d in results.dims]
        weights = results.get(series.WEIGHT)
        if weights is not None:
            weights = weights.broadcast_like(results["run"]).stack(_member=pooled)
            weights = _as_samples(weights)
        one = _as_samples(results.drop_vars(series.WEIGHT, errors="ignore").stack(_member=pooled))
        name = str(results.attrs.get("sweep_name") or labels.phrase("sweep", lang))
        settings = labels.phrase("settings", lang, n=results.sizes["run"])
        if series.SAMPLE in results.dims:
            settings += " × " + labels.phrase("members", lang, n=results.sizes[series.SAMPLE])
        title = labels.phrase("fan_sweep_title", lang, sweep=name, settings=settings)
    else:
        raise InputError(
            f"the fan chart needs many runs: an ensemble or a sweep; this file has dims "
            f"{sorted(map(str, results.dims))}",
            expected="`heping-sd run` with a calibrated ensemble, or `heping-sd sweep`",
        )
    if weights is not None:
        series.require_finite(weights, series.WEIGHT)
    return one, weights, title


def _as_samples(data):
    """A stacked ``_member`` dim as a plain ``sample`` dim (the stacked labels dropped)."""
    labels_of_stack = [c for c in data.coords if "_member" in data[c].dims]
    return data.drop_vars(labels_of_stack).rename(_member=series.SAMPLE)
