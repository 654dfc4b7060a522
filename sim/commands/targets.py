"""``heping-sd targets results.nc [--json]``: are the plan's targets met, and how surely?

``results`` is a NetCDF file from ``run`` or ``sweep``, or a sweep's Zarr store.

For each scenario (or, for a sweep, over all its runs) and each represented target: the
value, the threshold, whether it is met and the probability that it is met (the fraction
of runs or ensemble members meeting it), and the probability that every represented target
is met. With several members the value shown is their median. Targets the model cannot
represent yet are listed with their reasons.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd targets``."""
    parser.add_argument("results", type=Path, metavar="RESULTS.nc|SWEEP.zarr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--targets",
        type=Path,
        default=None,
        metavar="TOML",
        help="target catalogue (default: the shipped model/targets.toml)",
    )


def main(args: argparse.Namespace) -> int:
    """Evaluate the targets on a results file and print them; returns the exit code."""
    from sim.targets import evaluate, load_targets, summarize, unrepresented

    catalogue = load_targets(args.targets)
    ds = open_results(args.results)
    with ds:
        evaluation = evaluate(ds, catalogue, source=str(args.results))
        name = str(ds.attrs.get("sweep_name", Path(args.results).stem))
        summary = summarize(evaluation, ds, name=name)
        over = _members(ds)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_table(summary, evaluation, unrepresented(catalogue), over)
    return 0


def open_results(path: Path):
    """Open a results NetCDF file or a sweep's Zarr store; a missing or unreadable one is an
    InputError."""
    import xarray as xr

    from sim.errors import InputError
    from sim.results import open_zarr

    if path.is_dir() and path.suffix == ".zarr":
        try:
            return open_zarr(path)
        except (OSError, ValueError, KeyError) as err:
            raise InputError(
                f"cannot read as a Zarr store ({type(err).__name__})",
                file=path,
                expected="a Zarr store written by heping-sd sweep --out NAME.zarr",
            ) from None
    if not path.is_file():
        raise InputError("no such results file", file=path, expected="a NetCDF file from run/sweep")
    try:
        return xr.open_dataset(path)
    except (OSError, ValueError) as err:
        raise InputError(
            f"cannot read as NetCDF ({type(err).__name__})",
            file=path,
            expected="a NetCDF file written by heping-sd run or sweep",
        ) from None


def _members(ds) -> str:
    """What the probabilities are taken over, for the table titles."""
    if "sample" in ds.dims:
        source = {"ensemble": "calibrated ensemble "}.get(ds.attrs.get("calibration"), "")
        return f" over {ds.sizes['sample']:,} {source}members"
    if "run" in ds.dims and "scenario" not in ds.dims:
        return f" over {ds.sizes['run']:,} runs"
    return {
        "best_fit": " (calibrated best fit)",
        "none": " (the model's own parameter values)",
    }.get(ds.attrs.get("calibration"), "")


def _print_table(summary, evaluation, missing, over: str = "") -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # piped output: do not squeeze the table into 80 columns
    labels = {
        str(key): (str(en), str(zh), str(unit), str(period), str(cmp), str(kind))
        for key, en, zh, unit, period, cmp, kind in zip(
            evaluation["target"].values,
            evaluation["target_name_en"].values,
            evaluation["target_name_zh"].values,
            evaluation["target_unit"].values,
            evaluation["period"].values,
            evaluation["comparison"].values,
            evaluation["target_kind"].values,
            strict=True,
        )
    }
    for scenario, entry in summary["scenarios"].items():
        table = Table(
            title=f"{scenario}: every represented target met with probability "
            f"{entry['all_met_probability']:.0%}{over}"
        )
        table.add_column("target")
        table.add_column("目标")
        table.add_column("period")
        for column in ("value", "threshold", "met", "P(met)"):
            table.add_column(column, justify="right")
        for key, result in entry["targets"].items():
            en, zh, unit, period, comparison, kind = labels[key]
            table.add_row(
                en,
                zh,
                period,
                _quantity(result["value"], unit, kind),
                f"{comparison} {_quantity(result['threshold'], unit, kind)}",
                "yes" if result["met"] else "no",
                f"{result['probability']:.0%}",
            )
        console.print(table)
    if missing:
        console.print("Targets the model does not represent yet:")
        for target in missing:
            console.print(f"  {target.key} ({target.name_zh}): {target.reason}")


def _quantity(value: float | None, unit: str, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind in ("growth", "share"):  # fractions by contract: 0.10 is 10 %
        return f"{value:.1%}"
    return f"{value:,.4g} {unit}"
