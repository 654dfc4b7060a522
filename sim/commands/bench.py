"""``heping-sd bench``: the batched engine against PySD on the same model, in one process.

The figures (``--json`` prints them as one object):

* ``pysd_ms_per_run`` — median wall-clock time of PySD's ``Model.run(params=…)`` over
  ``--pysd-runs`` (≥ 20) runs, each with a different parameter draw;
* ``batched_us_per_run`` — median wall-clock time of one ``Model.run`` of ``n`` scenarios
  (``--repeat`` timings, after one warm-up that compiles the step function), divided by n;
* ``ratio`` — the first over the second;
* ``ns_per_variable_step`` — the batched time divided by n × the variables evaluated per
  step (computed auxiliaries and flows, plus one update per state; reading a stock is not
  counted) × the number of Euler steps; ``ns_per_variable_step_cpu`` is the same from the
  process's CPU time, which other work on a shared machine cannot inflate;
* ``peak_rss_mb`` — peak resident memory of a child process that loads the model and runs
  ``--memory-n`` scenarios returning only the target quantities (``targets.toml`` beside the
  model, else the stocks).

Both engines return every variable, as PySD's ``run()`` does by default. The parameter
draws vary what a sweep varies: the priors and levers beside the model when present.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``heping-sd bench``."""
    parser.add_argument("--model", type=Path, default=None, help="Vensim model (default: shipped)")
    parser.add_argument("--n", type=int, default=10_000, help="scenarios in the batched run")
    parser.add_argument("--pysd-runs", type=int, default=20, help="PySD runs to time (>= 20)")
    parser.add_argument("--repeat", type=int, default=7, help="batched runs to time")
    parser.add_argument(
        "--memory-n", type=int, default=100_000, help="batch size for the memory check (0: skip)"
    )
    parser.add_argument(
        "--memory-columns",
        default=None,
        help="comma-separated variables the memory check returns "
        "(default: the quantities of targets.toml beside the model, else the stocks)",
    )
    parser.add_argument("--seed", type=int, default=20250101, help="seed of the parameter draws")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and print it (table or JSON)."""
    from sim.errors import InputError
    from sim.resources import model_path

    path = args.model or model_path()
    if not Path(path).is_file():
        raise InputError("model file not found", file=path, expected="a Vensim .mdl file")
    if args.pysd_runs < 20:
        raise InputError("at least 20 PySD runs are needed", key="--pysd-runs", expected=">= 20")
    figures = measure(path, n=args.n, pysd_runs=args.pysd_runs, repeat=args.repeat, seed=args.seed)
    if args.memory_n:
        figures["memory_n"] = args.memory_n
        columns = args.memory_columns.split(",") if args.memory_columns else None
        figures["peak_rss_mb"] = peak_memory_mb(path, args.memory_n, columns)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


def draw_params(model, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` parameter draws: what a sweep of this model varies.

    With ``priors.toml`` and ``levers.toml`` beside the model (the shipped model's data, see
    docs/architecture.md): each prior's constant over its range (uniform or log-uniform) and
    each lever's constant over ``[min, max]``. Otherwise every scalar constant of the model,
    its value times U(0.9, 1.1).
    """
    ranges = _sweep_ranges(Path(model.path).parent, set(model.constants))
    if ranges:
        params = {}
        for name, (low, high, log) in ranges.items():
            if log and low > 0:
                params[name] = np.exp(rng.uniform(np.log(low), np.log(high), size=n))
            else:
                params[name] = rng.uniform(low, high, size=n)
        return params
    base = model.run(n=1, return_columns=model.constants).isel(run=0, time=0)
    params = {}
    for name in model.constants:
        value = base[name].values
        if value.ndim == 0 and np.isfinite(value) and value != 0:
            params[name] = float(value) * rng.uniform(0.9, 1.1, size=n)
    return params


