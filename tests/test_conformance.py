"""The Vensim conformance suite: one test per ``.mdl`` case, and docs/conformance.md.

A case passes when the batched engine reproduces Vensim's reference output at PySD's
tolerances; cases the engine does not support are expected failures stating the reason
(the message of the :class:`~sim.errors.InputError` raised at load time).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import _test_models_dir

from sim.engine.conformance import PASSING_PATTERN, discover, render, run_case

DOC = Path(__file__).resolve().parents[1] / "docs" / "conformance.md"
_FOUND = _test_models_dir()
CASES = discover(_FOUND) if _FOUND else ["<suite not found>"]
_RESULTS: dict = {}


def _result(test_models_dir, case):
    if case not in _RESULTS:
        _RESULTS[case] = run_case(test_models_dir, case)
    return _RESULTS[case]


@pytest.mark.conformance
@pytest.mark.parametrize("case", CASES)
def test_case_matches_vensim(case, test_models_dir):
    result = _result(test_models_dir, case)
    if result.status == "unsupported":
        pytest.xfail(f"unsupported: {result.reason}")
    assert result.status == "pass", result.reason


@pytest.mark.conformance
def test_conformance_doc_matches_the_suite(test_models_dir):
    results = [_result(test_models_dir, case) for case in discover(test_models_dir)]
    passed = sum(r.status == "pass" for r in results)
    text = DOC.read_text(encoding="utf-8")
    documented = int(PASSING_PATTERN.search(text).group(1))
    assert documented == passed
    assert passed >= 60
    assert text == render(results), "regenerate: python -m sim.engine.conformance --write"
