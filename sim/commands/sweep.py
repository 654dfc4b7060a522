"""``heping-sd sweep FILE --out sweep.nc``: run every lever setting of a sweep file.

Runs go to the engine in chunks; ``--keep targets`` (the default) stores only the variables
the targets read, at the year ends they read, so that a million runs fit in memory;
``--keep all`` stores full trajectories. A progress bar shows on long sweeps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands._common import add_model_argument, load_engine_model, model_file, progress_bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd sweep``."""
    parser.add_argument("sweep", type=Path, metavar="SWEEP.toml")
    parser.add_argument("--out", type=Path, required=True, metavar="SWEEP.nc")
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
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Run the sweep and write the results; returns the exit code."""
    from sim.errors import InputError
    from sim.results import finish, provenance, write_netcdf
    from sim.scenarios import load_levers
    from sim.sweep import load_sweep, run_sweep
    from sim.targets import load_targets

    if args.chunk_size is not None and args.chunk_size < 1:
        raise InputError(f"invalid value {args.chunk_size}", key="--chunk-size", expected="N ≥ 1")
    mdl = model_file(args)
    catalogue = load_levers(mdl.parent / "levers.toml")
    sweep = load_sweep(args.sweep, catalogue)
    keep = args.keep or sweep.keep
    targets = load_targets(mdl.parent / "targets.toml") if keep == "targets" else None
    model = load_engine_model(mdl)

    with progress_bar(sweep.size, f"sweep {sweep.name}", enabled=not args.no_progress) as advance:
        ds = run_sweep(
            model,
            sweep,
            catalogue,
            targets,
            keep=keep,
            chunk_size=args.chunk_size,
            progress=advance,
        )
    attrs = provenance(
        kind="sweep",
        model_file=mdl,
        scenarios=[sweep.base],
        seed=sweep.seed,
        extra={"sweep_sha256": sweep.sha256, "sweep_file": Path(args.sweep).name},
    )
    write_netcdf(finish(ds, attrs), args.out)
    print(f"wrote {args.out} ({sweep.size:,} runs, design {sweep.design}, keep {keep})")
    return 0
