"""History matching: keep the parameter sets the record does not rule out.

A run is **non-implausible** when, for every fitted figure ``i``,

    I_i = |model_i − z_i| / sqrt(σ_obs,i² + σ_model,i²) < cutoff

(:meth:`Record.implausibility`; cutoff 3 by Pukelsheim's three-sigma rule: at least 95 % of
any unimodal distribution lies within three standard deviations of its mean). Wave 1 draws a
scrambled Sobol design from the whole prior (the unit cube) and keeps the non-implausible
runs: rejection sampling, i.e. approximate Bayesian computation with a uniform kernel, so the
members are draws from the prior restricted to the non-implausible region.

Only when wave 1 keeps fewer than ``min_members`` runs do further waves follow, each drawing
from a box around the non-implausible points found so far (widened by a margin, as history
matching refocuses on the not-ruled-out-yet space). The members of all waves together are
then weighted by the prior over the mixture of the waves' sampling densities (multiple
importance sampling with the balance heuristic), so that they still represent the prior
restricted to the non-implausible region, not the refocused boxes. Points near a refocused
face are reported (:attr:`HistoryMatch.touching`): there the region may reach beyond what was
sampled.

The members kept are the first ``max_members`` non-implausible runs in sampling order: a
prefix of the sampling stream is itself a valid (smaller) design, so capping does not bias.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.calibration.record import Record, Simulate
from sim.errors import InputError
from sim.priors import unit_design

PAD_FLOOR = 0.05
"""Least widening of a refocused box on each side, as a fraction of the prior range."""
TOUCH = 0.1
"""Members closer than this fraction of a refocused box's width to one of its inner faces
are reported: the non-implausible region may extend beyond the box there."""


@dataclass(frozen=True)
class Wave:
    """One wave: where it sampled (a box in the unit cube) and what it found."""

    index: int
    low: np.ndarray
    high: np.ndarray
    samples: int
    accepted: int

    @property
    def volume(self) -> float:
        """Volume of the sampled box (1 for the whole prior)."""
        return float(np.prod(self.high - self.low))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Which points lie in the box."""
        return np.all((points >= self.low) & (points <= self.high), axis=1)


