"""Are the 2025 targets jointly reachable? The whole assessment behind ``heping-sd assess``.

:func:`assess` takes a model, its catalogues, the scenarios to compare and an ensemble as plain
data (parameter name → member values, and member weights), and:

1. **discovers** the region of lever space where every target is met (:mod:`sim.discovery`);
2. **searches** for the cheapest lever mix meeting every represented target with probability
   ≥ ``goal`` within the projected lever budget (:mod:`sim.search`, on a subset of members,
   its populations seeded with the most promising mixes of the discovery sample);
3. **runs** every scenario and that mix (as the scenario ``cheapest_mix``) over the whole
   ensemble in one engine call, and evaluates the targets (:func:`sim.targets.evaluate`);
4. computes **Sobol indices** of the all-met probability and of each target's margin to the
   levers and the most uncertain parameters (:mod:`sim.sensitivity`);
5. measures **conflicts** between targets (:mod:`sim.conflicts`);
6. runs a **grid** over the two levers with the largest total Sobol index, the others at the
   mix found, for the heatmap chart.

:func:`write` saves everything into an output directory (results, the targets summary, the
brief, the charts); :mod:`sim.brief` writes the brief. Nothing in the directory is replaced
unless the whole output was produced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.batch import BatchModel, run_scenarios
from sim.conflicts import Conflict, binding_base, find_conflicts, lever_effects
from sim.discovery import Discovery, discover
from sim.errors import InputError
from sim.outcomes import (
    BUDGET_AVAILABLE,
    BUDGET_SCALE,
    POLICY_YEARS,
    LeverSpace,
    Simulator,
    weighted_quantile,
)
from sim.priors import Priors
from sim.scenarios import LeverCatalogue, Scenario, dump_scenario, load_scenario_text
from sim.search import SearchResult, SearchSettings, search
from sim.sensitivity import analyze, factors_for, most_uncertain
from sim.targets import TargetCatalogue, evaluate, summarize, target_quantities
from sim.tomlfile import read_toml

MIX_SCENARIO = "cheapest_mix"
"""Name of the scenario holding the lever mix the search found."""
BUDGET_COLUMNS = (
    BUDGET_AVAILABLE,
    BUDGET_SCALE,
    "lever_spending_requested",
    "lever_spending",
    "budget_revenue",
)
"""Budget variables kept in results.nc beside the target quantities (those the model has)."""
REVENUE = "budget_revenue"


@dataclass(frozen=True)
class AssessSettings:
    """Sample sizes and seeds of every stage (the defaults fit the 3-minute budget)."""

    goal: float = 0.8
    seed: int = 20211210
    search_members: int = 128
    search: SearchSettings = field(default_factory=SearchSettings)
    search_starts: int = 20
    """The most promising discovery mixes that seed the search's populations."""
    discovery_samples: int = 2048
    discovery_members: int = 64
    sensitivity_samples: int = 512
    sensitivity_members: int = 16
    sensitivity_parameters: int = 8
    conflict_members: int = 256
    conflict_step: float = 0.1
    overspend: float = 1.25
    heatmap_points: int = 9
    heatmap_members: int = 64

    @classmethod
    def quick(cls, goal: float = 0.8, seed: int = 20211210) -> AssessSettings:
        """Small samples for a first look and for tests (seconds, and noisier)."""
        return cls(
            goal=goal,
            seed=seed,
            search_members=32,
            search=SearchSettings(popsize=4, maxiter=12, seed=seed),
            search_starts=8,
            discovery_samples=256,
            discovery_members=16,
            sensitivity_samples=32,
            sensitivity_members=4,
            sensitivity_parameters=4,
            conflict_members=32,
            heatmap_points=5,
            heatmap_members=8,
        )


class Progress:
    """Progress reports of :func:`assess` (ignored here; the command shows a bar)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage begins; ``total`` steps follow, if known."""

    def advance(self, steps: int = 1) -> None:
        """Steps of the current stage are done."""


