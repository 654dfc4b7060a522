"""``heping-sd bench --json`` prints the agreed figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_bench_json_shape(test_models_dir, tmp_path):
    model = tmp_path / "teacup.mdl"
    model.write_bytes((test_models_dir / "samples/teacup/teacup.mdl").read_bytes())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "bench",
            "--model",
            str(model),
            "--json",
            "--n",
            "2000",
            "--repeat",
            "2",
            "--memory-n",
            "3000",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("pysd_ms_per_run", "batched_us_per_run", "ratio", "ns_per_variable_step", "n"):
        assert figures[key] > 0
    assert figures["n"] == 2000
    expected_ratio = figures["pysd_ms_per_run"] * 1e3 / figures["batched_us_per_run"]
    assert figures["ratio"] == pytest.approx(expected_ratio, rel=1e-9)
    assert 0 < figures["peak_rss_mb"] < 2048
    # PySD translated a copy: nothing was written beside the model
    assert [p.name for p in tmp_path.iterdir()] == ["teacup.mdl"]


def test_bench_refuses_too_few_pysd_runs(test_models_dir):
    model = test_models_dir / "samples/teacup/teacup.mdl"
    result = subprocess.run(
        [sys.executable, "-m", "sim", "bench", "--model", str(model), "--pysd-runs", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "--pysd-runs" in result.stderr


@pytest.mark.slow
def test_100k_runs_of_the_heping_targets_fit_in_2_gb():
    import os
    from pathlib import Path

    from sim.commands.bench import peak_memory_mb
    from sim.resources import model_path

    override = os.environ.get("HEPING_MODEL")
    try:
        path = Path(override) if override else model_path()
    except FileNotFoundError:
        pytest.skip("model/heping.mdl is not in this checkout yet")
    if not path.is_file():
        pytest.skip("model/heping.mdl is not in this checkout yet")
    assert peak_memory_mb(path, 100_000) < 2048
