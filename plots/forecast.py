"""Forecast: one panel per quantity, a line per scenario, the record and the targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from plots import labels, marks, series, style
from sim.observed import load_observed
from sim.targets import load_targets


@style.chart
def plot(
    results: xr.Dataset,
    *,
    targets: Mapping | None = None,
    observations: Sequence | None = None,
    quantities: Sequence[str] | None = None,
    lang: str = "en",
) -> Figure:
    """Forecast of each target quantity under every scenario.

    Parameters
    ----------
    results
        Output of ``heping-sd run``: dims ``scenario × time`` or ``scenario × sample × time``.
        With an ensemble, each scenario's line is the median over the members.
    targets
        The target catalogue, key → target (the shipped ``model/targets.toml`` when
        ``None``); represented targets are drawn on the panels of the quantities they test.
    observations
        The 十三五 record (the shipped ``model/observed.csv`` when ``None``); its level
        figures are drawn as points.
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
    dim = series.scenario_dim(results, "forecast")
    panels = marks.panels_for(
        results, list(targets.values()), list(observations), quantities, "forecast"
    )
    names = marks.scenario_names(results, dim, lang)
    ensemble = series.has_members(results)

    figure, axes = style.panel_grid(len(panels))
    any_record = any_target = False
    for ax, panel in zip(axes, panels, strict=True):
        variable = results[panel.quantity]
        series.require_finite(variable, panel.quantity)
        yearly = series.year_values(variable, panel.aggregate)
        if ensemble:
            yearly = yearly.median(series.SAMPLE)
        for index, name in enumerate(names):
            line = yearly.isel({dim: index})
            ax.plot(line["year"], line, color=style.color(index), label=name)
        any_record |= marks.draw_record(ax, observations, panel)
        any_target |= bool(marks.draw_targets(ax, results, panel, lang))
        ax.set_title(marks.panel_title(results, panel, lang))
        ax.set_ylabel(marks.panel_unit(results, panel, lang))
    years = series.year_values(results[panels[0].quantity], "level")["year"]
    marks.finish_time_axes(axes, lang, int(years.min()), int(years.max()))

    title = labels.phrase("forecast_title", lang)
    if ensemble:
        members = labels.phrase("members", lang, n=results.sizes[series.SAMPLE])
        title += "\n" + labels.phrase("lines_are_medians", lang, members=members)
    figure.suptitle(title)
    handles = [
        Line2D([], [], color=style.color(i), label=name) for i, name in enumerate(names)
    ] + marks.legend_handles(lang, record=any_record, targets=any_target)
    marks.figure_legend(figure, handles)
    return figure
