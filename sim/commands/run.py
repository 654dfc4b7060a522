"""``heping-sd run A.toml [B.toml …] --out results.nc [--csv DIR]``: simulate scenarios.

All scenarios run in one batched engine call. By default every scenario runs over the
calibrated ensemble stored beside the model (``calibration/``, see docs/calibration.md):
dims ``scenario × sample × time`` with member weights ``sample_weight(sample)``, so that
``heping-sd targets`` gives probabilities over the members. ``--best-fit`` runs the
calibration's best fit instead (``scenario × time``), ``--uncalibrated`` the model's own
parameter values. A model without a calibration runs its own values (the summary line
says so); a calibration that no longer matches the model, ``observed.csv`` or
``priors.toml`` is refused (exit 2, naming what changed). Scenario ``[parameters]``
override calibrated values. Nothing is written unless every scenario is valid and every
value finite.
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
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--best-fit",
        action="store_true",
        help="run the calibration's best fit only (dims scenario × time)",
    )
    which.add_argument(
        "--uncalibrated",
        action="store_true",
        help="run the model's own parameter values, ignoring any calibration",
    )
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Run the scenarios and write the results; returns the exit code."""
    from sim.batch import run_scenarios
    from sim.calibration import calibration_dir, load_calibration
    from sim.errors import InputError
    from sim.results import check_finite, finish, provenance, write_csv, write_netcdf
    from sim.scenarios import load_levers, load_scenario

    mdl = model_file(args)
    catalogue = load_levers(mdl.parent / "levers.toml")
    scenarios = [load_scenario(path, catalogue) for path in args.scenarios]
    calibration = None if args.uncalibrated else load_calibration(mdl)
    if calibration is not None:
        calibration.require_current()
    elif args.best_fit:
        raise InputError(
            "no calibration to take the best fit from",
            file=calibration_dir(mdl),
            expected=f"run `heping-sd calibrate --model {mdl}` first",
        )
    model = load_engine_model(mdl)
    if calibration is None:
        ds = run_scenarios(model, scenarios, catalogue)
        used, source = "none", None
    elif args.best_fit:
        point = {name: [value] for name, value in calibration.best_fit.items()}
        ds = run_scenarios(model, scenarios, catalogue, ensemble=point)
        ds = ds.isel(sample=0, drop=True).drop_vars("sample_weight")
        used, source = "best_fit", calibration.best_fit_file
    else:
        ds = run_scenarios(
            model,
            scenarios,
            catalogue,
            ensemble=calibration.ensemble,
            member_weights=calibration.weights,
        )
        used, source = "ensemble", calibration.ensemble_file
    check_finite(ds)
    attrs = provenance(
        kind="run",
        model_file=mdl,
        scenarios=scenarios,
        seed=calibration.seed if calibration is not None else None,
        calibration_file=source,
        extra={"calibration": used},
    )
    ds = finish(ds, attrs)
    write_netcdf(ds, args.out)
    if args.csv is not None:
        write_csv(ds, args.csv)
    names = ", ".join(s.name for s in scenarios)
    members = f", {ds.sizes['sample']:,} ensemble members" if "sample" in ds.dims else ""
    print(
        f"wrote {args.out} ({len(scenarios)} scenarios: {names}; {ds.sizes['time']} times"
        f"{members}; parameters: {_describe(used)})"
    )
    if used == "none" and not args.uncalibrated:
        print(
            f"note: {mdl.name} has no calibration ({calibration_dir(mdl)}), so its own "
            "parameter values were run; `heping-sd calibrate` fits an ensemble"
        )
    return 0


def _describe(used: str) -> str:
    return {
        "ensemble": "the calibrated ensemble",
        "best_fit": "the calibrated best fit",
        "none": "the model's own values",
    }[used]
