"""Lever mixes run over an ensemble: target margins, probabilities and the lever budget.

Every method of ``heping-sd assess`` (the lever search, scenario discovery, sensitivity and
the conflict analysis) asks the same question of the batched engine: for these n lever mixes,
run every ensemble member and say, per mix and member, how far each represented target is
from its threshold. :class:`Simulator` answers it in one engine call (n × members runs,
through :func:`sim.batch.simulate_cases`) and returns :class:`Outcomes`, plain arrays:

* ``margin(mix, member, target)``: the **normalised margin**, ``(value − threshold) /
  |threshold|`` for a ``>=`` target and ``(threshold − value) / |threshold|`` for ``<=``, so
  that a target is met exactly where its margin is ≥ 0 (a value the predicate cannot give,
  NaN, is −inf: not met). Values come from :func:`sim.targets.evaluate`, the same code that
  ``heping-sd targets`` uses.
* ``budget(mix, member)``: the smallest lever budget the model makes available over the
  policy years (``lever_budget_available``), and ``funded(mix, member)``: the smallest share
  of the levers' ask that it funds (``lever_budget_scale``), when the model has them.

The ensemble is plain data: parameter name → member values, and member weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from sim.batch import BatchModel, simulate_cases
from sim.errors import InputError
from sim.scenarios import LeverCatalogue, RunSettings
from sim.targets import TargetCatalogue, evaluate, represented, target_quantities

BUDGET_AVAILABLE = "lever_budget_available"
"""Model variable: the budget the levers may spend (亿元/Year) — the search's constraint."""
BUDGET_SCALE = "lever_budget_scale"
"""Model variable: the share of the levers' ask the budget funds (1 when it covers it)."""
POLICY_YEARS = (2021, 2025)
"""The 十四五 years over which the budget must hold (the levers act from the end of 2020)."""
MARGIN_FLOOR = -1e3
"""Margins below this (and NaN values) are clipped here, so that quantiles stay finite."""


