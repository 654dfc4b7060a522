"""Reading what a chart needs out of a results Dataset, and refusing what it cannot draw.

Dims follow docs/architecture.md: ``scenario`` (``heping-sd run``) or ``run``
(``heping-sd sweep``), an optional ``sample`` (ensemble members), and ``time`` in years,
where ``time = Y`` is the end of calendar year Y.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from sim.errors import InputError, nearest

SAMPLE = "sample"
WEIGHT = "sample_weight"
"""Optional ``sample_weight(sample)``: the ensemble members' weights."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def scenario_dim(ds: xr.Dataset | xr.DataArray, chart: str) -> str:
    """``"scenario"``: the charts that compare scenarios refuse anything else."""
    if "scenario" in ds.dims:
        return "scenario"
    hint = " (for a sweep: --kind heatmap or fan)" if "run" in ds.dims else ""
    raise InputError(
        f"the {chart} chart compares scenarios and needs a 'scenario' dimension; this file has "
        f"{sorted(map(str, ds.dims))}{hint}",
        expected="the output of `heping-sd run`",
    )


def case_index(ds: xr.Dataset, dim: str, name: str | None) -> int:
    """Position of the scenario (or run) ``name``; ``baseline`` or the first when ``None``."""
    names = [str(n) for n in ds[dim].values]
    if name is None:
        return names.index("baseline") if "baseline" in names else 0
    if name not in names:
        raise InputError(
            f"no {dim} named '{name}' in the results",
            key=name,
            expected=f"one of {', '.join(names)}",
            suggestions=nearest(name, names),
        )
    return names.index(name)


def has_members(ds: xr.Dataset | xr.DataArray) -> bool:
    """Whether the Dataset holds an ensemble (a ``sample`` dimension with 2 or more members)."""
    return SAMPLE in ds.dims and ds.sizes[SAMPLE] > 1


def require_finite(data: xr.DataArray, name: str) -> None:
    """Refuse NaN or infinite values, naming the variable and where the first bad value is.

    Charts never draw a NaN as a gap or an infinity as an edge: either would hide that the
    simulation went wrong.
    """
    values = np.asarray(data.values, dtype=float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    first = np.unravel_index(np.argmax(bad), values.shape)
    where = ", ".join(
        f"{dim}={data[dim].values[i].item() if dim in data.coords else i}"
        for dim, i in zip(data.dims, first, strict=True)
    )
    raise InputError(
        f"{int(bad.sum())} NaN or infinite value(s), the first at {where}; "
        "not plotted (re-run the simulation and check its inputs)",
        key=name,
    )


def require_variables(ds: xr.Dataset, names: list[str], chart: str) -> None:
    """Every name must be a variable of ``ds``; otherwise say which and what exists."""
    missing = [name for name in names if name not in ds.data_vars]
    if missing:
        raise InputError(
            f"the {chart} chart needs variable '{missing[0]}', which this results file lacks",
            key=missing[0],
            expected='a quantity the run saved (all quantities, or keep = "targets" for sweeps)',
            suggestions=nearest(missing[0], map(str, ds.data_vars)),
        )


def year_values(variable: xr.DataArray, aggregate: str) -> xr.DataArray:
    """A variable per calendar year: dim ``time`` replaced by integer ``year``.

    ``aggregate = "level"``: the value at the end of year Y. ``"annual"``: the variable is a
    running total and the amount for year Y is ``Q(Y) − Q(Y − 1)``, so a year whose
    previous year end is not saved (the first, or one after a gap) has no amount.
    """
    times = variable["time"].values.astype(float)
    whole = np.isclose(times, np.round(times), rtol=0, atol=1e-9)
    at_year_end = variable.isel(time=np.flatnonzero(whole))
    years = np.round(at_year_end["time"].values).astype(int)
    by_year = at_year_end.assign_coords(time=years).rename(time="year")
    if aggregate == "annual":
        # Q(Y) − Q(Y − 1), for the years whose previous year end was saved too (a sweep that
        # keeps only the target years has gaps).
        previous = by_year.assign_coords(year=by_year["year"] + 1)
        by_year = (by_year - previous).assign_attrs(variable.attrs)
    return by_year


def quantiles(
    data: xr.DataArray,
    weights: xr.DataArray | None = None,
    levels: Sequence[float] = QUANTILES,
) -> xr.DataArray:
    """Quantiles of ``data`` over the ensemble members (dim ``sample`` → ``quantile``).

    Each member stands at the middle of its share of the total weight: sorted by value,
    member i sits at cumulative probability ``(W_i − w_i / 2) / W`` (``W_i`` the weight up
    to and including it), and a quantile is read off linearly between members (the end
    members beyond). With equal weights this is numpy's ``method="hazen"``, which is also
    used when there are no weights, so weighted and unweighted bands agree.
    """
    if weights is None:
        return data.quantile(list(levels), dim=SAMPLE, method="hazen")
    positive = np.flatnonzero(np.asarray(weights.values, dtype=float) > 0)
    data, weights = data.isel({SAMPLE: positive}), weights.isel({SAMPLE: positive})

    def weighted(values: np.ndarray, w: np.ndarray) -> np.ndarray:
        order = np.argsort(values, axis=-1)
        ordered = np.take_along_axis(values, order, axis=-1)
        spread = w[order]
        position = (np.cumsum(spread, axis=-1) - spread / 2) / spread.sum(axis=-1, keepdims=True)
        rows_v = ordered.reshape(-1, ordered.shape[-1])
        rows_p = position.reshape(-1, position.shape[-1])
        out = np.stack([np.interp(levels, p, v) for p, v in zip(rows_p, rows_v, strict=True)])
        return out.reshape(*values.shape[:-1], len(levels))

    result = xr.apply_ufunc(
        weighted,
        data,
        weights,
        input_core_dims=[[SAMPLE], [SAMPLE]],
        output_core_dims=[["quantile"]],
    )
    return result.assign_coords(quantile=list(levels)).transpose("quantile", ...)


def evaluated(ds: xr.Dataset, targets: Mapping | None) -> xr.Dataset:
    """The evaluated-targets Dataset of ``ds``, or ``ds`` itself if it is one already."""
    if "all_met_probability" in ds.data_vars:
        return ds
    from sim.targets import evaluate

    return evaluate(ds, dict(targets) if targets is not None else None)


def target_records(evaluation: xr.Dataset, targets: Mapping | None) -> list:
    """The catalogue entries of the evaluated targets, in the evaluation's order."""
    if targets is None:
        from sim.targets import load_targets

        targets = load_targets()
    keys = [str(k) for k in evaluation["target"].values]
    missing = [k for k in keys if k not in targets]
    if missing:
        raise InputError(
            f"target '{missing[0]}' of the evaluation is not in the target catalogue",
            key=missing[0],
            expected="the targets.toml the results were evaluated with",
        )
    return [targets[k] for k in keys]
