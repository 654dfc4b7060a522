"""The batched engine equals PySD's ``run(params=...)`` for random parameter draws."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import assert_same_as_pysd, pysd_reference, pysd_run

from sim.commands.bench import draw_params
from sim.engine import load_model
from sim.resources import model_path

# Models with the constructs the Heping model uses: stocks, lookups (named and inline),
# SMOOTH/DELAY/TREND, IF THEN ELSE, MIN/MAX, XIDZ/ZIDZ, STEP/RAMP/PULSE.
CASES = [
    "samples/teacup/teacup.mdl",
    "samples/SIR/SIR.mdl",
    "tests/lookups/test_lookups.mdl",
    "tests/lookups_inline/test_lookups_inline.mdl",
    "tests/smooth/test_smooth.mdl",
    "tests/delays/test_delays.mdl",
    "tests/trend/test_trend.mdl",
    "tests/input_functions/test_inputs.mdl",
    "tests/xidz_zidz/xidz_zidz.mdl",
    "tests/builtin_max/builtin_max.mdl",
    "tests/if_stmt/if_stmt.mdl",
    "tests/sample_if_true/test_sample_if_true.mdl",
    "tests/subscripted_flows/test_subscripted_flows.mdl",
]


def _draws(model, n: int, seed: int):
    return draw_params(model, np.random.default_rng(seed), n)


@pytest.mark.parametrize("case", CASES)
def test_random_draws_equal_pysd(case, test_models_dir, tmp_path):
    path = test_models_dir / case
    model = load_model(path)
    params = _draws(model, 3, seed=sum(map(ord, case)))
    ds = model.run(params, n=3)
    reference = pysd_reference(path, tmp_path)
    for run in range(3):
        one = {name: float(values[run]) for name, values in params.items()}
        compared = assert_same_as_pysd(ds, pysd_run(reference, one), run=run)
        assert compared >= 2


@pytest.mark.slow
def test_heping_model_equals_pysd(tmp_path):
    override = os.environ.get("HEPING_MODEL")  # a model being written elsewhere
    path = Path(override) if override else (model_path() if _shipped_model_exists() else None)
    if path is None:
        pytest.skip("model/heping.mdl is not in this checkout yet")
    model = load_model(path)
    n = 5
    params = _draws(model, n, seed=2025)
    assert params, "the Heping model should have constants to vary"
    ds = model.run(params, n=n)
    reference = pysd_reference(path, tmp_path)
    for run in range(n):
        one = {name: float(values[run]) for name, values in params.items()}
        assert assert_same_as_pysd(ds, pysd_run(reference, one), run=run) > 20


def _shipped_model_exists() -> bool:
    try:
        return model_path().is_file()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "controls", [{"final_time": 12}, {"time_step": 0.25, "saveper": 1.5}, {"saveper": 2}]
)
def test_control_overrides_equal_pysd(controls, test_models_dir, tmp_path):
    path = test_models_dir / "tests/smooth/test_smooth.mdl"
    ds = load_model(path).run(**controls)
    frame = pysd_run(pysd_reference(path, tmp_path), **controls)
    assert assert_same_as_pysd(ds, frame) >= 3
