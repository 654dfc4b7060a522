"""Scenario files: policy lever settings, parameter overrides and run settings, in TOML.

A scenario file looks like::

    name = "talent_first"
    title_en = "Talent first"
    title_zh = "人才优先"
    description = "…why, quoting the article…"
    base = "baseline"            # optional: inherit from another scenario (name or path)

    [levers]                     # keys from model/levers.toml; unset levers keep the base value
    talent_programme = 3.0

    [parameters]                 # optional overrides of model constants (PySD python-safe names)
    talent_residence_time = 8.0

    [run]                        # optional: final_time, time_step, saveper (model defaults)
    final_time = 2025

Every problem is an :class:`~sim.errors.InputError` naming the file and the key: an unknown
key (with the nearest valid keys), a value out of range (with the range and the unit), a
wrong type, a cycle in ``base``, a missing file. Nothing else escapes :func:`load_scenario`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from sim.errors import InputError, nearest
from sim.fileio import sha256_file, write_text_atomic
from sim.tomlfile import (
    as_number,
    as_string,
    as_string_list,
    as_table,
    check_keys,
    parse_toml,
    read_toml,
)

SCENARIO_KEYS = (
    "name",
    "title_en",
    "title_zh",
    "description",
    "base",
    "levers",
    "parameters",
    "run",
)
RUN_KEYS = ("final_time", "time_step", "saveper")
_NAME_RE = re.compile(r"\w[\w.-]{0,63}")
_PYTHON_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- lever catalogue


@dataclass(frozen=True)
class Lever:
    """One policy lever of ``model/levers.toml`` (see docs/architecture.md)."""

    key: str
    name_en: str
    name_zh: str
    unit: str
    status_quo: float
    min: float
    max: float
    constant: str
    cost_per_unit: float
    source: str
    cost_constant: str | None = None
    raises: tuple[str, ...] = ()
    lowers: tuple[str, ...] = ()

    def range_text(self) -> str:
        """The allowed range with its unit, for messages: ``[0, 4] persons/Year``."""
        return f"[{_number_text(self.min)}, {_number_text(self.max)}] {self.unit}".strip()


LeverCatalogue = dict[str, Lever]


def _number_text(x: float) -> str:
    return f"{x:g}"


_LEVER_FIELDS = (
    "name_en",
    "name_zh",
    "unit",
    "status_quo",
    "min",
    "max",
    "constant",
    "cost_per_unit",
    "cost_constant",
    "raises",
    "lowers",
    "source",
)


def load_levers(path: str | Path | None = None) -> LeverCatalogue:
    """Read and check the lever catalogue, ``model/levers.toml`` by default.

    Parameters
    ----------
    path
        A ``levers.toml`` file; the shipped one when omitted.

    Returns
    -------
    dict
        Lever key → :class:`Lever`, in file order.
    """
    if path is None:
        from sim.resources import model_dir

        path = model_dir() / "levers.toml"
    path = Path(path)
    data = read_toml(path)
    check_keys(data, ["levers"], file=path, prefix="", what="top-level key")
    levers = as_table(data.get("levers", {}), file=path, key="levers")
    if not levers:
        raise InputError("no levers defined", file=path, key="levers", expected="[levers.<key>]")
    catalogue: LeverCatalogue = {}
    for key, entry in levers.items():
        where = f"levers.{key}"
        entry = as_table(entry, file=path, key=where)
        check_keys(entry, _LEVER_FIELDS, file=path, prefix=f"{where}.", what="lever field")
        for required in ("name_en", "name_zh", "unit", "status_quo", "min", "max", "constant"):
            if required not in entry:
                raise InputError("missing field", file=path, key=f"{where}.{required}")
        low = as_number(entry["min"], file=path, key=f"{where}.min")
        high = as_number(entry["max"], file=path, key=f"{where}.max")
        status_quo = as_number(entry["status_quo"], file=path, key=f"{where}.status_quo")
        if not low <= status_quo <= high:
            raise InputError(
                f"status_quo {status_quo:g} outside [min, max]",
                file=path,
                key=f"{where}.status_quo",
                expected=f"a value in [{low:g}, {high:g}]",
            )
        constant = as_string(entry["constant"], file=path, key=f"{where}.constant")
        if not _PYTHON_NAME_RE.fullmatch(constant):
            raise InputError(
                "not a PySD python-safe name",
                file=path,
                key=f"{where}.constant",
                expected="letters, digits and underscores",
            )
        catalogue[key] = Lever(
            key=key,
            name_en=as_string(entry["name_en"], file=path, key=f"{where}.name_en"),
            name_zh=as_string(entry["name_zh"], file=path, key=f"{where}.name_zh"),
            unit=as_string(entry["unit"], file=path, key=f"{where}.unit"),
            status_quo=status_quo,
            min=low,
            max=high,
            constant=constant,
            cost_per_unit=as_number(
                entry.get("cost_per_unit", 0.0), file=path, key=f"{where}.cost_per_unit"
            ),
            source=as_string(entry.get("source", ""), file=path, key=f"{where}.source"),
            cost_constant=(
                as_string(entry["cost_constant"], file=path, key=f"{where}.cost_constant")
                if "cost_constant" in entry
                else None
            ),
            raises=as_string_list(entry.get("raises", []), file=path, key=f"{where}.raises"),
            lowers=as_string_list(entry.get("lowers", []), file=path, key=f"{where}.lowers"),
        )
    return catalogue


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class RunSettings:
    """Simulation control for a scenario; ``None`` means the model's own value."""

    final_time: float | None = None
    time_step: float | None = None
    saveper: float | None = None

    def merged_over(self, base: RunSettings) -> RunSettings:
        """These settings, falling back to ``base`` for the ones not given."""
        return RunSettings(
            **{
                f.name: getattr(self, f.name)
                if getattr(self, f.name) is not None
                else getattr(base, f.name)
                for f in dataclasses.fields(self)
            }
        )

    def as_kwargs(self) -> dict[str, float]:
        """The settings that are given, as keyword arguments of ``Model.run``."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its inheritance resolved.

    ``levers`` holds a value for every lever of the catalogue (status quo where neither the
    file nor its bases set one), so a scenario is complete on its own. ``base``, ``path`` and
    ``sha256`` record where it came from and do not take part in equality: a scenario dumped
    and loaded again equals the original.
    """

    name: str
    title_en: str
    title_zh: str
    description: str
    levers: dict[str, float]
    parameters: dict[str, float] = field(default_factory=dict)
    run: RunSettings = field(default_factory=RunSettings)
    base: str | None = field(default=None, compare=False)
    path: Path | None = field(default=None, compare=False)
    sha256: str = field(default="", compare=False)
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """(file, sha256) of this file and of each base it inherits from, nearest first."""


