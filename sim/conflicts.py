"""Conflicts between targets, measured from runs: shared budget and levers that pull apart.

From a base mix, each lever in turn is raised by ``step`` of its range (lowered, where it is
too close to its maximum) and every ensemble member is run again. The change in each target's
normalised margin, per member, is the lever's *effect* on the target (sign as for a raise).

Two kinds of conflict are reported, each with the evidence:

* **a lever moves two targets apart**: at the status quo, among the members whose budget
  covers the ask before and after the move (so that the effect is the model's structure, not
  money), raising the lever raises one target's margin and lowers another's in at least
  ``agreement`` of them, each by at least ``materiality`` (e.g. certification support turns
  tech SMEs into high-tech firms);
* **budget competition**: two targets whose best levers (largest margin gain per 亿元 at the
  status quo) differ, where — at a base at which the budget binds — raising the best lever
  of one lowers the other's margin in at least ``agreement`` of the members, while at the
  status quo it does not. The model scales every lever back by one factor when the ask
  exceeds the lever budget, so money spent on one target is taken from the others.

The binding base raises every lever by the same share of its headroom (``max − status quo``)
until the levers ask ``overspend`` times the projected lever budget of the status quo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from sim.outcomes import LeverSpace, Simulator, weighted_quantile

EFFECT_FLOOR = 1e-9
"""Margin changes smaller than this (normalised units) count as no change."""
FUNDED_TOLERANCE = 1e-9
"""A member's levers are fully funded when ``lever_budget_scale ≥ 1 − FUNDED_TOLERANCE``."""


@dataclass(frozen=True)
class Conflict:
    """Two targets in conflict, and the evidence from the runs."""

    kind: str
    """``lever`` (a lever moves them apart) or ``budget`` (their best levers share the budget)."""
    raised: str
    """The target whose margin the lever raises."""
    lowered: str
    """The target whose margin it lowers."""
    lever: str
    raised_change: float
    """Median change of the raised target's margin (normalised units)."""
    lowered_change: float
    """Median change of the lowered target's margin."""
    raised_share: float
    """Share of members (by weight) in which the raised target's margin goes up."""
    lowered_share: float
    """Share of members in which the lowered target's margin goes down."""
    budget_scale_change: float | None = None
    """Median change of the funded share of the levers (``lever_budget_scale``)."""


def binding_base(space: LeverSpace, budget: float, overspend: float = 1.25) -> np.ndarray:
    """The status quo with every lever raised by one share of its headroom, so that the ask
    is ``overspend × budget`` (every lever at its maximum if even that asks less)."""
    status_quo_cost = float(space.cost(space.status_quo))
    headroom = space.high - space.status_quo
    extra = float(space.cost(headroom))
    share = (
        1.0 if extra <= 0 else min(1.0, max(0.0, (overspend * budget - status_quo_cost) / extra))
    )
    return space.status_quo + share * headroom


def lever_effects(simulate: Simulator, base: np.ndarray, step: float = 0.1) -> xr.Dataset:
    """Change of every target's margin when each lever moves from ``base``, per member.

    Parameters
    ----------
    simulate
        Runs lever mixes over the ensemble.
    base
        The base mix (levers in the simulator's order).
    step
        The move, as a share of each lever's range: up, or down where up would pass the max.

    Returns
    -------
    xarray.Dataset
        ``effect(lever, sample, target)``: margin change for a raise (a move down is
        sign-flipped); ``per_cost(lever, sample, target)``: the same per 亿元/Year of cost;
        ``slack(lever, sample)``: whether the budget funds the whole ask before and after the
        move (every member, when the model has no budget); ``budget_scale_change(lever,
        sample)`` and ``base_funded(sample)`` when the model has a budget; ``weight(sample)``.
    """
    space = simulate.space
    base = np.asarray(base, dtype=float)
    width = step * (space.high - space.low)
    up = base + width <= space.high + 1e-12
    moved = np.where(up, base + width, base - width)
    mixes = np.repeat(base[None, :], space.size + 1, axis=0)
    for j in range(space.size):
        mixes[j + 1, j] = moved[j]
    outcomes = simulate(mixes)
    sign = np.where(up, 1.0, -1.0)[:, None, None]
    effect = (outcomes.margin[1:] - outcomes.margin[:1]) * sign
    effect = np.where(np.isfinite(effect), effect, 0.0)
    cost = np.abs(space.cost_per_unit * width)
    per_cost = effect / np.where(cost > 0, cost, np.nan)[:, None, None]
    data = {
        "effect": (("lever", "sample", "target"), effect),
        "per_cost": (("lever", "sample", "target"), per_cost),
        "weight": ("sample", simulate.weights),
    }
    if outcomes.funded is None:
        data["slack"] = (("lever", "sample"), np.ones(effect.shape[:2], dtype=bool))
    else:
        funded = outcomes.funded >= 1 - FUNDED_TOLERANCE
        data["slack"] = (("lever", "sample"), funded[1:] & funded[:1])
        change = (outcomes.funded[1:] - outcomes.funded[:1]) * sign[:, :, 0]
        data["budget_scale_change"] = (("lever", "sample"), change)
        data["base_funded"] = ("sample", outcomes.funded[0])
    return xr.Dataset(
        data,
        coords={"lever": list(space.keys), "target": list(simulate.target_keys)},
        attrs={"step": step, "base": list(map(float, base))},
    )


