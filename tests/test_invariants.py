"""Invariants of the Heping model on the batched engine, for any lever setting and prior draw.

Automated "reality checks" with hypothesis: each example is a *batch* of runs (lever values
anywhere in their ranges, with their ends and status quo favoured; parameters anywhere in
their prior ranges) through one engine call. The tolerances are stated in docs/model.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stock_accounting import accounting_errors, referenced

from sim.batch import constant_values
from sim.engine import load_model
from sim.modelcheck import engine_model_runner, lever_violations, load_catalogues
from sim.resources import model_dir, model_path
from sim.targets import load_targets, represented

LEVERS, PRIORS = load_catalogues(model_dir())
TARGETS = represented(load_targets())
# Halving TIME STEP moves each 2025 target quantity by less than this (docs/model.md).
TIME_STEP_TOLERANCE = 0.08
TIME_STEP_TOLERANCE_STATUS_QUO = 0.005


@pytest.fixture(scope="module")
def model():
    return load_model(model_path())


@pytest.fixture(scope="module")
def dt(model) -> float:
    return constant_values(model, ["time_step"])["time_step"]


def lever_value(lever) -> st.SearchStrategy[float]:
    ends = st.sampled_from([lever["min"], lever["max"], lever["status_quo"]])
    return st.one_of(ends, st.floats(lever["min"], lever["max"]))


def prior_value(prior) -> st.SearchStrategy[float]:
    return st.floats(prior.low, prior.high)


SETTING = st.fixed_dictionaries(
    {lever["constant"]: lever_value(lever) for lever in LEVERS.values()}
    | {name: prior_value(prior) for name, prior in PRIORS.items()}
)
BATCH = st.lists(SETTING, min_size=1, max_size=6)


def as_params(batch: list[dict]) -> dict[str, np.ndarray]:
    return {name: np.array([run[name] for run in batch]) for name in batch[0]}


# ------------------------------------------------------------------- stocks


@given(batch=BATCH)
def test_every_stock_stays_non_negative(model, dt, batch):
    stocks = [*model.stocks, "office_occupancy", "revenue_for_budgeting"]  # + the SMOOTHs
    ds = model.run(as_params(batch), len(batch), saveper=dt, return_columns=stocks)
    for stock in stocks:
        values = ds[stock].values
        assert np.isfinite(values).all(), stock
        assert (values >= 0).all(), f"{stock} went negative: {values.min()}"


@given(batch=BATCH)
def test_each_stock_changes_by_its_net_flow_times_the_time_step(model, dt, batch):
    flows = model.stock_flows
    assert set(flows) == set(model.stocks)
    columns = set(flows) | {name for flow in flows.values() for name in referenced(flow)}
    ds = model.run(as_params(batch), len(batch), saveper=dt, return_columns=sorted(columns))
    errors = accounting_errors(ds, flows, dt)
    for stock, error in errors.items():
        assert error.max() <= 1e-9, f"{stock}: |Δstock − Σ flow·dt| = {error.max():.3g} × scale"


# ------------------------------------------------------------------- batches


@given(batch=st.lists(SETTING, min_size=2, max_size=6), data=st.data())
def test_a_run_in_a_batch_equals_it_alone_and_permuting_permutes(model, batch, data):
    params = as_params(batch)
    n = len(batch)
    together = model.run(params, n)
    alone = data.draw(st.integers(0, n - 1), label="run")
    single = model.run({k: v[alone] for k, v in params.items()})
    order = np.array(data.draw(st.permutations(range(n)), label="order"))
    permuted = model.run({k: v[order] for k, v in params.items()}, n)
    for name in together.data_vars:
        values = together[name].values
        np.testing.assert_array_equal(values[alone], single[name].values[0], err_msg=name)
        np.testing.assert_array_equal(values[order], permuted[name].values, err_msg=name)


# ------------------------------------------------------------------- levers

DECLARING = sorted(key for key, lever in LEVERS.items() if lever["raises"] or lever["lowers"])


@given(key=st.sampled_from(DECLARING), batch=BATCH, data=st.data())
def test_each_lever_moves_its_declared_quantities_only_the_declared_way(model, key, batch, data):
    lever = LEVERS[key]
    pairs = data.draw(
        st.lists(st.tuples(lever_value(lever), lever_value(lever)), min_size=len(batch),
                 max_size=len(batch)),
        label="lever values",
    )  # fmt: skip
    low = np.array([min(p) for p in pairs])
    high = np.array([max(p) for p in pairs])
    base = as_params(batch)
    found = lever_violations(engine_model_runner(model), key, lever, base, low, high)
    assert found == []


@given(batch=BATCH)
def test_lever_spending_never_exceeds_the_budget_available(model, dt, batch):
    effective = [f"{lever['constant']}_effective" for lever in LEVERS.values()]
    columns = ["lever_budget_scale", "lever_spending", "lever_budget_available", *effective]
    ds = model.run(as_params(batch), len(batch), saveper=dt, return_columns=columns)
    scale = ds["lever_budget_scale"].values
    spending = ds["lever_spending"].values
    available = ds["lever_budget_available"].values
    assert ((scale >= 0) & (scale <= 1)).all()
    assert (spending >= 0).all()
    assert (spending <= available * (1 + 1e-12)).all(), (spending / available).max()
    # what the levers actually get (the effective values that drive the model) adds up to it
    effective = sum(
        ds[f"{lever['constant']}_effective"].values * lever["cost_per_unit"]
        for lever in LEVERS.values()
    )
    np.testing.assert_allclose(effective, spending, rtol=1e-12)


# ------------------------------------------------------------------- time step


def year_2025_quantities(ds) -> dict[str, np.ndarray]:
    """What the 2025 targets read: a level at 2025, or a running total's 2025 amount."""
    values = {}
    for target in TARGETS:
        q = ds[target.quantity]
        if target.aggregate == "annual":
            values[target.quantity] = (q.sel(time=2025) - q.sel(time=2024)).values
        else:
            values[target.quantity] = q.sel(time=2025).values
    return values


def time_step_changes(model, dt, params=None, n=None) -> dict[str, np.ndarray]:
    columns = sorted({t.quantity for t in TARGETS})
    coarse = model.run(params, n, return_columns=columns)
    fine = model.run(params, n, return_columns=columns, time_step=dt / 2)
    a, b = year_2025_quantities(coarse), year_2025_quantities(fine)
    return {q: np.abs(b[q] - a[q]) / np.abs(a[q]) for q in a}


@given(batch=BATCH)
def test_halving_the_time_step_moves_2025_target_quantities_little(model, dt, batch):
    changes = time_step_changes(model, dt, as_params(batch), len(batch))
    for quantity, change in changes.items():
        assert change.max() < TIME_STEP_TOLERANCE, f"{quantity}: {change.max():.2%}"


def test_halving_the_time_step_at_the_status_quo(model, dt):
    changes = time_step_changes(model, dt)
    worst = max(float(c.max()) for c in changes.values())
    assert 0 < worst < TIME_STEP_TOLERANCE_STATUS_QUO
