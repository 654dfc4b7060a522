"""``heping-sd assess`` end to end: the files it writes and a printed table that agrees with
targets.json — on the toy model (fast, with probabilities known by hand) and on the shipped
model (``--quick``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.cli import main
from sim.fileio import sha256_file
from sim.priors import load_priors, sample

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "data" / "assess"
CHARTS = ("matrix.png", "forecast.png", "fan_baseline.png", "tornado.png", "heatmap.png")
FILES = (
    "assessment.md",
    "assessment.json",
    "targets.json",
    "results.nc",
    "sensitivity.nc",
    "cheapest_mix.toml",
    *CHARTS,
)


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """The printed rich table as {row key: {scenario: cell text}} (keys in column 2)."""
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    columns = [cell.strip() for cell in header.strip("┃").split("┃")]
    rows = {}
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        rows[cells[1]] = dict(zip(columns[2:], cells[2:], strict=True))
    return rows


def assert_table_agrees(printed: str, summary: dict) -> None:
    table = parse_table(printed)
    scenarios = summary["scenarios"]
    assert set(table["all"]) == set(scenarios)

    def shown(p: float) -> str:  # as printed: percent with one decimal
        return f"{100 * p:.1f}%"

    for name, entry in scenarios.items():
        assert table["all"][name] == shown(entry["all_met_probability"])
        for key, result in entry["targets"].items():
            assert table[key][name] == shown(result["probability"])
    assert set(table) == {"all", *next(iter(scenarios.values()))["targets"]}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "out"
    args = [
        "assess",
        "--model", str(TOY / "toy.mdl"),
        "--scenarios", str(TOY / "scenarios"),
        "--quick",
        "--prior-members", "64",
        "--seed", "7",
        "--out", str(out),
    ]  # fmt: skip
    return args, out


def test_toy_assess_writes_every_file_and_its_table_agrees_with_targets_json(toy_run, capsys):
    args, out = toy_run
    assert main(args) == 0
    printed = capsys.readouterr().out
    for name in FILES:
        assert (out / name).is_file(), name
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left
    summary = json.loads((out / "targets.json").read_text(encoding="utf-8"))
    assert_table_agrees(printed, summary)
    # the answer is printed too, as the brief words it
    assert "Answer" in printed and "Status quo" in printed

    # Probabilities are the fractions of members meeting each target, by hand.
    u = sample(load_priors(TOY / "priors.toml"), 64, seed=7)["yield_u"]
    half = summary["scenarios"]["half"]
    assert half["targets"]["a_2021_2025"]["probability"] == pytest.approx(np.mean(4.5 * u >= 4))
    assert half["targets"]["b_2025"]["probability"] == 1.0
    assert half["all_met_probability"] == pytest.approx(np.mean(4.5 * u >= 4))
    assert summary["scenarios"]["enough"]["all_met_probability"] == 1.0
    assert summary["scenarios"]["baseline"]["all_met_probability"] == 0.0

    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.sizes["sample"] == 64
        assert ds["scenario"].values.tolist() == ["baseline", "enough", "half", "cheapest_mix"]
        assert float(ds["lever_effort_b"].sel(scenario="cheapest_mix")) >= 3 - 1e-9
    facts = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
    assert facts["search"]["goal_met"]
    # The search judges its answer on the whole ensemble: the same figure as the scenario's.
    assert facts["search"]["probability"] == pytest.approx(
        summary["scenarios"]["cheapest_mix"]["all_met_probability"]
    )
    assert facts["discovery"]["contains_cheapest_mix"]
    brief = (out / "assessment.md").read_text(encoding="utf-8")
    assert "## Answer" in brief and "Output e" in brief  # the unrepresented target is listed
    with xr.open_dataset(out / "sensitivity.nc") as sensitivity:
        assert sensitivity.attrs["output"] in ("all_met_probability", "worst_margin")
        assert sensitivity.attrs["kind"] == "sensitivity"
        with xr.open_dataset(out / "results.nc") as results:
            assert results.attrs["model_sha256"]
            # the toy has no stored calibration: both files say so alike
            for key in ("model_sha256", "heping_sd_version", "calibration_sha256", "seed"):
                assert sensitivity.attrs.get(key) == results.attrs.get(key)
        assert set(sensitivity["factor"].values) == {"effort_a", "effort_b", "effort_c", "yield_u"}
        names = dict(
            zip(sensitivity["factor"].values, sensitivity["factor_name_en"].values, strict=True)
        )
        assert names["yield_u"][0].isupper() and "_" not in names["yield_u"]


def test_chinese_brief(toy_run, tmp_path, capsys):
    args, _ = toy_run
    out = tmp_path / "zh"
    assert main([*args[:-1], str(out), "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    brief = (out / "assessment.md").read_text(encoding="utf-8")
    assert "## 结论" in brief and "产出戊" in brief
    assert "各情景目标达成概率" in printed and "结论" in printed
    assert_table_agrees(printed, json.loads((out / "targets.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--goal", "1.5", "--goal"), ("--prior-members", "1", "--prior-members")],
)
def test_bad_option_is_one_line_and_writes_nothing(
    toy_run, tmp_path, capsys, option, value, message
):
    args, _ = toy_run
    out = tmp_path / "bad"
    assert main([*args[:-1], str(out), option, value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_a_failure_while_writing_leaves_no_output(toy_run, tmp_path, monkeypatch, capsys):
    import sim.assess

    def broken(*args, **kwargs):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(sim.assess, "draw_charts", broken)
    args, _ = toy_run
    out = tmp_path / "partial"
    with pytest.raises(RuntimeError):
        main([*args[:-1], str(out)])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_shipped_model_quick_assess(tmp_path):
    """The README's first command (with --quick) on the shipped model and scenarios."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "assess", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for name in FILES:
        assert (out / name).is_file(), name
    summary = json.loads((out / "targets.json").read_text(encoding="utf-8"))
    assert_table_agrees(done.stdout, summary)
    shipped = {p.stem for p in (REPO / "scenarios").glob("*.toml") if "sweep" not in p.stem}
    assert set(summary["scenarios"]) == shipped | {"cheapest_mix"}
    brief = (out / "assessment.md").read_text(encoding="utf-8")
    assert re.search(r"Not represented \(17 of 28 targets", brief)
    # The default ensemble is the shipped calibration.
    facts = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
    assert facts["ensemble"]["calibrated"] and "calibrated ensemble" in brief
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.sizes["sample"] == facts["ensemble"]["members"]
        assert ds.attrs["calibration_sha256"] == sha256_file(
            REPO / "model" / "calibration" / "ensemble.csv"
        )


def test_a_stale_calibration_is_refused(tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(REPO / "model", model)
    priors = model / "priors.toml"
    priors.write_text(priors.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["assess", "--model", str(model / "heping.mdl"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "stale" in err and "priors.toml" in err and "heping-sd calibrate" in err
    assert not out.exists()
