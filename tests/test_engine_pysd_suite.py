"""On every conformance model the engine supports, it equals PySD to a relative 1e-9."""

from __future__ import annotations

import pytest
from conftest import _test_models_dir
from engine_helpers import assert_same_as_pysd, pysd_reference, pysd_run

from sim.engine import load_model
from sim.engine.conformance import discover
from sim.errors import InputError

_FOUND = _test_models_dir()
CASES = discover(_FOUND) if _FOUND else ["<suite not found>"]


@pytest.mark.conformance
@pytest.mark.parametrize("case", CASES)
def test_supported_model_equals_pysd(case, test_models_dir, tmp_path):
    path = test_models_dir / "tests" / case
    try:
        ds = load_model(path).run()
    except InputError as err:
        pytest.skip(f"not supported by the engine: {err.message}")
    try:
        frame = pysd_run(pysd_reference(path, tmp_path))
    except Exception as err:  # the reference itself fails (one case: PySD's own broadcasting)
        pytest.skip(f"PySD cannot run this model: {type(err).__name__}: {err}")
    assert assert_same_as_pysd(ds, frame) >= 1
