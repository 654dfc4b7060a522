"""Sweep throughput and memory: this process alone against a local Dask cluster.

    python benchmarks/sweep_distributed.py --runs 1000000 --workers 2

Runs the shipped all-lever LHS sweep (``scenarios/sweep_levers_lhs.toml``) at ``--runs``
points, keeping only the target quantities, twice, each in a fresh child process: once with
the local executor, once on a ``LocalCluster`` of ``--workers`` worker processes (one thread
each). For each it prints

* ``sweep_s`` and ``runs_per_s``: ``run_sweep`` alone, from the first chunk submitted to the
  assembled Dataset (on the cluster this includes each worker compiling the model on its
  first chunk);
* ``total_s``: the whole job as ``heping-sd sweep`` does it, from nothing to the Dataset:
  for the cluster, starting it and compiling the model in the client too;
* ``peak_rss_mb``: the peak of the summed resident memory of the child and all its
  descendants (the client, the scheduler, the nannies and the worker processes), sampled
  every 0.2 s; shared library pages count once per process, as ``ps`` shows them;
  ``client_peak_rss_mb`` and ``worker_peak_rss_mb`` are the largest single processes;
* ``cpu_s``: CPU time (user + system) spent on the job: the process itself from start to
  end, plus, on the cluster, each worker process's whole life (start-up and compiling
  included); ``client_cpu_s`` is the process itself alone. On a machine shared with other
  work, wall-clock times follow the load, CPU time much less: their ratio shows the
  overhead of the cluster;
* ``digest``: sha256 of every stored array, so the two results can be compared exactly.

A benchmark, not a test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the sweep's")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mode", choices=("local", "dask"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args)))
        return

    results = {"machine": describe_machine(), "runs": args.runs, "workers": args.workers}
    for mode in ("local", "dask"):
        command = [sys.executable, __file__, "--mode", mode, "--runs", str(args.runs)]
        command += ["--workers", str(args.workers)]
        if args.chunk_size:
            command += ["--chunk-size", str(args.chunk_size)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    results["identical"] = results["local"]["digest"] == results["dask"]["digest"]
    results["speedup"] = round(results["dask"]["runs_per_s"] / results["local"]["runs_per_s"], 2)
    if args.json:
        print(json.dumps(results))
        return
    print(f"machine: {results['machine']}")
    print(f"runs: {args.runs:,}, keep targets, {args.workers} workers")
    for mode in ("local", "dask"):
        r = results[mode]
        print(
            f"{mode:>5}: sweep {r['sweep_s']:.1f} s ({r['runs_per_s']:,.0f} runs/s), "
            f"total {r['total_s']:.1f} s, CPU {r['cpu_s']:.1f} s, "
            f"peak RSS {r['peak_rss_mb']:,.0f} MB in {r['processes']} processes "
            f"(client {r['client_peak_rss_mb']:,.0f} MB"
            + (f", worker {r['worker_peak_rss_mb']:,.0f} MB)" if "worker_peak_rss_mb" in r else ")")
        )
    print(f"speed-up {results['speedup']}×, identical results: {results['identical']}")


def describe_machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start"
    )


def measure(args: argparse.Namespace) -> dict:
    """One mode, in this (fresh) process."""
    with MemorySampler() as memory:
        began, cpu_began = time.perf_counter(), time.process_time()
        if args.mode == "local":
            ds, timings = run_local(args)
        else:
            ds, timings = run_dask(args)
        total, client_cpu = time.perf_counter() - began, time.process_time() - cpu_began
        digest = hashlib.sha256()
        for name in sorted(ds.variables):
            digest.update(name.encode())
            digest.update(ds[name].values.tobytes())
    return {
        **timings,
        "total_s": round(total, 2),
        "client_cpu_s": round(client_cpu, 2),
        "cpu_s": round(client_cpu + timings.pop("workers_cpu_s", 0.0), 2),
        "runs_per_s": round(ds.sizes["run"] / timings["sweep_s"]),
        "peak_rss_mb": round(memory.peak / 2**20),
        "client_peak_rss_mb": round(process_peak_rss_mb()),
        "processes": memory.processes,
        "stored_mb": round(ds.nbytes / 2**20, 1),
        "digest": digest.hexdigest(),
    }


def load_inputs(runs: int):
    from sim.resources import model_dir, scenarios_dir
    from sim.scenarios import load_levers
    from sim.sweep import load_sweep
    from sim.targets import load_targets

    catalogue = load_levers(model_dir() / "levers.toml")
    targets = load_targets(model_dir() / "targets.toml")
    text = (scenarios_dir() / "sweep_levers_lhs.toml").read_text(encoding="utf-8")
    text = text.replace("samples = 4096", f"samples = {runs}")
    text = text.replace('base = "baseline"', f'base = "{scenarios_dir() / "baseline.toml"}"')
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.toml"
        path.write_text(text, encoding="utf-8")
        sweep = load_sweep(path, catalogue)
    return sweep, catalogue, targets, model_dir() / "heping.mdl"


def run_local(args: argparse.Namespace):
    from sim.engine import load_model
    from sim.sweep import run_sweep

    sweep, catalogue, targets, mdl = load_inputs(args.runs)
    start = time.perf_counter()
    model = load_model(mdl)
    loaded = time.perf_counter()
    ds = run_sweep(model, sweep, catalogue, targets, chunk_size=args.chunk_size)
    done = time.perf_counter()
    return ds, {"compile_s": round(loaded - start, 2), "sweep_s": round(done - loaded, 2)}


def run_dask(args: argparse.Namespace):
    from sim.distributed import DaskExecutor, dask_client
    from sim.engine import load_model
    from sim.sweep import run_sweep

    sweep, catalogue, targets, mdl = load_inputs(args.runs)
    start = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        up = time.perf_counter()
        model = load_model(mdl)
        loaded = time.perf_counter()
        ds = run_sweep(
            model,
            sweep,
            catalogue,
            targets,
            chunk_size=args.chunk_size,
            executor=DaskExecutor(client),
        )
        done = time.perf_counter()
        workers_cpu = sum(client.run(process_cpu_seconds).values())
        workers_peak = max(client.run(process_peak_rss_mb).values())
    return ds, {
        "workers_cpu_s": workers_cpu,
        "worker_peak_rss_mb": round(workers_peak),
        "cluster_start_s": round(up - start, 2),
        "compile_s": round(loaded - up, 2),
        "sweep_s": round(done - loaded, 2),
    }


def process_peak_rss_mb() -> float:
    """Peak resident memory of the calling process so far, in MB (run on each worker)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def process_cpu_seconds() -> float:
    """User + system CPU time of the calling process so far (run on each worker)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class MemorySampler:
    """Peak of the summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._me = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0
        self.processes = 1

    def _sample(self) -> None:
        import psutil

        total, seen = 0, 0
        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
                seen += 1
            except psutil.Error:  # ended between listing and reading
                continue
        self.peak = max(self.peak, total)
        self.processes = max(self.processes, seen)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


if __name__ == "__main__":
    main()
