"""Fan chart: the ensemble's quantile bands for one scenario, with the median and the targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from plots import catalogue, labels, marks, series, style
from sim.errors import InputError


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
    """How sure the forecast is: 5–95 % and 25–75 % bands over the ensemble members.

    Parameters
    ----------
    results
        Output of ``heping-sd run`` with a calibrated ensemble: dims
        ``scenario × sample × time``. A ``sample_weight(sample)`` variable weights the members.
    scenario
        The scenario to draw; ``baseline`` if present, else the first.
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
    targets = catalogue.load_targets() if targets is None else targets
    observations = catalogue.load_observed() if observations is None else observations
    if not series.has_members(results):
        raise InputError(
            "the fan chart needs an ensemble (a 'sample' dimension with 2 or more members); "
            "this results file has none",
            expected="`heping-sd run` with a calibrated ensemble (`heping-sd calibrate` first)",
        )
    dim = series.case_dim(results, "fan")
    one = results.isel({dim: series.case_index(results, dim, scenario)})
    weights = one.get(series.WEIGHT)
    if weights is not None:
        series.require_finite(weights, series.WEIGHT)
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

    name = marks.scenario_names(results, dim, lang)[series.case_index(results, dim, scenario)]
    members = labels.phrase("members", lang, n=results.sizes[series.SAMPLE])
    figure.suptitle(labels.phrase("fan_title", lang, scenario=name, members=members))
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
    marks.figure_legend(figure, handles, columns=len(handles))
    return figure
