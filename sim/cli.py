"""The ``heping-sd`` command line.

Each subcommand lives in its own module under :mod:`sim.commands` and exposes
``add_arguments(parser)`` and ``main(args) -> int``. :data:`COMMANDS` maps the command name
to its module and one-line help; modules are imported only when their command runs, so a
slow import (matplotlib, dask) never delays another command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sim.errors import EXIT_BAD_INPUT, InputError

COMMANDS: dict[str, tuple[str, str]] = {
    "assess": (
        "sim.commands.assess",
        "the main job: probabilities, cheapest lever mix, conflicts, brief and charts",
    ),
    "run": ("sim.commands.run", "simulate scenario files and save the results as NetCDF"),
    "sweep": ("sim.commands.sweep", "run a sweep file's lever settings in chunks"),
    "targets": ("sim.commands.targets", "evaluate the plan's targets on a results file"),
    "calibrate": (
        "sim.commands.calibrate",
        "fit the priors to the 十三五 record: a best fit and an ensemble",
    ),
    "plot": ("sim.commands.plot", "draw a chart of a results file (png, svg or pdf)"),
    "bench": ("sim.commands.bench", "batched engine against PySD on the same model"),
    "check": ("sim.commands.check", "units and reality checks of the model, each pass or fail"),
}


def _version() -> str:
    from sim import __version__

    return __version__


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heping-sd",
        description=(
            "Are Heping District's 2025 targets jointly reachable, with which policy levers, "
            "at what fiscal cost, and how sure can we be?"
        ),
    )
    parser.add_argument("--version", action="version", version=f"heping-sd {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the chosen command's module is imported (the others just list their help line).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(cmd)
        cmd.set_defaults(_module=module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``heping-sd`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        module = importlib.import_module(args._module)
        return int(module.main(args) or 0)
    except InputError as err:
        print(f"heping-sd {args.command}: error: {err.one_line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("heping-sd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
