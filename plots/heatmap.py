"""Heatmap: the probability that all targets are met over a grid of two levers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from plots import labels, series, style
from sim.errors import InputError, nearest

LEVER_PREFIX = "lever_"
_NEEDS = 'a grid sweep over two levers (`heping-sd sweep` with design = "grid")'


@style.chart
def plot(
    results: xr.Dataset,
    *,
    levers: Sequence[str] | None = None,
    target: str | None = None,
    targets: Mapping | None = None,
    lever_catalogue: Mapping | None = None,
    lang: str = "en",
) -> Figure:
    """Where in the space of two levers the plan's targets are met: all at once, or one.

    Parameters
    ----------
    results
        Output of ``heping-sd sweep`` with a grid design: dims ``run × [sample ×] time`` and
        coordinates ``lever_<key>(run)``, or its target evaluation. Each lever pair must occur
        exactly once. With an ensemble a cell is the fraction of members meeting every target;
        without one it is 0 or 1.
    levers
        The two lever keys for the x and y axes; by default the two levers the sweep varies.
    target
        A target key: the probability of meeting that target alone (default: all at once).
    targets
        The target catalogue (the shipped one when ``None``), used to evaluate ``results``.
    lever_catalogue
        Lever key → record with ``status_quo``, to mark the status quo; not marked when ``None``.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "run" not in results.dims:
        raise InputError(
            f"the heatmap chart needs {_NEEDS}; this file has dims "
            f"{sorted(map(str, results.dims))} and no 'run' dimension",
            expected=_NEEDS,
        )
    x_key, y_key = _chosen_levers(results, levers)
    evaluation = series.evaluated(results, targets)
    probability = _probability_per_run(evaluation, target)
    series.require_finite(probability, "probability")
    x_coord, y_coord = results[LEVER_PREFIX + x_key], results[LEVER_PREFIX + y_key]
    x_values, y_values, grid = _to_grid(x_coord.values, y_coord.values, probability.values)

    figure = style.new_figure(6.4, 5.0)
    ax = figure.add_subplot()
    mesh = ax.pcolormesh(
        _edges(x_values), _edges(y_values), grid, cmap=style.PROBABILITY_CMAP, vmin=0.0, vmax=1.0
    )
    if grid.size <= 144:
        for (row, column), cell in np.ndenumerate(grid):
            ax.text(
                x_values[column],
                y_values[row],
                labels.probability_text(cell),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cell > 0.55 else "black",
            )
    elif min(grid.shape) >= 3 and not np.isin(grid, (0.0, 1.0)).all():
        # contours of 0/1 cells would only trace the cell edges, a little off
        lines = ax.contour(
            x_values, y_values, grid, levels=[0.5, 0.9], colors="black", linewidths=0.9
        )
        ax.clabel(lines, fmt=lambda v: f"{v:.0%}", fontsize=7)
    handles = []
    if lever_catalogue is not None and x_key in lever_catalogue and y_key in lever_catalogue:
        handles.append(
            _mark_status_quo(
                ax,
                (lever_catalogue[x_key].status_quo, lever_catalogue[y_key].status_quo),
                _edges(x_values),
                _edges(y_values),
                labels.phrase("status_quo", lang),
            )
        )
    ax.set_xlabel(labels.wrap(_lever_label(x_coord, x_key, lever_catalogue, lang), 70, lang))
    ax.set_ylabel(labels.wrap(_lever_label(y_coord, y_key, lever_catalogue, lang), 50, lang))
    ax.grid(False)
    colourbar = figure.colorbar(mesh, ax=ax, format=lambda x, _: f"{x:.0%}")
    colourbar.set_label(
        labels.phrase("probability_all_met" if target is None else "probability_met", lang)
    )
    colourbar.outline.set_visible(False)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.13), frameon=False)

    if series.has_members(results):
        members = labels.phrase("members", lang, n=results.sizes[series.SAMPLE])
    else:
        members = labels.phrase("one_run_per_setting", lang)
    if target is None:
        title = labels.phrase("heatmap_title", lang)
    else:
        records = series.target_records(evaluation.sel(target=[target]), targets)
        title = labels.phrase(
            "heatmap_target_title", lang, target=labels.target_title(records[0], lang)
        )
    base = str(results.attrs.get("base_scenario", ""))
    others = (
        labels.phrase("heatmap_others_in", lang, base=base)
        if base
        else labels.phrase("heatmap_others", lang)
    )
    subtitle = labels.phrase("heatmap_subtitle", lang, others=others, members=members)
    figure.suptitle(labels.wrap(title, 60, lang) + "\n" + labels.wrap(subtitle, 64, lang))
    return figure


