"""Batched built-ins: Vensim functions over arrays whose first axis is the run.

Every function here takes numpy arrays (or floats) that broadcast against each other and
returns an array; none loops over runs. The semantics follow PySD 3.14's ``py_backend``
(the reference engine) so that the two agree to rounding: the same thresholds (Vensim's
"small" 1e-6), the same half-step in STEP, the same hold-at-the-ends rule for lookups.
"""

from __future__ import annotations

import numpy as np

SMALL_VENSIM = 1e-6  # what Vensim (and PySD) treat as zero in XIDZ, ZIDZ, QUANTUM, PULSE


def lift(value, rank: int):
    """Give a value without subscripts ``rank`` trailing length-1 axes (run axis first)."""
    return np.reshape(value, (-1,) + (1,) * rank)


def fill(value, shape: tuple[int, ...]):
    """Broadcast a run-first array to the full trailing ``shape`` (read-only view)."""
    value = np.asarray(value, dtype=float)
    if value.ndim != len(shape) + 1:  # a number or a run vector: give it the subscript axes
        value = value.reshape((-1,) + (1,) * len(shape))
    return np.broadcast_to(value, value.shape[:1] + shape)


def gather(value, flat_index: np.ndarray):
    """Select and reorder subscript elements: ``flat_index`` indexes the flattened trailing axes."""
    value = np.asarray(value)
    return value.reshape(value.shape[0], -1)[:, flat_index]


def assemble(n_runs: int, shape: tuple[int, ...], parts) -> np.ndarray:
    """Build an element from components that each define part of its subscript space.

    ``parts`` holds ``(value, local_shape, dst, src)``: the component's value over its own
    subscripts, the flat positions it fills in the element, and which of its own flat
    positions go there (EXCEPT removes some).
    """
    out = np.full((n_runs, *shape), np.nan)
    flat = out.reshape(n_runs, -1)
    for value, local_shape, dst, src in parts:
        full = np.broadcast_to(np.asarray(value, dtype=float), (n_runs, *local_shape))
        flat[:, dst] = full.reshape(n_runs, -1)[:, src]
    return out


def step(time: float, time_step: float, height, start):
    """STEP: ``height`` from ``start`` on (PySD compares with half a time step of slack)."""
    return height * (time + time_step / 2 > start)


def ramp(time: float, slope, start, finish=None):
    """RAMP: rises with ``slope`` from ``start``, flat after ``finish`` (if given)."""
    final = time if finish is None else np.minimum(finish, time)
    return (time + SMALL_VENSIM > start) * slope * (final - start)


def pulse(time: float, time_step: float, start, width):
    """PULSE: 1 during ``[start, start + width)``."""
    return np.logical_and(start - SMALL_VENSIM <= time, time < start + width) * 1.0


def pulse_train(time: float, time_step: float, start, interval, width, end):
    """PULSE TRAIN: a pulse of ``width`` every ``interval`` from ``start`` until ``end``."""
    single = np.logical_and(start - SMALL_VENSIM <= time, time < start + width)
    active = np.logical_and(start <= time, time < end)
    with np.errstate(divide="ignore", invalid="ignore"):
        repeated = np.remainder(time - start + SMALL_VENSIM, interval) < width
    return np.where(interval == 0, single, np.logical_and(active, repeated)) * 1.0


def xidz(numerator, denominator, fallback):
    """XIDZ: ``numerator / denominator``, or ``fallback`` where the denominator is ~0."""
    return np.where(np.abs(denominator) < SMALL_VENSIM, fallback, np.divide(numerator, denominator))


def zidz(numerator, denominator):
    """ZIDZ: ``numerator / denominator``, or 0 where the denominator is ~0."""
    return np.where(np.abs(denominator) < SMALL_VENSIM, 0.0, np.divide(numerator, denominator))


def quantum(value, quantum_):
    """QUANTUM: ``value`` rounded toward zero to a multiple of ``quantum_`` (if positive)."""
    return np.where(quantum_ < SMALL_VENSIM, value, quantum_ * np.trunc(value / quantum_))


