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

import contextlib
import dataclasses
import json
import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr
from scipy.stats import qmc

from sim.batch import BatchModel, lever_params, model_constants, simulate_cases
from sim.errors import InputError, nearest
from sim.fileio import sha256_file
from sim.results import check_finite, finish
from sim.scenarios import (
    LeverCatalogue,
    RunSettings,
    Scenario,
    check_parameters,
    load_base,
)
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


@dataclass(frozen=True)
class ChunkTask:
    """What every chunk of a sweep shares; chunks differ only in their runs' lever values.

    A task is plain data (it pickles), so that an executor can run its chunks in another
    process or on another machine: :meth:`run_chunk` is a pure function of the task, the model and
    the chunk's design points.
    """

    fixed: Mapping[str, float]
    """Model constants set to the same value in every run (unswept levers, parameters)."""
    swept: tuple[str, ...]
    """The model constant of each swept lever, in axis order (the columns of the points)."""
    lever_coords: tuple[tuple[str, Mapping[str, str]], ...]
    """Name and attrs of the ``lever_<key>(run)`` coordinate of each swept lever."""
    run: RunSettings
    ensemble: Mapping[str, np.ndarray] | None = None
    return_columns: tuple[str, ...] | None = None
    years: tuple[int, ...] | None = None
    """With ``keep = "targets"``: the year ends kept; otherwise every saved time."""
    source: str = ""
    """The base scenario's file, named when the runs do not save a year the targets read."""

    def run_chunk(self, model: BatchModel, start: int, points: np.ndarray) -> xr.Dataset:
        """Simulate the runs ``start … start + len(points) − 1``.

        Raises
        ------
        NonFiniteResultError
            If any saved value is NaN or ±inf (checked before thinning to the kept years).
        """
        count = points.shape[0]
        columns: dict[str, Any] = {
            name: np.full(count, value) for name, value in self.fixed.items()
        }
        for j, constant in enumerate(self.swept):
            columns[constant] = points[:, j]
        chunk = simulate_cases(
            model,
            columns,
            count,
            ensemble=self.ensemble,
            run=self.run,
            return_columns=None if self.return_columns is None else list(self.return_columns),
            case_dim="run",
        )
        chunk = chunk.assign_coords(run=np.arange(start, start + count), **self.coords_for(points))
        check_finite(chunk)  # every saved time, before thinning to the target years
        if self.years is not None:
            chunk = _select_years(chunk, self.years, self.source)
        return chunk

    def coords_for(self, points: np.ndarray) -> dict[str, xr.Variable]:
        """The ``lever_<key>(run)`` coordinates of some design points."""
        return {
            name: xr.Variable("run", points[:, j], dict(attrs))
            for j, (name, attrs) in enumerate(self.lever_coords)
        }


Chunk = tuple[int, int]
"""Runs ``[start, stop)`` of a sweep."""


class ChunkExecutor(Protocol):
    """Runs the chunks of a sweep somewhere and hands back their results.

    :func:`run_sweep` computes the design points, splits them into chunks and assembles the
    results; an executor only decides where each chunk runs. Results may come back in any
    order, each with its bounds.
    """

    def map(
        self, model: BatchModel, task: ChunkTask, chunks: Sequence[Chunk], points: np.ndarray
    ) -> Generator[tuple[Chunk, xr.Dataset], None, None]:
        """Run ``task`` on every chunk of ``points``; yield ``((start, stop), result)``."""
        ...


class LocalExecutor:
    """Runs the chunks one after another in this process, on the given model."""

    def map(
        self, model: BatchModel, task: ChunkTask, chunks: Sequence[Chunk], points: np.ndarray
    ) -> Generator[tuple[Chunk, xr.Dataset], None, None]:
        """Run each chunk in turn; yield ``((start, stop), result)`` in order."""
        for start, stop in chunks:
            yield (start, stop), task.run_chunk(model, start, points[start:stop])


class ResultSink(Protocol):
    """Where a sweep's chunks go: kept in memory, or written to a store as they arrive."""

    def begin(self, first: xr.Dataset, runs: int, run_coords: Mapping[str, xr.Variable]) -> None:
        """Lay out the whole result from the first chunk to arrive and the run coordinates."""
        ...

    def write(self, start: int, stop: int, chunk: xr.Dataset) -> None:
        """Store the chunk of runs ``[start, stop)``."""
        ...

    def end(self) -> xr.Dataset:
        """Finish and return the whole result."""
        ...

    def abort(self) -> None:
        """Give up: leave nothing behind."""
        ...


