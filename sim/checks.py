"""Reality checks: statements a modeller makes in plain words, tested over many runs.

``model/checks.toml`` holds checks such as "with no talent programme, talent introduced is
no higher than in the status quo" in a form the engine can test (Vensim's *Reality Check*,
SDEverywhere's checks). Each check names a quantity, the settings of the tested runs (lever
values, model constants, whether the other levers and the parameters are drawn at random)
and what must hold, at every time step of a window:

* ``compare = "status_quo"`` — the quantity against the same run with the check's levers at
  their status quo and its constants at their model (or drawn) values, all else equal;
* ``compare = "value"`` — the quantity against a number or another model variable;
* ``compare = "trend"`` — the quantity ``"falls"`` or ``"rises"`` from the first time of the
  window to the last.

The schema is documented in docs/architecture.md. :func:`run_checks` runs every draw of a
check (tested and reference runs) in one engine call and reports, for a failing check, the
worst run: its lever values, its parameter values and the first time the statement fails.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError, nearest
from sim.scenarios import LeverCatalogue
from sim.tomlfile import as_number, as_string, as_table, check_keys, read_toml, type_name

CHECK_FIELDS = (
    "statement",
    "quantity",
    "compare",
    "comparison",
    "value",
    "trend",
    "levers",
    "parameters",
    "other_levers",
    "draws",
    "samples",
    "window",
)
COMPARES = ("status_quo", "value", "trend")
COMPARISONS = ("<", "<=", ">", ">=")
TRENDS = ("falls", "rises")
OTHER_LEVERS = ("status_quo", "sampled")
DRAWS = ("model", "priors")
LEVER_WORDS = ("min", "max", "status_quo")
DEFAULT_SAMPLES = 200
# Two values closer than this, relative to their size, are equal: "<=" allows it, "<" does
# not count it as lower (float rounding, e.g. spending = ask × budget / ask).
RTOL = 1e-9


@dataclass(frozen=True)
class Check:
    """One reality check of ``checks.toml`` (see the module docstring)."""

    key: str
    statement: str
    quantity: str
    compare: str
    comparison: str | None = None
    value: float | str | None = None  # a number, or a model variable's name
    trend: str | None = None
    levers: dict[str, float] = field(default_factory=dict)  # lever key → value
    parameters: dict[str, float] = field(default_factory=dict)  # model constant → value
    other_levers: str = "status_quo"
    draws: str = "model"
    samples: int = DEFAULT_SAMPLES
    window: tuple[float, float] | None = None

    @property
    def sampled(self) -> bool:
        """Whether the check draws runs at random (otherwise it is one run)."""
        return self.other_levers == "sampled" or self.draws == "priors"

    def expectation(self) -> str:
        """What must hold, in words: ``talent_introduced_total < status quo``."""
        if self.compare == "trend":
            return f"{self.quantity} {self.trend}"
        against = "status quo" if self.compare == "status_quo" else _text(self.value)
        return f"{self.quantity} {self.comparison} {against}"


@dataclass(frozen=True)
class Failure:
    """The worst failing run of a check."""

    run: int
    time: float
    value: float
    reference: float
    reference_label: str  # "status quo", a variable's name, a number, "2020 value"
    levers: dict[str, float]
    parameters: dict[str, float]  # drawn or set model constants of this run


@dataclass(frozen=True)
class CheckResult:
    """A check and what its runs showed."""

    check: Check
    runs: int
    failed_runs: int
    failure: Failure | None

    @property
    def passed(self) -> bool:
        return self.failure is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``heping-sd check --json``)."""
        out: dict[str, Any] = {
            "statement": self.check.statement,
            "expected": self.check.expectation(),
            "passed": self.passed,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
        }
        if self.failure is not None:
            f = self.failure
            out["failure"] = {
                "run": f.run,
                "time": f.time,
                "value": _json_number(f.value),
                "reference": _json_number(f.reference),
                "reference_label": f.reference_label,
                "levers": f.levers,
                "parameters": f.parameters,
            }
        return out


