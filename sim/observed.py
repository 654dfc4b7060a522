"""The 十三五 record, ``model/observed.csv``, and the predicates that read it off a model run.

Each row is one figure with its provenance (see docs/architecture.md, "model/observed.csv").
:func:`predicate_value` applies the shared predicates (``level``, ``growth``, ``cumulative``,
``share``) to a run given as arrays over year-end times, following the time convention:
``Time = Y`` is the end of calendar year Y, and a quantity with ``aggregate = "annual"`` is a
running total whose value for year Y is ``Q(Y) - Q(Y-1)``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError

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
KINDS = ("level", "growth", "cumulative", "share")
AGGREGATES = ("level", "annual")
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
    """The value of a predicate on one run.

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
        The level, average annual growth (a fraction), cumulative amount or share.
    """
    times = np.asarray(times, dtype=float)

    def at(name: str, t: int) -> float:
        hits = np.flatnonzero(np.abs(times - t) < 1e-6)
        if hits.size == 0:
            raise ValueError(f"the run does not hold Time = {t}")
        return float(np.asarray(series[name])[hits[0]])

    def yearly(name: str, y: int) -> float:
        return at(name, y) - at(name, y - 1) if aggregate == "annual" else at(name, y)

    if kind == "level":
        return yearly(quantity, year)
    if kind == "share":
        return yearly(quantity, year) / yearly(denominator, year)
    first, last = window
    if kind == "growth":
        return (yearly(quantity, last) / yearly(quantity, first - 1)) ** (
            1.0 / (last - first + 1)
        ) - 1.0
    if kind == "cumulative":
        return at(quantity, last) - at(quantity, first - 1)
    raise ValueError(f"unknown predicate kind {kind!r}")