def _sweep_ranges(folder: Path, constants: set[str]) -> dict[str, tuple[float, float, bool]]:
    """Constant → (low, high, log-uniform) from priors.toml and levers.toml, if present."""
    import tomllib

    from sim.priors import load_priors

    ranges: dict[str, tuple[float, float, bool]] = {}
    priors, levers = folder / "priors.toml", folder / "levers.toml"
    if priors.is_file():
        for name, prior in load_priors(priors).items():
            if name in constants:
                ranges[name] = (prior.low, prior.high, prior.distribution == "loguniform")
    if levers.is_file():
        for lever in tomllib.loads(levers.read_text("utf-8")).get("levers", {}).values():
            name = lever.get("constant")
            if name in constants:
                ranges[name] = (float(lever["min"]), float(lever["max"]), False)
    return ranges


def _target_quantities(folder: Path, variables: set[str]) -> list[str]:
    """The model quantities ``targets.toml`` beside the model tests, if present."""
    import tomllib

    path = folder / "targets.toml"
    if not path.is_file():
        return []
    targets = tomllib.loads(path.read_text("utf-8")).get("targets", {}).values()
    names = [t["quantity"] for t in targets if t.get("represented") and "quantity" in t]
    return [name for name in dict.fromkeys(names) if name in variables]


def measure(path, *, n: int = 10_000, pysd_runs: int = 20, repeat: int = 7, seed: int = 0):
    """The benchmark figures for one model (see the module docstring)."""
    import pysd

    from sim.engine import load_model
    from sim.safety import check_model_file

    model = load_model(path)
    rng = np.random.default_rng(seed)
    params = draw_params(model, rng, max(n, pysd_runs))

    # The engine first: PySD's translation and runs leave a large, fragmented heap behind,
    # which a sweep process running only the engine would not have.
    batch = {name: values[:n] for name, values in params.items()}
    model.run(batch, n=n)  # warm-up: generates and compiles the step function
    batched_times, batched_cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.run(batch, n=n)
        batched_times.append(time.perf_counter() - start)
        batched_cpu.append(time.process_time() - start_cpu)
    batched_seconds = statistics.median(batched_times)

    check_model_file(path)  # read_vensim translates and imports; only after our check
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("ignore")
        # PySD writes its translation beside the model: give it a copy, not the shipped file
        copy = Path(folder) / Path(path).name
        shutil.copyfile(path, copy)
        reference = pysd.read_vensim(str(copy))
        pysd_times = []
        for i in range(pysd_runs):
            one = {name: float(values[i]) for name, values in params.items()}
            start = time.perf_counter()
            reference.run(params=one)
            pysd_times.append(time.perf_counter() - start)
    pysd_seconds = statistics.median(pysd_times)

    evaluated = model.evaluated_per_step()
    steps = model.n_steps()
    return {
        "pysd_ms_per_run": pysd_seconds * 1e3,
        "batched_us_per_run": batched_seconds / n * 1e6,
        "ratio": pysd_seconds / (batched_seconds / n),
        "ns_per_variable_step": batched_seconds / (n * evaluated * steps) * 1e9,
        # the same from the process's CPU time: what a busy machine's scheduling cannot inflate
        "ns_per_variable_step_cpu": statistics.median(batched_cpu) / (n * evaluated * steps) * 1e9,
        "n": n,
        "threads": model.threads,
        "variables_per_step": evaluated,
        "parameters_varied": len(params),
        "time_steps": steps,
        "model": str(path),
    }


_MEMORY_SCRIPT = """
import resource, sys
from sim.engine import load_model
model = load_model(sys.argv[1])
columns = sys.argv[3].split(",")
ds = model.run(n=int(sys.argv[2]), return_columns=columns)
assert ds.sizes["run"] == int(sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(path, n: int, columns: list[str] | None = None) -> float:
    """Peak resident memory (MB) of a child process running ``n`` scenarios.

    The run returns only ``columns``; by default the quantities of ``targets.toml`` beside
    the model, else its stocks.
    """
    if not columns:
        from sim.engine import load_model

        model = load_model(path)
        columns = _target_quantities(Path(path).parent, set(model.variables)) or model.stocks
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_SCRIPT,
            str(path),
            str(n),
            *([",".join(columns)] if columns else []),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    return int(result.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux
