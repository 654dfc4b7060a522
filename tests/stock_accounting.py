"""Stock accounting: recompute each stock's net flow from saved values, independently of the engine.

The engine exposes each stock's INTEG flow expression as PySD's AST
(:attr:`sim.engine.Model.stock_flows`). Evaluating that expression on the values the engine
*saved* at every time step, and summing flow × TIME STEP, must give the stock's change: this
checks that the saved auxiliaries are the values that drove the integration (ordering, timing
and saving), without reusing the engine's generated code.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr
from pysd.translators.structures import abstract_expressions as ae

_BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
}
_FUNCTIONS = {"min": np.minimum, "max": np.maximum, "abs": np.abs, "exp": np.exp}


def evaluate(node, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Value of an arithmetic expression tree over saved arrays (names → run × time)."""
    if isinstance(node, int | float):
        return np.float64(node)
    if isinstance(node, ae.ReferenceStructure):
        if node.subscripts:
            raise NotImplementedError(f"subscripted reference {node.reference}")
        return np.asarray(values[node.reference])
    if isinstance(node, ae.ArithmeticStructure):
        args = [evaluate(a, values) for a in node.arguments]
        if len(args) == 1 and list(node.operators) == ["negative"]:
            return -args[0]
        if all(op == "^" for op in node.operators):  # groups from the right, as in Vensim
            result = args[-1]
            for left in reversed(args[:-1]):
                result = np.power(left, result)
            return result
        result = args[0]
        for op, right in zip(node.operators, args[1:], strict=True):
            result = _BINARY[op](result, right)
        return result
    if isinstance(node, ae.CallStructure) and node.function.reference in _FUNCTIONS:
        args = [evaluate(a, values) for a in node.arguments]
        return _FUNCTIONS[node.function.reference](*args)
    raise NotImplementedError(f"flow expression {type(node).__name__} is not evaluated here")


def referenced(node) -> set[str]:
    """Names an expression tree refers to."""
    if isinstance(node, ae.ReferenceStructure):
        return {node.reference}
    children = getattr(node, "arguments", ())
    return set().union(*(referenced(child) for child in children))


def accounting_errors(ds: xr.Dataset, flows: Mapping[str, object], dt: float) -> dict:
    """For each stock: |Δstock − Σ net flow × dt| over the run, relative to the stock's scale.

    ``ds`` must be saved at every time step (``saveper = time_step``). The scale is the
    larger of the stock's largest magnitude and Σ |net flow| × dt, so that a stock that
    ends where it started is measured against what moved through it.
    """
    steps = np.diff(ds.time.values)
    np.testing.assert_allclose(steps, dt, rtol=1e-9)  # one saved value per Euler step
    values = {name: ds[name].values for name in ds.data_vars}
    errors = {}
    for stock, flow in flows.items():
        level = values[stock]
        net = np.broadcast_to(evaluate(flow, values), level.shape)
        moved = net[:, :-1] * dt
        change = level[:, -1] - level[:, 0]
        scale = np.maximum(np.abs(level).max(axis=1), np.abs(moved).sum(axis=1))
        scale = np.where(scale > 0, scale, 1.0)
        errors[stock] = np.abs(change - moved.sum(axis=1)) / scale
    return errors