def load_scenario(path: str | Path, catalogue: LeverCatalogue) -> Scenario:
    """Load, validate and resolve a scenario file.

    Parameters
    ----------
    path
        The scenario's TOML file.
    catalogue
        The lever catalogue (:func:`load_levers`) the levers are checked against.

    Raises
    ------
    InputError
        For any problem with the file or a base it inherits from.
    """
    return _load_file(Path(path), catalogue, chain=())


def load_scenario_text(
    text: str,
    catalogue: LeverCatalogue,
    *,
    source: str | Path = "<scenario>",
    directory: str | Path | None = None,
) -> Scenario:
    """Load a scenario from TOML text, as :func:`load_scenario` does from a file.

    Parameters
    ----------
    text
        TOML text.
    catalogue
        The lever catalogue.
    source
        Name used for the text in messages.
    directory
        Where a ``base`` given by name or relative path is looked up; the shipped
        ``scenarios/`` directory when omitted.
    """
    if directory is None:
        from sim.resources import scenarios_dir

        directory = scenarios_dir()
    data = parse_toml(text, source)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _build(data, catalogue, file=source, directory=Path(directory), digest=digest, chain=())


def _load_file(path: Path, catalogue: LeverCatalogue, chain: tuple[Path, ...]) -> Scenario:
    resolved = path.resolve()
    if resolved in chain:
        loop = " → ".join(p.name for p in (*chain, resolved))
        raise InputError(f"cycle in base: {loop}", file=chain[-1], key="base")
    data = read_toml(path)
    digest = sha256_file(path)
    scenario = _build(
        data,
        catalogue,
        file=path,
        directory=path.parent,
        digest=digest,
        chain=(*chain, resolved),
    )
    return dataclasses.replace(scenario, path=path)


