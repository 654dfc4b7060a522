"""``heping-sd check``: the model's units and its reality checks, each pass or fail.

First the units check (:mod:`sim.units`: every equation's units balance), then every check
of ``checks.toml`` (:mod:`sim.checks`), each run over its draws on the batched engine. A
failing check is shown with its worst run: the lever values, the parameter values and the
first time the statement fails. Exit code 0 when everything passes, 1 when something
fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.commands._common import add_model_argument, load_engine_model, model_file


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd check``."""
    add_model_argument(parser)
    parser.add_argument(
        "--checks",
        type=Path,
        default=None,
        metavar="TOML",
        help="reality checks (default: checks.toml beside the model)",
    )
    parser.add_argument(
        "--samples",
        type=_positive,
        default=None,
        metavar="N",
        help="runs per sampled check (default: each check's own 'samples')",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def main(args: argparse.Namespace) -> int:
    """Run the units check and the reality checks; returns the exit code."""
    from sim.checks import load_checks, run_checks
    from sim.priors import load_priors
    from sim.scenarios import load_levers
    from sim.units import check_units

    path = model_file(args)
    checks_path = args.checks if args.checks is not None else path.parent / "checks.toml"
    catalogue = load_levers(path.parent / "levers.toml")
    load_checks(checks_path, catalogue)  # a bad file fails before the model is compiled
    model = load_engine_model(path)
    checks = load_checks(
        checks_path, catalogue, variables=model.variables, constants=model.constants
    )
    priors = None
    if any(check.draws == "priors" for check in checks.values()):
        priors = load_priors(path.parent / "priors.toml")
    units = check_units(model.abstract_model)
    results = run_checks(model, checks, catalogue, priors, samples=args.samples, seed=args.seed)
    passed = units.ok and all(result.passed for result in results)
    if args.json:
        summary = {
            "model": str(path),
            "checks_file": str(checks_path),
            "seed": args.seed,
            "passed": passed,
            "units": {
                "passed": units.ok,
                "equations": units.checked,
                "mismatches": [vars(m) for m in units.mismatches],
                "without_units": list(units.without_units),
            },
            "checks": {result.check.key: result.as_dict() for result in results},
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_text(path, checks_path, args.seed, units, results)
    return 0 if passed else 1


def _print_text(path, checks_path, seed, units, results) -> None:
    print(f"{path} — {checks_path.name} (seed {seed})")
    mark = "PASS" if units.ok else "FAIL"
    print(f"{mark}  units: the units of every equation balance ({units.checked} equations)")
    for mismatch in units.mismatches:
        print(f"      {mismatch.message()}")
    for result in results:
        check = result.check
        mark = "PASS" if result.passed else "FAIL"
        runs = f"{result.runs} run{'s' if result.runs != 1 else ''}"
        if not result.passed:
            runs += f", {result.failed_runs} failed"
        print(f"{mark}  {check.key} ({runs})")
        print(f"      {check.statement}")
        failure = result.failure
        if failure is None:
            continue
        print(
            f"      run {failure.run} at time {failure.time:g}: {check.quantity} = "
            f"{failure.value:.6g}, {failure.reference_label} {failure.reference:.6g} "
            f"(expected {check.expectation()})"
        )
        print("      levers: " + _pairs(failure.levers))
        if failure.parameters:
            print("      parameters: " + _pairs(failure.parameters))
    failed = sum(not r.passed for r in results) + (not units.ok)
    total = len(results) + 1
    tail = "." if not failed else f"; {failed} failed."
    print(f"{total - failed} of {total} checks passed{tail}")


def _pairs(values: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:.6g}" for name, value in values.items())
