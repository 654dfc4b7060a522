"""Engine invariants on random small stock-and-flow models drawn by hypothesis.

Each example writes a Vensim model of one to four stocks, each drained first-order and fed
by an inflow drawn from common formulations (constant, saturating, MIN, lookup, STEP,
IF THEN ELSE, SMOOTH, a transfer from another stock), then runs a batch of parameter sets.
With every residence time at least TIME STEP, Euler keeps these stocks non-negative; the
stock accounting and the batch invariants hold for any model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from stock_accounting import accounting_errors

from sim.engine import load_model
from sim.units import check_units

DT = 0.25
INFLOWS = (
    "c{i}",
    "c{i} * s{j} / (s{j} + h{i})",
    "MIN(c{i}, s{j} / tau{j})",
    "c{i} * effect{i}(s{j} / h{i})",
    "c{i} * STEP(1, 2)",
    "IF THEN ELSE(s{j} > h{i}, c{i}, 0)",
    "SMOOTH(c{i} * s{j} / (s{j} + h{i}), 1)",
    "outflow{j}",  # an ageing chain: what leaves one stock enters another
)
PARAMETERS = {"c": (0.0, 50.0), "tau": (DT, 20.0), "init": (0.0, 100.0), "h": (0.1, 100.0)}
UNITS = {"c": "widgets/Year", "tau": "Year", "init": "widgets", "h": "widgets"}


@st.composite
def small_models(draw) -> tuple[str, int]:
    """Text of a random model and its number of stocks."""
    k = draw(st.integers(1, 4), label="stocks")
    lines = ["{UTF-8}"]
    for i in range(k):
        inflow = draw(st.sampled_from(INFLOWS), label=f"inflow {i}")
        j = draw(st.integers(0, k - 1), label=f"source of inflow {i}")
        if inflow == "outflow{j}" and j == i:
            inflow = "c{i}"  # a stock feeding itself is not a transfer
        ys = draw(st.lists(st.floats(0, 3), min_size=3, max_size=3), label="lookup")
        lines += [
            f"s{i} = INTEG(inflow{i} - outflow{i}, init{i})\n ~ widgets ~ |",
            f"inflow{i} = {inflow.format(i=i, j=j)}\n ~ widgets/Year ~ |",
            f"outflow{i} = s{i} / tau{i}\n ~ widgets/Year ~ |",
            f"effect{i}([(0,0)-(2,3)],(0,{ys[0]}),(1,{ys[1]}),(2,{ys[2]}))\n ~ dmnl ~ |",
        ]
        for name, units in UNITS.items():  # every run sets them: the file's value is a stub
            lines.append(f"{name}{i} = 1\n ~ {units} ~ |")
    lines += [
        "INITIAL TIME = 0\n ~ Year ~ |",
        "FINAL TIME = 6\n ~ Year ~ |",
        f"TIME STEP = {DT}\n ~ Year ~ |",
        f"SAVEPER = {DT}\n ~ Year ~ |",
    ]
    return "\n".join(lines) + "\n", k


@st.composite
def parameter_batches(draw, k: int) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 5), label="runs")
    params = {}
    for i in range(k):
        for name, (low, high) in PARAMETERS.items():
            values = st.lists(st.floats(low, high), min_size=n, max_size=n)
            params[f"{name}{i}"] = np.array(draw(values, label=f"{name}{i}"))
    return params


def load(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.mdl"
        path.write_text(text, encoding="utf-8")
        return load_model(path)


@given(data=st.data())
def test_random_models_keep_stocks_non_negative_and_account_for_every_flow(data):
    text, k = data.draw(small_models(), label="model")
    model = load(text)
    assert check_units(model.abstract_model).ok  # every formulation above balances
    params = data.draw(parameter_batches(k), label="parameters")
    ds = model.run(params)
    stocks = [f"s{i}" for i in range(k)]
    for stock in stocks:
        assert (ds[stock].values >= 0).all(), stock
    assert sorted(model.stock_flows) == stocks
    errors = accounting_errors(ds, model.stock_flows, DT)
    for stock, error in errors.items():
        assert error.max() <= 1e-9, stock


@given(data=st.data())
def test_random_models_batches_equal_runs_alone_and_permute(data):
    text, k = data.draw(small_models(), label="model")
    model = load(text)
    params = data.draw(parameter_batches(k), label="parameters")
    n = len(params["c0"])
    together = model.run(params)
    order = np.array(data.draw(st.permutations(range(n)), label="order"))
    permuted = model.run({name: values[order] for name, values in params.items()})
    for i in range(n):
        alone = model.run({name: values[i] for name, values in params.items()})
        for name in together.data_vars:
            np.testing.assert_array_equal(
                together[name].values[i], alone[name].values[0], err_msg=name
            )
    for name in together.data_vars:
        np.testing.assert_array_equal(together[name].values[order], permuted[name].values)
