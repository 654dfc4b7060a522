"""Shared fixtures (the Vensim conformance suite) and the hypothesis profiles.

Hypothesis profiles: ``ci`` (thorough, still a few minutes for the whole suite on CI's two
cores) when ``$CI`` is set, ``dev`` (quick) otherwise; ``HYPOTHESIS_PROFILE=ci|dev`` picks
one explicitly. Both print a failing example with ``@reproduce_failure`` (``print_blob``)
and store it in ``.hypothesis/examples/`` at the repository root, so that the next run
tries it first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

REPO = Path(__file__).resolve().parents[1]

_EXAMPLES = DirectoryBasedExampleDatabase(str(REPO / ".hypothesis" / "examples"))
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,  # engine batches on a shared CI machine: timing varies
    print_blob=True,
    database=_EXAMPLES,
)
settings.register_profile(
    "dev", max_examples=20, deadline=None, print_blob=True, database=_EXAMPLES
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


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