def _base_path(base: str, directory: Path) -> Path:
    # A bare name is a sibling file; anything that looks like a path is taken as one.
    if "/" in base or "\\" in base or base.endswith(".toml"):
        candidate = Path(base)
        return candidate if candidate.is_absolute() else directory / candidate
    return directory / f"{base}.toml"


def _build(
    data: dict[str, Any],
    catalogue: LeverCatalogue,
    *,
    file: str | Path,
    directory: Path,
    digest: str,
    chain: tuple[Path, ...],
) -> Scenario:
    check_keys(data, SCENARIO_KEYS, file=file, prefix="", what="key")
    if "name" not in data:
        raise InputError("missing", file=file, key="name", expected='name = "<scenario name>"')
    name = as_string(data["name"], file=file, key="name")
    if not _NAME_RE.fullmatch(name):
        raise InputError(
            f"invalid scenario name {name!r}",
            file=file,
            key="name",
            expected="1-64 letters, digits, '_', '-' or '.', not starting with '-' or '.'",
        )
    title_en = as_string(data.get("title_en", name), file=file, key="title_en")
    title_zh = as_string(data.get("title_zh", title_en), file=file, key="title_zh")
    description = as_string(data.get("description", ""), file=file, key="description")

    # The file's own keys are checked before its base is read, so that its own mistakes
    # are reported first.
    own_levers = {
        key: _lever_value(key, value, catalogue, file=file)
        for key, value in as_table(data.get("levers", {}), file=file, key="levers").items()
    }
    own_parameters = _parameters(
        as_table(data.get("parameters", {}), file=file, key="parameters"), catalogue, file=file
    )
    run = _run_settings(as_table(data.get("run", {}), file=file, key="run"), file=file)

    base_scenario: Scenario | None = None
    base_name: str | None = None
    if "base" in data:
        base_name = as_string(data["base"], file=file, key="base")
        base_scenario = load_base(base_name, catalogue, file=file, directory=directory, chain=chain)

    if base_scenario:
        levers = {**base_scenario.levers, **own_levers}
        parameters = {**base_scenario.parameters, **own_parameters}
        run = run.merged_over(base_scenario.run)
    else:
        levers = {**_status_quo(catalogue), **own_levers}
        parameters = own_parameters

    sources = ((str(file), digest), *(base_scenario.sources if base_scenario else ()))
    return Scenario(
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        description=description,
        levers=levers,
        parameters=parameters,
        run=run,
        base=base_name,
        sha256=digest,
        sources=sources,
    )


def load_base(
    base_name: str,
    catalogue: LeverCatalogue,
    *,
    file: str | Path,
    directory: Path,
    chain: tuple[Path, ...] = (),
) -> Scenario:
    """Load the scenario that ``base = base_name`` in ``file`` refers to.

    A bare name is the file ``<name>.toml`` in ``directory``; anything that looks like a
    path is taken relative to ``directory``. ``chain`` holds the files already being
    loaded, to detect a cycle.
    """
    if not base_name.strip():
        raise InputError("empty", file=file, key="base", expected="a scenario name or path")
    base_file = _base_path(base_name, directory)
    if not _is_file(base_file):
        raise InputError(
            f"base scenario not found: {base_file}",
            file=file,
            key="base",
            expected="the name of a scenario file in the same directory, or a path",
            suggestions=_sibling_names(base_name, directory),
        )
    try:
        return _load_file(base_file, catalogue, chain)
    except RecursionError:
        raise InputError("base chain too long", file=file, key="base") from None