@dataclass(frozen=True)
class HistoryMatch:
    """The result of :func:`history_match`.

    Attributes
    ----------
    points
        Members ``(M, P)`` in the unit cube, in sampling order.
    weights
        Member weights ``(M,)`` summing to 1 (equal when wave 1 sufficed).
    values, implausibility
        The model's values of the figures and their implausibilities, ``(M, K)``.
    member_wave
        The wave each member comes from.
    waves
        Every wave run, in order.
    used
        Samples of each wave that the members were drawn from (the cap cuts the stream).
    evaluated
        Runs evaluated in all waves.
    accepted
        Non-implausible runs found in all waves (before the cap).
    cutoff
        The implausibility cutoff.
    best_points, best_costs
        The evaluated runs with the lowest least-squares cost (``Σ residual²``), best first:
        starting points for the best fit.
    pass_rate
        Per figure, the fraction of wave-1 runs (the prior) within the cutoff.
    touching
        ``(parameter index, "low" | "high", wave)`` for members near an inner face of a
        refocused box.
    """

    points: np.ndarray
    weights: np.ndarray
    values: np.ndarray
    implausibility: np.ndarray
    member_wave: np.ndarray
    waves: tuple[Wave, ...]
    used: tuple[int, ...]
    evaluated: int
    accepted: int
    cutoff: float
    best_points: np.ndarray
    best_costs: np.ndarray
    pass_rate: np.ndarray
    touching: tuple[tuple[int, str, int], ...]

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size of the weighted members, ``1 / Σ w²``."""
        return float(1.0 / np.sum(self.weights**2))


def history_match(
    simulate: Simulate,
    record: Record,
    dimension: int,
    *,
    samples: int,
    seed: int,
    cutoff: float = 3.0,
    min_members: int = 200,
    max_members: int = 1000,
    max_waves: int = 4,
    margin: float = 0.25,
    starts: int = 4,
    chunk_size: int = 16_384,
    progress: Callable[..., None] | None = None,
) -> HistoryMatch:
    """Find the non-implausible parameter sets, in waves.

    Parameters
    ----------
    simulate
        Unit-cube points ``(n, P)`` → model values of the record's figures ``(n, K)``.
    record
        The figures and their uncertainty.
    dimension
        Number of parameters ``P``.
    samples
        Runs per wave (wave 1 samples the whole prior); a power of two.
    seed
        Seed of the scrambled Sobol designs (wave ``k`` uses ``seed + k − 1``).
    cutoff
        Implausibility cutoff, applied to every figure.
    min_members
        Further waves run while fewer non-implausible runs than this have been found.
    max_members
        Members kept: the first non-implausible runs in sampling order.
    max_waves
        At most this many waves.
    margin
        A refocused box spans the non-implausible points found so far, widened on each
        side by ``margin`` × their spread plus :data:`PAD_FLOOR`.
    starts
        How many of the lowest-cost runs to return as best-fit starting points.
    chunk_size
        Runs per call of ``simulate``.
    progress
        ``progress(runs)`` after each chunk, and ``progress(0, total=planned)`` when a
        further wave raises the number of runs planned.

    Raises
    ------
    InputError
        When fewer than ``min_members`` runs are non-implausible after ``max_waves`` waves;
        the message names the figures that rule out the most runs.
    """
    if max_members < min_members:
        raise ValueError("max_members must be at least min_members")
    low, high = np.zeros(dimension), np.ones(dimension)
    waves: list[Wave] = []
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # per wave
    best = _Best(starts)
    pass_rate = np.zeros(len(record.observations))
    lowest: tuple[np.ndarray, np.ndarray] | None = None  # fallback focus if nothing passes
    for index in range(1, max_waves + 1):
        if index > 1 and progress is not None:
            progress(0, total=samples * index)
        design = unit_design(dimension, samples, seed=seed + index - 1)
        points = low + design * (high - low)
        accepted_rows, accepted_values, accepted_i = [], [], []
        worst = np.empty(samples)
        for start in range(0, samples, chunk_size):
            chunk = points[start : start + chunk_size]
            values = simulate(chunk)
            implausibility = record.implausibility(values)
            worst[start : start + len(chunk)] = implausibility.max(axis=1)
            ok = worst[start : start + len(chunk)] < cutoff
            accepted_rows.append(start + np.flatnonzero(ok))
            accepted_values.append(values[ok])
            accepted_i.append(implausibility[ok])
            best.offer(chunk, np.sum(record.residuals(values) ** 2, axis=1))
            if index == 1:
                pass_rate += np.sum(implausibility < cutoff, axis=0)
            if progress is not None:
                progress(len(chunk))
        rows = np.concatenate(accepted_rows)
        kept.append(
            (rows, points[rows], np.concatenate(accepted_values), np.concatenate(accepted_i))
        )
        waves.append(Wave(index, low, high, samples, int(rows.size)))
        found = sum(len(k[0]) for k in kept)
        order = np.argsort(worst, kind="stable")[: max(min_members, 1)]
        lowest = (points[order], worst[order])
        if found >= min_members or index == max_waves:
            break
        focus = np.concatenate([k[1] for k in kept]) if found else lowest[0]
        low, high = _refocus(focus, margin)
    pass_rate /= samples
    found = sum(len(k[0]) for k in kept)
    if found < min_members:
        raise InputError(
            f"history matching found {found} non-implausible runs in {len(waves)} waves of "
            f"{samples:,} (at least {min_members} needed; lowest maximum implausibility "
            f"{lowest[1][0]:.2f} against a cutoff of {cutoff:g}); the figures that rule out "
            f"most of the prior: {_most_restrictive(record, pass_rate)}",
            file="observed.csv",
            expected="a record the model can reproduce, a larger --samples, a larger "
            "--discrepancy or a smaller --min-members",
        )
    used, members = _cut(kept, max_members, samples)
    points = np.concatenate([k[1][:m] for k, m in zip(kept, members, strict=True)])
    values = np.concatenate([k[2][:m] for k, m in zip(kept, members, strict=True)])
    implausibility = np.concatenate([k[3][:m] for k, m in zip(kept, members, strict=True)])
    member_wave = np.concatenate(
        [np.full(m, w.index) for w, m in zip(waves, members, strict=True)]
    ).astype(int)
    weights = _weights(points, waves, used)
    return HistoryMatch(
        points=points,
        weights=weights,
        values=values,
        implausibility=implausibility,
        member_wave=member_wave,
        waves=tuple(waves),
        used=tuple(used),
        evaluated=samples * len(waves),
        accepted=found,
        cutoff=float(cutoff),
        best_points=best.points,
        best_costs=best.costs,
        pass_rate=pass_rate,
        touching=_touching(points, member_wave, waves),
    )


def _refocus(points: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """A box around ``points``, widened on each side, within the unit cube."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = margin * (hi - lo) + PAD_FLOOR
    return np.clip(lo - pad, 0.0, 1.0), np.clip(hi + pad, 0.0, 1.0)


