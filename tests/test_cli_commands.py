"""``heping-sd run``, ``sweep`` and ``targets``: exit codes, one-line messages, files left.

Bad input is tested through a subprocess, exactly as a user meets it. The success paths run
in-process on the closed-form fake model, through the same ``main``; the end-to-end tests on
the real engine and model are in test_cli_end_to_end.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from fake_model import FakeModel

from sim import cli
from sim.fileio import sha256_file

DATA = Path(__file__).parent / "data"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.fixture
def model_dir(tmp_path):
    """A model folder: a placeholder .mdl with the fixture levers and targets beside it."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "fake.mdl").write_text("{UTF-8}\nx = 1\n~ ~|\n", encoding="utf-8")
    shutil.copy(DATA / "levers.toml", folder)
    shutil.copy(DATA / "targets.toml", folder)
    return folder


@pytest.fixture
def fake_engine(monkeypatch):
    """Route the commands' engine to the fake model (in-process runs only)."""
    import sim.commands.run
    import sim.commands.sweep

    for module in (sim.commands.run, sim.commands.sweep):
        monkeypatch.setattr(module, "load_engine_model", lambda path: FakeModel())


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# ----------------------------------------------------------------- bad input, subprocess


def test_misspelt_lever_exits_2_naming_the_nearest(tmp_path, model_dir):
    scenario = write(tmp_path, "s.toml", 'name = "s"\n[levers]\nbuilding_upgrad = 3\n')
    out = tmp_path / "r.nc"
    result = run_cli(
        "run", str(scenario), "--out", str(out), "--model", str(model_dir / "fake.mdl")
    )
    line = assert_one_line_error(
        result, str(scenario), "levers.building_upgrad", "unknown lever", "'building_upgrade'"
    )
    assert line.startswith("heping-sd run: error: ")
    assert not out.exists()
    assert set(tmp_path.iterdir()) == {model_dir, scenario}  # nothing else left behind


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ('name = "s"\n[levers]\nhq_attraction = 4\n', ["levers.hq_attraction", "[0, 3] intensity"]),
        ('name = "s"\n[levers]\nhq_attraction = "lots"\n', ["levers.hq_attraction", "number"]),
        ('name = "s"\nbase = "s"\n', ["base", "cycle in base"]),
        ('name = "s"\nbase = "nowhere"\n', ["base", "not found"]),
        ('name = "s"\n[levers\n', ["invalid TOML"]),
    ],
)
def test_bad_scenarios_exit_2_with_one_line(tmp_path, model_dir, body, fragments):
    scenario = write(tmp_path, "s.toml", body)
    out = tmp_path / "r.nc"
    result = run_cli(
        "run", str(scenario), "--out", str(out), "--model", str(model_dir / "fake.mdl")
    )
    assert_one_line_error(result, str(scenario), *fragments)
    assert not out.exists()


def test_missing_scenario_file(tmp_path, model_dir):
    result = run_cli(
        "run",
        str(tmp_path / "nope.toml"),
        "--out",
        str(tmp_path / "r.nc"),
        "--model",
        str(model_dir / "fake.mdl"),
    )
    assert_one_line_error(result, "nope.toml", "no such file")


def test_missing_model_file(tmp_path):
    scenario = write(tmp_path, "s.toml", 'name = "s"\n')
    result = run_cli(
        "run", str(scenario), "--out", str(tmp_path / "r.nc"), "--model", str(tmp_path / "x.mdl")
    )
    assert_one_line_error(result, "x.mdl", "no such model file")


def test_bad_sweep_file_exits_2(tmp_path, model_dir):
    write(tmp_path, "base.toml", 'name = "base"\n')
    sweep = write(
        tmp_path, "sw.toml", 'name = "sw"\nbase = "base"\ndesign = "sobl"\n[levers.hq_attraction]\n'
    )
    out = tmp_path / "sw.nc"
    result = run_cli("sweep", str(sweep), "--out", str(out), "--model", str(model_dir / "fake.mdl"))
    assert_one_line_error(result, str(sweep), "design", "'sobol'")
    assert not out.exists()


def test_targets_on_a_missing_or_broken_file(tmp_path):
    result = run_cli("targets", str(tmp_path / "none.nc"), "--targets", str(DATA / "targets.toml"))
    assert_one_line_error(result, "none.nc", "no such results file")
    broken = write(tmp_path, "broken.nc", "not netcdf")
    result = run_cli("targets", str(broken), "--targets", str(DATA / "targets.toml"))
    assert_one_line_error(result, "broken.nc", "cannot read as NetCDF")