def _parameters(
    table: dict[str, Any], catalogue: LeverCatalogue, *, file: str | Path
) -> dict[str, float]:
    lever_constants = {lever.constant: lever.key for lever in catalogue.values()}
    parameters = {}
    for key, value in table.items():
        where = f"parameters.{key}"
        if not _PYTHON_NAME_RE.fullmatch(key):
            raise InputError(
                "not a PySD python-safe name", file=file, key=where, expected="a model constant"
            )
        if key in lever_constants:
            raise InputError(
                f"this constant is set by the lever '{lever_constants[key]}'",
                file=file,
                key=where,
                expected=f"[levers] {lever_constants[key]} = …",
            )
        parameters[key] = as_number(value, file=file, key=where)
    return parameters


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL byte, is simply not there
        return False


def _sibling_names(name: str, directory: Path) -> list[str]:
    try:
        siblings = [p.stem for p in directory.glob("*.toml")]
    except OSError:
        return []
    return nearest(name, siblings) if siblings else []


def _status_quo(catalogue: LeverCatalogue) -> dict[str, float]:
    return {key: lever.status_quo for key, lever in catalogue.items()}


def _lever_value(key: str, value: Any, catalogue: LeverCatalogue, *, file: str | Path) -> float:
    where = f"levers.{key}"
    lever = catalogue.get(key)
    if lever is None:
        raise InputError(
            "unknown lever", file=file, key=where, suggestions=nearest(key, list(catalogue))
        )
    number = as_number(value, file=file, key=where, what=f"a number in {lever.range_text()}")
    if not lever.min <= number <= lever.max:
        raise InputError(
            f"value {number:g} out of range",
            file=file,
            key=where,
            expected=f"a value in {lever.range_text()}",
        )
    return number


def _run_settings(table: dict[str, Any], *, file: str | Path) -> RunSettings:
    check_keys(table, RUN_KEYS, file=file, prefix="run.", what="run setting")
    values: dict[str, float] = {}
    for key, value in table.items():
        number = as_number(value, file=file, key=f"run.{key}", what="a positive number (years)")
        if key in ("time_step", "saveper") and number <= 0:
            raise InputError(
                f"must be positive, got {number:g}",
                file=file,
                key=f"run.{key}",
                expected="a positive number (years)",
            )
        values[key] = number
    if "time_step" in values and "saveper" in values and values["saveper"] < values["time_step"]:
        raise InputError(
            f"saveper {values['saveper']:g} is shorter than time_step {values['time_step']:g}",
            file=file,
            key="run.saveper",
            expected="saveper ≥ time_step",
        )
    return RunSettings(**values)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as TOML text, fully resolved (no ``base``: every lever is written out)."""
    data: dict[str, Any] = {
        "name": scenario.name,
        "title_en": scenario.title_en,
        "title_zh": scenario.title_zh,
        "description": scenario.description,
        "levers": dict(scenario.levers),
    }
    if scenario.parameters:
        data["parameters"] = dict(scenario.parameters)
    run = scenario.run.as_kwargs()
    if run:
        data["run"] = run
    return tomli_w.dumps(data)


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write :func:`dump_scenario` text to ``path`` atomically."""
    write_text_atomic(path, dump_scenario(scenario))


def check_parameters(
    scenarios: list[Scenario] | tuple[Scenario, ...], constants: Mapping[str, float] | list[str]
) -> None:
    """Check every ``[parameters]`` name against the model's constants.

    Raises
    ------
    InputError
        Naming the scenario file, the key and the nearest constants of the model.
    """
    valid = list(constants)
    for scenario in scenarios:
        for key in scenario.parameters:
            if key not in valid:
                raise InputError(
                    "not a constant of the model",
                    file=_origin_of(scenario, key),
                    key=f"parameters.{key}",
                    suggestions=nearest(key, valid),
                )


def _origin_of(scenario: Scenario, parameter: str) -> str:
    # The parameter may come from a base file; name the scenario file that was given.
    return str(scenario.path) if scenario.path else scenario.name
