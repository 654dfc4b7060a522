"""Calibration: the model against the 十三五 record, 2015–2020."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from plots import labels, marks, series, style
from sim.errors import InputError
from sim.observed import load_observed
from sim.predicates import predicate
from sim.targets import load_targets

FIRST_YEAR = 2015  # the model starts at the end of 2015, the eve of the 十三五


@style.chart
def plot(
    results: xr.Dataset,
    *,
    observations: Sequence | None = None,
    targets: Mapping | None = None,
    scenario: str | None = None,
    lang: str = "en",
) -> Figure:
    """How well the model reproduces the record: time series and every figure's deviation.

    Top: one panel per quantity with level figures in the record, the model over
    2015–2020 (the median and 5–95 % band with an ensemble) and the record with ±2σ bars,
    where σ = ``rel_sigma`` × |value| is how far the figure can be trusted. Bottom: every
    figure of the record (levels, growth rates, totals, shares) as the model's deviation
    from it in units of σ — the measure history matching uses — against the ±2σ band.

    Parameters
    ----------
    results
        Output of ``heping-sd run`` (a best fit or a calibrated ensemble) covering 2015–2020.
    observations
        The record (the shipped ``model/observed.csv`` when ``None``).
    targets
        The target catalogue, whose names name the quantities (the shipped one when
        ``None``; pass ``{}`` to name them by the variables' attrs).
    scenario
        Which scenario to compare; ``baseline`` if present, else the first.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    observations = load_observed() if observations is None else observations
    targets = load_targets() if targets is None else targets
    namers = [t for t in targets.values() if t.represented]
    dim = series.scenario_dim(results, "calibration")
    one = results.isel({dim: series.case_index(results, dim, scenario)})
    usable = [
        o
        for o in observations
        if o.quantity in one.data_vars and (not o.denominator or o.denominator in one.data_vars)
    ]
    if not usable:
        raise InputError(
            "the calibration chart found no figure of the record whose quantity the results hold",
            expected="results of the model that model/observed.csv describes",
        )
    weights = one.get(series.WEIGHT) if series.has_members(one) else None
    quantities = list(dict.fromkeys(o.quantity for o in usable if o.kind == "level"))
    for name in {o.quantity for o in usable} | {o.denominator for o in usable if o.denominator}:
        series.require_finite(one[name], name)

    # the record runs to 2020, with a few later figures (reports of 2021) that also count
    last_year = max(o.year or o.window[1] for o in usable)
    span = (FIRST_YEAR, last_year)

    columns = min(max(len(quantities), 1), style.MAX_COLUMNS)
    rows = -(-len(quantities) // columns) if quantities else 0
    deviation_height = 0.9 + 0.24 * len(usable)
    figure = style.new_figure(
        style.PANEL_WIDTH * 3, style.PANEL_HEIGHT * rows + deviation_height + 0.8
    )
    top, bottom = (
        figure.subfigures(
            2, 1, height_ratios=[max(style.PANEL_HEIGHT * rows, 0.01), deviation_height]
        )
        if rows
        else (None, figure)
    )
    if rows:
        axes = top.subplots(rows, columns, squeeze=False, sharex=True).ravel().tolist()
        for extra in axes[len(quantities) :]:
            extra.remove()
        axes = axes[: len(quantities)]
        for ax, quantity in zip(axes, quantities, strict=True):
            _series_panel(ax, one, quantity, usable, weights, span, namers, lang)
        marks.finish_time_axes(axes, lang, *span)
        for ax in axes:
            ax.set_xlim(span[0] - 0.3, span[1] + 0.3)
    _deviation_panel(
        bottom.add_subplot(), one, usable, weights, namers, lang, total=len(observations)
    )

    figure.suptitle(labels.phrase("calibration_title", lang, first=span[0], last=span[1]))
    ensemble = weights is not None or series.has_members(one)
    handles = [
        Line2D(
            [],
            [],
            color=style.color(0),
            label=labels.phrase("model_median" if ensemble else "model", lang),
        ),
        *(
            [
                Patch(
                    color=style.color(0),
                    alpha=style.BAND_ALPHAS[0],
                    label=labels.phrase("model_range", lang),
                )
            ]
            if ensemble
            else []
        ),
        *marks.legend_handles(lang, record=True, targets=False),
        Patch(color="#BBBBBB", alpha=0.5, label=labels.phrase("record_band", lang)),
    ]
    marks.figure_legend(figure, handles)
    return figure


def _series_panel(
    ax, one: xr.Dataset, quantity: str, usable, weights, span, namers, lang: str
) -> None:
    rows = [o for o in usable if o.quantity == quantity and o.kind == "level"]
    aggregate = rows[0].aggregate
    yearly = series.year_values(one[quantity], aggregate)
    yearly = yearly.sel(year=(yearly["year"] >= span[0]) & (yearly["year"] <= span[1]))
    years = yearly["year"].values
    if series.has_members(yearly):
        bands = series.quantiles(yearly, weights)
        ax.fill_between(
            years,
            bands.sel(quantile=0.05),
            bands.sel(quantile=0.95),
            color=style.color(0),
            alpha=style.BAND_ALPHAS[0],
            linewidth=0,
        )
        ax.plot(years, bands.sel(quantile=0.5), color=style.color(0))
    else:
        ax.plot(years, yearly.values, color=style.color(0))
    panel = marks.Panel(quantity, aggregate, tuple(namers))
    marks.draw_record(ax, rows, panel)
    ax.set_title(marks.panel_title(one, panel, lang))
    ax.set_ylabel(marks.panel_unit(one, panel, lang))


def _deviation_panel(ax, one: xr.Dataset, usable, weights, namers, lang: str, *, total: int):
    y = np.arange(len(usable))[::-1]
    names = []
    for position, row in zip(y, usable, strict=True):
        model = _model_value(one, row)
        sigma = row.rel_sigma * abs(row.value)
        if not sigma > 0:
            raise InputError(
                "rel_sigma × value must be positive to compare the model with this figure",
                key=row.key,
            )
        deviation = (model - row.value) / sigma
        ax.barh(position, 4, left=-2, height=0.7, color="#BBBBBB", alpha=0.5, linewidth=0)
        fitted = row.use == "calibrate"
        if series.has_members(deviation):
            q = series.quantiles(deviation, weights)
            ax.hlines(
                position,
                q.sel(quantile=0.05),
                q.sel(quantile=0.95),
                color=style.color(0),
                linewidth=1.2,
            )
            centre = float(q.sel(quantile=0.5))
        else:
            centre = float(deviation)
        ax.plot(
            centre,
            position,
            "o",
            color=style.color(0),
            markersize=5,
            markerfacecolor=style.color(0) if fitted else "white",
        )
        names.append(_observation_label(one, row, namers, lang))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.set_xlabel(labels.phrase("deviation", lang))
    title = labels.phrase("all_observations", lang, shown=len(usable), total=total)
    ax.set_title(labels.wrap(title, 70, lang))
    reach = max(3.0, *(abs(x) for x in ax.get_xlim()))
    ax.set_xlim(-reach, reach)
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)


def _model_value(one: xr.Dataset, row) -> xr.DataArray:
    """The model's value of a figure of the record, for every member (shared predicates)."""
    names = [row.quantity, *([row.denominator] if row.denominator else [])]
    stacked = one[names].to_array("quantity")
    members = [d for d in stacked.dims if d not in ("quantity", "time")]
    stacked = stacked.transpose(*members, "quantity", "time")
    try:
        values = predicate(
            {name: stacked.values[..., k, :] for k, name in enumerate(names)},
            one["time"].values,
            quantity=row.quantity,
            aggregate=row.aggregate,
            kind=row.kind,
            year=row.year,
            window=row.window,
            denominator=row.denominator or None,
        )
    except ValueError as err:  # a year end the results do not hold
        raise InputError(str(err), key=row.key) from None
    coords = {d: stacked[d] for d in members if d in stacked.coords}
    return xr.DataArray(values, dims=members, coords=coords)


def _observation_label(one: xr.Dataset, row, namers, lang: str) -> str:
    name = marks.quantity_name(one, row.quantity, row.aggregate, namers, lang)
    sep = "，" if lang == "zh" else ", "
    if row.kind == "level":
        what = f"{name} {row.year}"
    elif row.kind == "share":
        what = f"{name}{sep}{labels.phrase('share', lang)} {row.year}"
    else:
        period = f"{row.window[0]}–{row.window[1]}"
        what = f"{name}{sep}{labels.phrase(row.kind, lang)} {period}"
    return labels.wrap(what, 44 if lang == "zh" else 48, lang)
