"""Marks shared by the time-series charts: the record, the targets, the panels.

A panel shows one model quantity per calendar year: its level at the year end, or, for a
running total (``aggregate = "annual"``), the amount for the year. On it go the 十三五 record
(level observations of that quantity, with ±2σ bars from ``rel_sigma``) and the targets
that test it, drawn where they can be read against the lines:

* ``level``: a triangle at the threshold in the target year (▲ for ≥, ▼ for ≤);
* ``growth``: a dashed path growing at the threshold rate from the model's median value in
  the year before the window, ending in the triangle;
* ``cumulative`` of a level: the threshold added to that median value, a triangle at the
  window's last year; of a running total: the yearly average needed over the window, a
  dashed segment.

``share`` targets have no place on the quantity's own axis; they appear in the ``compare``
and ``matrix`` charts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from plots import labels, series, style
from sim.errors import InputError

TARGET_MARKER = {">=": "^", "<=": "v"}
RECORD_MARKER = "o"
MARKED_KINDS = ("level", "growth", "cumulative")


@dataclass(frozen=True)
class Panel:
    """One quantity on one panel, and the targets drawn on it."""

    quantity: str
    aggregate: str
    targets: tuple


def panels_for(
    ds: xr.Dataset,
    targets: Sequence,
    observations: Sequence,
    quantities: Sequence[str] | None,
    chart: str,
) -> list[Panel]:
    """The panels of a time-series chart.

    Without ``quantities``: every quantity a represented target tests (``share`` targets
    aside), in catalogue order. With ``quantities``: those, each read with the aggregate
    its targets or observations give it (``level`` when none does).
    """
    marked = [t for t in targets if t.represented and t.kind in MARKED_KINDS]
    if quantities is None:
        quantities = list(dict.fromkeys(t.quantity for t in marked))
        if not quantities:
            raise InputError(
                f"the {chart} chart found no target quantity to draw",
                expected="--quantity NAME, or a targets file with represented targets",
            )
    series.require_variables(ds, list(quantities), chart)
    panels = []
    for quantity in quantities:
        own = tuple(t for t in marked if t.quantity == quantity)
        aggregates = [t.aggregate for t in own] + [
            o.aggregate for o in observations if o.quantity == quantity
        ]
        panels.append(Panel(quantity, aggregates[0] if aggregates else "level", own))
    return panels


def quantity_name(ds: xr.Dataset, quantity: str, aggregate: str, targets, lang: str) -> str:
    """A model quantity's name for readers (a running total: the name of what it adds up).

    The names in targets.toml are written for readers (in both languages), the variables'
    are model identifiers, so a target's name is preferred where it names the quantity
    itself: a level target's, a growth target's without the word "growth", a cumulative
    target's on a running total (it names the flow). Otherwise the variable's name.
    """
    for target in targets:
        if target.quantity != quantity:
            continue
        if target.kind == "level" or (target.kind == "cumulative" and aggregate == "annual"):
            return labels.named(target, lang)
        if target.kind == "growth":
            return labels.without_growth(labels.named(target, lang))
    variable = ds[quantity]
    if aggregate == "annual":
        return labels.amount_name(variable, lang)
    return labels.variable_name(variable, lang)


def panel_title(ds: xr.Dataset, panel: Panel, lang: str) -> str:
    """The quantity's name (:func:`quantity_name`), wrapped; "per year" for a running total."""
    name = quantity_name(ds, panel.quantity, panel.aggregate, panel.targets, lang)
    if panel.aggregate == "annual":
        name = labels.phrase("per_year", lang, name=name)
    return labels.wrap(name, 30, lang)


def panel_unit(ds: xr.Dataset, panel: Panel, lang: str) -> str:
    """The y-axis unit: the variable's ``units``; a running total's yearly amount is per year."""
    units = str(ds[panel.quantity].attrs.get("units", ""))
    if panel.aggregate == "annual" and units and "/" not in units:
        units = f"{units}/Year"
    if not units and panel.targets:
        units = panel.targets[0].unit
    return labels.unit(units, lang)


def draw_record(ax: Axes, observations: Iterable, panel: Panel) -> bool:
    """The record's level figures for the panel's quantity, with ±2σ bars; True if any."""
    rows = [
        o
        for o in observations
        if o.quantity == panel.quantity
        and o.kind == "level"
        and o.aggregate == panel.aggregate
        and o.year is not None
    ]
    for row in rows:
        fitted = row.use == "calibrate"
        ax.errorbar(
            row.year,
            row.value,
            yerr=2 * row.rel_sigma * abs(row.value),
            fmt=RECORD_MARKER,
            markersize=4.5,
            color=style.RECORD_COLOR,
            markerfacecolor=style.RECORD_COLOR if fitted else "white",
            elinewidth=0.9,
            capsize=2,
            zorder=5,
            label="_record",
        )
    return bool(rows)


