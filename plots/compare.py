"""Compare: small multiples, one per target, of the target's value in every scenario."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from plots import labels, marks, series, style


@style.chart
def plot(results: xr.Dataset, *, targets: Mapping | None = None, lang: str = "en") -> Figure:
    """Each represented target's value under each scenario, against its threshold.

    Parameters
    ----------
    results
        Output of ``heping-sd run`` (dims ``scenario × [sample ×] time``), or its target
        evaluation (``sim.targets.evaluate``). With an ensemble, each scenario shows the
        median, the 25–75 % range (bar) and the 5–95 % range (whisker) of its members.
    targets
        The target catalogue (the shipped one when ``None``).
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    evaluation = series.evaluated(results, targets)
    dim = series.scenario_dim(evaluation, "compare")
    records = series.target_records(evaluation, targets)
    value = evaluation["value"]
    series.require_finite(value, "value")
    weights = evaluation.get(series.WEIGHT)
    if weights is None and series.WEIGHT in results:
        weights = results[series.WEIGHT]
    ensemble = series.has_members(value)
    names = [labels.wrap(name, 30, lang) for name in marks.scenario_names(evaluation, dim, lang)]
    positions = np.arange(len(names))[::-1]  # first scenario on top

    # room for every scenario's (wrapped) name: about 0.15 in per line of 8-point text
    lines = max(name.count("\n") + 1 for name in names)
    height = max(style.PANEL_HEIGHT, 1.2 + 0.15 * lines * len(names))
    figure, axes = style.panel_grid(len(records), sharex=False, panel_height=height)
    for ax, target in zip(axes, records, strict=True):
        scale = 100.0 if labels.is_fraction_kind(target.kind) else 1.0
        data = value.sel(target=target.key) * scale
        if ensemble:
            q = series.quantiles(data, weights)
            for index, y in enumerate(positions):
                row = q.isel({dim: index})
                colour = style.color(index)
                ax.hlines(
                    y, row.sel(quantile=0.05), row.sel(quantile=0.95), color=colour, linewidth=1.0
                )
                ax.hlines(
                    y,
                    row.sel(quantile=0.25),
                    row.sel(quantile=0.75),
                    color=colour,
                    linewidth=4.0,
                    alpha=0.6,
                )
                ax.plot(row.sel(quantile=0.5), y, "o", color=colour, markersize=5)
        else:
            for index, y in enumerate(positions):
                ax.plot(
                    float(data.isel({dim: index})), y, "o", color=style.color(index), markersize=6
                )
        threshold = target.threshold * scale
        ax.axvline(threshold, color=style.TARGET_COLOR, linestyle=(0, (4, 2)), linewidth=1.2)
        # the threshold and its label stay inside the axes, however far the values are
        low, high = ax.get_xlim()
        span = max(high, threshold) - min(low, threshold)
        ax.set_xlim(min(low, threshold - 0.04 * span), max(high, threshold + 0.16 * span))
        ax.set_title(labels.wrap(labels.named(target, lang), 28, lang))
        ax.annotate(
            ("≥ " if target.comparison == ">=" else "≤ ") + labels.number(threshold),
            xy=(threshold, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -2),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7,
        )
        ax.set_xlabel(labels.wrap(labels.target_axis_label(target, lang), 34, lang))
        ax.set_yticks(positions, names if ax.get_subplotspec().is_first_col() else [])
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)

    title = labels.phrase("compare_title", lang)
    if ensemble:
        title += "\n" + labels.phrase("compare_whiskers", lang)
    figure.suptitle(title)
    handles = [
        Line2D(
            [],
            [],
            color=style.TARGET_COLOR,
            linestyle=(0, (4, 2)),
            label=labels.phrase("target", lang),
        ),
    ]
    marks.figure_legend(figure, handles)
    return figure
