"""History matching and the best fit on closed-form simulators with known answers.

The simulators here are plain numpy functions of unit-cube points, so that the
non-implausible region, and the prior restricted to it, can be computed independently by
brute force.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.calibration.best_fit import best_fit
from sim.calibration.history_matching import history_match
from sim.calibration.record import Record, inert_parameters
from sim.errors import InputError
from sim.observed import Observation


def figure(key: str, value: float, rel_sigma: float) -> Observation:
    return Observation(
        key=key,
        value=value,
        unit="",
        rel_sigma=rel_sigma,
        source="test",
        quote="",
        note="",
        use="calibrate",
        quantity=key,
        aggregate="level",
        kind="level",
        year=2020,
    )


def record(*figures: Observation, discrepancy: float = 0.0) -> Record:
    return Record.fitted(figures, discrepancy)


def sum_and_difference(points: np.ndarray) -> np.ndarray:
    """Two figures, u0 + u1 and 1 + u0 − u1; the third coordinate moves nothing."""
    u = np.atleast_2d(points)
    return np.column_stack([u[:, 0] + u[:, 1], 1.0 + u[:, 0] - u[:, 1]])


def test_implausibility_and_residuals_by_hand():
    r = record(figure("a", 10.0, 0.1), figure("b", -4.0, 0.5), discrepancy=0.05)
    model = np.array([[11.0, -4.0], [np.nan, -8.0]])
    sigma = np.array([np.hypot(1.0, 0.5), np.hypot(2.0, 0.2)])
    np.testing.assert_allclose(r.sigma_total, sigma)
    np.testing.assert_allclose(r.implausibility(model)[0], [1.0 / sigma[0], 0.0])
    assert r.implausibility(model)[1, 0] == np.inf  # NaN is never plausible
    np.testing.assert_allclose(r.residuals(model)[0], [1.0, 0.0])  # (11 − 10) / (0.1 · 10)
    np.testing.assert_allclose(r.residuals(model)[1, 1], -2.0)  # (−8 + 4) / (0.5 · 4)
    with pytest.raises(InputError, match="rel_sigma"):
        record(figure("c", 1.0, 0.0))


def brute_force(simulate, r: Record, cutoff: float, n: int = 1 << 21) -> np.ndarray:
    """Uniform prior points that are non-implausible (independent of the sampler)."""
    points = np.random.default_rng(0).random((n, 3))
    return points[r.implausibility(simulate(points)).max(axis=1) < cutoff]


def weighted_mean(history) -> np.ndarray:
    return history.weights @ history.points


def test_wave_one_is_rejection_from_the_prior():
    r = record(figure("sum", 1.0, 0.1), figure("diff", 1.2, 0.1))
    h = history_match(
        sum_and_difference, r, 3, samples=1 << 14, seed=3, min_members=200, max_members=5000
    )
    assert len(h.waves) == 1 and h.accepted == len(h.weights) > 200
    np.testing.assert_allclose(h.weights, 1.0 / len(h.weights))
    assert (r.implausibility(sum_and_difference(h.points)) < 3).all()
    np.testing.assert_allclose(h.values, sum_and_difference(h.points))
    truth = brute_force(sum_and_difference, r, 3.0)
    np.testing.assert_allclose(weighted_mean(h), truth.mean(axis=0), atol=0.01)
    assert h.pass_rate.shape == (2,) and (h.pass_rate > 0).all()


def test_refocusing_waves_keep_representing_the_prior_restricted_to_the_region():
    # a small region: wave 1 of 4,096 finds too few, so the sampler refocuses
    r = record(figure("sum", 0.8, 0.02), figure("diff", 1.1, 0.02))
    h = history_match(
        sum_and_difference, r, 3, samples=1 << 12, seed=5, min_members=300, max_members=2000
    )
    assert h.waves[0].accepted < 300 and len(h.waves) >= 2
    assert h.waves[1].volume < 0.5  # the second wave sampled a smaller box
    assert (h.implausibility < 3).all() and len(h.weights) >= 300
    assert h.weights.sum() == pytest.approx(1.0) and (h.weights > 0).all()
    truth = brute_force(sum_and_difference, r, 3.0)
    spread = truth.std(axis=0)
    np.testing.assert_allclose(weighted_mean(h), truth.mean(axis=0), atol=0.15 * spread.max())
    # the coordinate that moves nothing keeps its whole prior range
    third = h.points[:, 2]
    assert third.min() < 0.05 and third.max() > 0.95
    assert h.touching == ()


def test_cap_keeps_a_prefix_of_the_sampling_stream():
    r = record(figure("sum", 1.0, 0.2), figure("diff", 1.0, 0.2))
    full = history_match(
        sum_and_difference, r, 3, samples=1 << 12, seed=1, min_members=10, max_members=4096
    )
    capped = history_match(
        sum_and_difference, r, 3, samples=1 << 12, seed=1, min_members=10, max_members=50
    )
    np.testing.assert_array_equal(capped.points, full.points[:50])
    assert capped.accepted == full.accepted
    assert 50 <= capped.used[0] < full.used[0] == 1 << 12


def test_a_record_the_model_cannot_reach_is_reported():
    r = record(figure("sum", 5.0, 0.01), figure("diff", 1.0, 0.1))  # u0 + u1 ≤ 2
    with pytest.raises(InputError) as caught:
        history_match(sum_and_difference, r, 3, samples=1 << 10, seed=0, max_waves=2)
    message = caught.value.one_line()
    assert "found 0 non-implausible runs in 2 waves" in message
    assert "sum (0.0% of the prior pass)" in message


def test_inert_parameters_are_the_ones_that_move_nothing():
    mask = inert_parameters(sum_and_difference, 3, bases=4, seed=1)
    np.testing.assert_array_equal(mask, [False, False, True])


def test_best_fit_recovers_an_identified_point_and_keeps_the_inert_value():
    r = record(figure("sum", 0.9, 0.05), figure("diff", 1.3, 0.05))  # u0 = 0.6, u1 = 0.3
    starts = np.array([[0.1, 0.9, 0.2], [0.9, 0.1, 0.8]])
    fit = best_fit(
        sum_and_difference,
        r,
        starts,
        free=np.array([True, True, False]),
        fixed_point=np.array([0.0, 0.0, 0.42]),
    )
    np.testing.assert_allclose(fit.point, [0.6, 0.3, 0.42], atol=1e-6)
    assert fit.cost < 1e-10 and np.abs(fit.residuals).max() < 1e-5
    assert len(fit.starts) == 2
    # residual evaluations plus p + 1 = 3 runs per Jacobian
    assert fit.runs >= sum(s.evaluations + 3 * s.jacobians for s in fit.starts)


def test_limits_name_conflicting_figures_and_prior_bounds():
    def twice_u0(points):
        u = np.atleast_2d(points)
        return np.column_stack([u[:, 0], u[:, 0], 2.0 * u[:, 1]])

    # figures 0 and 1 read the same quantity but disagree; figure 2 wants u1 beyond 1
    r = record(figure("low", 0.3, 0.1), figure("high", 0.6, 0.1), figure("far", 2.5, 0.1))
    fit = best_fit(
        twice_u0,
        r,
        np.array([[0.5, 0.5, 0.5]]),
        free=np.array([True, True, False]),
        fixed_point=np.full(3, 0.5),
    )
    assert 0.3 < fit.point[0] < 0.6
    assert fit.point[1] == pytest.approx(1.0)
    bounds, opposing = fit.limits(0)
    assert bounds == [] and [k for k, _ in opposing] == [1]
    assert opposing[0][1] == pytest.approx(1.0, rel=1e-3)  # the pulls balance
    bounds, opposing = fit.limits(2)
    assert bounds == [(1, 1)] and opposing == []
    np.testing.assert_array_equal(fit.at_bound(), [0, 1, 0])


def test_mixture_weights_undo_the_refocused_sampling_density():
    from sim.calibration.history_matching import Wave, _weights

    rng = np.random.default_rng(4)
    cube = Wave(1, np.zeros(2), np.ones(2), 4000, 0)
    corner = Wave(2, np.zeros(2), np.full(2, 0.5), 4000, 0)
    points = np.concatenate([rng.random((4000, 2)), 0.5 * rng.random((4000, 2))])
    weights = _weights(points, [cube, corner], [4000, 4000])
    # in the corner the density is 4000 + 4000 / 0.25, elsewhere 4000: weights 1 : 5
    inside = corner.contains(points)
    assert weights[~inside][0] / weights[inside][0] == pytest.approx(5.0)
    assert points.mean(axis=0) == pytest.approx([0.375, 0.375], abs=0.02)  # biased
    assert weights @ points == pytest.approx([0.5, 0.5], abs=0.02)  # the prior's mean