@dataclass(frozen=True)
class LeverSpace:
    """The levers a search varies, with their bounds and annual costs (vectors in key order)."""

    keys: tuple[str, ...]
    constants: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    status_quo: np.ndarray
    cost_per_unit: np.ndarray

    @classmethod
    def from_catalogue(
        cls, catalogue: LeverCatalogue, keys: Sequence[str] | None = None
    ) -> LeverSpace:
        """Every lever of the catalogue (or the ``keys`` given), over its ``[min, max]``."""
        chosen = [catalogue[k] for k in (keys if keys is not None else catalogue)]
        return cls(
            keys=tuple(lever.key for lever in chosen),
            constants=tuple(lever.constant for lever in chosen),
            low=np.array([lever.min for lever in chosen], dtype=float),
            high=np.array([lever.max for lever in chosen], dtype=float),
            status_quo=np.array([lever.status_quo for lever in chosen], dtype=float),
            cost_per_unit=np.array([lever.cost_per_unit for lever in chosen], dtype=float),
        )

    @property
    def size(self) -> int:
        """Number of levers."""
        return len(self.keys)

    def cost(self, x: np.ndarray) -> np.ndarray:
        """Annual fiscal cost ``Σ value × cost_per_unit`` of mixes ``x (…, levers)``."""
        return np.asarray(x, dtype=float) @ self.cost_per_unit

    def as_dict(self, x: np.ndarray) -> dict[str, float]:
        """One mix as lever key → value."""
        return {key: float(v) for key, v in zip(self.keys, np.asarray(x).reshape(-1), strict=True)}

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map the unit cube onto the lever box."""
        return self.low + np.asarray(u, dtype=float) * (self.high - self.low)


@dataclass(frozen=True)
class Outcomes:
    """Target margins (and the budget) of n mixes × M members; see the module docstring."""

    margin: np.ndarray
    weights: np.ndarray
    targets: tuple[str, ...]
    budget: np.ndarray | None = None
    funded: np.ndarray | None = None

    @property
    def met(self) -> np.ndarray:
        """``met(mix, member, target)``: the target's margin is ≥ 0."""
        return self.margin >= 0

    @property
    def worst_margin(self) -> np.ndarray:
        """``(mix, member)``: the smallest margin over the targets (≥ 0 iff all are met)."""
        return self.margin.min(axis=-1)

    def probability(self) -> np.ndarray:
        """``(mix, target)``: the weighted fraction of members meeting each target."""
        return np.einsum("nmt,m->nt", self.met.astype(float), self.weights)

    def all_met_probability(self) -> np.ndarray:
        """``(mix,)``: the weighted fraction of members meeting every target at once."""
        return (self.worst_margin >= 0).astype(float) @ self.weights

    def median_margin(self) -> np.ndarray:
        """``(mix, target)``: the weighted median margin over the members."""
        return weighted_quantile(self.margin, self.weights, 0.5, axis=1)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float, axis: int) -> np.ndarray:
    """The lower weighted ``q``-quantile along ``axis``: the smallest value whose cumulative
    weight reaches ``q`` (for equal weights and ``q = k/M``, the k-th smallest value)."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order], axis=-1)
    cumulative /= cumulative[..., -1:]
    # A small tolerance so that q = k/M is not lost to rounding of the cumulative sum.
    index = (cumulative < q - 1e-12).sum(axis=-1)
    index = np.minimum(index, values.shape[-1] - 1)
    return np.take_along_axis(ordered, index[..., None], axis=-1)[..., 0]


def margins(evaluation: xr.Dataset) -> xr.DataArray:
    """Normalised target margins from :func:`sim.targets.evaluate` (≥ 0 exactly where met)."""
    threshold = evaluation["threshold"]
    scale = xr.where(threshold != 0, abs(threshold), 1.0)
    greater = evaluation["comparison"] == ">="
    value = evaluation["value"]
    margin = xr.where(greater, value - threshold, threshold - value) / scale
    return margin.fillna(-np.inf).transpose(*value.dims)


def resample(
    ensemble: Mapping[str, np.ndarray], weights: np.ndarray, size: int, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """At most ``size`` members that represent a weighted ensemble: systematic resampling.

    A member drawn k times is kept once with weight k, so no run is repeated; with no more
    than ``size`` members the ensemble is returned as it is.

    Returns
    -------
    (ensemble, weights)
        Parameter name → the kept members' values, and their weights.
    """
    weights = np.asarray(weights, dtype=float)
    members = weights.size
    if size >= members:
        return {k: np.asarray(v) for k, v in ensemble.items()}, weights
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(weights) / weights.sum()
    points = (rng.random() + np.arange(size)) / size
    drawn = np.minimum(np.searchsorted(cumulative, points), members - 1)
    chosen, counts = np.unique(drawn, return_counts=True)
    return {k: np.asarray(v)[chosen] for k, v in ensemble.items()}, counts.astype(float)


@dataclass
class Simulator:
    """Run lever mixes over an ensemble in one batched call and read the targets.

    Parameters
    ----------
    model
        An engine model (``sim.load_model``).
    catalogue, targets
        The lever and target catalogues.
    ensemble
        Parameter name → M member values (the calibrated ensemble, or a prior draw).
    weights
        M member weights (equal when ``None``); normalised to sum to 1.
    fixed
        Model constants every run sets (a base scenario's ``[parameters]``).
    run
        The run settings (a base scenario's ``[run]``).
    space
        The levers varied; every lever of ``catalogue`` when ``None``.
    """

    model: BatchModel
    catalogue: LeverCatalogue
    targets: TargetCatalogue
    ensemble: Mapping[str, np.ndarray]
    weights: np.ndarray | None = None
    fixed: Mapping[str, float] = field(default_factory=dict)
    run: RunSettings = field(default_factory=RunSettings)
    space: LeverSpace | None = None
    runs: int = 0
    """Engine runs done so far (mixes × members, summed over calls)."""

    def __post_init__(self) -> None:
        self.ensemble = {
            k: np.asarray(v, dtype=float).reshape(-1) for k, v in self.ensemble.items()
        }
        sizes = {v.size for v in self.ensemble.values()}
        if len(sizes) != 1:
            raise InputError("ensemble members differ in number", key="ensemble")
        members = sizes.pop()
        self.weights = _normalised(self.weights, members)
        if self.space is None:
            self.space = LeverSpace.from_catalogue(self.catalogue)
        if not represented(self.targets):
            raise InputError("no represented targets to assess", key="targets")
        variables = set(getattr(self.model, "variables", ()))
        self._budget_columns = [v for v in (BUDGET_AVAILABLE, BUDGET_SCALE) if v in variables]
        self._target_names = tuple(t.key for t in represented(self.targets))

    @property
    def members(self) -> int:
        """Number of ensemble members."""
        return int(self.weights.size)

    @property
    def target_keys(self) -> tuple[str, ...]:
        """The represented targets, in catalogue order (the last axis of margins)."""
        return self._target_names

    @property
    def has_budget(self) -> bool:
        """Whether the model holds the lever budget (``lever_budget_available``)."""
        return BUDGET_AVAILABLE in self._budget_columns

    def subset(self, size: int, seed: int) -> Simulator:
        """A smaller ensemble that represents this one: systematic resampling by weight.

        A member drawn k times is kept once with k times the weight, so no run is repeated.
        All members are kept (as they are) when there are no more than ``size``.
        """
        if size >= self.members:
            return self
        ensemble, weights = resample(self.ensemble, self.weights, size, seed)
        return Simulator(
            model=self.model,
            catalogue=self.catalogue,
            targets=self.targets,
            ensemble=ensemble,
            weights=weights,
            fixed=self.fixed,
            run=self.run,
            space=self.space,
        )

    def simulate(
        self,
        x: np.ndarray,
        parameters: Mapping[str, np.ndarray] | None = None,
        return_columns: Sequence[str] | None = None,
    ) -> xr.Dataset:
        """Raw results ``mix × sample × time`` of mixes ``x (n, levers)``.

        ``parameters`` maps model constants to one value per mix, overriding the members'
        values (how a sensitivity analysis varies a parameter).
        """
        x = np.atleast_2d(np.asarray(x, dtype=float))
        n = x.shape[0]
        columns: dict[str, Any] = {name: np.full(n, v) for name, v in self.fixed.items()}
        for j, constant in enumerate(self.space.constants):
            columns[constant] = x[:, j]
        for name, values in (parameters or {}).items():
            columns[name] = np.broadcast_to(np.asarray(values, dtype=float), (n,))
        columns_out = (
            list(return_columns)
            if return_columns is not None
            else target_quantities(self.targets) + self._budget_columns
        )
        ds = simulate_cases(
            self.model,
            columns,
            n,
            ensemble=self.ensemble,
            run=self.run,
            return_columns=columns_out,
            case_dim="mix",
        )
        self.runs += n * self.members
        return ds

    def __call__(
        self, x: np.ndarray, parameters: Mapping[str, np.ndarray] | None = None
    ) -> Outcomes:
        """Outcomes of mixes ``x (n, levers)`` over every member (see :class:`Outcomes`)."""
        ds = self.simulate(x, parameters)
        evaluation = evaluate(ds, self.targets)
        margin = margins(evaluation).transpose("mix", "sample", "target").values
        budget = funded = None
        years = _policy_times(ds)
        if BUDGET_AVAILABLE in ds:
            budget = ds[BUDGET_AVAILABLE].isel(time=years).min("time").values
        if BUDGET_SCALE in ds:
            funded = ds[BUDGET_SCALE].isel(time=years).min("time").values
        return Outcomes(
            margin=np.maximum(margin, MARGIN_FLOOR),
            weights=self.weights,
            targets=self._target_names,
            budget=budget,
            funded=funded,
        )


def _policy_times(ds: xr.Dataset) -> np.ndarray:
    """Indices of the saved year ends within :data:`POLICY_YEARS` (all times if none are)."""
    times = np.asarray(ds["time"].values, dtype=float)
    first, last = POLICY_YEARS
    inside = np.flatnonzero((times >= first - 1e-6) & (times <= last + 1e-6))
    return inside if inside.size else np.arange(times.size)


def _normalised(weights: np.ndarray | Sequence[float] | None, members: int) -> np.ndarray:
    if weights is None:
        return np.full(members, 1.0 / members)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.size != members or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputError(
            f"member weights must be {members} finite non-negative numbers with a positive sum",
            key="member_weights",
        )
    return w / w.sum()
