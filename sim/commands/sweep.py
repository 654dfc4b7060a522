"""``heping-sd sweep FILE --out sweep.nc``: run every lever setting of a sweep file.

Runs go to the engine in chunks; ``--keep targets`` (the default) stores only the variables
the targets read, at the year ends they read, so that a million runs fit in memory;
``--keep all`` stores full trajectories. A progress bar shows on long sweeps.

Parameters come from the calibration stored beside the model, as for ``heping-sd run``: by
default its best fit (one run per lever setting, dims ``run × time``); ``--members N`` runs
every setting over N members of the calibrated ensemble (systematic resampling by weight,
seeded by the sweep's seed; dims ``run × sample × time`` with ``sample_weight(sample)``), so
that targets and the heatmap give probabilities; ``--uncalibrated`` runs the model's own
values. The base scenario's ``[parameters]`` override calibrated values.

``--workers N`` runs the chunks on a local Dask cluster of N processes, ``--scheduler
tcp://HOST:PORT`` on an existing dask.distributed cluster (docs/distributed.md); the result
is the same Dataset. ``--out sweep.zarr`` writes a Zarr store chunk by chunk instead of
keeping the whole result in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.commands._common import add_model_argument, load_engine_model, model_file, progress_bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd sweep``."""
    parser.add_argument("sweep", type=Path, metavar="SWEEP.toml")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="SWEEP.nc|SWEEP.zarr",
        help="NetCDF file, or a Zarr store (name ending in .zarr) written chunk by chunk "
        "for results larger than memory",
    )
    parser.add_argument(
        "--keep",
        choices=("targets", "all"),
        default=None,
        help="what to store per run: only the target quantities, or full trajectories "
        "(default: the sweep file's 'keep', else targets)",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, metavar="N", help="engine runs per batched call"
    )
    parameters = parser.add_mutually_exclusive_group()
    parameters.add_argument(
        "--members",
        type=int,
        default=None,
        metavar="N",
        help="run every lever setting over N members of the calibrated ensemble "
        "(default: the calibration's best fit, one run per setting)",
    )
    parameters.add_argument(
        "--uncalibrated",
        action="store_true",
        help="run the model's own parameter values, ignoring any calibration",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="run the chunks on a local Dask cluster of N worker processes (one thread each)",
    )
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run the chunks on an existing dask.distributed cluster (see docs/distributed.md)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for --scheduler (default 10)",
    )
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Run the sweep and write the results; returns the exit code."""
    from sim.calibration import calibration_dir
    from sim.distributed import WorkersLostError  # (dask itself is imported only when used)
    from sim.errors import InputError
    from sim.results import write_netcdf
    from sim.scenarios import load_levers
    from sim.sweep import load_sweep
    from sim.targets import load_targets

    if args.members is not None and args.members < 1:
        raise InputError(f"invalid value {args.members}", key="--members", expected="N ≥ 1")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError(f"invalid value {args.chunk_size}", key="--chunk-size", expected="N ≥ 1")
    if args.connect_timeout is not None and not args.connect_timeout > 0:
        raise InputError(
            f"invalid value {args.connect_timeout:g}", key="--connect-timeout", expected="> 0"
        )
    mdl = model_file(args)
    catalogue = load_levers(mdl.parent / "levers.toml")
    sweep = load_sweep(args.sweep, catalogue)
    keep = args.keep or sweep.keep
    targets = load_targets(mdl.parent / "targets.toml") if keep == "targets" else None

    try:
        ds = _run(args, mdl, sweep, catalogue, targets, keep)
    except WorkersLostError as err:  # a cluster failure, not bad input: exit 1
        print(f"heping-sd sweep: error: {err}; try a smaller --chunk-size", file=sys.stderr)
        return 1
    if args.out.suffix != ".zarr":
        write_netcdf(ds, args.out)
    used = str(ds.attrs["calibration"])
    members = f" × {ds.sizes['sample']:,} ensemble members" if "sample" in ds.dims else ""
    print(
        f"wrote {args.out} ({sweep.size:,} runs{members}, design {sweep.design}, keep {keep}; "
        f"parameters: {_PARAMETERS[used]})"
    )
    if used == "none" and not args.uncalibrated:
        print(
            f"note: {mdl.name} has no calibration ({calibration_dir(mdl)}), so its own "
            "parameter values were run; `heping-sd calibrate` fits them"
        )
    return 0


_PARAMETERS = {
    "none": "the model's own values",
    "best_fit": "the calibrated best fit",
    "ensemble": "members of the calibrated ensemble",
}


def _parameters(args: argparse.Namespace, mdl: Path, sweep: Any) -> tuple[Any, dict, str, Any]:
    """The sweep with the best fit under its base scenario, the ensemble arguments of
    ``run_sweep``, what was used (``none`` | ``best_fit`` | ``ensemble``) and its file."""
    import dataclasses

    from sim.calibration import calibration_dir, load_calibration
    from sim.errors import InputError
    from sim.outcomes import resample

    calibration = None if args.uncalibrated else load_calibration(mdl)
    if calibration is None:
        if args.members is not None:
            raise InputError(
                "no calibrated ensemble to draw members from",
                file=calibration_dir(mdl),
                key="--members",
                expected=f"run `heping-sd calibrate --model {mdl}` first",
            )
        return sweep, {}, "none", None
    calibration.require_current()
    if args.members is None:
        # the best fit as the base scenario's parameters: its own [parameters] still win
        base = dataclasses.replace(
            sweep.base, parameters={**calibration.best_fit, **sweep.base.parameters}
        )
        return dataclasses.replace(sweep, base=base), {}, "best_fit", calibration.best_fit_file
    ensemble, weights = resample(
        calibration.ensemble, calibration.weights, args.members, seed=sweep.seed
    )
    # weights summing to 1, as `heping-sd run` stores them
    chosen = {"ensemble": ensemble, "member_weights": weights / weights.sum()}
    return sweep, chosen, "ensemble", calibration.ensemble_file


def _run(
    args: argparse.Namespace,
    mdl: Path,
    sweep: Any,
    catalogue: Any,
    targets: Any,
    keep: str,
) -> Any:
    """Run the sweep where the arguments say; returns the Dataset (opened, for a store)."""
    from sim.results import ZarrSink, provenance
    from sim.sweep import run_sweep

    to_zarr = args.out.suffix == ".zarr"
    sweep, ensemble, used, calibration_file = _parameters(args, mdl, sweep)
    with _executor(args) as executor:  # a bad --scheduler fails before the model compiles
        model = load_engine_model(mdl)
        attrs = provenance(
            kind="sweep",
            model_file=mdl,
            scenarios=[sweep.base],
            seed=sweep.seed,
            calibration_file=calibration_file,
            extra={
                "sweep_sha256": sweep.sha256,
                "sweep_file": Path(args.sweep).name,
                "calibration": used,
                **({"members_requested": args.members} if used == "ensemble" else {}),
            },
        )
        sink = ZarrSink(args.out, args.chunk_size or sweep.chunk_size) if to_zarr else None
        with progress_bar(
            sweep.size, f"sweep {sweep.name}", enabled=not args.no_progress
        ) as advance:
            ds = run_sweep(
                model,
                sweep,
                catalogue,
                targets,
                keep=keep,
                chunk_size=args.chunk_size,
                progress=advance,
                executor=executor,
                sink=sink,
                attrs=attrs,
                **ensemble,
            )
    return ds


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Any]:
    """The chunk executor the arguments ask for: ``None`` (this process) or Dask."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    from sim.distributed import DEFAULT_CONNECT_TIMEOUT, DaskExecutor, dask_client

    with dask_client(
        workers=args.workers,
        scheduler=args.scheduler,
        connect_timeout=args.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
    ) as client:
        yield DaskExecutor(client)
