"""``heping-sd calibrate``: fit the priors to the 十三五 record — an ensemble and a best fit.

Reads ``priors.toml`` and ``observed.csv`` beside the model, runs history matching (at least
100,000 prior samples through the batched engine) and a multi-start least-squares fit, and
writes ``calibration/best_fit.toml`` and ``calibration/ensemble.csv`` beside the model. For
the shipped model in a source checkout it also rewrites ``docs/calibration.md`` and its
chart (``--report`` chooses another page, ``--no-report`` none). The same inputs and
``--seed`` rewrite every file byte for byte. Method and files: docs/calibration.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.commands._common import add_model_argument, load_engine_model, model_file, progress_bar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd calibrate``."""
    from sim.calibration.calibrate import Settings

    default = Settings()
    parser.add_argument(
        "--samples",
        type=int,
        default=default.samples,
        metavar="N",
        help=f"prior samples per wave, a power of two (default {default.samples:,})",
    )
    parser.add_argument(
        "--seed", type=int, default=default.seed, help=f"design seed (default {default.seed})"
    )
    parser.add_argument(
        "--cutoff",
        type=float,
        default=default.cutoff,
        help=f"implausibility cutoff for every figure (default {default.cutoff:g})",
    )
    parser.add_argument(
        "--discrepancy",
        type=float,
        default=default.discrepancy,
        help="model discrepancy relative to each figure "
        f"(default {default.discrepancy:g}, i.e. {default.discrepancy * 100:g} %%)",
    )
    parser.add_argument(
        "--min-members",
        type=int,
        default=default.min_members,
        metavar="N",
        help=f"further waves while fewer are found (default {default.min_members})",
    )
    parser.add_argument(
        "--max-members",
        type=int,
        default=default.max_members,
        metavar="N",
        help=f"ensemble members stored (default {default.max_members})",
    )
    parser.add_argument(
        "--starts",
        type=int,
        default=default.starts,
        metavar="N",
        help=f"best-fit starting points (default {default.starts})",
    )
    report = parser.add_mutually_exclusive_group()
    report.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="MD",
        help="write the report here (default: docs/calibration.md of a source checkout "
        "when calibrating the shipped model)",
    )
    report.add_argument("--no-report", action="store_true", help="do not write a report")
    parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Calibrate, write the files (and the report); returns the exit code."""
    from sim.calibration.calibrate import Settings, calibrate, require_data, save
    from sim.calibration.report import write_report
    from sim.errors import InputError

    started = time.perf_counter()
    settings = Settings(
        seed=args.seed,
        samples=args.samples,
        cutoff=args.cutoff,
        discrepancy=args.discrepancy,
        min_members=args.min_members,
        max_members=args.max_members,
        starts=args.starts,
    ).check()
    mdl = model_file(args)
    require_data(mdl)
    report = None if args.no_report else (args.report or _default_report(mdl))
    model = load_engine_model(mdl)
    with progress_bar(settings.samples, "history matching", enabled=not args.no_progress) as bar:
        result = calibrate(mdl, settings, model=model, progress=bar)
    try:
        folder = save(result)
        written = [folder / "best_fit.toml", folder / "ensemble.csv"]
        if report is not None:
            written += write_report(result, model, report)
    except OSError as err:
        raise InputError(
            f"cannot write the calibration ({err.strerror or err})",
            file=err.filename or mdl.parent,
            expected="a writable folder: copy the model folder and pass --model",
        ) from None
    h, fit = result.history, result.fit
    within = int((abs(fit.residuals) <= 1).sum())
    print(
        f"calibrated {mdl.name}: {h.accepted:,} of {h.evaluated:,} runs non-implausible "
        f"({len(h.waves)} wave{'s' if len(h.waves) > 1 else ''}), {len(h.weights):,} members "
        f"stored; best fit within tolerance for {within} of {len(fit.residuals)} figures; "
        f"{result.runs:,} engine runs in {time.perf_counter() - started:.1f} s"
    )
    for path in written:
        print(f"wrote {path}")
    if report is None:
        print("no report written (pass --report PATH for one)")
    return 0


def _default_report(mdl: Path) -> Path | None:
    """docs/calibration.md of a source checkout, for the shipped model only."""
    from sim.resources import model_path

    shipped = model_path()
    docs = shipped.parent.parent / "docs"
    if mdl.resolve() == shipped.resolve() and docs.is_dir():
        return docs / "calibration.md"
    return None