# ----------------------------------------------------------------- success, in-process


def test_run_writes_netcdf_with_provenance_and_csv(tmp_path, model_dir, fake_engine, capsys):
    a = write(tmp_path, "a.toml", 'name = "a"\ntitle_zh = "甲"\n')
    b = write(tmp_path, "b.toml", 'name = "b"\nbase = "a"\n[levers]\ntalent_programme = 4\n')
    out = tmp_path / "out" / "r.nc"
    code = cli.main(
        [
            "run",
            str(a),
            str(b),
            "--out",
            str(out),
            "--csv",
            str(tmp_path / "csv"),
            "--model",
            str(model_dir / "fake.mdl"),
        ]
    )
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    with xr.open_dataset(out) as ds:
        assert ds["gdp_total"].dims == ("scenario", "time")
        assert list(ds["scenario"].values) == ["a", "b"]
        assert list(ds["lever_talent_programme"].values) == [1.0, 4.0]
        assert ds.attrs["model_sha256"] == sha256_file(model_dir / "fake.mdl")
        assert json.loads(ds.attrs["scenario_sha256"]) == {"a": sha256_file(a), "b": sha256_file(b)}
        for key in ("heping_sd_version", "seed", "created", "kind"):
            assert key in ds.attrs
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "a.csv",
        "b.csv",
        "variables.csv",
    ]


def test_run_stops_on_nan_and_writes_nothing(tmp_path, model_dir, fake_engine, capsys):
    bad = write(tmp_path, "bad.toml", 'name = "bad"\n[parameters]\ninstability = 2\n')
    out = tmp_path / "r.nc"
    code = cli.main(["run", str(bad), "--out", str(out), "--model", str(model_dir / "fake.mdl")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'unstable_quantity'" in err and "scenario 'bad'" in err and "time 2020" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "model"]


def test_sweep_then_targets_json(tmp_path, model_dir, fake_engine, capsys):
    write(tmp_path, "base.toml", 'name = "base"\n')
    sweep = write(
        tmp_path,
        "sw.toml",
        'name = "sw"\nbase = "base"\ndesign = "lhs"\nsamples = 50\nseed = 3\n'
        "[levers.talent_programme]\n[levers.hightech_certification_support]\n",
    )
    out = tmp_path / "sw.nc"
    code = cli.main(
        [
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--chunk-size",
            "7",
            "--no-progress",
            "--model",
            str(model_dir / "fake.mdl"),
        ]
    )
    assert code == 0
    with xr.open_dataset(out) as ds:
        assert ds.sizes["run"] == 50
        assert ds.attrs["kind"] == "sweep" and ds.attrs["seed"] == 3
        assert ds.attrs["sweep_sha256"] == sha256_file(sweep)
        assert "lever_talent_programme" in ds.coords
    capsys.readouterr()
    assert cli.main(["targets", str(out), "--json", "--targets", str(DATA / "targets.toml")]) == 0
    summary = json.loads(capsys.readouterr().out)
    entry = summary["scenarios"]["sw"]
    share = entry["targets"]["high_tech_enterprises_2025"]["probability"]
    assert 0 < share < 1  # some lever settings reach 500 high-tech firms, some do not
    assert set(entry) == {"targets", "all_met_probability"}


def test_targets_table_lists_unrepresented_targets(tmp_path, model_dir, fake_engine, capsys):
    a = write(tmp_path, "a.toml", 'name = "a"\n')
    out = tmp_path / "r.nc"
    cli.main(["run", str(a), "--out", str(out), "--model", str(model_dir / "fake.mdl")])
    capsys.readouterr()
    assert cli.main(["targets", str(out), "--targets", str(DATA / "targets.toml")]) == 0
    text = capsys.readouterr().out
    assert "High-tech enterprises" in text and "高新技术企业" in text
    assert "foreign_investment" in text and "no foreign-investment sector" in text


def test_calibrate_needs_the_models_data(tmp_path, model_dir):
    result = run_cli("calibrate", "--model", str(model_dir / "fake.mdl"), "--no-progress")
    assert_one_line_error(result, "priors.toml", "no priors.toml beside the model")
    assert not (model_dir / "calibration").exists()


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        (["--samples", "1000"], "a power of two"),
        (["--min-members", "0"], "--min-members"),
        (["--max-members", "10"], "below --min-members"),
    ],
)
def test_calibrate_rejects_bad_settings(option, fragment):
    result = run_cli("calibrate", *option, "--no-progress")
    assert_one_line_error(result, fragment)
