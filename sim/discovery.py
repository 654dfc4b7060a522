"""Scenario discovery: the region of lever space where every target is met, as lever ranges.

The Patient Rule Induction Method (PRIM; Friedman & Fisher 1999, the method of robust
decision making's scenario discovery) on a Latin-hypercube sample of lever mixes, each run
over the ensemble. A *case* is a (mix, member) pair; it succeeds when the member meets every
represented target. Per mix, ``y`` is the (weighted) share of members that succeed, its
``P(all met)``. For a box of lever ranges:

* **density**: the mean ``y`` of the mixes inside — P(all met) for a mix drawn at random in
  the box;
* **coverage**: the share of all successes (Σ y) that fall inside the box;
* **mass**: the share of the sampled mixes inside the box.

PRIM *peels*: it repeatedly cuts the slice (``peel_alpha`` of the points in the box) off one
side of one lever that raises the density most, down to ``min_mass``. The chosen box is the
one on that trajectory with the largest coverage (then density) among those with density ≥
``threshold``
(the highest density when none reaches it). It is then *pasted*: widened a slice at a time
wherever that does not lower the density. A box's limits lie halfway between its outermost
points and the nearest points it leaves out; a lever whose limits span its whole range is
not restricted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import qmc

from sim.outcomes import LeverSpace, Simulator, weighted_quantile


@dataclass(frozen=True)
class Box:
    """A box of lever ranges with its coverage, density and mass (see the module docstring)."""

    limits: dict[str, tuple[float, float]]
    """Lever key → (low, high) for every restricted lever."""
    coverage: float
    density: float
    mass: float
    points: int
    """Sampled mixes inside the box."""

    def contains(self, mix: dict[str, float]) -> bool:
        """Whether a mix (lever key → value) lies inside the box."""
        return all(low <= mix[key] <= high for key, (low, high) in self.limits.items())


@dataclass(frozen=True)
class PeelingStep:
    """One box on the peeling trajectory."""

    coverage: float
    density: float
    mass: float


@dataclass(frozen=True)
class Discovery:
    """What :func:`discover` found: the box, the trajectory and the sample it came from."""

    box: Box
    threshold: float
    reaches_threshold: bool
    """Whether the box's density reaches ``threshold``."""
    trajectory: tuple[PeelingStep, ...]
    samples: int
    members: int
    overall_density: float
    """P(all met) over the whole sampled lever box (the density before any peeling)."""
    runs: int = 0
    seed: int = 0
    lever_samples: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    success: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """P(all met) of each sampled mix."""
    target_success: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    """``(mix, target)``: P(target met) of each sampled mix."""
    worst_margin: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """Median over members of each sampled mix's worst normalised target margin."""

    def promising(self, count: int) -> np.ndarray:
        """The ``count`` sampled mixes most likely to meet every target (ties: the closest
        to meeting them, by median worst margin), best first."""
        order = np.lexsort((-self.worst_margin, -self.success))
        return self.lever_samples[order[:count]]


