"""Run many parameter settings in one batched engine call.

:func:`simulate_cases` is the one place that turns "cases" (a scenario, a sweep point) and an
optional ensemble of parameter sets into the flat ``params`` arrays of ``Model.run`` and back
into labelled dims: ``n = cases × members`` runs, case-major, reshaped to
``case × sample × time`` (``case × time`` without an ensemble). :func:`run_scenarios` builds
the cases from scenarios and names the dims the way ``heping-sd run`` saves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import xarray as xr

from sim.errors import InputError, nearest
from sim.scenarios import LeverCatalogue, RunSettings, Scenario, check_parameters


class BatchModel(Protocol):
    """What this layer needs of an engine model (``sim.load_model`` returns one)."""

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        n: int | None = None,
        *,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        return_columns: Sequence[str] | None = None,
    ) -> xr.Dataset: ...


def model_constants(model: Any) -> list[str]:
    """Names of the constants a run can set (PySD python-safe names)."""
    return [str(name) for name in model.constants]


def constant_values(model: BatchModel, names: Sequence[str]) -> dict[str, float]:
    """The model's own values of some constants, read from one short run.

    The engine exposes constants by name only; a run returning just these columns is cheap
    (constants are computed once, before the time loop).

    Raises
    ------
    InputError
        For a subscripted constant, which cannot take one value per case here.
    """
    if not names:
        return {}
    ds = model.run(None, 1, return_columns=list(names))
    values = {}
    for name in names:
        first = ds[name].isel(run=0, time=0)
        if first.ndim:
            raise InputError(
                "a subscripted constant cannot be set per scenario or ensemble member",
                key=name,
                expected="a scalar constant",
            )
        values[name] = float(first)
    return values


def lever_params(levers: Mapping[str, float], catalogue: LeverCatalogue) -> dict[str, float]:
    """Lever values as model constants (each lever sets its ``constant``)."""
    return {catalogue[key].constant: float(value) for key, value in levers.items()}


def simulate_cases(
    model: BatchModel,
    columns: Mapping[str, Sequence[float] | np.ndarray],
    n_cases: int,
    *,
    ensemble: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    run: RunSettings | None = None,
    return_columns: Sequence[str] | None = None,
    case_dim: str = "case",
    defaults: Mapping[str, float] | None = None,
) -> xr.Dataset:
    """Run every case (× every ensemble member) in one engine call.

    Parameters
    ----------
    model
        An engine model.
    columns
        Model constant → ``n_cases`` values, one per case. NaN means "not set by this
        case": the ensemble's member values are used there, or else the model's own value.
        (Validated lever and parameter values are never NaN.)
    n_cases
        Number of cases.
    ensemble
        Parameter name → array of M member values. A case that sets the same constant
        overrides it for all of that case's members.
    run
        Final time, time step and save period (the model's own where ``None``).
    return_columns
        Variables to keep (all when ``None``).
    case_dim
        Name of the case dimension in the result (``scenario``, ``run``…).
    defaults
        The model's own values of constants, where already known (the others are read
        from the model when a case leaves them unset).

    Returns
    -------
    xarray.Dataset
        Dims ``case_dim × sample × time`` with an ensemble, ``case_dim × time`` without;
        runs are pure, so the result does not depend on how cases are batched.
    """
    if n_cases <= 0:
        raise ValueError("no cases to run")
    members = _ensemble_size(ensemble)
    case_values = {
        name: np.asarray(values, dtype=float).reshape(n_cases) for name, values in columns.items()
    }
    defaults = dict(defaults or {})
    unset = [
        name
        for name, values in case_values.items()
        if np.isnan(values).any() and not (ensemble and name in ensemble) and name not in defaults
    ]
    defaults.update(constant_values(model, unset))
    params: dict[str, Any] = {}
    for name in dict.fromkeys([*(ensemble or {}), *columns]):
        if ensemble and name in ensemble:
            member_values = np.asarray(ensemble[name], dtype=float).reshape(1, members)
        else:
            member_values = np.full((1, members), defaults.get(name, np.nan))
        grid = np.repeat(member_values, n_cases, axis=0)
        if name in case_values:
            given = ~np.isnan(case_values[name])
            grid[given, :] = case_values[name][given, None]
        flat = grid.reshape(-1)  # case-major: run r is case r // M, member r % M
        params[name] = float(flat[0]) if np.all(flat == flat[0]) else flat

    raw = model.run(
        params,
        n_cases * members,
        return_columns=list(return_columns) if return_columns is not None else None,
        **(run.as_kwargs() if run else {}),
    )
    return _unflatten(raw, n_cases, members, keep_sample=ensemble is not None, case_dim=case_dim)


def _ensemble_size(ensemble: Mapping[str, Any] | None) -> int:
    if not ensemble:
        return 1
    sizes = {name: np.asarray(values).reshape(-1).size for name, values in ensemble.items()}
    if len(set(sizes.values())) != 1:
        raise InputError(f"ensemble members differ in number: {sizes}", key="ensemble")
    return next(iter(sizes.values()))


def _unflatten(
    raw: xr.Dataset, n_cases: int, members: int, *, keep_sample: bool, case_dim: str
) -> xr.Dataset:
    """``run × time`` (case-major) → ``case × sample × time`` (or ``case × time``)."""
    variables = {}
    for name, var in raw.data_vars.items():
        if "run" not in var.dims:
            variables[name] = var
            continue
        rest = [d for d in var.dims if d != "run"]
        values = var.transpose("run", *rest).values.reshape(n_cases, members, *var.shape[1:])
        if keep_sample:
            variables[name] = xr.Variable((case_dim, "sample", *rest), values, var.attrs)
        else:
            variables[name] = xr.Variable((case_dim, *rest), values[:, 0], var.attrs)
    coords = {c: raw.coords[c] for c in raw.coords if "run" not in raw.coords[c].dims}
    return xr.Dataset(variables, coords=coords, attrs=raw.attrs)


def common_run_settings(scenarios: Sequence[Scenario]) -> RunSettings:
    """The ``[run]`` settings all scenarios share (one engine call needs one time axis)."""
    first = scenarios[0]
    for other in scenarios[1:]:
        if other.run != first.run:
            raise InputError(
                f"[run] settings differ from those of scenario '{first.name}' "
                f"({first.run.as_kwargs()} vs {other.run.as_kwargs()}); scenarios run together "
                "share one time axis",
                file=other.path or other.name,
                key="run",
            )
    return first.run


def run_scenarios(
    model: BatchModel,
    scenarios: Sequence[Scenario],
    catalogue: LeverCatalogue,
    *,
    ensemble: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    member_weights: Sequence[float] | np.ndarray | None = None,
    return_columns: Sequence[str] | None = None,
) -> xr.Dataset:
    """Run scenarios (× ensemble members) in one batched call.

    Parameters
    ----------
    model
        An engine model (``sim.load_model``).
    scenarios
        Validated scenarios with distinct names and the same ``[run]`` settings.
    catalogue
        The lever catalogue (which model constant each lever sets).
    ensemble
        Parameter name → array of M member values (a calibrated ensemble).
    member_weights
        M non-negative weights of the members (equal when omitted); stored as
        ``sample_weight(sample)`` and used for target probabilities.
    return_columns
        Variables to keep (all when ``None``).

    Returns
    -------
    xarray.Dataset
        Dims ``scenario × time`` (``scenario × sample × time`` with an ensemble); coordinates
        ``lever_<key>(scenario)`` for every lever, ``parameter_<name>(scenario)`` for every
        overridden parameter, and the scenarios' titles.
    """
    if not scenarios:
        raise InputError("no scenarios given")
    seen: dict[str, Scenario] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise InputError(
                f"two scenarios are named '{scenario.name}' "
                f"(also {seen[scenario.name].path or 'another scenario'})",
                file=scenario.path or scenario.name,
                key="name",
            )
        seen[scenario.name] = scenario
    run = common_run_settings(scenarios)
    constants = model_constants(model)
    check_parameters(scenarios, constants)
    if ensemble:
        _check_ensemble(ensemble, constants, catalogue)

    overridden = list(dict.fromkeys(p for s in scenarios for p in s.parameters))
    defaults = constant_values(model, overridden)
    cases = [{**lever_params(s.levers, catalogue), **s.parameters} for s in scenarios]
    names = dict.fromkeys(name for case in cases for name in case)
    columns = {name: [case.get(name, np.nan) for case in cases] for name in names}
    ds = simulate_cases(
        model,
        columns,
        len(cases),
        ensemble=ensemble,
        run=run,
        return_columns=return_columns,
        case_dim="scenario",
        defaults=defaults,
    )
    coords: dict[str, Any] = {
        "scenario": [s.name for s in scenarios],
        "title_en": ("scenario", [s.title_en for s in scenarios]),
        "title_zh": ("scenario", [s.title_zh for s in scenarios]),
    }
    for key, lever in catalogue.items():
        coords[f"lever_{key}"] = xr.Variable(
            "scenario",
            [s.levers[key] for s in scenarios],
            {"units": lever.unit, "long_name": lever.name_en, "long_name_zh": lever.name_zh},
        )
    for name in overridden:
        coords[f"parameter_{name}"] = (
            "scenario",
            [s.parameters.get(name, defaults[name]) for s in scenarios],
        )
    ds = ds.assign_coords(coords)
    if ensemble is not None:
        ds = ds.assign_coords(sample=np.arange(ds.sizes["sample"]))
        weights = _weights(member_weights, ds.sizes["sample"])
        ds["sample_weight"] = xr.DataArray(
            weights, dims="sample", attrs={"long_name": "ensemble member weight", "units": "1"}
        )
    return ds


def _check_ensemble(
    ensemble: Mapping[str, Any], constants: Sequence[str], catalogue: LeverCatalogue
) -> None:
    lever_constants = {lever.constant: key for key, lever in catalogue.items()}
    for name in ensemble:
        if name in lever_constants:
            # Scenarios set every lever, so an ensemble value there would silently be lost.
            raise InputError(
                f"ensemble parameter is the constant of lever '{lever_constants[name]}'",
                key=name,
                expected="uncertain model parameters only; levers are set by scenarios",
            )
        if name not in constants:
            raise InputError(
                "ensemble parameter is not a constant of the model",
                key=name,
                suggestions=nearest(name, list(constants)),
            )


def _weights(member_weights: Sequence[float] | np.ndarray | None, members: int) -> np.ndarray:
    if member_weights is None:
        return np.full(members, 1.0 / members)
    weights = np.asarray(member_weights, dtype=float).reshape(-1)
    if weights.size != members or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise InputError(
            f"member weights must be {members} finite non-negative numbers", key="member_weights"
        )
    if weights.sum() <= 0:
        raise InputError("member weights sum to zero", key="member_weights")
    return weights / weights.sum()
