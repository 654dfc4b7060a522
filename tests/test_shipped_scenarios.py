"""The shipped scenario and sweep files: they load against the shipped lever catalogue,
their lever values lie in range, and the sentences they quote are the article's own."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from sim.resources import model_dir, scenarios_dir
from sim.scenarios import load_levers, load_scenario
from sim.sweep import load_sweep

STORIES = [
    "baseline",
    "talent_first",
    "innovation_push",
    "building_upgrade",
    "consumption_stimulus",
    "balanced",
    "fiscal_austerity",
]
SWEEPS = sorted(p.name for p in scenarios_dir().glob("sweep_*.toml"))
REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO.parent / "shared" / "seed" / "000_9f48f0a973b12739.txt"


@pytest.fixture(scope="module")
def catalogue():
    try:
        path = model_dir() / "levers.toml"
    except FileNotFoundError:  # no model/ at all yet: the model's files land on main separately
        path = REPO / "model" / "levers.toml"
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the lever catalogue is missing: {path}")
        pytest.skip(f"the lever catalogue is missing: {path}")
    return load_levers(path)


@pytest.fixture(scope="module")
def article() -> str:
    if not ARTICLE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the plan article is missing: {ARTICLE}")
        pytest.skip(f"the plan article is missing: {ARTICLE}")
    return ARTICLE.read_text(encoding="utf-8")


def quotes(text: str) -> list[str]:
    """Sentences quoted in a description: each on its own line between ASCII quotes."""
    return re.findall(r'^"(.+)"$', text, flags=re.M)


@pytest.mark.parametrize("name", STORIES)
def test_story_loads_with_levers_in_range(name, catalogue):
    scenario = load_scenario(scenarios_dir() / f"{name}.toml", catalogue)
    assert scenario.name == name
    assert scenario.title_en and re.search(r"[\u4e00-\u9fff]", scenario.title_zh)
    for key, value in scenario.levers.items():
        lever = catalogue[key]
        assert lever.min <= value <= lever.max, key


def test_baseline_is_the_status_quo(catalogue):
    baseline = load_scenario(scenarios_dir() / "baseline.toml", catalogue)
    assert baseline.levers == {key: lever.status_quo for key, lever in catalogue.items()}
    assert baseline.parameters == {}


@pytest.mark.parametrize("name", STORIES[1:])
def test_each_policy_story_moves_some_lever(name, catalogue):
    scenario = load_scenario(scenarios_dir() / f"{name}.toml", catalogue)
    moved = [k for k, v in scenario.levers.items() if v != catalogue[k].status_quo]
    assert moved, f"{name} sets no lever away from the status quo"


@pytest.mark.parametrize("name", [*STORIES, *(s.removesuffix(".toml") for s in SWEEPS)])
def test_descriptions_quote_the_article_verbatim(name, article):
    with open(scenarios_dir() / f"{name}.toml", "rb") as handle:
        found = quotes(tomllib.load(handle)["description"])
    assert found, f"{name} quotes no sentence of the article"
    for sentence in found:
        assert sentence in article, f"{name}: not in the article: {sentence}"


def test_lhs_sweep_covers_every_lever(catalogue):
    sweep = load_sweep(scenarios_dir() / "sweep_levers_lhs.toml", catalogue)
    assert sweep.design == "lhs"
    assert [axis.key for axis in sweep.axes] == list(catalogue)
    for axis in sweep.axes:
        assert (axis.low, axis.high) == (catalogue[axis.key].min, catalogue[axis.key].max)


def test_grid_sweep_is_two_levers_for_a_heatmap(catalogue):
    grids = [s for s in SWEEPS if s.startswith("sweep_grid_")]
    assert grids
    for name in grids:
        sweep = load_sweep(scenarios_dir() / name, catalogue)
        assert sweep.design == "grid" and len(sweep.axes) == 2
        assert name == f"sweep_grid_{sweep.axes[0].key}_{sweep.axes[1].key}.toml"
