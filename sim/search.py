"""Lever search: the cheapest lever mix that meets every target with a given probability.

Minimise the annual fiscal cost ``Σ value × cost_per_unit`` over the lever box subject to

* **the probability goal**: ``P(all targets met) ≥ goal`` over the ensemble;
* **the budget**: the cost fits the *projected lever budget*, the weighted median over the
  members of the smallest ``lever_budget_available`` (the money the model's budget sector
  lets the levers spend, 亿元/Year) in 2021–2025 under that mix. Above it the model scales
  every lever back, so an ask beyond the budget buys less than it costs.

``P(all met)`` is a step function of the levers (a count of members), which an optimiser
cannot follow. The search uses an equivalent continuous constraint instead: let ``w(x)`` be
the members' worst normalised target margins (≥ 0 exactly when a member meets every target)
and ``g(x)`` the smallest of them whose cumulative member weight exceeds ``1 − goal``; then
``P(all met) ≥ goal`` exactly when ``g(x) ≥ 0``, and ``g`` moves continuously with the levers.
The answer's probability is counted again from its runs.

The optimiser is :func:`scipy.optimize.differential_evolution` with ``vectorized=True``:
every generation's candidates run in one engine call (candidates × members runs), on a subset
of the ensemble; each mix proposed as the answer is judged on the whole ensemble. When the goal
is out of reach within the budget, :func:`search` finds the mix with the highest reachable
probability (the goal becomes a variable to maximise under the same continuous constraint)
and then the cheapest mix that reaches that probability (see :func:`search` for the phases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import NonlinearConstraint, differential_evolution
from scipy.stats import qmc

from sim.outcomes import LeverSpace, Outcomes, Simulator, weighted_quantile

_TOLERANCE = 1e-12


@dataclass(frozen=True)
class SearchSettings:
    """Settings of the differential-evolution runs (one per phase of :func:`search`)."""

    popsize: int = 6
    """Population = popsize × number of levers (scipy's convention)."""
    maxiter: int = 40
    tol: float = 0.005
    seed: int = 20211210
    budget: bool = True
    """Constrain the cost to the projected lever budget (when the model has one)."""


@dataclass(frozen=True)
class SearchResult:
    """A lever mix found by :func:`search`, with what it achieves on the verifying ensemble."""

    levers: dict[str, float]
    cost: float
    """Annual fiscal cost, Σ value × cost_per_unit (亿元/Year)."""
    probability: float
    """P(all met) of the mix over the verifying ensemble (counted from its runs)."""
    search_probability: float
    """P(all met) of the mix over the (smaller) ensemble the optimiser worked on."""
    goal: float
    goal_met: bool
    """Whether ``probability ≥ goal``; when not, the mix is the cheapest that reaches the
    highest probability the search found (``probability``)."""
    budget: float | None
    """Projected lever budget under the mix: the weighted median over the members of the
    smallest lever budget available in 2021–2025 (亿元/Year), when the model has one."""
    budget_constrained: bool
    target_probability: dict[str, float]
    evaluations: int
    """Lever mixes evaluated (each over every member)."""
    runs: int
    """Engine runs (search and verification)."""
    members: int
    """Members of the verifying ensemble."""
    search_members: int
    """Distinct members of the ensemble the optimiser worked on."""
    phases: tuple[str, ...] = field(default=())
    """What was run: ``cheapest``, then ``most_likely`` and ``cheapest_reachable`` if needed."""


def goal_margin(outcomes: Outcomes, goal: float | np.ndarray) -> np.ndarray:
    """``g(x)`` per mix: ≥ 0 exactly when ``P(all met) ≥ goal`` (see the module docstring)."""
    ordered, cumulative = _ranked(outcomes)
    return _quantile_at(ordered, cumulative, goal)


def _ranked(outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """Per mix: the members' worst margins in ascending order and their cumulative weights."""
    worst = outcomes.worst_margin
    order = np.argsort(worst, axis=1, kind="stable")
    return np.take_along_axis(worst, order, axis=1), np.cumsum(outcomes.weights[order], axis=1)


def _quantile_at(ordered: np.ndarray, cumulative: np.ndarray, goal) -> np.ndarray:
    # The smallest worst margin whose cumulative weight exceeds 1 − goal: if it is ≥ 0, the
    # members below it (weight ≤ 1 − goal) are all that can miss a target.
    limit = 1.0 - np.asarray(goal, dtype=float).reshape(-1, 1) + _TOLERANCE
    index = np.minimum((cumulative <= limit).sum(axis=1), ordered.shape[1] - 1)
    return np.take_along_axis(ordered, index[:, None], axis=1)[:, 0]


def projected_budget(outcomes: Outcomes) -> np.ndarray | None:
    """Per mix: the weighted median over members of the smallest lever budget available."""
    if outcomes.budget is None:
        return None
    return weighted_quantile(outcomes.budget, outcomes.weights, 0.5, axis=1)


def budget_slack(outcomes: Outcomes, space: LeverSpace, x: np.ndarray) -> np.ndarray:
    """``(budget − cost) / budget`` per mix: ≥ 0 when the cost fits the projected budget."""
    budget = projected_budget(outcomes)
    if budget is None:
        return np.full(np.atleast_2d(x).shape[0], np.inf)
    return (budget - space.cost(x)) / np.maximum(np.abs(budget), 1e-9)


class _Evaluations:
    """What the constraints need of each lever mix, computed once per mix.

    Differential evolution asks for the constraints of a whole generation at once (scipy's
    ``vectorized`` layout, ``(levers, S)``); the mixes it has not seen run in one engine call.
    """

    def __init__(self, simulate: Simulator):
        self.simulate = simulate
        self.known: dict[bytes, tuple[np.ndarray, np.ndarray, float]] = {}

    @property
    def count(self) -> int:
        """Distinct mixes evaluated."""
        return len(self.known)

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mixes ``x (n, levers)`` → ranked worst margins, cumulative weights, budget slack."""
        keys = [row.tobytes() for row in x]
        new = {key: row for key, row in zip(keys, x, strict=True) if key not in self.known}
        if new:
            rows = np.array(list(new.values()))
            outcomes = self.simulate(rows)
            ordered, cumulative = _ranked(outcomes)
            slack = budget_slack(outcomes, self.simulate.space, rows)
            for i, key in enumerate(new):
                self.known[key] = (ordered[i], cumulative[i], float(slack[i]))
        ordered, cumulative, slack = zip(*(self.known[key] for key in keys), strict=True)
        return np.array(ordered), np.array(cumulative), np.array(slack)


def _columns(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """scipy's ``(N,)`` or ``(N, S)`` → ``(S, N)`` rows, and whether it was one vector."""
    x = np.asarray(x, dtype=float)
    return (x[None, :], True) if x.ndim == 1 else (x.T, False)


def initial_population(
    bounds: np.ndarray, starts: np.ndarray | None, size: int, seed: int
) -> np.ndarray:
    """``size`` points: the ``starts`` given (clipped into the bounds, at most a third of the
    population, so that it stays diverse), then a Latin hypercube over ``bounds (N, 2)``."""
    bounds = np.asarray(bounds, dtype=float)
    rest = qmc.LatinHypercube(d=bounds.shape[0], seed=seed).random(size)
    population = bounds[:, 0] + rest * (bounds[:, 1] - bounds[:, 0])
    if starts is not None and len(starts):
        chosen = np.clip(np.atleast_2d(starts)[: size // 3], bounds[:, 0], bounds[:, 1])
        population[: len(chosen)] = chosen
    return population


def _solve(objective, constraint, bounds, settings: SearchSettings, x0, starts, callback):
    def each_generation(intermediate_result) -> None:  # scipy passes the result by this name
        callback()

    bounds = np.asarray(bounds, dtype=float)
    init = initial_population(bounds, starts, settings.popsize * len(bounds), settings.seed)
    result = differential_evolution(
        objective,
        bounds=bounds,
        constraints=(NonlinearConstraint(constraint, 0.0, np.inf),),
        popsize=settings.popsize,
        maxiter=settings.maxiter,
        tol=settings.tol,
        seed=settings.seed,
        polish=False,
        vectorized=True,
        updating="deferred",  # what vectorized=True implies; said so that scipy does not warn
        init=init,
        x0=x0,
        callback=each_generation if callback else None,
    )
    return np.asarray(result.x, dtype=float)


def cheapest_mix(
    simulate: Simulator,
    goal: float,
    settings: SearchSettings = SearchSettings(),
    *,
    x0: np.ndarray | None = None,
    starts: np.ndarray | None = None,
    callback: Callable[[], None] | None = None,
) -> tuple[np.ndarray, int]:
    """The least-cost mix with ``P(all met) ≥ goal`` (and within the budget).

    ``x0`` replaces the first member of the initial population; ``starts`` (promising mixes,
    best first) fill up to a third of it.

    Returns
    -------
    x, evaluations
        The best mix differential evolution found (the least infeasible one when none is
        feasible) and the number of mixes it evaluated.
    """
    space = simulate.space
    with_budget = settings.budget and simulate.has_budget
    evaluations = _Evaluations(simulate)

    def constraint(x: np.ndarray) -> np.ndarray:
        rows, single = _columns(x)
        ordered, cumulative, slack = evaluations(rows)
        values = [_quantile_at(ordered, cumulative, goal)] + ([slack] if with_budget else [])
        out = np.vstack(values)
        return out[:, 0] if single else out

    def cost(x: np.ndarray) -> np.ndarray:
        return space.cost(np.asarray(x).T)

    bounds = list(zip(space.low, space.high, strict=True))
    x = _solve(cost, constraint, bounds, settings, x0, starts, callback)
    return x, evaluations.count


def most_likely_mix(
    simulate: Simulator,
    settings: SearchSettings = SearchSettings(),
    *,
    starts: np.ndarray | None = None,
    callback: Callable[[], None] | None = None,
) -> tuple[np.ndarray, int]:
    """The mix with the highest ``P(all met)`` within the budget.

    The goal ``p`` becomes one more variable: maximise ``p`` subject to ``g_p(x) ≥ 0``
    (and the budget). The constraint is continuous in the levers, so the optimiser is led
    towards mixes where more members meet every target even while none does yet.

    Returns
    -------
    x, evaluations
        The best mix found and the number of mixes evaluated.
    """
    space = simulate.space
    with_budget = settings.budget and simulate.has_budget
    evaluations = _Evaluations(simulate)
    n = space.size

    def constraint(z: np.ndarray) -> np.ndarray:
        rows, single = _columns(z)
        ordered, cumulative, slack = evaluations(rows[:, :n])
        values = [_quantile_at(ordered, cumulative, rows[:, n])]
        out = np.vstack(values + ([slack] if with_budget else []))
        return out[:, 0] if single else out

    def objective(z: np.ndarray) -> np.ndarray:
        return -np.asarray(z)[n]

    bounds = [*zip(space.low, space.high, strict=True), (0.0, 1.0)]
    if starts is not None:
        starts = np.column_stack([np.atleast_2d(starts), np.zeros(len(starts))])
    z = _solve(objective, constraint, bounds, settings, None, starts, callback)
    return z[:n], evaluations.count


def search(
    simulate: Simulator,
    goal: float = 0.8,
    settings: SearchSettings = SearchSettings(),
    *,
    starts: np.ndarray | None = None,
    verify: Simulator | None = None,
    callback: Callable[[], None] | None = None,
) -> SearchResult:
    """The cheapest lever mix meeting every target with probability ≥ ``goal``.

    The optimiser works on ``simulate`` (a subset of the ensemble, for speed); every mix it
    proposes as an answer is judged on ``verify`` (the whole ensemble). Up to three phases:

    1. ``cheapest``: the least-cost mix at ``goal``. It is the answer if ``verify`` confirms
       the goal (and the budget). Skipped when even the best of ``starts`` is below half
       the goal: the goal is then far out of reach (phase 2 would find it all the same).
    2. ``most_likely``: the highest probability within the budget. The best of this mix and
       ``starts`` on ``verify`` is the most likely mix found.
    3. ``cheapest_reachable``: the least-cost mix reaching the most likely mix's probability
       (on ``simulate``, capped at ``goal``). It replaces the most likely mix only if
       ``verify`` confirms that it reaches as high a probability, so that a cheap mix that
       only looks good on a few members is never reported.

    Parameters
    ----------
    simulate
        Runs lever mixes over (a subset of) the ensemble (:class:`sim.outcomes.Simulator`).
    goal
        The probability that every represented target is met, in (0, 1].
    settings
        Differential-evolution settings, and whether the budget constrains the cost.
    starts
        Promising mixes ``(k, levers)``, e.g. the best of a scenario-discovery sample; they
        seed the initial populations and are candidates for the most likely mix.
    verify
        The ensemble the answer is judged on (``simulate`` itself when ``None``).
    callback
        Called after every generation (for a progress bar).

    Returns
    -------
    SearchResult
        The mix, its cost and its probability counted on ``verify``. When no mix reaches
        ``goal`` within the budget, ``goal_met`` is false and the mix is the cheapest one
        found at the highest probability found.
    """
    if not 0.0 < goal <= 1.0:
        raise ValueError(f"goal must be in (0, 1], got {goal}")
    verify = simulate if verify is None else verify
    runs_before = simulate.runs + (verify.runs if verify is not simulate else 0)
    evaluations = 0
    phases: list[str] = []
    promising = True
    if starts is not None and len(starts):
        starts = np.atleast_2d(np.asarray(starts, dtype=float))
        start_p = simulate(starts).all_met_probability()
        starts = starts[np.argsort(-start_p, kind="stable")]
        evaluations += len(starts)
        promising = bool(start_p.max() >= goal / 2)

    def judged(mixes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(all met) on ``verify`` and whether the budget holds, per mix."""
        outcome = verify(mixes)
        return outcome.all_met_probability(), _fit(outcome, verify, mixes, settings)

    space = simulate.space
    answer = None
    if promising:
        phases.append("cheapest")
        x, n = cheapest_mix(simulate, goal, settings, starts=starts, callback=callback)
        evaluations += n
        p, fits = judged(x[None, :])
        if p[0] >= goal - _TOLERANCE and fits[0]:
            answer = x
    if answer is None:
        phases.append("most_likely")
        best, n = most_likely_mix(simulate, settings, starts=starts, callback=callback)
        evaluations += n
        candidates = best[None, :] if starts is None else np.vstack([best, starts])
        p, fits = judged(candidates)
        p = np.where(fits, p, -1.0)
        order = np.lexsort((space.cost(candidates), -p))
        answer, best_p = candidates[order[0]], p[order[0]]
        level = min(goal, float(simulate(answer[None, :]).all_met_probability()[0]))
        if best_p > 0 and level > 0:
            phases.append("cheapest_reachable")
            cheaper, n = cheapest_mix(
                simulate, level, settings, x0=answer, starts=starts, callback=callback
            )
            evaluations += n
            p, fits = judged(cheaper[None, :])
            cheaper_cost = space.cost(cheaper)
            if fits[0] and p[0] >= best_p - _TOLERANCE and cheaper_cost < space.cost(answer):
                answer = cheaper
    outcome = verify(answer[None, :])
    probability = float(outcome.all_met_probability()[0])
    goal_met = probability >= goal - _TOLERANCE and bool(_fit(outcome, verify, answer, settings)[0])
    budget = projected_budget(outcome)
    return SearchResult(
        levers=space.as_dict(answer),
        cost=float(space.cost(answer)),
        probability=probability,
        search_probability=float(simulate(answer[None, :]).all_met_probability()[0]),
        goal=goal,
        goal_met=goal_met,
        budget=None if budget is None else float(budget[0]),
        budget_constrained=settings.budget and simulate.has_budget,
        target_probability=dict(
            zip(verify.target_keys, map(float, outcome.probability()[0]), strict=True)
        ),
        evaluations=evaluations,
        runs=simulate.runs + (verify.runs if verify is not simulate else 0) - runs_before,
        members=verify.members,
        search_members=simulate.members,
        phases=tuple(phases),
    )


def _fit(outcome: Outcomes, simulate: Simulator, mixes: np.ndarray, settings: SearchSettings):
    """Per mix: whether its cost fits the projected lever budget (always, unconstrained)."""
    mixes = np.atleast_2d(mixes)
    if not (settings.budget and simulate.has_budget):
        return np.ones(len(mixes), dtype=bool)
    return budget_slack(outcome, simulate.space, mixes) >= -_TOLERANCE