@dataclass(frozen=True)
class Spread:
    """A weighted median and 5–95 % range over the members."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray) -> Spread:
        """The spread of ``values (members,)``."""
        q = [float(weighted_quantile(values, weights, p, axis=0)) for p in (0.5, 0.05, 0.95)]
        return cls(*q)


@dataclass(frozen=True)
class BudgetFacts:
    """What a scenario's levers ask and what the budget gives, from its runs."""

    scenario: str
    cost: float
    """The levers' annual cost, Σ value × cost_per_unit (亿元/Year)."""
    lever_budget: Spread | None
    """Smallest lever budget available in 2021–2025 (亿元/Year)."""
    revenue_2025: Spread | None
    """General public budget revenue in 2025 (亿元/Year)."""
    funded_probability: float | None
    """Share of members in which the budget funds the whole ask every year of 2021–2025."""


@dataclass
class Assessment:
    """Everything :func:`assess` found; :func:`write` saves it and :mod:`sim.brief` tells it."""

    results: xr.Dataset
    evaluation: xr.Dataset
    summary: dict[str, Any]
    search: SearchResult
    mix: Scenario
    mix_toml: str
    discovery: Discovery
    sensitivity: dict[str, xr.Dataset]
    uncertain_parameters: list[tuple[str, float]]
    effects_status_quo: xr.Dataset
    effects_binding: xr.Dataset | None
    binding_mix: dict[str, float]
    conflicts: list[Conflict]
    budgets: dict[str, BudgetFacts]
    grid: xr.Dataset | None
    grid_levers: tuple[str, str] | None
    settings: AssessSettings
    catalogue: LeverCatalogue
    targets: TargetCatalogue
    ensemble_source: str
    ensemble_source_zh: str
    calibrated: bool
    members: int
    stages: dict[str, dict[str, float]]
    """Stage → wall seconds, CPU seconds and engine runs."""
    scenario_names: list[str]
    grid_target: str | None = None
    """The target the heatmap maps when P(all met) is the same in every grid cell."""