def layout(
    first: xr.Dataset,
    runs: int,
    run_coords: Mapping[str, xr.Variable],
    allocate: Callable[[tuple[int, ...], np.dtype], Any],
) -> xr.Dataset:
    """The whole result's Dataset, shaped after its first chunk, with new data arrays.

    Parameters
    ----------
    first
        Any chunk of the sweep (chunks differ only along ``run``), its global attrs those
        of the result.
    runs
        The number of runs (lever settings) in the whole sweep.
    run_coords
        The coordinates along ``run`` for the whole sweep.
    allocate
        ``(shape, dtype) -> array`` for each variable along ``run`` (``numpy.empty`` to fill
        in memory, a lazy array to describe a store).

    Returns
    -------
    xarray.Dataset
        Each variable has ``run`` first, and its ``units``, ``long_name`` and
        ``long_name_zh`` attrs (defaults where the engine gave none).
    """
    data_vars = {}
    for name, var in first.data_vars.items():
        var = var.transpose("run", ...)
        data_vars[name] = xr.Variable(
            var.dims, allocate((runs, *var.shape[1:]), var.dtype), var.attrs
        )
    coords = {c: v.variable for c, v in first.coords.items() if "run" not in v.dims}
    coords.update(run_coords)
    return finish(xr.Dataset(data_vars, coords=coords), first.attrs)


class MemorySink:
    """Keeps the whole result in numpy arrays (the default: what fits in memory)."""

    def __init__(self) -> None:
        self._ds: xr.Dataset | None = None

    def begin(self, first: xr.Dataset, runs: int, run_coords: Mapping[str, xr.Variable]) -> None:
        """Allocate every variable for all runs."""
        self._ds = layout(first, runs, run_coords, lambda shape, dtype: np.empty(shape, dtype))

    def write(self, start: int, stop: int, chunk: xr.Dataset) -> None:
        """Copy the chunk into its rows."""
        assert self._ds is not None, "begin() first"
        for name, var in self._ds.data_vars.items():
            var.data[start:stop] = chunk[name].transpose(*var.dims).values

    def end(self) -> xr.Dataset:
        """The whole result."""
        assert self._ds is not None, "begin() first"
        return self._ds

    def abort(self) -> None:
        """Drop what was stored."""
        self._ds = None


def chunk_bounds(runs: int, size: int) -> list[Chunk]:
    """Split ``runs`` lever settings into consecutive chunks of ``size`` (the last shorter)."""
    return [(start, min(runs, start + size)) for start in range(0, runs, size)]


