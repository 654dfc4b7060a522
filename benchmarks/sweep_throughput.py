"""Sweep throughput and memory: the shipped all-lever LHS sweep at N runs, through the engine.

    python benchmarks/sweep_throughput.py --runs 1000000 --keep targets

Prints runs per second, the stored Dataset's size and the process's peak resident memory
(a benchmark, not a test: numbers depend on the machine; report them with its description).
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from pathlib import Path

from sim.engine import load_model
from sim.resources import model_dir, scenarios_dir
from sim.scenarios import load_levers
from sim.sweep import load_sweep, run_sweep
from sim.targets import load_targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--keep", choices=("targets", "all"), default="targets")
    parser.add_argument("--chunk-size", type=int, default=None)
    args = parser.parse_args()

    catalogue = load_levers(model_dir() / "levers.toml")
    targets = load_targets(model_dir() / "targets.toml")
    text = (scenarios_dir() / "sweep_levers_lhs.toml").read_text(encoding="utf-8")
    text = text.replace("samples = 4096", f"samples = {args.runs}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.toml"
        path.write_text(
            text.replace('base = "baseline"', f'base = "{scenarios_dir() / "baseline.toml"}"'),
            encoding="utf-8",
        )
        sweep = load_sweep(path, catalogue)

    start = time.perf_counter()
    model = load_model(model_dir() / "heping.mdl")
    loaded = time.perf_counter()
    ds = run_sweep(model, sweep, catalogue, targets, keep=args.keep, chunk_size=args.chunk_size)
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux

    runs = ds.sizes["run"]
    chunk = args.chunk_size or sweep.chunk_size
    print(f"machine: {platform.machine()} python {platform.python_version()}")
    print(f"runs: {runs:,}  keep: {args.keep}  chunk: {chunk:,}")
    print(f"model load: {loaded - start:.2f} s")
    print(f"sweep: {done - loaded:.2f} s  ({runs / (done - loaded):,.0f} runs/s)")
    print(f"stored Dataset: {ds.nbytes / 2**20:,.1f} MiB", end="  ")
    print(f"({len(ds.data_vars)} variables, {ds.sizes['time']} times)")
    print(f"peak resident memory: {peak_mb:,.0f} MiB")


if __name__ == "__main__":
    main()