def modulo(value, modulus):
    """MODULO as Vensim (and PySD) define it: ``value - QUANTUM(value, modulus)``."""
    return value - quantum(value, modulus)


def log(value, base):
    """LOG(x, base)."""
    return np.log(value) / np.log(base)


def lookup(x, xs: np.ndarray, ys: np.ndarray):
    """Piecewise-linear lookup, holding the end values outside the table (PySD's rule).

    ``xs`` is the sorted 1-D abscissa. ``ys`` is 1-D for a plain table, or has the
    abscissa on its first axis followed by subscript axes aligned with ``x``'s trailing axes.
    """
    if ys.ndim == 1:
        return np.interp(x, xs, ys)
    x = np.asarray(x, dtype=float)
    last = len(xs) - 1
    j = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, last - 1)
    x0, x1 = xs[j], xs[j + 1]
    table = ys[None]  # (1, K, *subscripts): runs broadcast against the table
    y0 = np.take_along_axis(table, j[:, None], axis=1)[:, 0]
    y1 = np.take_along_axis(table, (j + 1)[:, None], axis=1)[:, 0]
    inside = y0 + (x - x0) / (x1 - x0) * (y1 - y0)
    return np.where(x <= xs[0], ys[0], np.where(x >= xs[last], ys[last], inside))


class StatefulSetupError(Exception):
    """A delay cannot be set up the same way in every run; ``index`` names the stateful."""

    def __init__(self, index: int, message: str):
        self.index = index
        super().__init__(message)


def check_delay_order(order: int, delay_time, time_step: float, index: int) -> None:
    """Refuse delays shorter than ``order`` time steps.

    PySD silently lowers the order of such a delay, by a different amount in each run when
    the delay time varies; a batch cannot hold different state counts per run, so we stop.
    """
    if order * time_step > np.min(delay_time):
        raise StatefulSetupError(
            index,
            f"delay time is shorter than order ({order}) × TIME STEP ({time_step}); "
            "lengthen the delay or shorten TIME STEP",
        )


def delay_fixed_length(delay_time, time_step: float, index: int) -> int:
    """Number of TIME STEPs a DELAY FIXED pipe holds (the same rounding as PySD)."""
    lengths = np.unique(np.round(np.maximum(np.asarray(delay_time) / time_step, 1) + SMALL_VENSIM))
    if len(lengths) != 1:
        raise StatefulSetupError(index, "DELAY FIXED delay time must be the same in every run")
    return int(lengths[0])


def shift_in(first, stages: np.ndarray) -> np.ndarray:
    """``[first, stages[0], …, stages[-2]]``: what flows into each stage of a cascade."""
    out = np.empty_like(stages)
    out[0] = first
    out[1:] = stages[:-1]
    return out


def _uniform_int(value, index: int, what: str) -> int:
    values = np.unique(np.asarray(value, dtype=float))
    if len(values) != 1:
        raise StatefulSetupError(index, f"{what} must be the same in every run")
    return int(values[0])


def smooth_order(order, index: int) -> int:
    """The order of a SMOOTH N (SMOOTH/SMOOTH3 pass 1 or 3), as PySD casts it."""
    return _uniform_int(order, index, "SMOOTH order")


def delay_order(order, delay_time, time_step: float, index: int) -> int:
    """The order of a DELAY, lowered as PySD does while order × TIME STEP > delay time.

    The lowering depends on each run's delay time; a batch needs one order, so runs that
    would end with different orders are refused.
    """
    declared = _uniform_int(order, index, "delay order")
    shortest = np.asarray(delay_time, dtype=float)
    per_run = shortest.reshape(shortest.shape[0], -1).min(axis=1) if shortest.ndim else shortest
    orders = set()
    for value in np.unique(np.atleast_1d(per_run)):
        lowered = declared
        while lowered * time_step > value:
            lowered -= 1
        orders.add(lowered)
    if len(orders) != 1:
        raise StatefulSetupError(
            index,
            "delay time is shorter than order × TIME STEP in some runs only; PySD would use "
            "a different delay order per run",
        )
    return orders.pop()
