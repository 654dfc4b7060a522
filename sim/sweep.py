"""Sweep files and their designs: many lever settings around a base scenario, run in chunks.

A sweep file looks like::

    name = "sweep_levers_lhs"
    title_en = "…"
    title_zh = "…"
    description = "…"
    base = "baseline"          # the scenario the other levers, parameters and [run] come from
    design = "lhs"             # grid | lhs | sobol | factorial  (see DESIGNS)
    samples = 4096             # lhs and sobol (sobol: a power of two)
    seed = 20211210            # lhs and sobol; drawn and recorded when omitted
    keep = "targets"           # "targets": only what the targets read; "all": trajectories

    [levers.talent_programme]  # an empty table sweeps the lever's whole range
    range = [0.0, 4.0]         # or values = [0.0, 2.0, 4.0]
    points = 5                 # grid only: evenly spaced points in range

Designs follow scipy's ``solve_ivp`` style: :data:`DESIGNS` maps a name to a function
``(axes, sweep) -> array (n, d)`` of lever values.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import qmc

from sim.batch import BatchModel, lever_params, model_constants, simulate_cases
from sim.errors import InputError, nearest
from sim.fileio import sha256_file
from sim.results import check_finite
from sim.scenarios import LeverCatalogue, Scenario, check_parameters, load_base
from sim.targets import TargetCatalogue, target_quantities, target_years
from sim.tomlfile import as_number, as_string, as_table, check_keys, read_toml

SWEEP_KEYS = (
    "name",
    "title_en",
    "title_zh",
    "description",
    "base",
    "design",
    "samples",
    "seed",
    "keep",
    "levels",
    "chunk_size",
    "levers",
)
AXIS_KEYS = ("range", "values", "points")
KEEP = ("targets", "all")
MAX_RUNS = 100_000_000
DEFAULT_CHUNK_RUNS = 10_000


@dataclass(frozen=True)
class LeverAxis:
    """One swept lever: a continuous range, or a list of values."""

    key: str
    low: float
    high: float
    values: tuple[float, ...] | None = None
    points: int | None = None

    def levels(self, count: int) -> np.ndarray:
        """``count`` evenly spaced levels over the range, or the listed values."""
        if self.values is not None:
            return np.asarray(self.values, dtype=float)
        return np.linspace(self.low, self.high, count)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map uniform [0, 1) draws onto the axis (a listed value by equal-width bins)."""
        if self.values is not None:
            index = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return np.asarray(self.values, dtype=float)[index]
        return self.low + u * (self.high - self.low)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base scenario, the swept levers and the design."""

    name: str
    title_en: str
    title_zh: str
    description: str
    base: Scenario
    design: str
    axes: tuple[LeverAxis, ...]
    samples: int | None
    seed: int
    keep: str = "targets"
    levels: int = 2
    chunk_size: int = DEFAULT_CHUNK_RUNS
    path: Path | None = dataclasses.field(default=None, compare=False)
    sha256: str = dataclasses.field(default="", compare=False)

    @property
    def size(self) -> int:
        """The number of lever settings the design produces."""
        return SIZES[self.design](self)


# --------------------------------------------------------------------------- designs


def _grid(sweep: Sweep) -> np.ndarray:
    return _product([axis.levels(axis.points or 0) for axis in sweep.axes])


def _factorial(sweep: Sweep) -> np.ndarray:
    return _product([axis.levels(sweep.levels) for axis in sweep.axes])


def _product(levels: list[np.ndarray]) -> np.ndarray:
    mesh = np.meshgrid(*levels, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def _lhs(sweep: Sweep) -> np.ndarray:
    u = qmc.LatinHypercube(d=len(sweep.axes), rng=sweep.seed).random(sweep.samples)
    return _scale(sweep, u)


def _sobol(sweep: Sweep) -> np.ndarray:
    sampler = qmc.Sobol(d=len(sweep.axes), scramble=True, rng=sweep.seed)
    u = sampler.random_base2(int(math.log2(sweep.samples)))
    return _scale(sweep, u)


def _scale(sweep: Sweep, u: np.ndarray) -> np.ndarray:
    return np.stack([axis.from_unit(u[:, j]) for j, axis in enumerate(sweep.axes)], axis=1)


DESIGNS: dict[str, Callable[[Sweep], np.ndarray]] = {
    "grid": _grid,
    "lhs": _lhs,
    "sobol": _sobol,
    "factorial": _factorial,
}
"""Design name → function giving the (n, d) lever values of a sweep, columns in axis order."""

SIZES: dict[str, Callable[[Sweep], int]] = {
    "grid": lambda s: math.prod(len(a.levels(a.points or 0)) for a in s.axes),
    "factorial": lambda s: math.prod(len(a.levels(s.levels)) for a in s.axes),
    "lhs": lambda s: int(s.samples),
    "sobol": lambda s: int(s.samples),
}


def design_points(sweep: Sweep) -> np.ndarray:
    """The sweep's lever settings: an ``(n, d)`` array, one column per swept lever."""
    return DESIGNS[sweep.design](sweep)


