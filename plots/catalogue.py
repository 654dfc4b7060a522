"""What the charts need from targets.toml and levers.toml.

Minimal readers that follow the contracts in docs/architecture.md (field names as there),
until the shared loaders (``sim.targets.load_targets``, ``sim.scenarios.load_levers``) are
on this branch; they report a bad file as :class:`~sim.errors.InputError`. The record is
read by :func:`sim.observed.load_observed`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError

PREDICATE_KINDS = ("level", "growth", "cumulative", "share")
AGGREGATES = ("level", "annual")


@dataclass(frozen=True)
class Target:
    """One target of ``model/targets.toml``."""

    key: str
    name_en: str
    name_zh: str
    kind: str
    comparison: str
    threshold: float
    unit: str
    represented: bool
    quantity: str | None = None
    aggregate: str = "level"
    year: int | None = None
    window: tuple[int, int] | None = None
    denominator: str | None = None

    @property
    def last_year(self) -> int:
        """The year the target is judged at: its ``year``, or the end of its window."""
        return self.window[1] if self.window else int(self.year)


@dataclass(frozen=True)
class Lever:
    """The parts of a ``model/levers.toml`` entry that label a chart."""

    key: str
    name_en: str
    name_zh: str
    unit: str
    status_quo: float
    min: float
    max: float


def _default(name: str) -> Path:
    from sim.resources import model_dir

    try:
        return model_dir() / name
    except FileNotFoundError:
        raise InputError(
            f"the shipped model/{name} was not found",
            expected="a file given with --targets or --lever-file",
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", file=path) from None


def _field(
    entry: dict[str, Any], name: str, types: type | tuple[type, ...], path: Path, where: str
):
    if name not in entry:
        raise InputError("missing field", file=path, key=f"{where}.{name}")
    value = entry[name]
    # bool is an int in Python, but `threshold = true` is a mistake, not the number 1
    accepted = isinstance(value, types) and (
        bool in _as_tuple(types) or not isinstance(value, bool)
    )
    if not accepted:
        raise InputError("wrong type", file=path, key=f"{where}.{name}", expected=_type_text(types))
    return value


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_text(types: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in _as_tuple(types)))


def _window(value: Any, path: Path, key: str) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or value[0] > value[1]
    ):
        raise InputError("bad window", file=path, key=key, expected="[first_year, last_year]")
    return int(value[0]), int(value[1])


def load_targets(path: str | Path | None = None) -> dict[str, Target]:
    """Read ``model/targets.toml`` (the shipped one when ``path`` is omitted).

    Returns
    -------
    dict
        Target key → :class:`Target`, in file order (represented or not).
    """
    path = Path(path) if path is not None else _default("targets.toml")
    tables = _read_toml(path).get("targets")
    if not isinstance(tables, dict) or not tables:
        raise InputError("no targets defined", file=path, key="targets", expected="[targets.<key>]")
    catalogue: dict[str, Target] = {}
    for key, entry in tables.items():
        where = f"targets.{key}"
        if not isinstance(entry, dict):
            raise InputError("wrong type", file=path, key=where, expected="a table")
        kind = _field(entry, "kind", str, path, where)
        if kind not in PREDICATE_KINDS:
            raise InputError(
                f"unknown kind {kind!r}",
                file=path,
                key=f"{where}.kind",
                expected=" | ".join(PREDICATE_KINDS),
            )
        comparison = _field(entry, "comparison", str, path, where)
        if comparison not in (">=", "<="):
            raise InputError(
                "bad comparison", file=path, key=f"{where}.comparison", expected=">= or <="
            )
        represented = _field(entry, "represented", bool, path, where)
        aggregate = entry.get("aggregate", "level")
        if aggregate not in AGGREGATES:
            raise InputError(
                "bad aggregate", file=path, key=f"{where}.aggregate", expected="level or annual"
            )
        year = window = None
        if kind in ("level", "share"):
            year = _field(entry, "year", int, path, where)
        else:
            window = _window(entry.get("window"), path, f"{where}.window")
        catalogue[key] = Target(
            key=key,
            name_en=_field(entry, "name_en", str, path, where),
            name_zh=_field(entry, "name_zh", str, path, where),
            kind=kind,
            comparison=comparison,
            threshold=float(_field(entry, "threshold", (int, float), path, where)),
            unit=str(entry.get("unit", "")),
            represented=represented,
            quantity=_field(entry, "quantity", str, path, where) if represented else None,
            aggregate=aggregate,
            year=year,
            window=window,
            denominator=entry.get("denominator") if kind == "share" else None,
        )
    return catalogue


def load_levers(path: str | Path | None = None) -> dict[str, Lever]:
    """Read the names, units and ranges of ``model/levers.toml`` (shipped one by default)."""
    path = Path(path) if path is not None else _default("levers.toml")
    tables = _read_toml(path).get("levers")
    if not isinstance(tables, dict) or not tables:
        raise InputError("no levers defined", file=path, key="levers", expected="[levers.<key>]")
    catalogue = {}
    for key, entry in tables.items():
        where = f"levers.{key}"
        if not isinstance(entry, dict):
            raise InputError("wrong type", file=path, key=where, expected="a table")
        catalogue[key] = Lever(
            key=key,
            name_en=_field(entry, "name_en", str, path, where),
            name_zh=_field(entry, "name_zh", str, path, where),
            unit=_field(entry, "unit", str, path, where),
            status_quo=float(_field(entry, "status_quo", (int, float), path, where)),
            min=float(_field(entry, "min", (int, float), path, where)),
            max=float(_field(entry, "max", (int, float), path, where)),
        )
    return catalogue
