"""The 十三五 record, ``model/observed.csv``, and the predicates that read it off a model run.

Each row is one figure with its provenance (see docs/architecture.md, "model/observed.csv").
:func:`predicate_value` (one run) and :func:`observation_values` (many runs, every figure)
read the record's figures off model output with the shared predicates of
:mod:`sim.predicates`, following the time convention: ``Time = Y`` is the end of calendar year
Y, and a quantity with ``aggregate = "annual"`` is a running total whose value for year Y is
``Q(Y) - Q(Y-1)``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.predicates import AGGREGATES, KINDS, predicate

COLUMNS = (
    "key",
    "quantity",
    "aggregate",
    "kind",
    "year",
    "window_first",
    "window_last",
    "denominator",
    "value",
    "unit",
    "rel_sigma",
    "source",
    "quote",
    "note",
    "use",
)
USES = ("calibrate", "context")


@dataclass(frozen=True)
class Observation:
    """One figure of the record (a row of ``model/observed.csv``)."""

    key: str
    value: float
    unit: str
    rel_sigma: float
    source: str
    quote: str
    note: str
    use: str
    quantity: str = ""
    aggregate: str = ""
    kind: str = ""
    year: int | None = None
    window: tuple[int, int] | None = None
    denominator: str = ""

    def period_text(self) -> str:
        """``2020`` or ``2016–2020`` (empty when the figure has no date)."""
        if self.window:
            first, last = self.window
            return str(first) if first == last else f"{first}–{last}"
        return "" if self.year is None else str(self.year)


def _int_or_none(text: str, path: Path, key: str) -> int | None:
    if text.strip() == "":
        return None
    try:
        return int(float(text))
    except ValueError:
        raise InputError("not a year", file=path, key=key, expected="an integer year") from None


def load_observed(path: str | Path | None = None) -> list[Observation]:
    """Read and check ``model/observed.csv`` (the shipped one by default).

    Raises
    ------
    InputError
        On a missing column, a value that is not a number, an unknown kind, aggregate or use,
        or a row meant for calibration without a quantity and a date.
    """
    if path is None:
        from sim.resources import model_dir

        path = model_dir() / "observed.csv"
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing columns {missing}", file=path, expected=", ".join(COLUMNS))
        rows = list(reader)
    observations = []
    for row in rows:
        key = row["key"]
        where = f"{key}"
        try:
            value, rel_sigma = float(row["value"]), float(row["rel_sigma"])
        except ValueError:
            raise InputError("value or rel_sigma is not a number", file=path, key=where) from None
        for column, allowed in (("kind", KINDS), ("aggregate", AGGREGATES), ("use", USES)):
            if row[column] and row[column] not in allowed:
                raise InputError(
                    f"unknown {column} {row[column]!r}",
                    file=path,
                    key=where,
                    expected=" | ".join(allowed),
                )
        first = _int_or_none(row["window_first"], path, f"{where}.window_first")
        last = _int_or_none(row["window_last"], path, f"{where}.window_last")
        obs = Observation(
            key=key,
            value=value,
            unit=row["unit"],
            rel_sigma=rel_sigma,
            source=row["source"],
            quote=row["quote"],
            note=row["note"],
            use=row["use"],
            quantity=row["quantity"],
            aggregate=row["aggregate"],
            kind=row["kind"],
            year=_int_or_none(row["year"], path, f"{where}.year"),
            window=None if first is None or last is None else (first, last),
            denominator=row["denominator"],
        )
        if obs.use == "calibrate":
            dated = obs.window if obs.kind in ("growth", "cumulative") else obs.year
            if not (obs.quantity and obs.aggregate and obs.kind and dated):
                raise InputError(
                    "a calibration figure needs quantity, aggregate, kind and its year or window",
                    file=path,
                    key=where,
                )
        observations.append(obs)
    return observations


def predicate_value(
    series: Mapping[str, np.ndarray],
    times: np.ndarray,
    *,
    quantity: str,
    aggregate: str,
    kind: str,
    year: int | None = None,
    window: tuple[int, int] | None = None,
    denominator: str = "",
) -> float:
    """The value of a predicate on one run (:func:`sim.predicates.predicate` on one series).

    Parameters
    ----------
    series
        Model quantity (python-safe name) -> values at ``times``.
    times
        Saved times; must include every year end the predicate reads.
    quantity, aggregate, kind, year, window, denominator
        The predicate, as in observed.csv and targets.toml.

    Returns
    -------
    float
        The level, average annual growth (a fraction), cumulative amount or share; NaN
        where the formula is undefined.

    Raises
    ------
    sim.predicates.MissingTimeError
        (a ``ValueError``) when ``times`` lacks a year end the predicate reads.
    """
    return float(
        predicate(
            series,
            times,
            quantity=quantity,
            aggregate=aggregate,
            kind=kind,
            year=year,
            window=window,
            denominator=denominator or None,
        )
    )


def observation_values(
    observations: Sequence[Observation], series: Mapping[str, np.ndarray], times: np.ndarray
) -> np.ndarray:
    """The model's value of each observation for every run.

    Parameters
    ----------
    observations
        Figures with a model quantity (``use = "calibrate"`` rows have one).
    series
        Model quantity -> values ``(runs, time)`` (or any leading shape, time last).
    times
        The saved times.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., len(observations))``; NaN where a predicate is undefined.
    """
    columns = [
        predicate(
            series,
            times,
            quantity=o.quantity,
            aggregate=o.aggregate,
            kind=o.kind,
            year=o.year,
            window=o.window,
            denominator=o.denominator or None,
        )
        for o in observations
    ]
    return np.stack(np.broadcast_arrays(*columns), axis=-1)