class _Stages:
    """Wall and CPU time, and engine runs, per stage."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.record: dict[str, dict[str, float]] = {}

    def run(self, name: str, simulators: Sequence[Simulator], work: Callable[[], Any], total=None):
        self.progress.stage(name, total)
        before = sum(s.runs for s in simulators)
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        self.record[name] = {
            "wall_s": round(time.perf_counter() - wall, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
            "runs": int(sum(s.runs for s in simulators) - before),
        }
        return out


@dataclass(frozen=True)
class Ensemble:
    """An ensemble as plain data, and where it came from."""

    members: dict[str, np.ndarray]
    """Parameter name → member values."""
    weights: np.ndarray | None
    source: str
    """For the brief: what the ensemble is."""
    source_zh: str = ""
    """The same in Chinese."""
    file: Path | None = None
    """The file it was read from (recorded in results.nc as ``calibration_sha256``)."""
    calibrated: bool = False


def default_ensemble(
    model_file: str | Path | None = None,
    *,
    calibrated: bool = True,
    prior_members: int = 256,
    seed: int = 20211210,
) -> Ensemble:
    """The ensemble ``heping-sd assess`` uses for a model.

    The calibrated ensemble stored beside the model (``calibration/``, read by
    :func:`sim.calibration.load_calibration`; a stale one is refused) when there is one and
    ``calibrated`` is true; otherwise ``prior_members`` scrambled-Sobol draws from the
    ``priors.toml`` beside the model (:func:`sim.priors.sample`), uncalibrated.
    """
    from sim.calibration import load_calibration
    from sim.priors import load_priors, sample
    from sim.resources import model_path

    model_file = Path(model_file) if model_file is not None else model_path()
    calibration = load_calibration(model_file) if calibrated else None
    if calibration is not None:
        calibration.require_current()
        name = calibration.ensemble_file.name
        return Ensemble(
            members=calibration.ensemble,
            weights=calibration.weights,
            source=f"calibrated ensemble ({name}: history matching to the 十三五 record, "
            f"seed {calibration.seed})",
            source_zh=f"校准集合（{name}：对“十三五”实绩的历史拟合，种子 {calibration.seed}）",
            file=calibration.ensemble_file,
            calibrated=True,
        )
    priors = load_priors(model_file.parent / "priors.toml")
    return Ensemble(
        members=sample(priors, prior_members, seed=seed),
        weights=None,
        source=f"uncalibrated ensemble drawn from priors.toml (Sobol', seed {seed})",
        source_zh=f"由 priors.toml 先验抽取、未经校准的集合（Sobol'，种子 {seed}）",
    )


def shipped_scenarios(directory: str | Path, catalogue: LeverCatalogue) -> list[Scenario]:
    """The scenario files of a directory (sweep files left out), ``baseline`` first."""
    from sim.scenarios import load_scenario

    directory = Path(directory)
    scenarios = []
    for path in sorted(directory.glob("*.toml")):
        if "design" in read_toml(path):  # a sweep file
            continue
        scenarios.append(load_scenario(path, catalogue))
    if not scenarios:
        raise InputError("no scenario files", file=directory, expected="*.toml scenario files")
    scenarios.sort(key=lambda s: s.name != "baseline")
    return scenarios


def assess(
    model: BatchModel,
    catalogue: LeverCatalogue,
    targets: TargetCatalogue,
    scenarios: Sequence[Scenario],
    ensemble: Mapping[str, np.ndarray],
    weights: np.ndarray | Sequence[float] | None = None,
    *,
    priors: Priors | None = None,
    settings: AssessSettings | None = None,
    ensemble_source: str = "ensemble",
    ensemble_source_zh: str = "",
    calibrated: bool = False,
    progress: Progress | None = None,
) -> Assessment:
    """Run the whole assessment (see the module docstring).

    Parameters
    ----------
    model
        An engine model (``sim.load_model``).
    catalogue, targets
        The lever and target catalogues.
    scenarios
        The scenarios to compare (``baseline`` first, if present: its ``[parameters]`` and
        ``[run]`` are the base of the search and the other analyses).
    ensemble
        Parameter name → M member values.
    weights
        M member weights (equal when ``None``).
    priors
        The prior catalogue (:func:`sim.priors.load_priors`); it decides which parameters
        are the most uncertain (no parameter enters the sensitivity analysis without it).
    settings
        Sample sizes and seeds (:class:`AssessSettings`).
    ensemble_source, ensemble_source_zh
        Where the ensemble came from, for the brief (in English and Chinese).
    calibrated
        Whether the ensemble is calibrated to the record (the brief warns when it is not).
    progress
        Receives stage and step reports.

    Returns
    -------
    Assessment
    """
    settings = settings or AssessSettings()
    progress = progress or Progress()
    stages = _Stages(progress)
    if not scenarios:
        raise InputError("no scenarios to assess")
    base = next((s for s in scenarios if s.name == "baseline"), scenarios[0])
    simulate = Simulator(
        model, catalogue, targets, ensemble, weights, fixed=base.parameters, run=base.run
    )
    weights = simulate.weights
    space = simulate.space
    seed = settings.seed

    discovery_sim = simulate.subset(settings.discovery_members, seed + 1)
    found_region = stages.run(
        "discovery",
        [discovery_sim],
        lambda: discover(
            discovery_sim,
            threshold=settings.goal,
            samples=settings.discovery_samples,
            seed=seed + 1,
        ),
    )

    search_sim = simulate.subset(settings.search_members, seed)
    generations = settings.search.maxiter + 1
    found = stages.run(
        "search",
        [search_sim, simulate],
        lambda: search(
            search_sim,
            settings.goal,
            settings.search,
            starts=found_region.promising(settings.search_starts),
            verify=simulate,
            callback=progress.advance,
        ),
        total=3 * generations,
    )
    mix_toml = _mix_toml(found, base, settings.goal)
    mix = load_scenario_text(mix_toml, catalogue, source=f"{MIX_SCENARIO}.toml")

    variables = set(getattr(model, "variables", ()))
    columns = target_quantities(targets) + [c for c in BUDGET_COLUMNS if c in variables]
    all_scenarios = [*scenarios, mix]

    def run_all() -> xr.Dataset:
        ds = run_scenarios(
            model,
            all_scenarios,
            catalogue,
            ensemble=simulate.ensemble,
            member_weights=weights,
            return_columns=columns,
        )
        simulate.runs += len(all_scenarios) * simulate.members
        return ds

    results = stages.run("scenarios", [simulate], run_all)
    from sim.results import check_finite

    check_finite(results)
    evaluation = evaluate(results, targets)
    summary = summarize(evaluation, results)
    budgets = {
        name: _budget_facts(results, name, _scenario_cost(scenario, space), weights)
        for name, scenario in ((s.name, s) for s in all_scenarios)
    }

    sensitivity_sim = simulate.subset(settings.sensitivity_members, seed + 2)
    uncertain = (
        most_uncertain(simulate.ensemble, weights, priors, settings.sensitivity_parameters)
        if priors
        else []
    )
    parameters = [name for name, _ in uncertain]
    factors = factors_for(
        sensitivity_sim, priors or {}, parameters, _factor_names(model, catalogue, parameters)
    )
    sensitivity = stages.run(
        "sensitivity",
        [sensitivity_sim],
        lambda: analyze(
            sensitivity_sim, factors, samples=settings.sensitivity_samples, seed=seed + 2
        ),
    )

    conflict_sim = simulate.subset(settings.conflict_members, seed + 3)

    def measure_conflicts():
        at_status_quo = lever_effects(conflict_sim, space.status_quo, settings.conflict_step)
        binding = None
        bind_mix = space.status_quo
        lever_budget = budgets[base.name].lever_budget
        if lever_budget is not None:
            bind_mix = binding_base(space, lever_budget.median, settings.overspend)
            candidate = lever_effects(conflict_sim, bind_mix, settings.conflict_step)
            funded = candidate.get("base_funded")
            if funded is not None and Spread.of(funded.values, conflict_sim.weights).median < 1:
                binding = candidate
        return at_status_quo, binding, bind_mix

    effects_sq, effects_binding, bind_mix = stages.run(
        "conflicts", [conflict_sim], measure_conflicts
    )
    conflicts = find_conflicts(effects_sq, effects_binding)

    grid_sim = simulate.subset(settings.heatmap_members, seed + 4)
    grid_levers = _grid_levers(sensitivity)
    grid = None
    if grid_levers is not None:
        grid = stages.run(
            "grid",
            [grid_sim],
            lambda: _grid(grid_sim, grid_levers, found, settings.heatmap_points),
        )
    grid_target = heatmap_target(grid, targets) if grid is not None else None

    return Assessment(
        results=results,
        evaluation=evaluation,
        summary=summary,
        search=found,
        mix=mix,
        mix_toml=mix_toml,
        discovery=found_region,
        sensitivity=sensitivity,
        uncertain_parameters=uncertain,
        effects_status_quo=effects_sq,
        effects_binding=effects_binding,
        binding_mix=space.as_dict(bind_mix),
        conflicts=conflicts,
        budgets=budgets,
        grid=grid,
        grid_levers=grid_levers,
        settings=settings,
        catalogue=catalogue,
        targets=targets,
        ensemble_source=ensemble_source,
        ensemble_source_zh=ensemble_source_zh or ensemble_source,
        calibrated=calibrated,
        members=simulate.members,
        stages=stages.record,
        scenario_names=[s.name for s in all_scenarios],
        grid_target=grid_target,
    )


def _mix_toml(found: SearchResult, base: Scenario, goal: float) -> str:
    """The mix the search found, as a scenario file (written to the output, runnable)."""
    if found.goal_met:
        title_en = f"Cheapest lever mix meeting every target with P ≥ {goal:.0%}"
        title_zh = f"以最低成本使全部目标达成概率≥{goal:.0%}的政策组合"
    else:
        title_en = f"Cheapest lever mix at the highest reachable P ({found.probability:.0%})"
        title_zh = f"可达最高概率({found.probability:.0%})下成本最低的政策组合"
    scenario = Scenario(
        name=MIX_SCENARIO,
        title_en=title_en,
        title_zh=title_zh,
        description=(
            "Found by heping-sd assess (differential evolution over the lever ranges): the "
            f"least annual fiscal cost ({found.cost:.3f} 亿元/Year) at which "
            f"{found.probability:.1%} of the search's ensemble members meet every represented "
            "target, within the projected lever budget."
        ),
        levers=dict(found.levers),  # full precision: the file reruns exactly this mix
        parameters=dict(base.parameters),
        run=base.run,
    )
    return dump_scenario(scenario)


def _scenario_cost(scenario: Scenario, space: LeverSpace) -> float:
    return float(space.cost(np.array([scenario.levers[k] for k in space.keys])))


def _budget_facts(
    results: xr.Dataset, scenario: str, cost: float, weights: np.ndarray
) -> BudgetFacts:
    one = results.sel(scenario=scenario)
    times = np.asarray(one["time"].values, dtype=float)
    policy = (times >= POLICY_YEARS[0] - 1e-6) & (times <= POLICY_YEARS[1] + 1e-6)
    lever_budget = revenue = funded = None
    if BUDGET_AVAILABLE in one:
        smallest = one[BUDGET_AVAILABLE].isel(time=np.flatnonzero(policy)).min("time")
        lever_budget = Spread.of(smallest.values, weights)
    if REVENUE in one and np.any(np.isclose(times, POLICY_YEARS[1])):
        at_end = one[REVENUE].isel(time=int(np.flatnonzero(np.isclose(times, POLICY_YEARS[1]))[0]))
        revenue = Spread.of(at_end.values, weights)
    if BUDGET_SCALE in one:
        scale = one[BUDGET_SCALE].isel(time=np.flatnonzero(policy)).min("time").values
        funded = float((scale >= 1 - 1e-9).astype(float) @ weights)
    return BudgetFacts(scenario, cost, lever_budget, revenue, funded)


def heatmap_target(grid: xr.Dataset, targets: TargetCatalogue) -> str | None:
    """``None`` when P(all met) differs between grid cells (the heatmap maps it); else the
    target whose probability the two levers move most (``None`` if none moves).

    A flat all-met surface (0 % everywhere, say) shows nothing; the most-moved target shows
    what the two levers do.
    """
    evaluation = evaluate(grid, targets)
    if np.ptp(evaluation["all_met_probability"].values) > 0:
        return None
    spread = evaluation["probability"].max("run") - evaluation["probability"].min("run")
    if float(spread.max()) <= 0:
        return None
    return str(spread["target"].values[int(np.argmax(spread.values))])


def _grid_levers(sensitivity: Mapping[str, xr.Dataset]) -> tuple[str, str] | None:
    """The two levers with the largest total index of the headline sensitivity output."""
    ds = headline_sensitivity(sensitivity)
    if ds is None:
        return None
    levers = ds.where(ds["factor_kind"] == "lever", drop=True)
    if levers.sizes["factor"] < 2:
        return None
    order = np.argsort(-levers["ST"].values, kind="stable")
    names = levers["factor"].values[order[:2]].tolist()
    return str(names[0]), str(names[1])


def _grid(
    simulate: Simulator, levers: tuple[str, str], found: SearchResult, points: int
) -> xr.Dataset:
    """A grid sweep over two levers, the others at the mix found: ``run × sample × time``."""
    space = simulate.space
    base = np.array([found.levers[k] for k in space.keys])
    i, j = (space.keys.index(k) for k in levers)
    xs = np.linspace(space.low[i], space.high[i], points)
    ys = np.linspace(space.low[j], space.high[j], points)
    xx, yy = np.meshgrid(xs, ys, indexing="ij")
    mixes = np.repeat(base[None, :], xx.size, axis=0)
    mixes[:, i], mixes[:, j] = xx.ravel(), yy.ravel()
    ds = simulate.simulate(mixes).rename(mix="run")
    ds = ds.assign_coords(
        run=np.arange(xx.size),
        sample=np.arange(simulate.members),
        **{
            f"lever_{key}": ("run", mixes[:, space.keys.index(key)])
            for key in levers  # the heatmap reads the swept levers' coordinates
        },
    )
    ds["sample_weight"] = xr.DataArray(simulate.weights, dims="sample")
    ds.attrs.update(
        sweep_name="assess_grid",
        design="grid",
        base_scenario=MIX_SCENARIO,
        fixed_levers=json.dumps({k: v for k, v in found.levers.items() if k not in levers}),
    )
    return ds


# --------------------------------------------------------------------------- output


def _factor_names(model, catalogue, parameters) -> dict[str, tuple[str, str]]:
    """(English, Chinese) names of the levers (their catalogue) and of the parameters (the
    model's own labels; a parameter the model does not name in Chinese keeps its English)."""
    names = {key: (lever.name_en, lever.name_zh) for key, lever in catalogue.items()}
    for name in parameters:
        labels = model.labels(name)
        english = labels["long_name"][:1].upper() + labels["long_name"][1:]
        names[name] = (english, labels.get("long_name_zh", english))
    return names


def write(
    assessment: Assessment,
    out: str | Path,
    *,
    model_file: str | Path,
    scenarios: Sequence[Scenario],
    lang: str = "en",
    calibration_file: str | Path | None = None,
) -> list[Path]:
    """Write the assessment into ``out`` (created if needed); returns the files written.

    Files: ``results.nc`` (every scenario and the mix, × members × time), ``targets.json``
    (the shape of ``heping-sd targets --json``), ``assessment.md`` (the brief),
    ``assessment.json`` (every figure the brief quotes), ``sensitivity.nc`` (Sobol indices of
    the headline output), ``cheapest_mix.toml`` (the mix as a scenario file) and the charts
    (PNG). Everything is produced in a temporary directory beside ``out`` first and moved
    into it only when complete, so a failure leaves ``out`` as it was (or absent).
    """
    from sim.brief import brief
    from sim.observed import load_observed
    from sim.results import finish, provenance, write_netcdf

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        mix_file = staging / f"{MIX_SCENARIO}.toml"
        mix_file.write_text(assessment.mix_toml, encoding="utf-8")
        attrs = provenance(
            kind="run",
            model_file=model_file,
            scenarios=[*scenarios, assessment.mix],
            seed=assessment.settings.seed,
            calibration_file=calibration_file,
            extra={"assess_goal": assessment.settings.goal, "ensemble": assessment.ensemble_source},
        )
        write_netcdf(finish(assessment.results, attrs), staging / "results.nc")
        _write_json(staging / "targets.json", assessment.summary)
        headline = headline_sensitivity(assessment.sensitivity)
        if headline is not None:
            # the same provenance as results.nc; the indices' own attrs (output, …) win
            own = {**attrs, "kind": "sensitivity", **headline.attrs}
            write_netcdf(finish(headline, own), staging / "sensitivity.nc")
        observed = Path(model_file).parent / "observed.csv"
        record = load_observed(observed) if observed.is_file() else []
        charts = draw_charts(assessment, staging, lang, record)
        _write_json(staging / "assessment.json", facts(assessment, charts))
        (staging / "assessment.md").write_text(brief(assessment, charts, lang), encoding="utf-8")
        out.mkdir(exist_ok=True)
        written = []
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
            written.append(out / path.name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


INFORMATIVE_SHARE = 0.1
"""P(all met) is the headline sensitivity output only if at least this share of the design
points lies above its smallest value and this share below its largest; otherwise it is
(nearly) constant over the design — 0 almost everywhere when the targets are out of reach —
and its Sobol indices are noise, so the worst target margin is shown instead."""


def headline_sensitivity(sensitivity: Mapping[str, xr.Dataset]) -> xr.Dataset | None:
    """The indices of P(all met) when it varies enough over the design (see
    :data:`INFORMATIVE_SHARE`), else those of the worst normalised target margin."""
    probability = sensitivity.get("all_met_probability")
    if probability is not None and (
        probability.attrs.get("output_share_above_min", 0) >= INFORMATIVE_SHARE
        and probability.attrs.get("output_share_below_max", 0) >= INFORMATIVE_SHARE
    ):
        return probability
    return sensitivity.get("worst_margin", probability)


def draw_charts(
    assessment: Assessment, directory: Path, lang: str, observations: Sequence = ()
) -> dict[str, str]:
    """Draw the charts with the ``plots`` package (from the results; nothing is re-run).

    ``observations`` is the model's record (``observed.csv``), drawn on the forecasts.

    Returns
    -------
    dict
        Chart name → file name, for the charts drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from plots import KINDS

    results, targets, levers = assessment.results, assessment.targets, assessment.catalogue
    jobs: dict[str, Callable[[], Any]] = {
        "matrix": lambda: KINDS["matrix"](results, targets=targets, lang=lang),
        "forecast": lambda: KINDS["forecast"](
            results, targets=targets, observations=observations, lang=lang
        ),
        "fan_baseline": lambda: KINDS["fan"](
            results,
            scenario=assessment.scenario_names[0],
            targets=targets,
            observations=observations,
            lang=lang,
        ),
        f"fan_{MIX_SCENARIO}": lambda: KINDS["fan"](
            results, scenario=MIX_SCENARIO, targets=targets, observations=observations, lang=lang
        ),
        "compare": lambda: KINDS["compare"](results, targets=targets, lang=lang),
    }
    headline = headline_sensitivity(assessment.sensitivity)
    if headline is not None:
        jobs["tornado"] = lambda: KINDS["tornado"](headline, lever_catalogue=levers, lang=lang)
    if assessment.grid is not None and assessment.grid_levers is not None:
        jobs["heatmap"] = lambda: KINDS["heatmap"](
            assessment.grid,
            levers=list(assessment.grid_levers),
            target=assessment.grid_target,
            targets=targets,
            lever_catalogue=levers,
            lang=lang,
        )
    drawn = {}
    for name, draw in jobs.items():
        figure = draw()
        try:
            figure.savefig(directory / f"{name}.png", dpi=150)
        finally:
            plt.close(figure)
        drawn[name] = f"{name}.png"
    return drawn


def facts(assessment: Assessment, charts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every figure the brief quotes, as JSON-ready data (``assessment.json``)."""
    found = assessment.search
    box = assessment.discovery.box
    summary = assessment.summary["scenarios"]
    sensitivity = {
        output: {
            str(f): {"S1": float(s1), "ST": float(st), "kind": str(k)}
            for f, s1, st, k in zip(
                ds["factor"].values,
                ds["S1"].values,
                ds["ST"].values,
                ds["factor_kind"].values,
                strict=True,
            )
        }
        for output, ds in assessment.sensitivity.items()
    }
    return {
        "goal": assessment.settings.goal,
        "ensemble": {
            "source": assessment.ensemble_source,
            "members": assessment.members,
            "calibrated": assessment.calibrated,
        },
        "all_met_probability": {name: summary[name]["all_met_probability"] for name in summary},
        "search": asdict(found),
        "budgets": {name: asdict(b) for name, b in assessment.budgets.items()},
        "discovery": {
            "limits": {k: list(v) for k, v in box.limits.items()},
            "coverage": box.coverage,
            "density": box.density,
            "mass": box.mass,
            "points": box.points,
            "threshold": assessment.discovery.threshold,
            "reaches_threshold": assessment.discovery.reaches_threshold,
            "overall_density": assessment.discovery.overall_density,
            "samples": assessment.discovery.samples,
            "members": assessment.discovery.members,
            "contains_cheapest_mix": box.contains(found.levers),
            "target_max_probability": dict(
                zip(
                    assessment.evaluation["target"].values.tolist(),
                    map(float, assessment.discovery.target_success.max(axis=0)),
                    strict=True,
                )
            ),
        },
        "sensitivity": sensitivity,
        "uncertain_parameters": dict(assessment.uncertain_parameters),
        "conflicts": [asdict(c) for c in assessment.conflicts],
        "budget_binds_at": assessment.binding_mix if assessment.effects_binding else None,
        "grid_levers": list(assessment.grid_levers) if assessment.grid_levers else None,
        "grid_target": assessment.grid_target,
        "settings": _settings_dict(assessment.settings),
        "stages": assessment.stages,
        "charts": dict(charts or {}),
    }


def _settings_dict(settings: AssessSettings) -> dict[str, Any]:
    data = asdict(settings)
    data["search"] = asdict(settings.search)
    return data