def prim(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    bounds: np.ndarray,
    *,
    threshold: float,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.01,
    min_mass: float = 0.05,
) -> tuple[Box, tuple[PeelingStep, ...]]:
    """Find one box by peeling and pasting.

    Parameters
    ----------
    x
        ``(n, d)`` sampled points (lever mixes).
    y
        ``(n,)`` success of each point, in [0, 1] (a share of members).
    names
        The ``d`` dimension names (lever keys).
    bounds
        ``(d, 2)`` the full range of each dimension (an unrestricted box).
    threshold
        The density the chosen box should reach.
    peel_alpha, paste_alpha
        Share of the box's points cut off by one peel, and added by one paste.
    min_mass
        Peeling stops before the box holds fewer than this share of the points.

    Returns
    -------
    box, trajectory
        The chosen box and every box on the peeling trajectory.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    total = y.sum()
    inside = np.ones(n, dtype=bool)
    limits = np.asarray(bounds, dtype=float).copy()
    boxes = [(inside.copy(), limits.copy())]
    while inside.sum() > max(1, min_mass * n):
        best = None
        count = inside.sum()
        for j in range(d):
            values = x[inside, j]
            for side in (0, 1):
                cut = np.quantile(values, peel_alpha if side == 0 else 1 - peel_alpha)
                keep = inside & ((x[:, j] >= cut) if side == 0 else (x[:, j] <= cut))
                # A peel that removes nothing, or everything past min_mass, is no peel.
                if keep.sum() in (count, 0) or keep.sum() < min_mass * n:
                    continue
                density = y[keep].mean()
                if best is None or (density, keep.sum()) > (best[0], best[1]):
                    best = (density, keep.sum(), keep, j, side, cut)
        if best is None:
            break
        _, _, inside, j, side, cut = best
        limits[j, side] = cut
        boxes.append((inside.copy(), limits.copy()))

    def stats(mask: np.ndarray) -> PeelingStep:
        coverage = float(y[mask].sum() / total) if total > 0 else 0.0
        return PeelingStep(coverage, float(y[mask].mean()), float(mask.sum() / n))

    trajectory = tuple(stats(mask) for mask, _ in boxes)
    reaching = [i for i, step in enumerate(trajectory) if step.density >= threshold]
    if reaching:
        chosen = max(reaching, key=lambda i: (trajectory[i].coverage, trajectory[i].density))
    else:
        chosen = max(range(len(boxes)), key=lambda i: (trajectory[i].density, -i))
    inside, limits = boxes[chosen]
    inside, limits = _paste(x, y, inside, limits, paste_alpha)
    limits = _midpoint_limits(x, inside, limits, np.asarray(bounds, dtype=float))
    step = stats(inside)
    restricted = {
        names[j]: (float(limits[j, 0]), float(limits[j, 1]))
        for j in range(d)
        if limits[j, 0] > bounds[j][0] or limits[j, 1] < bounds[j][1]
    }
    box = Box(restricted, step.coverage, step.density, step.mass, int(inside.sum()))
    return box, trajectory


def _paste(
    x: np.ndarray, y: np.ndarray, inside: np.ndarray, limits: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Widen the box a slice at a time wherever that does not lower its density."""
    limits = limits.copy()
    while True:
        best = None
        density = y[inside].mean()
        chunk = max(1, round(float(alpha * inside.sum())))
        for j in range(x.shape[1]):
            others = _within(x, limits, skip=j)
            for side in (0, 1):
                beyond = (
                    others
                    & ~inside
                    & ((x[:, j] < limits[j, 0]) if side == 0 else (x[:, j] > limits[j, 1]))
                )
                if not beyond.any():
                    continue
                candidates = np.flatnonzero(beyond)
                order = np.argsort(-x[candidates, j] if side == 0 else x[candidates, j])
                added = candidates[order[:chunk]]
                new_edge = x[added, j].min() if side == 0 else x[added, j].max()
                widened = inside.copy()
                widened[added] = True
                new_density = y[widened].mean()
                if new_density >= density and (best is None or new_density > best[0]):
                    best = (new_density, widened, j, side, new_edge)
        if best is None:
            return inside, limits
        _, inside, j, side, edge = best
        limits[j, side] = edge


def _within(x: np.ndarray, limits: np.ndarray, skip: int | None = None) -> np.ndarray:
    mask = np.ones(x.shape[0], dtype=bool)
    for j in range(x.shape[1]):
        if j != skip:
            mask &= (x[:, j] >= limits[j, 0]) & (x[:, j] <= limits[j, 1])
    return mask


def _midpoint_limits(
    x: np.ndarray, inside: np.ndarray, limits: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    """Each restricted limit halfway between the box's outermost point and the nearest point
    it leaves out along that lever (as a decision tree places its thresholds)."""
    limits = limits.copy()
    for j in range(x.shape[1]):
        others = _within(x, limits, skip=j)
        kept = x[inside, j]
        for side in (0, 1):
            if limits[j, side] == bounds[j, side]:
                continue
            if side == 0:
                outer = kept.min()
                left_out = x[others & ~inside & (x[:, j] < outer), j]
                limits[j, 0] = (outer + left_out.max()) / 2 if left_out.size else bounds[j, 0]
            else:
                outer = kept.max()
                left_out = x[others & ~inside & (x[:, j] > outer), j]
                limits[j, 1] = (outer + left_out.min()) / 2 if left_out.size else bounds[j, 1]
    return limits


def discover(
    simulate: Simulator,
    *,
    threshold: float = 0.8,
    samples: int = 1024,
    seed: int = 20211210,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.01,
    min_mass: float = 0.05,
) -> Discovery:
    """Sample the lever box, run every mix over the ensemble and find the box with PRIM.

    Parameters
    ----------
    simulate
        Runs lever mixes over the ensemble (a subset of it keeps this fast).
    threshold
        The density (P(all met) within the box) the box should reach: the search's goal.
    samples
        Lever mixes drawn by Latin hypercube over every lever's ``[min, max]``.
    seed
        Seed of the Latin hypercube.
    peel_alpha, paste_alpha, min_mass
        PRIM's settings (see :func:`prim`).

    Returns
    -------
    Discovery
    """
    space: LeverSpace = simulate.space
    unit = qmc.LatinHypercube(d=space.size, seed=seed).random(samples)
    x = space.from_unit(unit)
    runs_before = simulate.runs
    outcomes = simulate(x)
    y = outcomes.all_met_probability()
    bounds = np.column_stack([space.low, space.high])
    box, trajectory = prim(
        x,
        y,
        space.keys,
        bounds,
        threshold=threshold,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        min_mass=min_mass,
    )
    return Discovery(
        box=box,
        threshold=threshold,
        reaches_threshold=box.density >= threshold,
        trajectory=trajectory,
        samples=samples,
        members=simulate.members,
        overall_density=float(y.mean()),
        runs=simulate.runs - runs_before,
        seed=seed,
        lever_samples=x,
        success=y,
        target_success=outcomes.probability(),
        worst_margin=weighted_quantile(outcomes.worst_margin, outcomes.weights, 0.5, axis=1),
    )