def _json_number(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _text(value: float | str | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- loading


def load_checks(
    path: str | Path,
    catalogue: LeverCatalogue,
    *,
    variables: Collection[str] | None = None,
    constants: Collection[str] | None = None,
) -> dict[str, Check]:
    """Read and validate a ``checks.toml`` file.

    Parameters
    ----------
    path
        The checks file.
    catalogue
        The lever catalogue (:func:`sim.scenarios.load_levers`): lever keys and ranges.
    variables, constants
        The model's variable and constant names (:attr:`sim.engine.Model.variables`,
        :attr:`~sim.engine.Model.constants`); when given, quantities and parameters are
        checked against them.

    Returns
    -------
    dict
        Check key → :class:`Check`, in file order.

    Raises
    ------
    InputError
        For any problem, naming the file, the key, what was expected and the nearest
        valid name.
    """
    path = Path(path)
    data = read_toml(path)
    check_keys(data, ["checks"], file=path, prefix="", what="top-level key")
    table = as_table(data.get("checks", {}), file=path, key="checks")
    if not table:
        raise InputError("no checks defined", file=path, key="checks", expected="[checks.<key>]")
    return {
        key: _check(key, as_table(entry, file=path, key=f"checks.{key}"), path, catalogue,
                    variables, constants)
        for key, entry in table.items()
    }  # fmt: skip


def _check(
    key: str,
    entry: dict[str, Any],
    path: Path,
    catalogue: LeverCatalogue,
    variables: Collection[str] | None,
    constants: Collection[str] | None,
) -> Check:
    where = f"checks.{key}"
    check_keys(entry, CHECK_FIELDS, file=path, prefix=f"{where}.", what="check field")
    for required in ("statement", "quantity", "compare"):
        if required not in entry:
            raise InputError("missing field", file=path, key=f"{where}.{required}")

    def choice(name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        if name not in entry:
            return default
        value = as_string(entry[name], file=path, key=f"{where}.{name}")
        if value not in options:
            raise InputError(
                f"unknown value {value!r}",
                file=path,
                key=f"{where}.{name}",
                expected=" or ".join(repr(o) for o in options),
                suggestions=nearest(value, options),
            )
        return value

    statement = as_string(entry["statement"], file=path, key=f"{where}.statement").strip()
    if not statement:
        raise InputError("empty statement", file=path, key=f"{where}.statement")
    quantity = _variable(entry["quantity"], path, f"{where}.quantity", variables)
    compare = choice("compare", COMPARES)
    comparison = choice("comparison", COMPARISONS)
    trend = choice("trend", TRENDS)
    value = None
    if compare == "trend":
        if trend is None:
            raise InputError("missing field", file=path, key=f"{where}.trend",
                             expected="'falls' or 'rises' with compare = 'trend'")  # fmt: skip
        for unused in ("comparison", "value"):
            if unused in entry:
                raise InputError("not used with compare = 'trend'", file=path,
                                 key=f"{where}.{unused}")  # fmt: skip
    else:
        if comparison is None:
            raise InputError("missing field", file=path, key=f"{where}.comparison",
                             expected=" or ".join(repr(c) for c in COMPARISONS))  # fmt: skip
        if trend is not None:
            raise InputError("only used with compare = 'trend'", file=path, key=f"{where}.trend")
        if compare == "value":
            if "value" not in entry:
                raise InputError("missing field", file=path, key=f"{where}.value",
                                 expected="a number or a model variable")  # fmt: skip
            raw = entry["value"]
            value = (
                _variable(raw, path, f"{where}.value", variables)
                if isinstance(raw, str)
                else as_number(raw, file=path, key=f"{where}.value",
                               what="a number or a model variable")
            )  # fmt: skip
        elif "value" in entry:
            raise InputError("only used with compare = 'value'", file=path, key=f"{where}.value")
    levers = _levers(entry.get("levers", {}), path, f"{where}.levers", catalogue)
    parameters = _parameters(entry.get("parameters", {}), path, f"{where}.parameters",
                             catalogue, constants)  # fmt: skip
    if compare == "status_quo" and not levers and not parameters:
        raise InputError(
            "nothing to compare with the status quo",
            file=path,
            key=where,
            expected="levers or parameters that differ from the status quo",
        )
    samples = DEFAULT_SAMPLES
    if "samples" in entry:
        raw = entry["samples"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise InputError(f"wrong value: {raw!r}", file=path, key=f"{where}.samples",
                             expected="a whole number of runs, at least 1")  # fmt: skip
        samples = raw
    return Check(
        key=key,
        statement=statement,
        quantity=quantity,
        compare=compare,
        comparison=comparison,
        value=value,
        trend=trend,
        levers=levers,
        parameters=parameters,
        other_levers=choice("other_levers", OTHER_LEVERS, "status_quo"),
        draws=choice("draws", DRAWS, "model"),
        samples=samples,
        window=_window(entry.get("window"), path, f"{where}.window"),
    )


def _variable(raw: Any, path: Path, key: str, variables: Collection[str] | None) -> str:
    name = as_string(raw, file=path, key=key)
    if variables is not None and name not in variables:
        raise InputError(
            f"unknown model variable {name!r}",
            file=path,
            key=key,
            expected="a variable of the model (PySD python-safe name)",
            suggestions=nearest(name, variables),
        )
    return name


def _levers(raw: Any, path: Path, where: str, catalogue: LeverCatalogue) -> dict[str, float]:
    table = as_table(raw, file=path, key=where)
    check_keys(table, list(catalogue), file=path, prefix=f"{where}.", what="lever")
    values = {}
    for key, value in table.items():
        lever = catalogue[key]
        if isinstance(value, str):
            if value not in LEVER_WORDS:
                raise InputError(
                    f"unknown lever value {value!r}",
                    file=path,
                    key=f"{where}.{key}",
                    expected="a number or 'min', 'max', 'status_quo'",
                    suggestions=nearest(value, LEVER_WORDS),
                )
            values[key] = float(getattr(lever, value))
            continue
        number = as_number(value, file=path, key=f"{where}.{key}")
        if not lever.min <= number <= lever.max:
            raise InputError(
                f"value {number:g} out of range",
                file=path,
                key=f"{where}.{key}",
                expected=f"a value in {lever.range_text()}",
            )
        values[key] = number
    return values


def _parameters(
    raw: Any,
    path: Path,
    where: str,
    catalogue: LeverCatalogue,
    constants: Collection[str] | None,
) -> dict[str, float]:
    table = as_table(raw, file=path, key=where)
    lever_constants = {lever.constant: key for key, lever in catalogue.items()}
    values = {}
    for name, value in table.items():
        if name in lever_constants:
            raise InputError(
                "a lever's constant is set under levers",
                file=path,
                key=f"{where}.{name}",
                expected=f"levers.{lever_constants[name]}",
            )
        if constants is not None and name not in constants:
            raise InputError(
                "unknown model constant",
                file=path,
                key=f"{where}.{name}",
                expected="a constant of the model (PySD python-safe name)",
                suggestions=nearest(name, constants),
            )
        values[name] = as_number(value, file=path, key=f"{where}.{name}")
    return values


def _window(raw: Any, path: Path, key: str) -> tuple[float, float] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise InputError(f"wrong value: got {type_name(raw)}", file=path, key=key,
                         expected="[first, last] times")  # fmt: skip
    first = as_number(raw[0], file=path, key=f"{key}[0]")
    last = as_number(raw[1], file=path, key=f"{key}[1]")
    if first > last:
        raise InputError("first time after last", file=path, key=key, expected="first <= last")
    return first, last


# --------------------------------------------------------------------------- running


def run_checks(
    model: Any,
    checks: Mapping[str, Check],
    catalogue: LeverCatalogue,
    priors: Mapping[str, Mapping] | None = None,
    *,
    samples: int | None = None,
    seed: int = 0,
) -> list[CheckResult]:
    """Run every check on the batched engine.

    Parameters
    ----------
    model
        The compiled model (:func:`sim.load_model`).
    checks
        From :func:`load_checks`.
    catalogue
        The lever catalogue.
    priors
        The parameter priors (:func:`load_priors`); needed by checks with
        ``draws = "priors"``.
    samples
        Runs per sampled check, overriding each check's ``samples``.
    seed
        Seed of the draws. Each check draws from its own stream (seeded by ``seed`` and
        the check's key), so adding a check never changes another's runs.

    Returns
    -------
    list of CheckResult
        In the order of ``checks``.
    """
    from sim.batch import constant_values

    dt = constant_values(model, ["time_step"])["time_step"]
    return [
        _run_check(model, check, catalogue, priors, samples=samples, seed=seed, dt=dt)
        for check in checks.values()
    ]


def _run_check(model, check: Check, catalogue, priors, *, samples, seed, dt) -> CheckResult:
    n = (samples or check.samples) if check.sampled else 1
    rng = np.random.default_rng([seed, zlib.crc32(check.key.encode("utf-8"))])
    tested, reference, drawn = _settings(model, check, catalogue, priors, n, rng)
    columns = [check.quantity] + ([check.value] if isinstance(check.value, str) else [])
    if reference is not None:  # tested and reference runs in one engine call
        params = {name: np.concatenate([tested[name], reference[name]]) for name in tested}
        ds = model.run(params, 2 * n, saveper=dt, return_columns=columns)
        runs, against = ds.isel(run=slice(0, n)), ds.isel(run=slice(n, 2 * n))
    else:
        runs = against = model.run(tested, n, saveper=dt, return_columns=columns)
    for column in columns:
        if runs[column].ndim != 2:
            raise InputError(
                "subscripted variables cannot be checked",
                key=f"checks.{check.key}",
                expected="a variable without subscripts",
            )
    times = runs.time.values
    inside = np.ones(len(times), dtype=bool)
    if check.window is not None:
        first, last = check.window
        inside = (times >= first - dt * 1e-6) & (times <= last + dt * 1e-6)
        if not inside.any():
            raise InputError(
                f"window [{first:g}, {last:g}] holds no time of the run "
                f"({times[0]:g} to {times[-1]:g})",
                key=f"checks.{check.key}.window",
            )
    times = times[inside]
    value = runs[check.quantity].values[:, inside]
    if check.compare == "status_quo":
        ref, label, sense = (
            against[check.quantity].values[:, inside],
            "status quo",
            check.comparison,
        )
    elif check.compare == "value":
        ref = (runs[check.value].values[:, inside] if isinstance(check.value, str)
               else np.full_like(value, check.value))  # fmt: skip
        label, sense = _text(check.value), check.comparison
    else:  # trend: the window's last value against its first
        value, ref = value[:, -1:], value[:, :1]
        label, sense = f"{times[0]:g} value", "<" if check.trend == "falls" else ">"
        times = times[-1:]
    failing = _shortfall(value, ref, sense)
    failed_runs = int((failing > 0).any(axis=1).sum())
    if not failed_runs:
        return CheckResult(check, n, 0, None)
    worst = int(np.argmax(failing.max(axis=1)))
    step = int(np.flatnonzero(failing[worst] > 0)[0])  # the first time it fails
    lever_values = {key: float(tested[lever.constant][worst]) for key, lever in catalogue.items()}
    parameters = {name: float(v[worst]) for name, v in drawn.items()}
    parameters |= {name: float(v) for name, v in check.parameters.items()}
    failure = Failure(worst, float(times[step]), float(value[worst, step]),
                      float(ref[worst, step]), label, lever_values, parameters)  # fmt: skip
    return CheckResult(check, n, failed_runs, failure)


def _settings(model, check: Check, catalogue, priors, n: int, rng: np.random.Generator):
    """Parameters of the tested runs, of their reference runs (status quo) and the draws."""
    from sim.batch import constant_values
    from sim.modelcheck import sample_levers, sample_priors

    drawn: dict[str, np.ndarray] = {}
    if check.draws == "priors":
        if not priors:
            raise InputError("the check draws parameters but no priors were given",
                             key=f"checks.{check.key}.draws")  # fmt: skip
        drawn = sample_priors(priors, n, rng)
    if check.other_levers == "sampled":
        levers = sample_levers({k: _lever_table(lever) for k, lever in catalogue.items()}, n, rng)
    else:
        levers = {lever.constant: np.full(n, lever.status_quo) for lever in catalogue.values()}
    tested = drawn | levers
    tested |= {catalogue[key].constant: np.full(n, v) for key, v in check.levers.items()}
    tested |= {name: np.full(n, v) for name, v in check.parameters.items()}
    if check.compare != "status_quo":
        return tested, None, drawn
    # all else equal: the check's levers at their status quo, its constants as drawn or in
    # the model file
    reference = drawn | levers
    for key in check.levers:
        reference[catalogue[key].constant] = np.full(n, catalogue[key].status_quo)
    defaults = constant_values(model, [p for p in check.parameters if p not in reference])
    reference |= {name: np.full(n, value) for name, value in defaults.items()}
    return tested, reference, drawn


def _lever_table(lever) -> dict[str, float | str]:
    return {"min": lever.min, "max": lever.max, "status_quo": lever.status_quo,
            "constant": lever.constant}  # fmt: skip


def _shortfall(value: np.ndarray, reference: np.ndarray, sense: str) -> np.ndarray:
    """How far each value is from meeting ``value <sense> reference`` (> 0: it fails).

    Relative to the larger magnitude of the two; NaN or infinity always fails.
    """
    scale = np.maximum(np.abs(value), np.abs(reference))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    difference = (value - reference) / scale
    if sense in ("<=", "<"):
        difference = -difference  # how far value is below the reference
    # "<=" / ">=" hold up to RTOL; "<" / ">" need more than RTOL
    margin = difference + RTOL if sense in ("<=", ">=") else difference - RTOL
    with np.errstate(invalid="ignore"):
        shortfall = np.where(np.isfinite(margin), -margin, np.inf)
    return np.where(shortfall > 0, shortfall, 0.0)