# --------------------------------------------------------------------------- loading


def load_sweep(path: str | Path, catalogue: LeverCatalogue) -> Sweep:
    """Load and validate a sweep file (its base scenario is looked up beside it).

    Raises
    ------
    InputError
        Naming the file and key for any problem, as for scenario files.
    """
    path = Path(path)
    data = read_toml(path)
    return _build(data, catalogue, file=path, directory=path.parent, digest=sha256_file(path))


def _build(
    data: dict[str, Any], catalogue: LeverCatalogue, *, file: Path, directory: Path, digest: str
) -> Sweep:
    check_keys(data, SWEEP_KEYS, file=file, prefix="", what="key")
    for required in ("name", "base", "design"):
        if required not in data:
            raise InputError("missing", file=file, key=required)
    name = as_string(data["name"], file=file, key="name")
    design = as_string(data["design"], file=file, key="design")
    if design not in DESIGNS:
        raise InputError(
            f"unknown design {design!r}",
            file=file,
            key="design",
            expected=" or ".join(repr(d) for d in DESIGNS),
            suggestions=nearest(design, list(DESIGNS)),
        )
    keep = as_string(data.get("keep", "targets"), file=file, key="keep")
    if keep not in KEEP:
        raise InputError(
            f"invalid value {keep!r}", file=file, key="keep", expected=" or ".join(map(repr, KEEP))
        )

    axes_table = as_table(data.get("levers", {}), file=file, key="levers")
    if not axes_table:
        raise InputError("no levers to sweep", file=file, key="levers", expected="[levers.<key>]")
    axes = tuple(
        _axis(key, value, catalogue, file=file, design=design) for key, value in axes_table.items()
    )

    samples = None
    if design in ("lhs", "sobol"):
        if "samples" not in data:
            raise InputError("missing", file=file, key="samples", expected="a positive integer")
        samples = _count(data["samples"], file=file, key="samples", low=1)
        if design == "sobol" and samples & (samples - 1):
            below = 1 << (samples.bit_length() - 1)
            raise InputError(
                f"{samples} is not a power of two (Sobol points keep their balance only then)",
                file=file,
                key="samples",
                expected=f"a power of two such as {below} or {below * 2}",
            )
    elif "samples" in data:
        raise InputError(
            f"not used by the {design!r} design",
            file=file,
            key="samples",
            expected="the grid's size follows from points/values (factorial: levels)",
        )
    if "seed" in data:
        seed = _count(data["seed"], file=file, key="seed", low=0)
    else:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # recorded in the results
    levels = _count(data.get("levels", 2), file=file, key="levels", low=2)
    chunk_size = _count(
        data.get("chunk_size", DEFAULT_CHUNK_RUNS), file=file, key="chunk_size", low=1
    )
    base = load_base(
        as_string(data["base"], file=file, key="base"), catalogue, file=file, directory=directory
    )
    sweep = Sweep(
        name=name,
        title_en=as_string(data.get("title_en", name), file=file, key="title_en"),
        title_zh=as_string(data.get("title_zh", name), file=file, key="title_zh"),
        description=as_string(data.get("description", ""), file=file, key="description"),
        base=base,
        design=design,
        axes=axes,
        samples=samples,
        seed=seed,
        keep=keep,
        levels=levels,
        chunk_size=chunk_size,
        path=file,
        sha256=digest,
    )
    if sweep.size > MAX_RUNS:
        raise InputError(
            f"the design has {sweep.size:,} lever settings, more than {MAX_RUNS:,}",
            file=file,
            key="levers" if design in ("grid", "factorial") else "samples",
        )
    return sweep


