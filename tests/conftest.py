"""Shared fixtures: where the Vensim conformance suite is, and the shipped model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _test_models_dir() -> Path | None:
    env = os.environ.get("SD_TEST_MODELS")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "test-models")
    for candidate in candidates:
        if (candidate / "tests").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def test_models_dir() -> Path:
    """The SDXorg test-models checkout; missing is a failure in CI and a skip elsewhere."""
    found = _test_models_dir()
    if found is None:
        message = (
            "Vensim conformance suite not found: set $SD_TEST_MODELS or put ../shared/test-models"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


# tests/fake_model.py (a closed-form stand-in for the engine) is imported as a plain module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
