"""``heping-sd plot`` end to end: files in, figures out, bad input refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from charts.synthetic import make_results

KINDS = ("forecast", "fan", "compare", "heatmap", "matrix", "tornado", "calibration")
MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


def run_cli(*args: str, warnings_as_errors: str | None = None) -> subprocess.CompletedProcess:
    flags = ["-W", warnings_as_errors] if warnings_as_errors else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "sim", "plot", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def files(
    tmp_path_factory, results, best_fit, evaluated, sweep, sensitivity, data_dir
) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("results")
    paths = {
        "results": directory / "results.nc",
        "best_fit": directory / "best_fit.nc",
        "evaluated": directory / "evaluated.nc",
        "sweep": directory / "sweep.nc",
        "sensitivity": directory / "sensitivity.nc",
    }
    results.to_netcdf(paths["results"])
    best_fit.to_netcdf(paths["best_fit"])
    evaluated.to_netcdf(paths["evaluated"])
    sweep.to_netcdf(paths["sweep"])
    sensitivity.to_netcdf(paths["sensitivity"])
    return paths | {"targets": data_dir / "targets.toml", "observed": data_dir / "observed.csv"}


def arguments(kind: str, files: dict[str, Path]) -> list:
    source = {
        "matrix": "evaluated",  # a saved target evaluation is accepted too
        "heatmap": "sweep",
        "tornado": "sensitivity",
        "calibration": "best_fit",
    }.get(kind, "results")
    extra = {
        "forecast": ["--targets", files["targets"], "--observed", files["observed"]],
        "fan": ["--targets", files["targets"], "--observed", files["observed"]],
        "compare": ["--targets", files["targets"]],
        "matrix": ["--targets", files["targets"]],
        "heatmap": ["--targets", files["targets"]],
        "calibration": ["--observed", files["observed"], "--targets", files["targets"]],
    }.get(kind, [])
    return [files[source], "--kind", kind, *extra]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_chinese_with_every_glyph(kind, files, tmp_path, cjk_font):
    out = tmp_path / f"{kind}.png"
    # any "Glyph … missing from font" warning becomes an error, and a non-zero exit
    result = run_cli(
        *arguments(kind, files), "--lang", "zh", "--out", out, warnings_as_errors="error:Glyph"
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:4] == MAGIC[".png"]
    assert result.stdout.strip() == f"wrote {out} ({kind}, zh)"


@pytest.mark.parametrize(
    ("kind", "suffix"), [("forecast", ".svg"), ("matrix", ".pdf"), ("heatmap", ".png")]
)
def test_english_in_every_format(kind, suffix, files, tmp_path):
    out = tmp_path / f"figure{suffix}"
    result = run_cli(*arguments(kind, files), "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[: len(MAGIC[suffix])] == MAGIC[suffix]
    assert out.stat().st_size > 5_000


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_format_is_refused(files, tmp_path):
    result = run_cli(*arguments("forecast", files), "--out", tmp_path / "figure.jpg")
    assert_one_line_error(result, "--out", "unknown figure format '.jpg'", ".png, .svg, .pdf")
    assert not list(tmp_path.iterdir())


def test_fan_without_ensemble_names_what_it_needs(files, tmp_path):
    out = tmp_path / "fan.png"
    result = run_cli(
        files["best_fit"],
        "--kind",
        "fan",
        "--targets",
        files["targets"],
        "--observed",
        files["observed"],
        "--out",
        out,
    )
    assert_one_line_error(result, "needs an ensemble", "heping-sd calibrate")
    assert not out.exists()


def test_heatmap_of_a_scenario_run_names_the_sweep_it_needs(files, tmp_path):
    result = run_cli(
        files["results"],
        "--kind",
        "heatmap",
        "--targets",
        files["targets"],
        "--out",
        tmp_path / "h.png",
    )
    assert_one_line_error(result, "grid sweep over two levers", "heping-sd sweep")


def test_nan_results_are_refused_and_nothing_written(tmp_path, files):
    broken = make_results(members=3)
    broken["retail_sales_total"][0, 1, 12] = np.nan
    path = tmp_path / "broken.nc"
    broken.to_netcdf(path)
    out = tmp_path / "forecast.png"
    result = run_cli(
        path,
        "--kind",
        "forecast",
        "--targets",
        files["targets"],
        "--observed",
        files["observed"],
        "--out",
        out,
    )
    assert_one_line_error(result, "retail_sales_total", "NaN", "time=2018")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.nc"]  # no temporary left behind


def test_missing_or_unreadable_results_file(tmp_path):
    result = run_cli(tmp_path / "absent.nc", "--kind", "forecast", "--out", tmp_path / "f.png")
    assert_one_line_error(result, "absent.nc", "no such results file")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    result = run_cli(junk, "--kind", "forecast", "--out", tmp_path / "f.png")
    assert_one_line_error(result, "junk.nc", "cannot read as NetCDF")


def test_an_option_the_kind_does_not_take_is_refused(files, tmp_path):
    result = run_cli(
        files["sensitivity"],
        "--kind",
        "tornado",
        "--scenario",
        "baseline",
        "--out",
        tmp_path / "t.png",
    )
    assert_one_line_error(
        result, "--scenario", "does not apply to --kind tornado", "fan or calibration"
    )


def test_unknown_kind_is_bad_input(files, tmp_path):
    result = run_cli(files["results"], "--kind", "pie", "--out", tmp_path / "p.png")
    assert result.returncode == 2
    assert "invalid choice: 'pie'" in result.stderr


def test_gallery_script_draws_every_kind(tmp_path):
    """docs/make_gallery.py (without inputs: the synthetic results) draws all kinds, en + zh."""
    repo = Path(__file__).resolve().parents[2]
    page, images = tmp_path / "gallery.md", tmp_path / "img"
    script = repo / "docs" / "make_gallery.py"
    argv = [sys.executable, str(script), "--out", str(images), "--page", str(page), "--dpi", "40"]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in images.iterdir()) == sorted(
        f"{kind}_{lang}.png" for kind in KINDS for lang in ("en", "zh")
    )
    text = page.read_text(encoding="utf-8")
    assert "**Synthetic data.**" in text and "Not drawn" not in text


def test_gallery_names_the_command_behind_each_input(tmp_path, sweep, results, monkeypatch):
    import importlib.util

    repo = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("make_gallery", repo / "docs" / "make_gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_gallery", gallery)  # its dataclass looks itself up
    spec.loader.exec_module(gallery)

    grid = tmp_path / "grid.nc"
    sweep.assign_attrs(kind="sweep", calibration="ensemble", sweep_file="g.toml").to_netcdf(grid)
    members = sweep.sizes["sample"]
    assert gallery.made_by(grid) == (
        f"heping-sd sweep scenarios/g.toml --members {members} --out grid.nc"
    )
    run = tmp_path / "best.nc"
    sources = '{"a": [["scenarios/a.toml", "x"]], "b": [["scenarios/b.toml", "y"]]}'
    results.assign_attrs(kind="run", calibration="best_fit", scenario_sources=sources).to_netcdf(
        run
    )
    assert gallery.made_by(run) == (
        "heping-sd run scenarios/a.toml scenarios/b.toml --best-fit --out best.nc"
    )
