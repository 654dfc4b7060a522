"""The assess methods on a toy model whose feasible region is known exactly.

``tests/data/assess/toy.mdl``: target a is met where ``5 · effort_a · yield_u ≥ 20``, target b
where ``10 + 5 · effort_b ≥ 25``; effort_c helps neither (it raises output c and lowers output
d). Unit costs 1, 2 and 0.5. With the 64 members ``yield_u = linspace(0.8, 1.2, 64)``,
``P(all met) ≥ 0.8`` holds exactly where ``effort_b ≥ 3`` and ``effort_a · u[12] ≥ 4`` (at most
12 of 64 members may miss), so the cheapest such mix is ``(4 / u[12], 3, 0)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.conflicts import binding_base, find_conflicts, lever_effects
from sim.discovery import discover, prim
from sim.outcomes import Outcomes, Simulator, weighted_quantile
from sim.priors import load_priors
from sim.scenarios import load_levers
from sim.search import SearchSettings, goal_margin, search
from sim.sensitivity import analyze, factors_for, most_uncertain
from sim.targets import load_targets

TOY = Path(__file__).resolve().parent / "data" / "assess"
U = np.linspace(0.8, 1.2, 64)
A_STAR = 4 / U[12]  # the smallest effort_a with at most 12 of 64 members missing target a


@pytest.fixture(scope="module")
def toy():
    model = sim.load_model(TOY / "toy.mdl")
    return model, load_levers(TOY / "levers.toml"), load_targets(TOY / "targets.toml")


def simulator(toy, budget: float | None = None, **kwargs) -> Simulator:
    model, levers, targets = toy
    ensemble = {"yield_u": U}
    if budget is not None:
        ensemble["lever_budget_available"] = np.full(U.size, budget)
    return Simulator(model, levers, targets, ensemble, **kwargs)


def meets(a: float, b: float) -> np.ndarray:
    """Per member: every target met, by hand (with a hair of rounding allowed)."""
    return (5 * a * U >= 20 - 1e-9) & (10 + 5 * b >= 25 - 1e-9)


def test_probabilities_are_the_fractions_of_members_meeting_each_target(toy):
    simulate = simulator(toy)
    mixes = np.array([[4.5, 3.5, 0.0], [6.0, 2.0, 1.0], [3.0, 3.0, 0.0], [4.6, 3.1, 2.0]])
    outcomes = simulate(mixes)
    for i, (a, b, _) in enumerate(mixes):
        by_hand_a = np.mean(5 * a * U >= 20)
        by_hand_b = float(10 + 5 * b >= 25)
        assert outcomes.probability()[i].tolist() == pytest.approx([by_hand_a, by_hand_b])
        assert outcomes.all_met_probability()[i] == pytest.approx(np.mean(meets(a, b)))


def test_weighted_members_count_by_weight(toy):
    weights = np.where(U >= 1.0, 3.0, 1.0)
    outcomes = simulator(toy, weights=weights)(np.array([[4.5, 3.5, 0.0]]))
    met = 5 * 4.5 * U >= 20
    assert outcomes.all_met_probability()[0] == pytest.approx(weights[met].sum() / weights.sum())


@settings(max_examples=200, deadline=None)
@given(
    worst=st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=30),
    goal=st.floats(0.01, 1.0),
    data=st.data(),
)
def test_goal_margin_is_non_negative_exactly_when_the_goal_is_met(worst, goal, data):
    m = len(worst)
    raw = data.draw(st.lists(st.floats(0.1, 10), min_size=m, max_size=m))
    weights = np.array(raw) / np.sum(raw)
    margin = np.array(worst)[None, :, None]
    outcomes = Outcomes(margin=margin, weights=weights, targets=("t",))
    probability = outcomes.all_met_probability()[0]
    assert (goal_margin(outcomes, goal)[0] >= 0) == (probability >= goal - 1e-12)


def test_weighted_quantile_of_equal_weights_is_an_order_statistic():
    values = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    weights = np.full(5, 0.2)
    assert weighted_quantile(values, weights, 0.4, axis=0) == 2.0
    assert weighted_quantile(values, weights, 0.5, axis=0) == 3.0
    assert weighted_quantile(values, weights, 1.0, axis=0) == 5.0


def test_search_finds_the_cheapest_mix_inside_the_known_region(toy):
    found = search(simulator(toy), 0.8)
    a, b, c = (found.levers[k] for k in ("effort_a", "effort_b", "effort_c"))
    assert found.goal_met
    assert a * U[12] >= 4 - 1e-9 and b >= 3 - 1e-12  # inside the region, by hand
    assert found.probability == pytest.approx(np.mean(meets(a, b)))
    assert found.probability >= 0.8
    cheapest = A_STAR + 2 * 3
    assert cheapest <= found.cost <= cheapest + 0.25
    assert c < 0.25


def test_search_reports_the_best_reachable_mix_when_the_budget_binds(toy):
    # A budget of 9.5 leaves at most 3.5 for effort_a once effort_b = 3 is paid for: only
    # members with u ≥ 4 / 3.5 can meet both targets (9 of 64 at best), never 80 %.
    simulate = simulator(toy, budget=9.5)
    found = search(simulate, 0.8, SearchSettings(maxiter=60))
    a, b = found.levers["effort_a"], found.levers["effort_b"]
    assert not found.goal_met
    assert found.cost <= 9.5 + 1e-9
    assert found.budget == pytest.approx(9.5)
    assert found.probability == pytest.approx(np.mean(meets(a, b)))
    best_possible = np.mean(U * 3.5 >= 4)
    assert 0 < found.probability <= best_possible
    assert found.phases == ("cheapest", "most_likely", "cheapest_reachable")


def test_discovered_box_contains_the_searched_mix(toy):
    simulate = simulator(toy)
    found = search(simulate, 0.8)
    region = discover(simulate, threshold=0.8, samples=1024, seed=5)
    box = region.box
    assert region.reaches_threshold and box.density >= 0.8
    assert box.contains(found.levers)
    assert set(box.limits) >= {"effort_a", "effort_b"}
    # The box's edges lie near the true region's: a ≥ A_STAR (blurred by the share of
    # members), b ≥ 3.
    assert 2.5 < box.limits["effort_a"][0] <= found.levers["effort_a"]
    assert 2.5 < box.limits["effort_b"][0] <= 3.0 + 1e-9
    low, high = box.limits.get("effort_c", (0.0, 10.0))
    assert high - low > 8  # effort_c does not matter: (nearly) its whole range
    # Density and coverage are what they say, recomputed from the sample.
    inside = np.all(
        [
            (region.lever_samples[:, j] >= box.limits.get(k, (-np.inf, np.inf))[0])
            & (region.lever_samples[:, j] <= box.limits.get(k, (-np.inf, np.inf))[1])
            for j, k in enumerate(simulate.space.keys)
        ],
        axis=0,
    )
    assert box.density == pytest.approx(region.success[inside].mean())
    assert box.coverage == pytest.approx(region.success[inside].sum() / region.success.sum())


def test_prim_recovers_a_box_from_labelled_points():
    rng = np.random.default_rng(1)
    x = rng.random((2000, 3))
    y = ((x[:, 0] > 0.3) & (x[:, 0] < 0.7) & (x[:, 1] > 0.5)).astype(float)
    box, trajectory = prim(x, y, ["p", "q", "r"], np.array([[0, 1]] * 3), threshold=0.9)
    assert box.density >= 0.9 and box.coverage >= 0.9
    assert box.limits["p"] == pytest.approx((0.3, 0.7), abs=0.03)
    assert box.limits["q"][0] == pytest.approx(0.5, abs=0.03)
    assert "r" not in box.limits
    assert trajectory[0].mass == 1.0 and trajectory[0].coverage == 1.0


def test_prim_without_successes_restricts_nothing():
    x = np.random.default_rng(2).random((100, 2))
    box, _ = prim(x, np.zeros(100), ["p", "q"], np.array([[0, 1], [0, 1]]), threshold=0.8)
    assert box.limits == {} and box.coverage == 0.0 and box.density == 0.0


def conflict_targets(toy):
    # Two more targets: output c (raised by effort_c) and output d (lowered by it).
    model, levers, targets = toy
    from dataclasses import replace

    extra = {
        "c_2021_2025": replace(
            targets["a_2021_2025"], key="c_2021_2025", quantity="output_c_total", threshold=5
        ),
        "d_2025": replace(targets["b_2025"], key="d_2025", quantity="output_d", threshold=40),
    }
    return model, levers, {**targets, **extra}


def test_a_lever_that_moves_two_targets_apart_is_a_conflict(toy):
    simulate = simulator(conflict_targets(toy))
    effects = lever_effects(simulate, simulate.space.status_quo)
    found = find_conflicts(effects, None)
    pairs = {(c.kind, c.lever, c.raised, c.lowered) for c in found}
    assert pairs == {("lever", "effort_c", "c_2021_2025", "d_2025")}
    (conflict,) = found
    # One step is 10 % of effort_c's range: 1 unit for 5 years → output c +5 (margin +1
    # against 5), output d −2.5 (margin −2.5/40).
    assert conflict.raised_change == pytest.approx(1.0)
    assert conflict.lowered_change == pytest.approx(-2.5 / 40)
    assert conflict.raised_share == conflict.lowered_share == 1.0


def test_targets_whose_best_levers_share_a_binding_budget_compete(toy):
    simulate = simulator(conflict_targets(toy), budget=10.0)
    space = simulate.space
    at_status_quo = lever_effects(simulate, space.status_quo)
    base = binding_base(space, budget=10.0, overspend=1.25)
    assert space.cost(base) == pytest.approx(12.5)
    binding = lever_effects(simulate, base)
    assert np.all(binding["base_funded"].values < 1)
    found = find_conflicts(at_status_quo, binding)
    budget = {(c.lever, c.raised, c.lowered) for c in found if c.kind == "budget"}
    assert ("effort_a", "a_2021_2025", "b_2025") in budget
    assert ("effort_b", "b_2025", "a_2021_2025") in budget
    assert all(c.budget_scale_change < 0 for c in found if c.kind == "budget")
    # With money to spare the same levers do not compete.
    slack = simulator(conflict_targets(toy), budget=1000.0)
    relaxed = lever_effects(slack, base)
    assert not [c for c in find_conflicts(at_status_quo, relaxed) if c.kind == "budget"]


def test_sobol_indices_single_out_the_levers_that_matter(toy):
    simulate = simulator(toy).subset(16, seed=1)
    priors = load_priors(TOY / "priors.toml")
    uncertain = most_uncertain(simulate.ensemble, simulate.weights, priors, 1)
    assert [name for name, _ in uncertain] == ["yield_u"]
    factors = factors_for(simulate, priors, ["yield_u"])
    results = analyze(simulate, factors, samples=128, seed=3)
    ds = results["worst_margin"]
    assert ds.attrs["output"] == "worst_margin"
    assert ds["factor"].values.tolist() == ["effort_a", "effort_b", "effort_c", "yield_u"]
    assert ds["factor_kind"].values.tolist() == ["lever", "lever", "lever", "parameter"]
    assert set(ds.data_vars) == {"S1", "S1_conf", "ST", "ST_conf"}
    st_ = dict(zip(ds["factor"].values, ds["ST"].values, strict=True))
    assert st_["effort_c"] < 0.02  # helps no target: no effect at all
    assert st_["effort_a"] > 0.1 and st_["effort_b"] > 0.1
    assert "all_met_probability" in results
