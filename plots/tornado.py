"""Tornado of Sobol indices: which levers and parameters the outcome is sensitive to."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from plots import labels, series, style
from sim.errors import InputError

INDICES = ("S1", "S1_conf", "ST", "ST_conf")
KIND_COLOURS = {"lever": style.PALETTE[0], "parameter": style.PALETTE[1]}


@style.chart
def plot(
    sensitivity: xr.Dataset,
    *,
    lever_catalogue: Mapping | None = None,
    lang: str = "en",
) -> Figure:
    """Sobol first-order and total indices per factor, largest total effect on top.

    Parameters
    ----------
    sensitivity
        The sensitivity Dataset of docs/architecture.md: dim ``factor``, variables ``S1``,
        ``S1_conf``, ``ST``, ``ST_conf``, coordinate ``factor_kind(factor)`` (``lever`` or
        ``parameter``) and attr ``output`` (what was analysed).
    lever_catalogue
        Lever key → record with ``name_en``/``name_zh``, to name the lever factors.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [name for name in INDICES if name not in sensitivity.data_vars]
    if "factor" not in sensitivity.dims or missing:
        raise InputError(
            "the tornado chart needs a sensitivity Dataset (dim 'factor'; variables "
            + ", ".join(INDICES)
            + ")"
            + (f"; this file lacks {', '.join(missing)}" if missing else ""),
            expected="Sobol indices from sim.sensitivity, saved as NetCDF",
        )
    for name in INDICES:
        series.require_finite(sensitivity[name], name)
    order = np.argsort(sensitivity["ST"].values, kind="stable")  # ascending: largest drawn on top
    ordered = sensitivity.isel(factor=order)
    factors = [str(f) for f in ordered["factor"].values]
    kinds = (
        [str(k) for k in ordered["factor_kind"].values]
        if "factor_kind" in ordered.coords
        else ["parameter"] * len(factors)
    )
    stored = f"factor_name_{lang}"
    given = [str(n) for n in ordered[stored].values] if stored in ordered.coords else None
    names = [
        _factor_name(f, k, lever_catalogue, lang, given[i] if given else "")
        for i, (f, k) in enumerate(zip(factors, kinds, strict=True))
    ]

    figure = style.new_figure(6.4, 1.5 + 0.34 * len(factors))
    ax = figure.add_subplot()
    y = np.arange(len(factors))
    colours = [KIND_COLOURS.get(kind, style.PALETTE[2]) for kind in kinds]
    light = [to_rgba(c, 0.35) for c in colours]
    ax.barh(
        y,
        ordered["ST"],
        height=0.75,
        color=light,
        xerr=ordered["ST_conf"],
        error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#555555"},
    )
    ax.barh(
        y,
        ordered["S1"],
        height=0.38,
        color=colours,
        xerr=ordered["S1_conf"],
        error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "black"},
    )
    ax.set_yticks(y, names)
    ax.set_xlim(left=min(0.0, float((ordered["S1"] - ordered["S1_conf"]).min())))
    ax.set_xlabel(labels.phrase("sobol_index", lang))
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)

    handles = [
        Patch(color=to_rgba("#666666", 0.35), label=labels.phrase("total_order", lang)),
        Patch(color="#666666", label=labels.phrase("first_order", lang)),
    ] + [
        Patch(color=KIND_COLOURS[kind], label=labels.phrase(kind, lang))
        for kind in KIND_COLOURS
        if kind in kinds
    ]
    ax.legend(handles=handles, loc="lower right")
    output = _output_name(str(sensitivity.attrs.get("output", "")), lang)
    figure.suptitle(
        labels.phrase("tornado_title", lang, output=output)
        + "\n"
        + labels.phrase("tornado_subtitle", lang)
    )
    return figure


def _factor_name(
    factor: str, kind: str, lever_catalogue: Mapping | None, lang: str, stored: str
) -> str:
    """The lever catalogue's name, else the name stored with the indices, else the key."""
    if kind == "lever" and lever_catalogue is not None and factor in lever_catalogue:
        return labels.named(lever_catalogue[factor], lang)
    return stored or labels.humanize(factor)


def _output_name(output: str, lang: str) -> str:
    if output in ("", "all_met_probability"):
        return labels.phrase("probability_all_met", lang)
    if output == "worst_margin":
        return labels.phrase("worst_margin", lang)
    return labels.humanize(output)
