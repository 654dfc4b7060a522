"""The best fit: least squares on relative errors weighted by trust, in the prior's unit box.

The residual of figure ``i`` is its relative error over the source's relative standard error,
``((model_i − z_i) / |z_i|) / rel_sigma_i`` (:meth:`Record.residuals`), so a figure whose
source is trusted twice as much weighs twice as much. ``scipy.optimize.least_squares``
(trust-region reflective with the LSMR subproblem solver, which came within 1 % of the final
cost in 2–3 evaluations where the exact solver took 9–36) minimises their sum of squares within
bounds ``[0, 1]`` on every unit-cube coordinate (the prior's range), from several starting points
(the lowest-cost runs of the history-matching sample); the best end point wins. The
finite-difference Jacobian is one engine call of ``p + 1`` runs (the point and one step
along each fitted parameter).

Parameters that move no fitted figure (:func:`sim.calibration.record.inert_parameters`) are
not fitted: they keep a given value (the model's own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from sim.calibration.record import Record, Simulate

STEP = 1e-6
"""Finite-difference step in the unit cube (a millionth of the prior range)."""
FTOL = 1e-6
"""Stop when a step lowers the cost by less than this fraction: the fit lies in a valley
(more parameters than figures) along which later steps gain only in the sixth digit."""
AT_BOUND = 1e-6
"""A fitted coordinate this close to 0 or 1 sits on its prior bound."""


@dataclass(frozen=True)
class Start:
    """One local fit: where it started, where it ended, at what cost."""

    start: np.ndarray
    end: np.ndarray
    cost: float
    evaluations: int
    jacobians: int
    message: str


@dataclass(frozen=True)
class BestFit:
    """The result of :func:`best_fit`.

    Attributes
    ----------
    point
        The best fit in the unit cube, ``(P,)``.
    values, residuals
        The model's values of the figures there and their residuals, ``(K,)``.
    cost
        ``Σ residual²`` at the best fit.
    free
        Which parameters were fitted.
    jacobian
        ``∂ residual_i / ∂ u_j`` at the best fit, ``(K, P)`` (zero for unfitted parameters).
    starts
        Every local fit, in the order tried.
    runs
        Engine runs used.
    """

    point: np.ndarray
    values: np.ndarray
    residuals: np.ndarray
    cost: float
    free: np.ndarray
    jacobian: np.ndarray
    starts: tuple[Start, ...]
    runs: int

    def at_bound(self) -> np.ndarray:
        """``-1`` (lower bound), ``+1`` (upper bound) or 0 for each parameter."""
        side = np.zeros(self.point.size, dtype=int)
        side[self.free & (self.point <= AT_BOUND)] = -1
        side[self.free & (self.point >= 1 - AT_BOUND)] = 1
        return side

    def limits(self, i: int) -> tuple[list[tuple[int, int]], list[tuple[int, float]]]:
        """Why figure ``i`` is not matched more closely.

        Returns
        -------
        bounds
            ``(parameter, side)`` for parameters on a prior bound that would have to cross
            it to bring figure ``i`` closer, strongest first.
        opposing
            ``(figure, pull)`` for the figures whose residuals pull the free parameters
            against figure ``i`` (``pull`` in units of figure ``i``'s own pull, largest
            first); at an interior optimum the pulls balance.
        """
        pulls = self.jacobian * self.residuals[:, None]  # gradient of each ½ r_k² over u
        own = pulls[i]
        side = self.at_bound()
        bounds = [
            (j, int(side[j]))
            for j in np.argsort(-np.abs(own), kind="stable")
            if side[j] != 0 and np.sign(-own[j]) == side[j] and own[j] != 0
        ]
        interior = self.free & (side == 0)
        mine = own[interior]
        scale = float(mine @ mine)
        opposing = []
        if scale > 0:
            for k in range(len(self.residuals)):
                if k != i:
                    share = -float(pulls[k][interior] @ mine) / scale
                    if share > 0.05:
                        opposing.append((k, share))
        opposing.sort(key=lambda item: -item[1])
        return bounds, opposing


def best_fit(
    simulate: Simulate,
    record: Record,
    starts: np.ndarray,
    *,
    free: np.ndarray,
    fixed_point: np.ndarray,
    max_evaluations: int = 100,
) -> BestFit:
    """Least squares from each starting point; the lowest cost wins.

    Parameters
    ----------
    simulate
        Unit-cube points ``(n, P)`` → model values of the figures ``(n, K)``.
    record
        The figures.
    starts
        Starting points ``(S, P)`` in the unit cube.
    free
        Boolean mask ``(P,)`` of the parameters to fit.
    fixed_point
        ``(P,)`` unit-cube values of the parameters that are not fitted.
    max_evaluations
        Residual evaluations allowed per start.

    Returns
    -------
    BestFit
    """
    free = np.asarray(free, dtype=bool)
    fixed_point = np.clip(np.asarray(fixed_point, dtype=float), 0.0, 1.0)
    index = np.flatnonzero(free)
    runs = 0

    def full(x: np.ndarray) -> np.ndarray:
        point = fixed_point.copy()
        point[index] = np.clip(x, 0.0, 1.0)
        return point

    def residuals(x: np.ndarray) -> np.ndarray:
        nonlocal runs
        runs += 1
        return record.residuals(simulate(full(x)[None])[0])

    def jacobian(x: np.ndarray) -> np.ndarray:
        nonlocal runs
        base = full(x)
        steps = np.where(base[index] + STEP <= 1.0, STEP, -STEP)
        points = np.repeat(base[None], index.size + 1, axis=0)
        points[np.arange(1, index.size + 1), index] += steps
        r = record.residuals(simulate(points))
        runs += len(points)
        return ((r[1:] - r[0]) / steps[:, None]).T

    tried = []
    for start in np.atleast_2d(starts):
        x0 = np.clip(np.asarray(start, dtype=float)[index], 0.0, 1.0)
        result = least_squares(
            residuals,
            x0,
            jac=jacobian,
            bounds=(0.0, 1.0),
            method="trf",
            tr_solver="lsmr",
            ftol=FTOL,
            max_nfev=max_evaluations,
        )
        end = full(result.x)
        tried.append(
            Start(
                start=full(x0),
                end=end,
                cost=float(2.0 * result.cost),
                evaluations=int(result.nfev),
                jacobians=int(result.njev or 0),
                message=str(result.message),
            )
        )
    winner = min(range(len(tried)), key=lambda s: (tried[s].cost, s))
    point = tried[winner].end
    values = simulate(point[None])[0]
    full_jacobian = np.zeros((len(record.observations), point.size))
    full_jacobian[:, index] = jacobian(point[index])
    return BestFit(
        point=point,
        values=values,
        residuals=record.residuals(values),
        cost=float(np.sum(record.residuals(values) ** 2)),
        free=free,
        jacobian=full_jacobian,
        starts=tuple(tried),
        runs=runs + 1,
    )