def _cut(kept, max_members: int, samples: int) -> tuple[list[int], list[int]]:
    """Cut the sampling stream after the ``max_members``-th non-implausible run.

    Returns the samples used from each wave and the members taken from each.
    """
    used, members, remaining = [], [], max_members
    for rows, *_ in kept:
        if remaining <= 0:
            used.append(0)
            members.append(0)
        elif len(rows) <= remaining:
            used.append(samples)
            members.append(len(rows))
        else:
            used.append(int(rows[remaining - 1]) + 1)
            members.append(remaining)
        remaining -= members[-1]
    return used, members


def _weights(points: np.ndarray, waves: list[Wave], used: list[int]) -> np.ndarray:
    """Prior (uniform on the cube) over the mixture density of the waves' samples."""
    density = np.zeros(len(points))
    for wave, n in zip(waves, used, strict=True):
        if n:
            density += n * wave.contains(points) / wave.volume
    weights = 1.0 / density
    return weights / weights.sum()


def _touching(points, member_wave, waves) -> tuple[tuple[int, str, int], ...]:
    found = []
    for wave in waves[1:]:
        mine = points[member_wave == wave.index]
        if not len(mine):
            continue
        near = TOUCH * (wave.high - wave.low)
        for j in range(points.shape[1]):
            if wave.low[j] > 0 and mine[:, j].min() - wave.low[j] < near[j]:
                found.append((j, "low", wave.index))
            if wave.high[j] < 1 and wave.high[j] - mine[:, j].max() < near[j]:
                found.append((j, "high", wave.index))
    return tuple(found)


def _most_restrictive(record: Record, pass_rate: np.ndarray) -> str:
    order = np.argsort(pass_rate, kind="stable")[:3]
    return ", ".join(f"{record.keys[i]} ({pass_rate[i]:.1%} of the prior pass)" for i in order)


class _Best:
    """The ``k`` lowest-cost points seen so far (ties: the earlier point)."""

    def __init__(self, k: int):
        self.k = k
        self.points = np.empty((0, 0))
        self.costs = np.empty(0)

    def offer(self, points: np.ndarray, costs: np.ndarray) -> None:
        costs = np.where(np.isfinite(costs), costs, np.inf)
        if self.points.size == 0:
            self.points = np.empty((0, points.shape[1]))
        both = np.concatenate([self.costs, costs])
        order = np.argsort(both, kind="stable")[: self.k]
        self.points = np.concatenate([self.points, points])[order]
        self.costs = both[order]