def draw_targets(ax: Axes, ds: xr.Dataset, panel: Panel, lang: str) -> list[str]:
    """Each target of the panel (see the module docstring) and, top left, what it asks.

    Returns the kinds of the targets drawn.
    """
    drawn, texts = [], []
    yearly = series.year_values(ds[panel.quantity], panel.aggregate)
    for target in panel.targets:
        text = labels.target_condition(target, lang)
        if target.kind == "level":
            end = (target.year, target.threshold)
        elif target.kind == "growth" or target.aggregate == "level":
            first, last = target.window
            base = _median_in(yearly, first - 1)
            if target.kind == "growth":
                years = np.arange(first - 1, last + 1)
                path = base * (1 + target.threshold) ** (years - (first - 1))
                _target_line(ax, years, path)
                end = (last, path[-1])
            else:
                end = (last, base + target.threshold)
        else:  # cumulative amount of a running total: the yearly average it needs
            first, last = target.window
            average = target.threshold / (last - first + 1)
            _target_line(ax, [first, last], [average, average])
            end = (last, average)
            needed = labels.phrase("needed_average", lang)
            text += (
                f"（{needed} {labels.number(average)}）"
                if lang == "zh"
                else (f" ({needed.lower()} {labels.number(average)}/yr)")
            )
        ax.plot(
            *end,
            marker=TARGET_MARKER[target.comparison],
            markersize=8,
            color=style.TARGET_COLOR,
            markerfacecolor="white",
            markeredgewidth=1.6,
            linestyle="none",
            zorder=6,
            label="_target",
        )
        texts.append(text)
        drawn.append(target.kind)
    if texts:
        heading = labels.phrase("target", lang) + ("：" if lang == "zh" else ": ")
        lines = [
            ("  " if i else "") + line
            for text in texts
            for i, line in enumerate(labels.wrap(text, 38, lang).split("\n"))
        ]
        box = (
            heading + lines[0]
            if len(texts) == 1 and len(lines) == 1
            else (heading + "\n" + "\n".join(lines))
        )
        # Head room above the data, so that the box rarely hides a line.
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + (high - low) * 0.09 * (box.count("\n") + 1))
        ax.text(
            0.03,
            0.97,
            box,
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=7,
            color=style.TARGET_COLOR,
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "white",
                "edgecolor": "#BBBBBB",
                "alpha": 0.85,
            },
            zorder=8,
        )
    return drawn


def _median_in(yearly: xr.DataArray, year: int) -> float:
    if year not in yearly["year"].values:
        raise InputError(
            f"a target needs the value in {year}, which these results do not hold",
            key=str(yearly.name),
        )
    return float(yearly.sel(year=year).median())


def _target_line(ax: Axes, x, y) -> None:
    ax.plot(
        x,
        y,
        linestyle=(0, (4, 2)),
        linewidth=1.2,
        color=style.TARGET_COLOR,
        zorder=4,
        label="_target_path",
    )


def legend_handles(lang: str, *, record: bool, targets: bool) -> list[Line2D]:
    """Legend entries for the record and the targets (the series add their own)."""
    handles = []
    if record:
        handles.append(
            Line2D(
                [],
                [],
                marker=RECORD_MARKER,
                linestyle="none",
                color=style.RECORD_COLOR,
                markersize=4.5,
                label=labels.phrase("record", lang) + " (±2σ)",
            )
        )
    if targets:
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                linestyle=(0, (4, 2)),
                color=style.TARGET_COLOR,
                markerfacecolor="white",
                markeredgewidth=1.6,
                markersize=8,
                label=labels.phrase("target", lang),
            )
        )
    return handles


def finish_time_axes(axes: Sequence[Axes], lang: str, first_year: int, last_year: int) -> None:
    """Shared x range with room for the target markers; the year label on the bottom row."""
    for ax in axes:
        ax.set_xlim(first_year - 0.3, last_year + 0.8)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_subplotspec().is_last_row() or not _has_panel_below(ax, axes):
            ax.set_xlabel(labels.phrase("year", lang))
            ax.tick_params(labelbottom=True)


def _has_panel_below(ax: Axes, axes: Sequence[Axes]) -> bool:
    spec = ax.get_subplotspec()
    below = spec.rowspan.stop
    return any(
        other.get_subplotspec().rowspan.start == below
        and other.get_subplotspec().colspan.start == spec.colspan.start
        for other in axes
    )


def figure_legend(figure: Figure, handles: list) -> None:
    """One legend for the whole figure, below the panels, in as many columns as fit."""
    widest = max(labels.columns(h.get_label()) for h in handles)
    # about 0.062 in per column of 8-point text, plus the handle and the gap between entries
    entry = 0.062 * widest + 0.75
    fit = max(1, int(figure.get_figwidth() * 0.95 // entry))
    rows = -(-len(handles) // fit)
    figure.legend(handles=handles, loc="outside lower center", ncols=-(-len(handles) // rows))


def scenario_names(ds: xr.Dataset, dim: str, lang: str) -> list[str]:
    """Display names of the scenarios: ``title_zh``/``title_en`` coordinates when present."""
    coordinate = "title_zh" if lang == "zh" else "title_en"
    if dim == "scenario" and coordinate in ds.coords:
        names = [str(t) for t in ds[coordinate].values]
        if lang == "en":  # an English title must not need a CJK font
            keys = [str(k) for k in ds[dim].values]
            names = [
                n if not labels.has_chinese(n) else k for n, k in zip(names, keys, strict=True)
            ]
        return names
    return [str(k) for k in ds[dim].values]