def _chosen_levers(results: xr.Dataset, levers: Sequence[str] | None) -> tuple[str, str]:
    on_runs = [
        str(name)[len(LEVER_PREFIX) :]
        for name, coord in results.coords.items()
        if str(name).startswith(LEVER_PREFIX) and coord.dims == ("run",)
    ]
    varied = [key for key in on_runs if np.unique(results[LEVER_PREFIX + key].values).size > 1]
    if levers is None:
        if len(varied) != 2:
            raise InputError(
                f"the heatmap chart needs {_NEEDS}; this sweep varies {len(varied)} "
                f"lever(s) ({', '.join(varied) or 'none'})",
                expected="two varied levers, or --levers A,B to choose two of them",
            )
        return varied[0], varied[1]
    if len(levers) != 2:
        raise InputError("give exactly two levers", key="--levers", expected="A,B")
    for key in levers:
        if key not in varied:
            raise InputError(
                f"lever '{key}' is not varied by this sweep",
                key="--levers",
                expected=f"one of {', '.join(varied) or '(none varied)'}",
                suggestions=nearest(key, varied),
            )
    return levers[0], levers[1]


def _probability_per_run(evaluation: xr.Dataset, target: str | None) -> xr.DataArray:
    if target is None:
        probability = evaluation["all_met_probability"]
        if "run" in probability.dims:
            return probability
        # Without ensemble members, evaluate pools the runs; each run is then met or not.
        return evaluation["met"].all("target").astype(float)
    else:
        keys = [str(k) for k in evaluation["target"].values]
        if target not in keys:
            raise InputError(
                f"no represented target '{target}'",
                key="--target",
                expected="a key of targets.toml with represented = true",
                suggestions=nearest(target, keys),
            )
        probability = evaluation["probability"].sel(target=target)
        if "run" in probability.dims:
            return probability
        return evaluation["met"].sel(target=target).astype(float)


def _to_grid(x: np.ndarray, y: np.ndarray, p: np.ndarray):
    x_values, x_index = np.unique(x, return_inverse=True)
    y_values, y_index = np.unique(y, return_inverse=True)
    count = np.zeros((y_values.size, x_values.size), dtype=int)
    np.add.at(count, (y_index, x_index), 1)
    if (count != 1).any():
        repeated = int((count > 1).sum())
        absent = int((count == 0).sum())
        raise InputError(
            f"the heatmap chart needs {_NEEDS}: of the {count.size} lever pairs, "
            f"{absent} are missing and {repeated} occur more than once",
            expected="every pair of the two levers' values exactly once",
        )
    grid = np.empty_like(count, dtype=float)
    grid[y_index, x_index] = p
    return x_values, y_values, grid


def _edges(centres: np.ndarray) -> np.ndarray:
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middles = (centres[1:] + centres[:-1]) / 2
    return np.concatenate(
        [
            [centres[0] - (middles[0] - centres[0])],
            middles,
            [centres[-1] + (centres[-1] - middles[-1])],
        ]
    )


def _mark_status_quo(ax, status_quo, x_edges, y_edges, label: str):
    """Outline the grid cell of the status quo (a cross if it lies off the grid)."""
    x, y = status_quo
    column = np.searchsorted(x_edges, x) - 1
    row = np.searchsorted(y_edges, y) - 1
    if 0 <= column < x_edges.size - 1 and 0 <= row < y_edges.size - 1:
        ax.add_patch(
            Rectangle(
                (x_edges[column], y_edges[row]),
                x_edges[column + 1] - x_edges[column],
                y_edges[row + 1] - y_edges[row],
                fill=False,
                edgecolor="black",
                linewidth=2.0,
                zorder=5,
            )
        )
        return Patch(fill=False, edgecolor="black", linewidth=2.0, label=label)
    ax.plot(
        x,
        y,
        marker="X",
        markersize=10,
        color="white",
        markeredgecolor="black",
        linestyle="none",
        clip_on=False,
        zorder=5,
    )
    return Line2D(
        [],
        [],
        marker="X",
        markersize=9,
        color="white",
        markeredgecolor="black",
        linestyle="none",
        label=label,
    )


def _lever_label(coord: xr.DataArray, key: str, catalogue: Mapping | None, lang: str) -> str:
    """The lever's name and unit: from the sweep's coordinate, else from the lever catalogue."""
    lever = catalogue.get(key) if catalogue is not None else None
    english = coord.attrs.get("long_name") or (lever.name_en if lever else labels.humanize(key))
    chinese = coord.attrs.get("long_name_zh") or (lever.name_zh if lever else "")
    name = (chinese or english) if lang == "zh" else english
    unit = coord.attrs.get("units") or (lever.unit if lever else "")
    return labels.with_unit(str(name), labels.unit(str(unit), lang), lang)
