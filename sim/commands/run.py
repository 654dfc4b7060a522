"""``heping-sd run A.toml [B.toml …] --out results.nc [--csv DIR]``: simulate scenarios.

All scenarios run in one batched engine call; the result is a Dataset with dims
``scenario × time``, a ``lever_<key>(scenario)`` coordinate per lever and the provenance
attrs, saved as NetCDF (and CSV on request). Nothing is written unless every scenario is
valid and every value finite.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands._common import add_model_argument, load_engine_model, model_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd run``."""
    parser.add_argument("scenarios", nargs="+", type=Path, metavar="SCENARIO.toml")
    parser.add_argument("--out", type=Path, required=True, metavar="RESULTS.nc")
    parser.add_argument(
        "--csv", type=Path, metavar="DIR", help="also write one CSV per scenario into DIR"
    )
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Run the scenarios and write the results; returns the exit code."""
    from sim.batch import run_scenarios
    from sim.results import check_finite, finish, provenance, write_csv, write_netcdf
    from sim.scenarios import load_levers, load_scenario

    mdl = model_file(args)
    catalogue = load_levers(mdl.parent / "levers.toml")
    scenarios = [load_scenario(path, catalogue) for path in args.scenarios]
    model = load_engine_model(mdl)
    ds = run_scenarios(model, scenarios, catalogue)
    check_finite(ds)
    ds = finish(ds, provenance(kind="run", model_file=mdl, scenarios=scenarios))
    write_netcdf(ds, args.out)
    if args.csv is not None:
        write_csv(ds, args.csv)
    names = ", ".join(s.name for s in scenarios)
    print(f"wrote {args.out} ({len(scenarios)} scenarios: {names}; {ds.sizes['time']} times)")
    return 0
