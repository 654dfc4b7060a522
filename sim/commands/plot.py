"""``heping-sd plot FILE --kind KIND --out fig.png|svg|pdf [--lang en|zh]``: a chart of results.

Every kind reads a saved Dataset and never re-runs the model:

* ``forecast``, ``fan``, ``compare``, ``matrix``, ``calibration``: ``heping-sd run`` output
  (``fan`` needs an ensemble; ``compare`` and ``matrix`` also take a saved target evaluation);
* ``heatmap``: ``heping-sd sweep`` output of a two-lever grid;
* ``tornado``: a sensitivity Dataset (Sobol indices).

The figure is written atomically: a failure leaves no partial file.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from sim.errors import InputError

KIND_NAMES = ("forecast", "fan", "compare", "heatmap", "matrix", "tornado", "calibration")
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Which options each kind takes (beyond --lang and the output).
OPTIONS: dict[str, tuple[str, ...]] = {
    "forecast": ("targets", "observed", "quantities"),
    "fan": ("targets", "observed", "quantities", "scenario"),
    "compare": ("targets",),
    "matrix": ("targets",),
    "heatmap": ("targets", "levers", "target", "lever_file"),
    "tornado": ("lever_file",),
    "calibration": ("observed", "targets", "scenario"),
}
_FLAGS = {
    "targets": "--targets",
    "observed": "--observed",
    "quantities": "--quantity",
    "scenario": "--scenario",
    "levers": "--levers",
    "target": "--target",
    "lever_file": "--lever-file",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd plot``."""
    parser.add_argument("results", type=Path, metavar="FILE.nc", help="a results NetCDF file")
    parser.add_argument("--kind", required=True, choices=KIND_NAMES, help="the chart to draw")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FIG", help="output file: .png, .svg or .pdf"
    )
    parser.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="label language (default: en)"
    )
    parser.add_argument(
        "--scenario", help="fan, calibration: the scenario to draw (default: baseline)"
    )
    parser.add_argument(
        "--quantity",
        dest="quantities",
        action="append",
        metavar="NAME",
        help="forecast, fan: a variable to draw (repeat; default: every target quantity)",
    )
    parser.add_argument("--levers", metavar="A,B", help="heatmap: the two levers of the axes")
    parser.add_argument(
        "--target", metavar="KEY", help="heatmap: one target's probability (default: all met)"
    )
    parser.add_argument(
        "--targets", type=Path, metavar="TOML", help="target catalogue (default: shipped)"
    )
    parser.add_argument(
        "--observed", type=Path, metavar="CSV", help="the 十三五 record (default: shipped)"
    )
    parser.add_argument(
        "--lever-file", type=Path, metavar="TOML", help="lever catalogue (default: shipped)"
    )
    parser.add_argument("--dpi", type=int, default=200, help="PNG resolution (default: 200)")


def main(args: argparse.Namespace) -> int:
    """Draw the chart and write it; returns the exit code."""
    fmt = FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unknown figure format '{args.out.suffix}'",
            key="--out",
            expected=", ".join(FORMATS),
        )
    if args.dpi <= 0:
        raise InputError("must be positive", key="--dpi", expected="dots per inch, e.g. 200")
    _refuse_foreign_options(args)
    ds = _open(args.results)
    options = _chart_options(args)

    import plots
    from plots import fonts, style

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", fonts.MissingCJKFontWarning)
        figure = plots.KINDS[args.kind](ds, lang=args.lang, **options)
    for warning in caught:
        if issubclass(warning.category, fonts.MissingCJKFontWarning):
            print(f"heping-sd plot: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    style.save(figure, args.out, fmt=fmt, dpi=args.dpi)
    print(f"wrote {args.out} ({args.kind}, {args.lang})")
    return 0


def _refuse_foreign_options(args: argparse.Namespace) -> None:
    for option, flag in _FLAGS.items():
        if getattr(args, option) is not None and option not in OPTIONS[args.kind]:
            users = [kind for kind, taken in OPTIONS.items() if option in taken]
            raise InputError(
                f"does not apply to --kind {args.kind}",
                key=flag,
                expected=f"{flag} with --kind {' or '.join(users)}",
            )


def _chart_options(args: argparse.Namespace) -> dict[str, Any]:
    from sim.observed import load_observed
    from sim.targets import load_targets

    taken = OPTIONS[args.kind]
    options: dict[str, Any] = {}
    if "targets" in taken:
        options["targets"] = load_targets(args.targets)
    if "observed" in taken:
        options["observations"] = load_observed(args.observed)
    if "quantities" in taken and args.quantities:
        options["quantities"] = args.quantities
    if "scenario" in taken and args.scenario:
        options["scenario"] = args.scenario
    if "target" in taken and args.target:
        options["target"] = args.target
    if "levers" in taken and args.levers:
        options["levers"] = [key.strip() for key in args.levers.split(",")]
    if "lever_file" in taken:
        options["lever_catalogue"] = _lever_catalogue(args.lever_file)
    return options


def _lever_catalogue(path: Path | None):
    """The lever catalogue names levers and marks the status quo; the chart works without it."""
    from sim.scenarios import load_levers

    if path is not None:
        return load_levers(path)
    try:
        return load_levers()
    except (FileNotFoundError, InputError):
        return None


def _open(path: Path):
    from sim.commands.targets import open_results

    with open_results(path) as ds:
        return ds.load()