def _count(value: Any, *, file: Path, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(
            f"invalid value {value!r}", file=file, key=key, expected=f"an integer ≥ {low}"
        )
    return value


def _axis(key: str, entry: Any, catalogue: LeverCatalogue, *, file: Path, design: str) -> LeverAxis:
    where = f"levers.{key}"
    lever = catalogue.get(key)
    if lever is None:
        raise InputError(
            "unknown lever", file=file, key=where, suggestions=nearest(key, list(catalogue))
        )
    entry = as_table(entry, file=file, key=where)
    check_keys(entry, AXIS_KEYS, file=file, prefix=f"{where}.", what="sweep axis key")
    expected = f"values in {lever.range_text()}"

    def in_range(value: Any, subkey: str) -> float:
        number = as_number(value, file=file, key=f"{where}.{subkey}", what=expected)
        if not lever.min <= number <= lever.max:
            raise InputError(
                f"value {number:g} out of range",
                file=file,
                key=f"{where}.{subkey}",
                expected=expected,
            )
        return number

    if "range" in entry and "values" in entry:
        raise InputError("give range or values, not both", file=file, key=where)
    if "values" in entry:
        raw = entry["values"]
        if not isinstance(raw, list) or not raw:
            raise InputError(
                "wrong type",
                file=file,
                key=f"{where}.values",
                expected="a non-empty array of numbers",
            )
        values = tuple(in_range(v, "values") for v in raw)
        if len(set(values)) != len(values):
            raise InputError(
                "repeated value", file=file, key=f"{where}.values", expected="distinct values"
            )
        if "points" in entry:
            raise InputError(
                "points apply to a range, not to values", file=file, key=f"{where}.points"
            )
        return LeverAxis(key, min(values), max(values), values=values)
    if "range" in entry:
        raw = entry["range"]
        if not isinstance(raw, list) or len(raw) != 2:
            raise InputError(
                "wrong type",
                file=file,
                key=f"{where}.range",
                expected=f"[low, high] within {lever.range_text()}",
            )
        low, high = in_range(raw[0], "range"), in_range(raw[1], "range")
        if not low < high:
            raise InputError(
                f"empty range [{low:g}, {high:g}]",
                file=file,
                key=f"{where}.range",
                expected="low < high",
            )
    else:
        low, high = lever.min, lever.max
    points = None
    if design == "grid":
        if "points" not in entry:
            raise InputError(
                "missing",
                file=file,
                key=f"{where}.points",
                expected="an integer ≥ 2 (grid points over the range), or values = […]",
            )
        points = _count(entry["points"], file=file, key=f"{where}.points", low=2)
    elif "points" in entry:
        raise InputError(f"not used by the {design!r} design", file=file, key=f"{where}.points")
    return LeverAxis(key, low, high, points=points)


# --------------------------------------------------------------------------- running


def run_sweep(
    model: BatchModel,
    sweep: Sweep,
    catalogue: LeverCatalogue,
    targets: TargetCatalogue | None = None,
    *,
    keep: str | None = None,
    chunk_size: int | None = None,
    ensemble: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
) -> xr.Dataset:
    """Run every lever setting of a sweep, chunk by chunk.

    Parameters
    ----------
    model
        An engine model.
    sweep
        A validated sweep (:func:`load_sweep`).
    catalogue
        The lever catalogue.
    targets
        The target catalogue, needed for ``keep = "targets"``.
    keep
        ``"targets"`` keeps only the variables the targets read, at the year ends they read
        (so a million runs fit in memory); ``"all"`` keeps full trajectories. Defaults to
        the sweep file's choice.
    chunk_size
        Engine runs per batched call (defaults to the sweep file's ``chunk_size``).
    ensemble
        Parameter name → M member values: each lever setting is run for every member.
    progress
        Called with the number of lever settings finished after each chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``run × time`` (``run × sample × time`` with an ensemble) and a coordinate
        ``lever_<key>(run)`` for each swept lever.

    Raises
    ------
    NonFiniteResultError
        At the first chunk that produces NaN or ±inf, naming the variable, run and time.
    """
    keep = keep or sweep.keep
    if keep not in KEEP:
        raise InputError(
            f"invalid keep {keep!r}", key="keep", expected=" or ".join(map(repr, KEEP))
        )
    constants = model_constants(model)
    check_parameters([sweep.base], constants)
    return_columns = None
    years: list[int] | None = None
    if keep == "targets":
        if targets is None:
            raise InputError("keep = 'targets' needs the target catalogue", key="keep")
        return_columns = target_quantities(targets)
        years = target_years(targets)
        if not return_columns:
            raise InputError("no represented targets to keep", key="keep", expected="keep = 'all'")

    points = design_points(sweep)
    n = points.shape[0]
    members = len(next(iter(ensemble.values()))) if ensemble else 1
    cases_per_chunk = max(1, (chunk_size or sweep.chunk_size) // members)

    fixed = {**lever_params(sweep.base.levers, catalogue), **sweep.base.parameters}
    swept = [catalogue[axis.key].constant for axis in sweep.axes]
    store: dict[str, np.ndarray] = {}
    template: xr.Dataset | None = None
    for start in range(0, n, cases_per_chunk):
        stop = min(n, start + cases_per_chunk)
        columns: dict[str, Any] = {
            name: np.full(stop - start, value) for name, value in fixed.items()
        }
        for j, constant in enumerate(swept):
            columns[constant] = points[start:stop, j]
        chunk = simulate_cases(
            model,
            columns,
            stop - start,
            ensemble=ensemble,
            run=sweep.base.run,
            return_columns=return_columns,
            case_dim="run",
        )
        chunk = chunk.assign_coords(
            run=np.arange(start, stop), **_lever_coords(sweep, catalogue, points[start:stop])
        )
        check_finite(chunk)  # every saved time, before thinning to the target years
        if years is not None:
            chunk = _select_years(chunk, years, sweep)
        if template is None:
            template = chunk
            store = {
                name: np.empty((n, *var.shape[1:]), dtype=var.dtype)
                for name, var in chunk.data_vars.items()
                if var.dims[0] == "run"
            }
        for name in store:
            store[name][start:stop] = chunk[name].transpose("run", ...).values
        if progress is not None:
            progress(stop - start)

    assert template is not None  # n ≥ 1 by construction
    data_vars = {
        name: xr.Variable(
            template[name].transpose("run", ...).dims, store[name], template[name].attrs
        )
        for name in store
    }
    coords = {c: v for c, v in template.coords.items() if "run" not in v.dims}
    coords.update(run=np.arange(n), **_lever_coords(sweep, catalogue, points))
    ds = xr.Dataset(data_vars, coords=coords)
    if ensemble is not None:
        ds = ds.assign_coords(sample=np.arange(members))
    ds.attrs.update(
        sweep_name=sweep.name,
        title_en=sweep.title_en,
        title_zh=sweep.title_zh,
        design=sweep.design,
        samples=n,
        keep=keep,
        base_scenario=sweep.base.name,
        fixed_levers=json.dumps(
            {k: v for k, v in sweep.base.levers.items() if k not in {a.key for a in sweep.axes}}
        ),
    )
    return ds


def _lever_coords(
    sweep: Sweep, catalogue: LeverCatalogue, points: np.ndarray
) -> dict[str, xr.Variable]:
    coords = {}
    for j, axis in enumerate(sweep.axes):
        lever = catalogue[axis.key]
        coords[f"lever_{axis.key}"] = xr.Variable(
            "run",
            points[:, j],
            {"units": lever.unit, "long_name": lever.name_en, "long_name_zh": lever.name_zh},
        )
    return coords


def _select_years(ds: xr.Dataset, years: list[int], sweep: Sweep) -> xr.Dataset:
    times = np.asarray(ds["time"].values, dtype=float)
    index = []
    for year in years:
        hits = np.flatnonzero(np.isclose(times, year, rtol=0, atol=1e-6))
        if hits.size == 0:
            raise InputError(
                f"the targets read Time = {year}, which this sweep's runs do not save "
                f"(time {times.min():g}–{times.max():g})",
                file=sweep.base.path or sweep.base.name,
                key="run",
                expected="final_time and saveper that save every target year end",
            )
        index.append(int(hits[0]))
    return ds.isel(time=index)