def best_levers(effects: xr.Dataset) -> dict[str, str | None]:
    """Per target, the lever with the largest median margin gain per 亿元 (None if none gains)."""
    weights = effects["weight"].values
    gain = weighted_quantile(effects["per_cost"].fillna(-np.inf).values, weights, 0.5, axis=1)
    out: dict[str, str | None] = {}
    for t, target in enumerate(effects["target"].values.tolist()):
        column = gain[:, t]
        j = int(np.argmax(column))
        out[str(target)] = str(effects["lever"].values[j]) if column[j] > EFFECT_FLOOR else None
    return out


@dataclass(frozen=True)
class _Directions:
    """Per (lever, target): weighted share of members whose margin rises, falls, and the
    median change, over the members selected."""

    up: np.ndarray
    down: np.ndarray
    median: np.ndarray


def _directions(effects: xr.Dataset, members: np.ndarray | None = None) -> _Directions:
    """Directions over all members, or over ``members (lever, sample)`` (boolean) only."""
    w = effects["weight"].values
    e = effects["effect"].values
    mask = np.ones(e.shape[:2], dtype=bool) if members is None else members
    weights = np.where(mask, w[None, :], 0.0)
    total = weights.sum(axis=1, keepdims=True)
    share = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    up = np.einsum("lmt,lm->lt", (e > EFFECT_FLOOR).astype(float), share)
    down = np.einsum("lmt,lm->lt", (e < -EFFECT_FLOOR).astype(float), share)
    median = np.stack(
        [
            weighted_quantile(e[j][mask[j]], w[mask[j]], 0.5, axis=0)
            if mask[j].any()
            else np.zeros(e.shape[2])
            for j in range(e.shape[0])
        ]
    )
    return _Directions(up, down, median)


def find_conflicts(
    at_status_quo: xr.Dataset,
    where_binding: xr.Dataset | None,
    *,
    agreement: float = 0.9,
    materiality: float = 0.005,
) -> list[Conflict]:
    """Conflicting target pairs, with evidence (see the module docstring).

    Parameters
    ----------
    at_status_quo
        :func:`lever_effects` at the status quo.
    where_binding
        :func:`lever_effects` at a base where the budget binds (``None``: no budget).
    agreement
        The share of members that must agree on each direction.
    materiality
        The smallest median margin change (normalised units, for one step of the lever)
        that counts: 0.005 is half a percent of the target's threshold.
    """
    levers = at_status_quo["lever"].values.tolist()
    targets = at_status_quo["target"].values.tolist()
    # Structural effects: only members whose budget covers the ask before and after the move.
    slack = at_status_quo["slack"].values
    structural = _directions(at_status_quo, slack)
    enough = slack.mean(axis=1) > 0  # a lever whose every member is squeezed says nothing here

    def rises(d: _Directions, j: int, t: int) -> bool:
        return d.up[j, t] >= agreement and d.median[j, t] >= materiality

    def falls(d: _Directions, j: int, t: int) -> bool:
        return d.down[j, t] >= agreement and d.median[j, t] <= -materiality

    conflicts = []
    for j, lever in enumerate(levers):
        if not enough[j]:
            continue
        for a, raised in enumerate(targets):
            if not rises(structural, j, a):
                continue
            for b, lowered in enumerate(targets):
                if b != a and falls(structural, j, b):
                    conflicts.append(
                        Conflict(
                            kind="lever",
                            raised=raised,
                            lowered=lowered,
                            lever=lever,
                            raised_change=float(structural.median[j, a]),
                            lowered_change=float(structural.median[j, b]),
                            raised_share=float(structural.up[j, a]),
                            lowered_share=float(structural.down[j, b]),
                        )
                    )
    if where_binding is None:
        return conflicts
    best = best_levers(at_status_quo)
    binding = _directions(where_binding)
    scale = where_binding.get("budget_scale_change")
    weights = where_binding["weight"].values
    for a, raised in enumerate(targets):
        lever = best[raised]
        if lever is None:
            continue
        j = levers.index(lever)
        for b, lowered in enumerate(targets):
            other = best[lowered]
            if b == a or other is None or other == lever:
                continue
            # Budget competition: the lever costs the other target only when money is short.
            if falls(binding, j, b) and not falls(structural, j, b):
                change = (
                    None
                    if scale is None
                    else float(weighted_quantile(scale.values[j], weights, 0.5, axis=0))
                )
                conflicts.append(
                    Conflict(
                        kind="budget",
                        raised=raised,
                        lowered=lowered,
                        lever=lever,
                        raised_change=float(binding.median[j, a]),
                        lowered_change=float(binding.median[j, b]),
                        raised_share=float(binding.up[j, a]),
                        lowered_share=float(binding.down[j, b]),
                        budget_scale_change=change,
                    )
                )
    return conflicts
