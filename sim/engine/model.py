"""The batched model: ``load_model(path)`` and ``Model.run(params, n) -> xarray.Dataset``.

``Model.run`` integrates N scenarios at once with Euler's method and the model's TIME STEP,
following PySD's conventions exactly: time advances by repeated addition of TIME STEP, a
time is saved when it falls on a multiple of SAVEPER (within 1e-5 TIME STEP), all
derivatives are taken from the values at time *t* before any state moves, and the output
time coordinate is rounded the way PySD rounds it.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import xarray as xr

from sim.engine import functions as F
from sim.engine.compile import CONTROL_NAMES, Compiler, Plan
from sim.errors import InputError, nearest
from sim.fileio import sha256_file

_RELATIVE_PRECISION = 1e-5  # PySD's tolerance for "this time is a save time / the end"
# A comment names its variable's Chinese term in parentheses in its first sentence, e.g.
# "Key buildings of 5000 m2 or more (5000平方米以上重点商务楼宇)." The term is Chinese text
# (with digits and CJK punctuation, no Latin letters); Chinese words elsewhere in a comment
# are quotes or sources, not names.
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_FIRST_SENTENCE = re.compile(r"^(.*?)(?:[.。](?:\s|$)|$)", re.S)
_CJK_TERM = re.compile(r"[(（]([^()（）A-Za-z]*[\u3400-\u9fff\uf900-\ufaff][^()（）A-Za-z]*)[)）]")


def parse_model(path: str | Path):
    """Check a Vensim ``.mdl`` file and parse it with PySD's translator.

    The file text is checked by :mod:`sim.safety` first; nothing in the file is executed.

    Parameters
    ----------
    path
        The Vensim model file.

    Returns
    -------
    pysd.translators.structures.abstract_model.AbstractModel
        PySD's abstract model: elements, their units and their expression trees.
    """
    from pysd.translators.vensim.vensim_file import VensimFile

    from sim.safety import check_model_file

    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", file=path, expected="a Vensim .mdl file")
    check_model_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PySD's parser warns about ignored sketch parts
            vensim_file = VensimFile(path)
            vensim_file.parse()
            return vensim_file.get_abstract_model()
    except InputError:
        raise
    except Exception as err:
        raise InputError(
            f"PySD's Vensim parser could not read the model: {err}".splitlines()[0],
            file=path,
            expected="a valid Vensim model",
        ) from err


def load_model(path: str | Path) -> Model:
    """Parse a Vensim ``.mdl`` file and compile it into a batched :class:`Model`.

    The file text is checked by :mod:`sim.safety` before PySD's parser sees it; nothing in
    the file is executed. Functions outside the supported set raise
    :class:`~sim.errors.InputError` naming the function and the element.

    Parameters
    ----------
    path
        The Vensim model file.

    Returns
    -------
    Model
        The compiled model, ready to :meth:`Model.run`.
    """
    path = Path(path)
    abstract = parse_model(path)
    first = Compiler(abstract, path).compile()
    static = {name for name, info in first.elements.items() if info.static}
    # Second pass: with the static elements known, time-invariant parts of dynamic
    # equations are computed once at initialisation instead of at every step.
    plan = Compiler(abstract, path, static).compile()
    if {name for name, info in plan.elements.items() if info.static} != static:
        plan = first  # pragma: no cover - the classification does not depend on hoisting
    return Model(plan)


@dataclass(frozen=True)
class _Program:
    """Generated and compiled functions for one set of requested outputs."""

    step: object  # at a save time: returns the recorded values
    advance: object  # between save times: only what the states need
    outputs: tuple[str, ...]
    recorded: tuple[str, ...]  # the dynamic outputs, copied at each save
    n_evaluated: int  # variables evaluated by step
    n_evaluated_advancing: int  # variables evaluated by advance
    source: str


class Model:
    """A Vensim model compiled to batched numpy: one call runs N scenarios.

    Create with :func:`load_model`. The model holds no run state: every :meth:`run` starts
    from the equations, so parameters never stick.
    """

    def __init__(self, plan: Plan):
        _keep_freed_memory()
        self._plan = plan
        self.path = plan.source_path
        self.sha256 = sha256_file(plan.source_path)
        # lookups are functions, and macro copies are internal (as in PySD's output)
        internal = ("lookup", "macro")
        self._names = {e.py_name: e for e in plan.elements.values() if e.kind not in internal}
        self._aliases = {}
        for e in self._names.values():
            self._aliases[_clean(e.name)] = e.py_name
            self._aliases[_clean(e.py_name)] = e.py_name
        self._init_function, self._init_source = self._compile_init()
        self._controls_function = self._compile_controls()
        self._programs: dict[tuple[str, ...], _Program] = {}
        self.threads = _default_threads()

    # ----------------------------------------------------------------- public
    @property
    def variables(self) -> list[str]:
        """Python-safe names of every variable a run can return, in model order."""
        return list(self._names)

    @property
    def constants(self) -> list[str]:
        """Names of the elements a run can set through ``params`` (static values)."""
        return [n for n, e in self._names.items() if e.static and e.kind != "control"]

    def units(self, name: str) -> str:
        """Units of a variable, as written in the model."""
        return self._names[self._resolve(name)].units

    def labels(self, name: str) -> dict[str, str]:
        """The attrs a run gives variable ``name``: ``units``, ``long_name`` and, when the
        model's comment names it in Chinese, ``long_name_zh``."""
        info = self._names[self._resolve(name)]
        attrs = {"units": info.units, "long_name": info.name}
        chinese = _chinese_name(info.documentation)
        if not chinese and _CJK.search(info.name):
            chinese = info.name  # a Chinese model names its variables in Chinese
        if chinese:
            attrs["long_name_zh"] = chinese
        return attrs

    def run(
        self,
        params: Mapping[str, object] | None = None,
        n: int | None = None,
        *,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        return_columns: Sequence[str] | None = None,
    ) -> xr.Dataset:
        """Run ``n`` scenarios at once.

        Parameters
        ----------
        params
            Model constants to set: PySD python-safe name (or Vensim name) → a scalar (all
            runs) or an array of length ``n`` (one value per run).
        n
            Number of runs; defaults to the length of the array parameters, or 1.
        final_time, time_step, saveper
            Override the model's control variables (the same for every run).
        return_columns
            Variables to return (python-safe or Vensim names); default: all. Only these
            are stored, so a large batch returning a few columns needs little memory.

        Returns
        -------
        xarray.Dataset
            Dims ``("run", "time")`` (plus one per subscript range); ``time`` equals
            PySD's output times; each variable has attrs ``units`` and ``long_name``
            (and ``long_name_zh`` when the model comment gives a Chinese term).
        """
        overrides, n = self._prepare_params(params or {}, n)
        for key, value in (
            ("final_time", final_time),
            ("time_step", time_step),
            ("saveper", saveper),
        ):
            if value is not None:
                overrides[self._plan.elements[key].slot] = float(value)
        outputs = self._resolve_outputs(return_columns)
        program = self._program(outputs)
        return self._integrate(program, overrides, n)

    def source(self, return_columns: Sequence[str] | None = None) -> str:
        """The generated Python source (initialisation and step), for review and tests."""
        program = self._program(self._resolve_outputs(return_columns))
        return self._init_source + "\n" + program.source

    def n_steps(self) -> int:
        """Number of Euler steps of a run with the model's own control variables."""
        initial, final, dt, saveper = self._time_grid({}, 1)
        return _schedule(initial, final, dt, saveper)[0]

    @property
    def stocks(self) -> list[str]:
        """Names of the stocks (INTEG elements)."""
        return [n for n, e in self._names.items() if e.kind == "stock"]

    @property
    def abstract_model(self):
        """PySD's abstract model the engine was compiled from (elements, units, ASTs)."""
        return self._plan.abstract_model

    @property
    def stock_flows(self) -> dict[str, object]:
        """Each unsubscripted stock's net flow: the first argument of its INTEG, as PySD's AST.

        For checks that recompute a stock's change from saved values (stock accounting);
        the engine itself integrates the compiled form of the same expression.
        """
        return dict(self._plan.stock_flows)

    def evaluated_per_step(self, return_columns: Sequence[str] | None = None) -> float:
        """Variables one Euler step evaluates (computed values + state updates), on average.

        A step at a save time computes every requested variable; a step between save times
        only what the states need. The average is over the steps of a default run.
        """
        program = self._program(self._resolve_outputs(return_columns))
        initial, final, dt, saveper = self._time_grid({}, 1)
        n_steps, save = _schedule(initial, final, dt, saveper)
        saving = int(save[:n_steps].sum())
        total = saving * program.n_evaluated + (n_steps - saving) * program.n_evaluated_advancing
        return total / max(n_steps, 1)

    # -------------------------------------------------------------- internals
    def _resolve(self, name: str) -> str:
        if name in self._names:
            return name
        found = self._aliases.get(_clean(name))
        if found is None:
            raise InputError(
                "unknown model variable",
                file=self.path,
                key=name,
                expected="a variable of the model",
                suggestions=nearest(name, self._names),
            )
        return found

    def _resolve_outputs(self, columns: Sequence[str] | None) -> tuple[str, ...]:
        if columns is None:
            return tuple(self._names)
        if isinstance(columns, str):
            columns = [columns]
        resolved = []
        for column in columns:
            name = self._resolve(column)
            if name not in resolved:
                resolved.append(name)
        return tuple(resolved)

    def _prepare_params(self, params: Mapping[str, object], n: int | None):
        lengths = {key: np.size(value) for key, value in params.items() if np.ndim(value) > 0}
        if n is None:
            n = max(lengths.values(), default=1)
        if n < 1:
            raise InputError("the number of runs must be at least 1", key="n")
        overrides: dict[int, object] = {}
        for key, value in params.items():
            name = self._resolve(key)
            info = self._names[name]
            if not info.static or info.kind == "control":
                raise InputError(
                    "only constants can be set as parameters",
                    file=self.path,
                    key=key,
                    expected="one of the model's constants",
                    suggestions=nearest(key, self.constants),
                )
            try:
                array = np.asarray(value, dtype=float)
            except (TypeError, ValueError) as err:
                raise InputError(
                    "parameter is not numeric", key=key, expected="a number or numbers"
                ) from err
            if array.ndim > 1 or (array.ndim == 1 and len(array) != n):
                raise InputError(
                    f"parameter has shape {array.shape}, not a scalar or length n={n}",
                    key=key,
                    expected=f"a number or an array of {n} values",
                )
            if info.dims:
                array = F.fill(F.lift(array, len(info.dims)), info.shape)
                array = np.broadcast_to(array, (n, *info.shape))
            overrides[info.slot] = array
        return overrides, n

    def _compile_init(self):
        plan = self._plan
        lines = ["def initialize(t, dt, N, P):"]
        for node in plan.init_order:
            if node.startswith("#state"):
                st = plan.statefuls[int(node[len("#state") :])]
                lines += [f"    {line}" for line in st.init_lines]
                continue
            info = plan.elements[node]
            lines.append(
                f"    v{info.slot} = P[{info.slot}] if {info.slot} in P else {info.init_code}"
            )
        lines += [f"    h{k} = {code}" for k, code in enumerate(plan.hoisted)]
        values = ", ".join(
            [f"v{e.slot}" if e.kind != "lookup" else "None" for e in plan.elements.values()]
            + [f"h{k}" for k in range(len(plan.hoisted))]
        )
        states = ", ".join(f"s{k}" for k in range(plan.n_states))
        lines.append(f"    return [{values}], [{states}]")
        source = "\n".join(lines) + "\n"
        return self._exec(source, "initialize"), source

    def _compile_controls(self):
        """A function computing only the four control variables, before time exists."""
        plan = self._plan
        missing = [c for c in CONTROL_NAMES if c not in plan.elements]
        if missing:
            vensim = ", ".join(c.upper().replace("_", " ") for c in missing)
            raise InputError(
                f"the model defines no {vensim}",
                file=plan.source_path,
                expected="the control variables INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER",
            )
        needed: set[str] = set()
        stack = list(CONTROL_NAMES)
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            stack.extend(plan.elements[name].init_deps)
        lines = ["def controls(N, P):"]
        for node in plan.init_order:
            if node in needed:
                info = plan.elements[node]
                lines.append(
                    f"    v{info.slot} = P[{info.slot}] if {info.slot} in P else {info.init_code}"
                )
        slots = ", ".join(f"v{plan.elements[c].slot}" for c in CONTROL_NAMES)
        lines.append(f"    return ({slots})")
        return self._exec("\n".join(lines) + "\n", "controls")

    def _program(self, outputs: tuple[str, ...]) -> _Program:
        program = self._programs.get(outputs)
        if program is not None:
            return program
        plan = self._plan
        recorded = tuple(o for o in outputs if not plan.elements[o].static)
        saving, n_saving = self._step_source("step", plan.dynamic_needed(list(outputs)), recorded)
        advancing, n_advancing = self._step_source("advance", plan.dynamic_needed([]), None)
        program = _Program(
            step=self._exec(saving, "step"),
            advance=self._exec(advancing, "advance"),
            outputs=outputs,
            recorded=recorded,
            n_evaluated=n_saving,
            n_evaluated_advancing=n_advancing,
            source=saving + "\n" + advancing,
        )
        self._programs[outputs] = program
        return program

    def _step_source(self, name: str, dynamic: list[str], recorded: tuple[str, ...] | None):
        """Source of one Euler step, and how many variables it evaluates.

        With ``recorded`` (a save time) the step returns those values and updates the states
        only if asked (not after the last save). Without (``advance``), it computes only what
        the states need and always updates them, dropping each value after its last use so
        that its memory is reused while still in cache.
        """
        plan = self._plan
        moving = [st for st in plan.statefuls if not st.static]
        used: set[str] = set(recorded or ())
        for element in dynamic:
            used |= plan.elements[element].run_deps
        for st in moving:
            used |= st.update_deps
        head = [f"def {name}(t, dt, N, c, s, update):"]
        for element in sorted(used, key=lambda e: plan.elements[e].slot):
            info = plan.elements[element]
            if info.static:
                head.append(f"    v{info.slot} = c[{info.slot}]")
        body = [f"v{plan.elements[e].slot} = {plan.elements[e].run_code}" for e in dynamic]
        updates = [line for st in moving for line in st.update_lines]
        commits = [line for st in moving for line in st.commit_lines]
        if plan.n_states:
            commits.append(f"s[:] = [{', '.join(f's{k}' for k in range(plan.n_states))}]")
        text = " ".join(body + updates)
        offset = len(plan.elements)
        for k in sorted({int(h) for h in re.findall(r"\bh(\d+)\b", text)}):
            head.append(f"    h{k} = c[{offset + k}]")
        if plan.n_states:
            states = ", ".join(f"s{k}" for k in range(plan.n_states))
            head.append(f"    {states}{',' if plan.n_states == 1 else ''} = s")
        if recorded is not None:
            values = ", ".join(f"v{plan.elements[o].slot}" for o in recorded)
            lines = head + [f"    {line}" for line in body]
            lines.append(f"    record = ({values}{',' if len(recorded) == 1 else ''})")
            lines.append("    if update:")
            lines += [f"        {line}" for line in [*updates, *commits, "pass"]]
            lines.append("    return record")
        else:
            statements = body + updates
            assigned = {f"v{plan.elements[e].slot}" for e in dynamic}
            last_use: dict[str, int] = {}
            for i, statement in enumerate(statements):
                for token in re.findall(r"\bv\d+\b", statement.split(" = ", 1)[1]):
                    if token in assigned:
                        last_use[token] = i
            lines = list(head)
            for i, statement in enumerate(statements):
                lines.append(f"    {statement}")
                dead = sorted(v for v, last in last_use.items() if last == i)
                if dead:
                    lines.append(f"    del {', '.join(dead)}")
            lines += [f"    {line}" for line in commits]
            lines.append("    return None")
        # A stock's value is its state: reading it is not an evaluation (its update is).
        aliases = {f"s{k}" for k in range(plan.n_states)}
        computed = [e for e in dynamic if plan.elements[e].run_code not in aliases]
        return "\n".join(lines) + "\n", len(computed) + len(moving)

    def _exec(self, source: str, name: str):
        # The source is made only of compiler-made identifiers, float literals and fixed
        # templates (see sim.engine.compile's docstring); K holds arrays as data.
        namespace = {
            "np": np,
            "F": F,
            "K": self._plan.constants,
            "_NAN": np.nan,
            "_INF": np.inf,
        }
        exec(compile(source, f"<heping-sd engine: {name}>", "exec"), namespace)
        return namespace[name]

    def _time_grid(self, overrides: dict, n: int):
        try:
            values = self._controls_function(n, overrides)
        except F.StatefulSetupError as err:  # pragma: no cover - controls hold no statefuls
            raise InputError(str(err), file=self.path) from err
        grid = []
        for name, value in zip(CONTROL_NAMES, values, strict=True):
            array = np.unique(np.asarray(value, dtype=float))
            if len(array) != 1:
                raise InputError(
                    "control variables must be the same in every run of a batch",
                    file=self.path,
                    key=self._plan.elements[name].name,
                )
            grid.append(float(array[0]))
        initial, final, dt, saveper = grid
        if not dt > 0 or not saveper > 0:
            raise InputError(
                "TIME STEP and SAVEPER must be positive", file=self.path, key="time_step"
            )
        return initial, final, dt, saveper

    def _integrate(self, program: _Program, overrides: dict, n: int) -> xr.Dataset:
        initial, final, dt, saveper = self._time_grid(overrides, n)
        overrides = dict(overrides)
        for name, value in zip(CONTROL_NAMES, (initial, final, dt, saveper), strict=True):
            overrides[self._plan.elements[name].slot] = value
        n_steps, save = _schedule(initial, final, dt, saveper)
        n_saves = int(save.sum())
        # time-major, so that each save writes one contiguous block per chunk
        buffers = {
            name: np.empty((n_saves, n, *self._names[name].shape)) for name in program.recorded
        }
        statics = {
            name: np.empty((n, *self._names[name].shape))
            for name in program.outputs
            if name not in buffers
        }
        chunks = _chunks(n, self.threads)
        workers = min(self.threads, len(chunks))

        def work(lo: int, hi: int) -> list[float]:
            local = {
                slot: value[lo:hi] if np.ndim(value) and np.shape(value)[0] == n else value
                for slot, value in overrides.items()
            }
            with np.errstate(all="ignore"):
                return self._integrate_chunk(
                    program, local, hi - lo, (initial, dt, n_steps, save), buffers, statics, lo
                )

        try:
            if len(chunks) == 1:
                times = work(*chunks[0])
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = [pool.submit(work, *chunk) for chunk in chunks]
                    results = [future.result() for future in futures]  # all, for errors
                    times = results[0]
        except F.StatefulSetupError as err:
            element = self._plan.statefuls[err.index].element
            raise InputError(str(err), file=self.path, key=element) from err
        series = dict(buffers)
        for name, value in statics.items():  # one value per run, the same at every time
            series[name] = np.broadcast_to(value[None], (n_saves, *value.shape))
        decimals = -int(np.log10(dt * _RELATIVE_PRECISION))
        outputs = [series[name] for name in program.outputs]
        return self._dataset(program.outputs, outputs, np.round(np.array(times), decimals), n)

    def _integrate_chunk(self, program, overrides, n, schedule, buffers, statics, offset):
        """Euler-integrate runs ``offset … offset + n`` and write their outputs in place."""
        initial, dt, n_steps, save = schedule
        values, states = self._init_function(initial, dt, n, overrides)
        rows = slice(offset, offset + n)
        for name, target in statics.items():
            info = self._names[name]
            target[rows] = np.broadcast_to(values[info.slot], (n, *info.shape))
        recorded = [buffers[name] for name in program.recorded]
        times: list[float] = []
        step, advance = program.step, program.advance
        t = initial
        for k in range(n_steps + 1):
            running = k < n_steps
            if save[k]:
                record = step(t, dt, n, values, states, running)
                for buffer, value in zip(recorded, record, strict=True):
                    buffer[len(times), rows] = value
                times.append(t)
            elif running:
                advance(t, dt, n, values, states, True)
            t = t + dt
        return times

    def _dataset(self, outputs, buffers, times, n) -> xr.Dataset:
        data_vars = {}
        for name, buffer in zip(outputs, buffers, strict=True):
            info = self._names[name]
            coords = {d: info.coords[d] for d in info.dims}
            attrs = self.labels(name)
            data_vars[name] = xr.Variable(("run", "time", *info.dims), buffer.swapaxes(0, 1), attrs)
            for dim, labels in coords.items():
                data_vars.setdefault(f"__coord_{dim}", labels)
        coords = {"run": np.arange(n), "time": times}
        for key in [k for k in data_vars if k.startswith("__coord_")]:
            coords[key[len("__coord_") :]] = data_vars.pop(key)
        ds = xr.Dataset(data_vars, coords=coords)
        ds["time"].attrs["units"] = (
            self._names["time_step"].units if "time_step" in self._names else ""
        )
        from sim import __version__

        ds.attrs["heping_sd_version"] = __version__
        ds.attrs["model_sha256"] = self.sha256
        ds.attrs["model_file"] = self.path.name
        return ds


