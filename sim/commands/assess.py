"""``heping-sd assess [--out DIR]``: are the 2025 targets jointly reachable, and how?

Runs the ensemble for the baseline and every shipped scenario, searches for the cheapest lever
mix meeting every represented target with probability ≥ ``--goal``, finds the region of lever
space where all are met, computes Sobol sensitivities and the conflicts between targets, prints
a table (target × scenario: the probability that each target, and all together, is met) and
the brief's answer, and writes ``results.nc``, ``targets.json``, ``assessment.md``,
``assessment.json``, ``sensitivity.nc``, ``cheapest_mix.toml`` and the charts into ``--out``
(``./out``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.commands._common import add_model_argument, load_engine_model, model_file

PRIOR_MEMBERS = 256
"""Members drawn from the priors when the model has no calibrated ensemble."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``heping-sd assess``."""
    parser.add_argument(
        "--out", type=Path, default=Path("out"), metavar="DIR", help="output directory (./out)"
    )
    parser.add_argument(
        "--goal",
        type=float,
        default=0.8,
        help="probability that every represented target is met, for the lever search (0.8)",
    )
    parser.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the brief")
    parser.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of scenario files to compare (default: the shipped scenarios/)",
    )
    parser.add_argument("--seed", type=int, default=20211210, help="seed of every random draw")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small samples: a first look in seconds (noisier; the brief states the sizes)",
    )
    parser.add_argument(
        "--uncalibrated",
        action="store_true",
        help="draw the ensemble from priors.toml instead of using the stored calibration",
    )
    parser.add_argument(
        "--prior-members",
        type=int,
        default=PRIOR_MEMBERS,
        metavar="N",
        help=f"members drawn from priors.toml when there is no calibration ({PRIOR_MEMBERS})",
    )
    add_model_argument(parser)


def main(args: argparse.Namespace) -> int:
    """Run the assessment, write the outputs and print the table; returns the exit code."""
    import time

    wall, cpu = time.perf_counter(), time.process_time()
    from sim.assess import AssessSettings, assess, default_ensemble, shipped_scenarios, write
    from sim.calibration import calibration_dir
    from sim.errors import InputError
    from sim.priors import load_priors
    from sim.resources import scenarios_dir
    from sim.scenarios import load_levers
    from sim.search import SearchSettings
    from sim.targets import load_targets

    if not 0 < args.goal <= 1:
        raise InputError(f"{args.goal:g} is not a probability", key="--goal", expected="0 < p ≤ 1")
    if args.prior_members < 2:
        raise InputError("too few members", key="--prior-members", expected="at least 2")
    mdl = model_file(args)
    catalogue = load_levers(mdl.parent / "levers.toml")
    targets = load_targets(mdl.parent / "targets.toml")
    priors = load_priors(mdl.parent / "priors.toml")
    directory = args.scenarios if args.scenarios is not None else scenarios_dir()
    if not directory.is_dir():
        raise InputError("no such directory", file=directory, expected="a directory of scenarios")
    scenarios = shipped_scenarios(directory, catalogue)
    ensemble = default_ensemble(
        mdl, calibrated=not args.uncalibrated, prior_members=args.prior_members, seed=args.seed
    )
    if not ensemble.calibrated and not args.uncalibrated:
        print(
            f"note: {mdl.name} has no calibration ({calibration_dir(mdl)}): the ensemble is "
            f"{args.prior_members} draws from priors.toml; `heping-sd calibrate` fits one",
            file=sys.stderr,
        )
    settings = (
        AssessSettings.quick(args.goal, args.seed)
        if args.quick
        else AssessSettings(goal=args.goal, seed=args.seed, search=SearchSettings(seed=args.seed))
    )
    model = load_engine_model(mdl)
    with _ProgressBar() as progress:
        assessment = assess(
            model,
            catalogue,
            targets,
            scenarios,
            ensemble.members,
            ensemble.weights,
            priors=priors,
            settings=settings,
            ensemble_source=ensemble.source,
            ensemble_source_zh=ensemble.source_zh,
            calibrated=ensemble.calibrated,
            progress=progress,
        )
        progress.stage("charts and brief")
        written = write(
            assessment,
            args.out,
            model_file=mdl,
            scenarios=scenarios,
            lang=args.lang,
            calibration_file=ensemble.file,
        )
    print_table(assessment.summary, assessment.evaluation, args.lang)
    print_answer(Path(args.out) / "assessment.md")
    names = ", ".join(path.name for path in written)
    print(
        f"wrote {args.out}/: {names} "
        f"({time.perf_counter() - wall:.0f} s, {time.process_time() - cpu:.0f} s CPU)"
    )
    return 0


class _ProgressBar:
    """A rich progress bar on stderr, one task per stage of the assessment."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.__enter__()
        self._task = None
        return self

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)

    def stage(self, name: str, total: int | None = None) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=self._bar.tasks[-1].total or 1)
        self._task = self._bar.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, steps)


def print_table(summary: dict, evaluation, lang: str = "en", console=None) -> None:
    """Print target × scenario probabilities (and all targets at once) as a rich table."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=1000)  # piped: every row on one line, nothing cut
    scenarios = list(summary["scenarios"])
    names = {
        str(key): str(en if lang == "en" else zh)
        for key, en, zh in zip(
            evaluation["target"].values,
            evaluation["target_name_en"].values,
            evaluation["target_name_zh"].values,
            strict=True,
        )
    }
    table = Table(
        title="P(target met) by scenario" if lang == "en" else "各情景目标达成概率",
        show_lines=False,
    )
    table.add_column("target" if lang == "en" else "目标")
    table.add_column("key")
    for name in scenarios:
        table.add_column(name, justify="right")
    for key, label in names.items():
        cells = [
            _percent(summary["scenarios"][s]["targets"][key]["probability"]) for s in scenarios
        ]
        table.add_row(label, key, *cells)
    table.add_section()
    table.add_row(
        "every represented target" if lang == "en" else "全部同时达成",
        "all",
        *[_percent(summary["scenarios"][s]["all_met_probability"]) for s in scenarios],
    )
    console.print(table)


def print_answer(brief_file: Path, console=None) -> None:
    """Print the brief's answer: its first ``##`` section (status quo, best scenario, cheapest
    mix, what stands in the way, conflicts), rendered for the terminal."""
    from rich.console import Console
    from rich.markdown import Markdown

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=100)  # piped: wrapped for reading, not squeezed
    sections = brief_file.read_text(encoding="utf-8").split("\n## ")
    if len(sections) > 1:
        console.print(Markdown("## " + sections[1].strip()))


def _percent(p: float) -> str:
    return f"{100 * p:.1f}%"
