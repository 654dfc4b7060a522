"""Target matrix: for every scenario and target, the probability that the target is met."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from plots import labels, marks, series, style


@style.chart
def plot(results: xr.Dataset, *, targets: Mapping | None = None, lang: str = "en") -> Figure:
    """Targets (rows) × scenarios (columns), coloured by the probability of being met.

    The last row is the probability that every represented target is met at once, which
    is not the product of the rows: targets move together.

    Parameters
    ----------
    results
        Output of ``heping-sd run`` (dims ``scenario × [sample ×] time``), or its target
        evaluation (``sim.targets.evaluate``). Without an ensemble every cell is 0 or 1.
    targets
        The target catalogue (the shipped one when ``None``).
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    evaluation = series.evaluated(results, targets)
    dim = series.scenario_dim(evaluation, "matrix")
    records = series.target_records(evaluation, targets)
    probability = evaluation["probability"].transpose("target", dim)
    all_met = evaluation["all_met_probability"]
    series.require_finite(probability, "probability")
    series.require_finite(all_met, "all_met_probability")
    table = np.vstack([probability.values, all_met.values[np.newaxis, :]])
    names = [labels.wrap(name, 16, lang) for name in marks.scenario_names(evaluation, dim, lang)]
    rows = [_row_label(target, lang) for target in records] + [labels.phrase("all_targets", lang)]

    figure = style.new_figure(4.6 + 1.15 * len(names), 1.9 + 0.36 * len(rows))
    ax = figure.add_subplot()
    image = ax.imshow(table, cmap=style.PROBABILITY_CMAP, vmin=0.0, vmax=1.0, aspect="auto")
    for (row, column), cell in np.ndenumerate(table):
        ax.text(
            column,
            row,
            labels.probability_text(cell),
            ha="center",
            va="center",
            fontsize=7.5,
            color="white" if cell > 0.55 else "black",
            fontweight="bold" if row == len(rows) - 1 else "normal",
        )
    ax.axhline(len(rows) - 1.5, color="white", linewidth=3)  # set the joint row apart
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_yticks(np.arange(len(rows)), rows)
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(labels.phrase("scenario", lang))
    colourbar = figure.colorbar(image, ax=ax, shrink=0.8, format=lambda x, _: f"{x:.0%}")
    colourbar.set_label(labels.phrase("probability_met", lang))
    colourbar.outline.set_visible(False)

    title = labels.phrase("matrix_title", lang)
    if series.has_members(evaluation["met"]):
        title += "\n" + labels.phrase("members", lang, n=evaluation.sizes[series.SAMPLE])
    else:
        title += "\n" + labels.phrase("one_run_each", lang)
    figure.suptitle(title)
    return figure


def _row_label(target, lang: str) -> str:
    return labels.wrap(labels.target_title(target, lang), 58, lang)
