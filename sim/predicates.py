"""The contract's predicates, vectorised: one implementation for observations, targets and fits.

docs/architecture.md ("Predicates") defines four ways of reading a model quantity ``Q`` at
year ends, where ``Time = Y`` is the end of calendar year Y and a quantity with
``aggregate = "annual"`` is a running total whose value for year Y is ``Q(Y) − Q(Y−1)``:

* ``level``: ``yearly(year)``;
* ``growth``: ``(yearly(last) / yearly(first − 1)) ** (1 / (last − first + 1)) − 1``;
* ``cumulative``: ``Q(last) − Q(first − 1)``;
* ``share``: ``yearly(year) / yearly_of_denominator(year)``.

:func:`predicate` takes arrays whose **last axis is time** (any leading axes: runs, scenarios,
members) and returns one value per leading index, so that 100,000 runs are read in one call.
Values that the formula cannot give are NaN, never an exception or a warning: a share whose
denominator is zero, a growth rate whose start is not positive (or whose ratio is not
positive).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

KINDS = ("level", "growth", "cumulative", "share")
AGGREGATES = ("level", "annual")
TIME_TOLERANCE = 1e-6
"""Relative tolerance when looking for ``Time = Y`` among saved times."""


class MissingTimeError(ValueError):
    """A predicate reads a year end that the saved times do not hold."""

    def __init__(self, year: int, times: np.ndarray):
        self.year = year
        self.times = np.asarray(times, dtype=float)
        span = f"{self.times.min():g}–{self.times.max():g}" if self.times.size else "empty"
        super().__init__(
            f"the run does not hold Time = {year} (time {span}, {self.times.size} points)"
        )


def time_index(times: ArrayLike, year: int) -> int:
    """Position of ``Time = year`` in ``times``.

    Raises
    ------
    MissingTimeError
        When no saved time equals ``year`` within :data:`TIME_TOLERANCE` (relative).
    """
    times = np.asarray(times, dtype=float)
    hits = np.flatnonzero(np.abs(times - year) <= TIME_TOLERANCE * max(1.0, abs(year)))
    if hits.size == 0:
        raise MissingTimeError(year, times)
    return int(hits[0])


def years_read(
    kind: str,
    aggregate: str,
    *,
    year: int | None = None,
    window: tuple[int, int] | None = None,
    denominator_aggregate: str | None = None,
) -> tuple[int, ...]:
    """The year ends whose saved values :func:`predicate` reads, sorted."""
    annual = aggregate == "annual"
    if kind == "level":
        years = [year, year - 1] if annual else [year]
    elif kind == "share":
        either = annual or (denominator_aggregate or aggregate) == "annual"
        years = [year, year - 1] if either else [year]
    elif kind == "growth":
        first, last = window
        years = [last, first - 1] + ([last - 1, first - 2] if annual else [])
    elif kind == "cumulative":
        first, last = window
        years = [last, first - 1]
    else:
        raise ValueError(f"unknown predicate kind {kind!r}; expected one of {KINDS}")
    return tuple(sorted(set(years)))


def predicate(
    series: Mapping[str, ArrayLike],
    times: ArrayLike,
    *,
    quantity: str,
    aggregate: str,
    kind: str,
    year: int | None = None,
    window: tuple[int, int] | None = None,
    denominator: str | None = None,
    denominator_aggregate: str | None = None,
) -> np.ndarray:
    """The value of a predicate for every run at once.

    Parameters
    ----------
    series
        Model quantity → values with time on the last axis, ``(..., time)``; the quantity
        and its denominator must broadcast against each other.
    times
        The saved times (the last axis of each series); must hold every year end the
        predicate reads (see :func:`years_read`).
    quantity, aggregate, kind, year, window, denominator
        The predicate, as in ``model/observed.csv`` and ``model/targets.toml``.
    denominator_aggregate
        Aggregate of the denominator of a ``share``; ``aggregate`` when ``None``.

    Returns
    -------
    numpy.ndarray
        One float per leading index, shape ``(...)``: the level, the average annual growth
        (a fraction: 0.10 is 10 %), the cumulative amount or the share (a fraction); NaN
        where the formula is undefined.

    Raises
    ------
    MissingTimeError
        When ``times`` lacks a year end the predicate reads.
    ValueError
        For an unknown kind or aggregate.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; expected one of {AGGREGATES}")
    times = np.asarray(times, dtype=float)

    def at(name: str, y: int) -> np.ndarray:
        return np.asarray(series[name], dtype=float)[..., time_index(times, y)]

    def yearly(name: str, y: int, how: str) -> np.ndarray:
        return at(name, y) - at(name, y - 1) if how == "annual" else at(name, y)

    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "level":
            return yearly(quantity, year, aggregate)
        if kind == "share":
            numerator = yearly(quantity, year, aggregate)
            bottom = yearly(denominator, year, denominator_aggregate or aggregate)
            return np.where(bottom != 0, numerator / np.where(bottom != 0, bottom, 1.0), np.nan)
        if kind == "growth":
            first, last = window
            start = yearly(quantity, first - 1, aggregate)
            ratio = yearly(quantity, last, aggregate) / np.where(start > 0, start, np.nan)
            positive = np.where(ratio > 0, ratio, np.nan)
            return positive ** (1.0 / (last - first + 1)) - 1.0
        if kind == "cumulative":
            first, last = window
            return at(quantity, last) - at(quantity, first - 1)
    raise ValueError(f"unknown predicate kind {kind!r}; expected one of {KINDS}")
