"""The record a calibration fits, and the simulator that reads it off batches of runs.

:class:`Record` holds the fitted figures of ``model/observed.csv`` (``use = "calibrate"``)
and how far each may be from the model: the source's standard error ``σ_obs = rel_sigma ×
|value|`` and a stated model discrepancy ``σ_model = discrepancy × |value|``.
:class:`Simulator` turns points of the prior unit cube into the model's values of those
figures, running the batched engine in chunks that return only the quantities the figures
read, saved once a year, up to the last year the record reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.errors import InputError
from sim.observed import Observation, observation_values
from sim.priors import Priors, from_unit

Simulate = Callable[[np.ndarray], np.ndarray]
"""Unit-cube points ``(n, P)`` → the model's values of the fitted figures ``(n, K)``."""


@dataclass(frozen=True)
class Record:
    """The figures a calibration fits, with the uncertainty each carries.

    Parameters
    ----------
    observations
        The fitted figures (each with a model quantity and a date).
    discrepancy
        Model discrepancy relative to each figure: the model's own structural error, apart
        from the source's; ``σ_model = discrepancy × |value|``.
    """

    observations: tuple[Observation, ...]
    discrepancy: float

    @classmethod
    def fitted(cls, observations: Sequence[Observation], discrepancy: float) -> Record:
        """The ``use = "calibrate"`` rows of a record, in file order."""
        chosen = tuple(o for o in observations if o.use == "calibrate")
        if not chosen:
            raise InputError("no figure with use = calibrate to fit", key="use")
        for o in chosen:
            if not (o.rel_sigma > 0 and o.value != 0):
                raise InputError(
                    "a fitted figure needs a non-zero value and rel_sigma > 0",
                    key=o.key,
                    expected="rel_sigma > 0 (how far the source can be trusted)",
                )
        if not discrepancy >= 0:
            raise InputError(f"invalid model discrepancy {discrepancy}", expected="≥ 0")
        return cls(chosen, float(discrepancy))

    @property
    def keys(self) -> list[str]:
        """The figures' keys."""
        return [o.key for o in self.observations]

    @property
    def values(self) -> np.ndarray:
        """The observed values ``z``."""
        return np.array([o.value for o in self.observations])

    @property
    def sigma_obs(self) -> np.ndarray:
        """The sources' standard errors, ``rel_sigma × |z|``."""
        return np.array([o.rel_sigma * abs(o.value) for o in self.observations])

    @property
    def sigma_model(self) -> np.ndarray:
        """The model discrepancy, ``discrepancy × |z|``."""
        return self.discrepancy * np.abs(self.values)

    @property
    def sigma_total(self) -> np.ndarray:
        """``sqrt(σ_obs² + σ_model²)``: the denominator of the implausibility."""
        return np.hypot(self.sigma_obs, self.sigma_model)

    def implausibility(self, model: np.ndarray) -> np.ndarray:
        """``I = |model − z| / sqrt(σ_obs² + σ_model²)`` per run and figure; inf where NaN."""
        out = np.abs(np.asarray(model, dtype=float) - self.values) / self.sigma_total
        return np.where(np.isfinite(out), out, np.inf)

    def residuals(self, model: np.ndarray) -> np.ndarray:
        """Relative errors weighted by trust, ``((model − z) / |z|) / rel_sigma``.

        These are the least-squares residuals of the best fit: a figure whose source is
        trusted twice as much weighs twice as much. Non-finite model values give a large
        finite residual so that an optimiser steps back.
        """
        out = (np.asarray(model, dtype=float) - self.values) / self.sigma_obs
        return np.where(np.isfinite(out), out, 1e6)

    def quantities(self) -> list[str]:
        """Every model quantity the figures read (denominators included), once each."""
        names: dict[str, None] = {}
        for o in self.observations:
            names[o.quantity] = None
            if o.denominator:
                names[o.denominator] = None
        return list(names)

    def last_year(self) -> int:
        """The last year end any figure reads."""
        return max(o.window[1] if o.window else o.year for o in self.observations)


class Simulator:
    """The model's values of the fitted figures at points of the prior unit cube.

    Parameters
    ----------
    model
        A batched engine model (``sim.load_model``).
    priors
        The calibrated parameters: column ``j`` of a point is ``priors``' ``j``-th entry.
    record
        The figures to read.
    chunk_size
        Engine runs per call (memory: a few kB per run).
    fixed
        Constants set in every run (for example lever values); the model's own elsewhere.

    Notes
    -----
    Runs stop at the end of the record's last year (``final_time``): Euler steps before it
    do not depend on when the run ends, and the shorter run is what makes 100,000 runs
    cheap. Every call counts its runs in :attr:`runs`.
    """

    def __init__(
        self,
        model,
        priors: Priors,
        record: Record,
        *,
        chunk_size: int = 16_384,
        fixed: Mapping[str, float] | None = None,
    ):
        constants = set(model.constants)
        missing = [name for name in priors if name not in constants]
        if missing:
            from sim.errors import nearest

            raise InputError(
                "prior is not a constant of the model",
                key=f"priors.{missing[0]}",
                suggestions=nearest(missing[0], sorted(constants)),
            )
        self.model = model
        self.priors = priors
        self.record = record
        self.chunk_size = int(chunk_size)
        self.fixed = dict(fixed or {})
        self.columns = record.quantities()
        self.final_time = float(record.last_year())
        self.runs = 0

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Model values ``(n, K)`` of the figures at unit-cube points ``(n, P)``."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        out = np.empty((points.shape[0], len(self.record.observations)))
        for start in range(0, points.shape[0], self.chunk_size):
            chunk = points[start : start + self.chunk_size]
            out[start : start + len(chunk)] = self._run(chunk)
        self.runs += points.shape[0]
        return out

    def trajectories(self, points: np.ndarray, final_time: float | None = None):
        """The quantities the figures read, for each point: ``xarray.Dataset`` ``run × time``."""
        params = {**self.fixed, **from_unit(self.priors, np.clip(points, 0.0, 1.0))}
        return self.model.run(
            params,
            len(points),
            return_columns=self.columns,
            final_time=self.final_time if final_time is None else final_time,
            saveper=1,
        )

    def _run(self, points: np.ndarray) -> np.ndarray:
        ds = self.trajectories(points)
        series = {name: ds[name].values for name in self.columns}
        return observation_values(self.record.observations, series, ds["time"].values)


def inert_parameters(simulate: Simulate, dimension: int, *, bases: int = 8, seed: int = 0):
    """The parameters that do not move any fitted figure.

    Each parameter is moved from 0.25 to 0.75 of its prior (in the unit cube) at ``bases``
    random settings of the others, all in one batch; a parameter is inert when no figure
    changes at all in any of them. (In the Heping model the policy-response strengths act
    only when a lever leaves its status quo, which the record never sees.)

    Returns
    -------
    numpy.ndarray
        Boolean mask over the parameters.
    """
    rng = np.random.default_rng(seed)
    base = rng.random((bases, dimension))
    low = np.repeat(base, dimension, axis=0)
    high = low.copy()
    for j in range(dimension):
        low[j::dimension, j] = 0.25
        high[j::dimension, j] = 0.75
    values = simulate(np.concatenate([low, high]))
    before, after = values[: len(low)], values[len(low) :]
    equal = (before == after) | (np.isnan(before) & np.isnan(after))
    same = np.all(equal, axis=1).reshape(bases, dimension)
    return same.all(axis=0)
