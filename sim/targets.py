"""The plan's targets: read ``model/targets.toml`` and evaluate them on results Datasets.

The predicates follow docs/architecture.md: ``level``, ``growth``, ``cumulative`` and
``share`` read a model quantity at year ends, as a level (``Q(Y)``) or as a running total
(``Q(Y) − Q(Y−1)``). :func:`evaluate` gives, for every represented target, its value, its
threshold, whether it is met and the probability that it is met (the fraction of ensemble
members or runs meeting it); :func:`summarize` gives the JSON-ready summary that
``heping-sd targets --json`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.errors import InputError, nearest
from sim.predicates import AGGREGATES, KINDS, MissingTimeError, predicate, years_read
from sim.tomlfile import as_number, as_string, as_table, check_keys, read_toml

COMPARISONS = (">=", "<=")
MEMBER_WEIGHT = "sample_weight"
"""Optional variable ``sample_weight(sample)``: ensemble member weights for probabilities."""

_TARGET_FIELDS = (
    "name_en",
    "name_zh",
    "section",
    "quote",
    "kind",
    "year",
    "window",
    "comparison",
    "threshold",
    "unit",
    "represented",
    "quantity",
    "aggregate",
    "denominator",
    "denominator_aggregate",
    "interpretation",
    "reason",
)


@dataclass(frozen=True)
class Target:
    """One quantified target of the plan (see ``model/targets.toml`` in docs/architecture.md)."""

    key: str
    name_en: str
    name_zh: str
    quote: str
    kind: str
    comparison: str
    threshold: float
    unit: str
    represented: bool
    section: str = ""
    year: int | None = None
    window: tuple[int, int] | None = None
    quantity: str | None = None
    aggregate: str = "level"
    denominator: str | None = None
    denominator_aggregate: str | None = None
    interpretation: str = ""
    reason: str = ""

    def quantities(self) -> tuple[str, ...]:
        """The model variables this target reads."""
        names = [self.quantity] if self.quantity else []
        if self.denominator:
            names.append(self.denominator)
        return tuple(names)

    def years_read(self) -> tuple[int, ...]:
        """The year ends (``Time`` values) whose saved values the predicate reads."""
        return years_read(
            self.kind,
            self.aggregate,
            year=self.year,
            window=self.window,
            denominator_aggregate=self.denominator_aggregate,
        )

    def period_text(self) -> str:
        """``2025`` or ``2021–2025``, for tables."""
        if self.window:
            return f"{self.window[0]}–{self.window[1]}"
        return str(self.year)


TargetCatalogue = dict[str, Target]


def load_targets(path: str | Path | None = None) -> TargetCatalogue:
    """Read and check the target catalogue, ``model/targets.toml`` by default.

    Returns
    -------
    dict
        Target key → :class:`Target`, in file order (represented and not).
    """
    if path is None:
        from sim.resources import model_dir

        path = model_dir() / "targets.toml"
    path = Path(path)
    data = read_toml(path)
    check_keys(data, ["targets"], file=path, prefix="", what="top-level key")
    targets = as_table(data.get("targets", {}), file=path, key="targets")
    catalogue: TargetCatalogue = {}
    for key, entry in targets.items():
        catalogue[key] = _target(key, as_table(entry, file=path, key=f"targets.{key}"), path)
    return catalogue


def _target(key: str, entry: dict[str, Any], path: Path) -> Target:
    where = f"targets.{key}"
    check_keys(entry, _TARGET_FIELDS, file=path, prefix=f"{where}.", what="target field")

    def need(name: str) -> Any:
        if name not in entry:
            raise InputError("missing field", file=path, key=f"{where}.{name}")
        return entry[name]

    def choice(name: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = entry.get(name, default) if default is not None else need(name)
        if value not in options:
            raise InputError(
                f"invalid value {value!r}",
                file=path,
                key=f"{where}.{name}",
                expected=" or ".join(repr(o) for o in options),
            )
        return value

    represented = need("represented")
    if not isinstance(represented, bool):
        raise InputError("wrong type", file=path, key=f"{where}.represented", expected="a boolean")
    kind = choice("kind", KINDS)
    year = window = None
    if kind in ("level", "share"):
        year = _year(need("year"), path, f"{where}.year")
    else:
        raw = need("window")
        if not (isinstance(raw, list) and len(raw) == 2):
            raise InputError(
                "wrong type", file=path, key=f"{where}.window", expected="[first, last] years"
            )
        window = (_year(raw[0], path, f"{where}.window"), _year(raw[1], path, f"{where}.window"))
        if window[0] > window[1]:
            raise InputError(
                "first year after last", file=path, key=f"{where}.window", expected="first ≤ last"
            )
    quantity = denominator = None
    if represented:
        quantity = as_string(need("quantity"), file=path, key=f"{where}.quantity")
        if kind == "share":
            denominator = as_string(need("denominator"), file=path, key=f"{where}.denominator")
    elif "reason" not in entry:
        raise InputError("an unrepresented target needs a reason", file=path, key=f"{where}.reason")
    denominator_aggregate = entry.get("denominator_aggregate")
    if denominator_aggregate is not None:
        denominator_aggregate = choice("denominator_aggregate", AGGREGATES)
    return Target(
        key=key,
        name_en=as_string(need("name_en"), file=path, key=f"{where}.name_en"),
        name_zh=as_string(need("name_zh"), file=path, key=f"{where}.name_zh"),
        quote=as_string(need("quote"), file=path, key=f"{where}.quote"),
        section=as_string(entry.get("section", ""), file=path, key=f"{where}.section"),
        kind=kind,
        year=year,
        window=window,
        comparison=choice("comparison", COMPARISONS),
        threshold=as_number(need("threshold"), file=path, key=f"{where}.threshold"),
        unit=as_string(need("unit"), file=path, key=f"{where}.unit"),
        represented=represented,
        quantity=quantity,
        aggregate=choice("aggregate", AGGREGATES, default="level"),
        denominator=denominator,
        denominator_aggregate=denominator_aggregate,
        interpretation=as_string(
            entry.get("interpretation", ""), file=path, key=f"{where}.interpretation"
        ),
        reason=as_string(entry.get("reason", ""), file=path, key=f"{where}.reason"),
    )


def _year(value: Any, path: Path, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2100:
        raise InputError(f"invalid year {value!r}", file=path, key=key, expected="a year (int)")
    return value


def represented(catalogue: TargetCatalogue) -> list[Target]:
    """The targets the model can test, in catalogue order."""
    return [t for t in catalogue.values() if t.represented]


def target_quantities(catalogue: TargetCatalogue) -> list[str]:
    """Every model variable the represented targets read, each once, in catalogue order."""
    names: dict[str, None] = {}
    for target in represented(catalogue):
        names.update(dict.fromkeys(target.quantities()))
    return list(names)


def target_years(catalogue: TargetCatalogue) -> list[int]:
    """Every year end the represented targets read, sorted."""
    return sorted({y for t in represented(catalogue) for y in t.years_read()})


# --------------------------------------------------------------------------- evaluation


def member_dim(ds: xr.Dataset) -> str | None:
    """The dimension whose members a probability is taken over.

    ``sample`` (ensemble members) when present; otherwise ``run`` for a sweep without a
    ``scenario`` dimension (the fraction of lever settings meeting a target); otherwise none.
    """
    if "sample" in ds.dims:
        return "sample"
    if "run" in ds.dims and "scenario" not in ds.dims:
        return "run"
    return None


def evaluate(
    ds: xr.Dataset, targets: TargetCatalogue | None = None, *, source: str | None = None
) -> xr.Dataset:
    """Evaluate every represented target on a results Dataset.

    Parameters
    ----------
    ds
        Results with dims ``scenario × time``, ``scenario × sample × time``, ``run × time``
        or ``run × sample × time``. A ``sample_weight(sample)`` variable, when present,
        weights the ensemble members.
    targets
        The target catalogue; the shipped ``model/targets.toml`` when omitted.
    source
        The results file's name, for messages.

    Returns
    -------
    xarray.Dataset
        ``value(…, target)``, ``threshold(target)``, ``met(…, target)``,
        ``probability(<outer>, target)`` and ``all_met_probability(<outer>)``, where ``…`` are
        the non-time dims of ``ds`` and ``<outer>`` drops the member dim (:func:`member_dim`).
        Coordinates on ``target`` give its names, unit, comparison and period.

    Raises
    ------
    InputError
        When a target's quantity or year is missing from ``ds``.
    """
    if targets is None:
        targets = load_targets()
    chosen = represented(targets)
    if not chosen:
        raise InputError("no represented targets to evaluate", file=source)
    if "time" not in ds.dims:
        raise InputError("results have no 'time' dimension", file=source)
    values = [_target_value(ds, target, source) for target in chosen]
    value = xr.concat(values, dim="target", coords="minimal", compat="override", join="exact")
    value = value.assign_coords(target=[t.key for t in chosen])
    value = value.transpose(..., "target")
    threshold = xr.DataArray([t.threshold for t in chosen], dims="target")
    greater = xr.DataArray([t.comparison == ">=" for t in chosen], dims="target")
    met = xr.where(greater, value >= threshold, value <= threshold).transpose(*value.dims)

    dim = member_dim(ds)
    weights = _member_weights(ds, dim)
    out = xr.Dataset(
        {
            "value": value.assign_attrs(long_name="target value (unit in target_unit)"),
            "threshold": threshold.assign_attrs(long_name="target threshold"),
            "met": met.assign_attrs(long_name="target met"),
            "probability": _fraction(met, dim, weights).assign_attrs(
                long_name="probability that the target is met", units="1"
            ),
            "all_met_probability": _fraction(met.all("target"), dim, weights).assign_attrs(
                long_name="probability that every represented target is met", units="1"
            ),
        },
        coords={
            "target": [t.key for t in chosen],
            "target_name_en": ("target", [t.name_en for t in chosen]),
            "target_name_zh": ("target", [t.name_zh for t in chosen]),
            "target_unit": ("target", [t.unit for t in chosen]),
            "comparison": ("target", [t.comparison for t in chosen]),
            "target_kind": ("target", [t.kind for t in chosen]),
            "period": ("target", [t.period_text() for t in chosen]),
        },
    )
    keep_coords = [c for c in ds.coords if c != "time" and "time" not in ds[c].dims]
    return out.assign_coords({c: ds[c] for c in keep_coords})


def _fraction(met: xr.DataArray, dim: str | None, weights: xr.DataArray | None) -> xr.DataArray:
    as_float = met.astype(float)
    if dim is None:
        return as_float
    if weights is None:
        return as_float.mean(dim)
    return (as_float * weights).sum(dim) / weights.sum()


def _member_weights(ds: xr.Dataset, dim: str | None) -> xr.DataArray | None:
    if dim != "sample" or MEMBER_WEIGHT not in ds:
        return None
    weights = ds[MEMBER_WEIGHT]
    if weights.dims != ("sample",):
        raise InputError(f"'{MEMBER_WEIGHT}' must have the single dim 'sample'")
    return weights


def _target_value(ds: xr.Dataset, target: Target, source: str | None) -> xr.DataArray:
    for name in target.quantities():
        if name not in ds:
            raise InputError(
                f"the results have no variable '{name}' that target '{target.key}' reads",
                file=source,
                key=f"targets.{target.key}.quantity",
                suggestions=nearest(name, [v for v in ds.data_vars if "time" in ds[v].dims]),
            )
    arrays = xr.broadcast(*(ds[name] for name in target.quantities()))
    arrays = [a.drop_vars([c for c in a.coords if c not in a.dims]) for a in arrays]
    arrays = [a.transpose(..., "time") for a in arrays]
    try:
        values = predicate(
            dict(zip(target.quantities(), (a.values for a in arrays), strict=True)),
            ds["time"].values,
            quantity=target.quantity,
            aggregate=target.aggregate,
            kind=target.kind,
            year=target.year,
            window=target.window,
            denominator=target.denominator,
            denominator_aggregate=target.denominator_aggregate,
        )
    except MissingTimeError as err:
        times = err.times
        span = f"{times.min():g}–{times.max():g}" if times.size else "empty"
        raise InputError(
            f"target '{target.key}' reads Time = {err.year}, which the results do not hold "
            f"(time {span}, {times.size} points)",
            file=source,
            key=f"targets.{target.key}",
            expected="a run that saves every year end the target reads",
        ) from None
    outer = arrays[0].isel(time=0, drop=True)
    return xr.DataArray(values, dims=outer.dims, coords=outer.coords)


# --------------------------------------------------------------------------- summary


def summarize(
    evaluation: xr.Dataset, ds: xr.Dataset | None = None, *, name: str = "results"
) -> dict[str, Any]:
    """The evaluation as plain data, the shape ``heping-sd targets --json`` prints.

    ``{"scenarios": {<name>: {"targets": {<key>: {"value", "threshold", "met",
    "probability"}}, "all_met_probability"}}}``. With a ``scenario`` dim there is one entry
    per scenario; otherwise (a sweep) one entry named ``name`` pools every run and member.
    With more than one member, ``value`` is the (weighted) median over the members and
    ``met`` says whether that median meets the threshold; ``probability`` is the
    (weighted) fraction of members meeting the target.
    """
    weights = evaluation.get(MEMBER_WEIGHT)
    if weights is None and ds is not None and MEMBER_WEIGHT in ds:
        weights = ds[MEMBER_WEIGHT]
    if "scenario" in evaluation.dims:
        groups = {
            str(s): evaluation.sel(scenario=s) for s in evaluation["scenario"].values.tolist()
        }
    else:
        groups = {name: evaluation}
    out: dict[str, Any] = {}
    for group_name, group in groups.items():
        entry: dict[str, Any] = {}
        all_met = group["met"].all("target")
        for key in group["target"].values.tolist():
            one = group.sel(target=key)
            value = _weighted_median(one["value"], weights)
            threshold = float(one["threshold"])
            comparison = str(one["comparison"].values)
            met = value is not None and (
                value >= threshold if comparison == ">=" else value <= threshold
            )
            entry[str(key)] = {
                "value": value,
                "threshold": threshold,
                "met": bool(met),
                "probability": _pooled_fraction(one["met"], weights),
            }
        out[group_name] = {
            "targets": entry,
            "all_met_probability": _pooled_fraction(all_met, weights),
        }
    return {"scenarios": out}


def _broadcast_weights(da: xr.DataArray, weights: xr.DataArray | None) -> np.ndarray:
    if weights is None or "sample" not in da.dims:
        return np.ones(da.shape)
    return np.asarray(xr.broadcast(weights, da)[0].transpose(*da.dims).values, dtype=float)


def _pooled_fraction(met: xr.DataArray, weights: xr.DataArray | None) -> float:
    w = _broadcast_weights(met, weights)
    return float((np.asarray(met.values, dtype=float) * w).sum() / w.sum())


def _weighted_median(values: xr.DataArray, weights: xr.DataArray | None) -> float | None:
    v = np.asarray(values.values, dtype=float).ravel()
    w = _broadcast_weights(values, weights).ravel()
    keep = np.isfinite(v)
    v, w = v[keep], w[keep]
    if v.size == 0:
        return None
    if v.size == 1:
        return float(v[0])
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cumulative = np.cumsum(w) / w.sum()
    # The midpoint of the two middle values when the half-weight falls exactly between them,
    # so that equal weights give numpy's median.
    i = int(np.searchsorted(cumulative, 0.5))
    if math.isclose(cumulative[i], 0.5) and i + 1 < v.size:
        return float((v[i] + v[i + 1]) / 2)
    return float(v[i])


def unrepresented(catalogue: Mapping[str, Target]) -> list[Target]:
    """The targets the model cannot test yet (listed with their reasons, never dropped)."""
    return [t for t in catalogue.values() if not t.represented]