def run_sweep(
    model: BatchModel,
    sweep: Sweep,
    catalogue: LeverCatalogue,
    targets: TargetCatalogue | None = None,
    *,
    keep: str | None = None,
    chunk_size: int | None = None,
    ensemble: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    member_weights: Sequence[float] | np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    executor: ChunkExecutor | None = None,
    sink: ResultSink | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Run every lever setting of a sweep, chunk by chunk.

    The design points are computed once, here; the executor only runs chunks of them, so
    the result does not depend on where (or in which order) the chunks ran.

    Parameters
    ----------
    model
        An engine model. It runs the chunks with the default executor; with another one it
        still checks the base scenario's parameters (and a Dask executor ships its file).
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
        Parameter name → M member values: each lever setting is run for every member. The
        base scenario's ``[parameters]`` override the members' values.
    member_weights
        M non-negative weights of the members (equal when omitted), stored as the coordinate
        ``sample_weight(sample)`` and used for target probabilities.
    progress
        Called with the number of lever settings finished after each chunk.
    executor
        Where the chunks run: :class:`LocalExecutor` (the default) or
        :class:`sim.distributed.DaskExecutor`.
    sink
        Where the results go: :class:`MemorySink` (the default) or
        :class:`sim.results.ZarrSink` (written chunk by chunk).
    attrs
        Further global attrs of the result (the provenance of :func:`sim.results.provenance`).

    Returns
    -------
    xarray.Dataset
        Dims ``run × time`` (``run × sample × time`` with an ensemble) and a coordinate
        ``lever_<key>(run)`` for each swept lever; every variable has its three label attrs.

    Raises
    ------
    NonFiniteResultError
        At the first chunk that produces NaN or ±inf, naming the variable, run and time;
        nothing is left in the sink.
    """
    keep = keep or sweep.keep
    if keep not in KEEP:
        raise InputError(
            f"invalid keep {keep!r}", key="keep", expected=" or ".join(map(repr, KEEP))
        )
    check_parameters([sweep.base], model_constants(model))
    return_columns = years = None
    if keep == "targets":
        if targets is None:
            raise InputError("keep = 'targets' needs the target catalogue", key="keep")
        return_columns = tuple(target_quantities(targets))
        years = tuple(target_years(targets))
        if not return_columns:
            raise InputError("no represented targets to keep", key="keep", expected="keep = 'all'")

    points = design_points(sweep)
    runs = points.shape[0]
    members = len(next(iter(ensemble.values()))) if ensemble else 1
    if member_weights is not None and (
        ensemble is None or np.shape(member_weights) != (members,) or np.min(member_weights) < 0
    ):
        raise InputError(
            "member weights need an ensemble and one non-negative weight per member",
            key="member_weights",
            expected=f"{members} weights ≥ 0",
        )
    cases_per_chunk = max(1, (chunk_size or sweep.chunk_size) // members)
    task = ChunkTask(
        fixed={**lever_params(sweep.base.levers, catalogue), **sweep.base.parameters},
        swept=tuple(catalogue[axis.key].constant for axis in sweep.axes),
        lever_coords=tuple(
            (
                f"lever_{axis.key}",
                {
                    "units": catalogue[axis.key].unit,
                    "long_name": catalogue[axis.key].name_en,
                    "long_name_zh": catalogue[axis.key].name_zh,
                },
            )
            for axis in sweep.axes
        ),
        run=sweep.base.run,
        ensemble={k: np.asarray(v, dtype=float) for k, v in ensemble.items()} if ensemble else None,
        return_columns=return_columns,
        years=years,
        source=str(sweep.base.path or sweep.base.name),
    )
    run_coords: dict[str, xr.Variable] = {"run": xr.Variable("run", np.arange(runs))}
    run_coords.update(task.coords_for(points))
    result_attrs = {
        "sweep_name": sweep.name,
        "title_en": sweep.title_en,
        "title_zh": sweep.title_zh,
        "design": sweep.design,
        "samples": runs,
        "keep": keep,
        "base_scenario": sweep.base.name,
        "fixed_levers": json.dumps(
            {k: v for k, v in sweep.base.levers.items() if k not in {a.key for a in sweep.axes}}
        ),
        **(attrs or {}),
    }

    executor = executor or LocalExecutor()
    sink = sink or MemorySink()
    chunks = executor.map(model, task, chunk_bounds(runs, cases_per_chunk), points)
    started = False
    try:
        with contextlib.closing(chunks):  # an error here stops the executor's pending chunks
            for (start, stop), chunk in chunks:
                if not started:
                    first = chunk.drop_attrs(deep=False).assign_attrs(result_attrs)
                    if ensemble is not None:
                        weights = (
                            np.ones(members)
                            if member_weights is None
                            else np.asarray(member_weights, dtype=float)
                        )
                        first = first.assign_coords(
                            sample=np.arange(members),
                            sample_weight=xr.Variable(
                                "sample",
                                weights,
                                {"long_name": "ensemble member weight", "units": "1"},
                            ),
                        )
                    sink.begin(first, runs, run_coords)
                    started = True
                sink.write(start, stop, chunk)
                if progress is not None:
                    progress(stop - start)
        return sink.end()
    except BaseException:
        sink.abort()
        raise


def _select_years(ds: xr.Dataset, years: Sequence[int], source: str) -> xr.Dataset:
    times = np.asarray(ds["time"].values, dtype=float)
    index = []
    for year in years:
        hits = np.flatnonzero(np.isclose(times, year, rtol=0, atol=1e-6))
        if hits.size == 0:
            raise InputError(
                f"the targets read Time = {year}, which this sweep's runs do not save "
                f"(time {times.min():g}–{times.max():g})",
                file=source,
                key="run",
                expected="final_time and saveper that save every target year end",
            )
        index.append(int(hits[0]))
    return ds.isel(time=index)