_MEMORY_TUNED = False
_MIN_CHUNK = 2048  # below this many runs per thread, numpy's call overhead dominates


def _default_threads() -> int:
    """Threads for one batch: ``$HEPING_SD_THREADS``, else 1.

    One by default: on a machine whose cores are busy with other work, a batch split over
    threads waits for its slowest chunk and was measured slower than one thread; sweeps get
    their parallelism from processes (Dask) instead. On an idle multi-core machine, set
    ``HEPING_SD_THREADS`` (or ``Model.threads``) to the number of cores.
    """
    configured = os.environ.get("HEPING_SD_THREADS", "1")
    try:
        return max(1, int(configured))
    except ValueError:
        return 1


def _chunks(n: int, threads: int) -> list[tuple[int, int]]:
    """Split ``n`` runs into contiguous chunks of at least ``_MIN_CHUNK`` runs.

    Runs are independent, and numpy releases the GIL inside its loops, so chunks integrate
    in parallel threads; each run's arithmetic is the same as in a single chunk.
    """
    count = max(1, min(threads, n // _MIN_CHUNK))
    edges = np.linspace(0, n, count + 1).astype(int)
    return [(int(a), int(b)) for a, b in pairwise(edges)]


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed heap memory instead of returning it to the system at once.

    Each Euler step allocates and frees hundreds of run-sized temporaries (80 kB at
    10,000 runs). glibc's default returns the top of the heap to the kernel as soon as
    128 kB are free, so the next step page-faults the same memory back in: measured 3×
    slower per operation in a micro-benchmark of that pattern, 20–30 % of a whole step.
    Raising the trim threshold keeps the memory for reuse, and the mmap threshold lets
    output buffers be reused from one
    run (or chunk of a sweep) to the next; peak memory is unchanged. Process-wide and
    harmless elsewhere; skipped where glibc is not the C library.
    """
    global _MEMORY_TUNED
    if _MEMORY_TUNED:
        return
    _MEMORY_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        trim_threshold, mmap_threshold = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        libc.mallopt(trim_threshold, 256 * 1024 * 1024)
        # output buffers (up to 32 MB, glibc's maximum) come from the reusable heap too
        libc.mallopt(mmap_threshold, 32 * 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def _chinese_name(text: str) -> str:
    """The Chinese name a comment gives (see ``_CJK_TERM``), else ``""``."""
    first = _FIRST_SENTENCE.match(text.strip())
    term = _CJK_TERM.search(first.group(1)) if first else None
    return term.group(1).strip() if term else ""


def _schedule(initial: float, final: float, dt: float, saveper: float):
    """Number of Euler steps, and which of the ``steps + 1`` times are saved.

    PySD advances time by repeated addition of TIME STEP, stops when the next time would
    pass FINAL TIME (within 1e-5 TIME STEP), and saves a time when (t - INITIAL TIME) is a
    multiple of SAVEPER within the same precision; the same float arithmetic is used here
    so that STEP and PULSE switch at the same steps.
    """
    precision = dt * _RELATIVE_PRECISION
    saves = []
    t = initial
    while True:
        elapsed = t - initial
        saves.append(elapsed % saveper < precision or -elapsed % saveper < precision)
        if not t + precision < final:
            break
        t = t + dt
    return len(saves) - 1, np.array(saves)


def _clean(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().lower())
