"""Fixtures of the chart tests: synthetic results files and catalogues (see synthetic.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import xarray as xr

from charts.synthetic import (
    LEVERS_TOML,
    TARGETS_TOML,
    make_results,
    make_sensitivity,
    make_sweep,
    write_observed,
)
from plots import fonts
from sim.observed import load_observed
from sim.scenarios import load_levers
from sim.targets import evaluate, load_targets


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """targets.toml, observed.csv and levers.toml for the synthetic model."""
    directory = tmp_path_factory.mktemp("model")
    (directory / "targets.toml").write_text(TARGETS_TOML, encoding="utf-8")
    (directory / "levers.toml").write_text(LEVERS_TOML, encoding="utf-8")
    write_observed(directory / "observed.csv")
    return directory


@pytest.fixture(scope="session")
def targets(data_dir):
    return load_targets(data_dir / "targets.toml")


@pytest.fixture(scope="session")
def levers(data_dir):
    return load_levers(data_dir / "levers.toml")


@pytest.fixture(scope="session")
def observations(data_dir):
    return load_observed(data_dir / "observed.csv")


@pytest.fixture(scope="session")
def results() -> xr.Dataset:
    return make_results()


@pytest.fixture(scope="session")
def best_fit() -> xr.Dataset:
    return make_results(members=0)


@pytest.fixture(scope="session")
def sweep() -> xr.Dataset:
    return make_sweep()


@pytest.fixture(scope="session")
def sensitivity() -> xr.Dataset:
    return make_sensitivity()


@pytest.fixture(scope="session")
def evaluated(results, targets) -> xr.Dataset:
    return evaluate(results, targets)


@pytest.fixture(scope="session")
def evaluated_sweep(sweep, targets) -> xr.Dataset:
    return evaluate(sweep, targets)


@pytest.fixture(scope="session")
def cjk_font() -> str:
    """The installed CJK font; its absence fails in CI (``.ci/run`` installs one), else skips."""
    found = fonts.find_cjk_font()
    if found is None:
        message = "no CJK font installed (apt-get install fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found
