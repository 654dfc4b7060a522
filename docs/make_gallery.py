"""Draw every chart kind in English and Chinese and write docs/gallery.md.

Each image is made by the ``heping-sd plot`` command itself, and the page shows the command.

From real outputs (the targets, record and levers of the shipped model are used)::

    heping-sd run scenarios/baseline.toml scenarios/talent_first.toml … --out results.nc
    heping-sd sweep scenarios/sweep_grid_….toml --out sweep.nc
    heping-sd sweep scenarios/sweep_levers_lhs.toml --out lhs.nc
    python docs/make_gallery.py --results results.nc --sweep sweep.nc --fan-sweep lhs.nc \\
        [--best-fit best_fit.nc] [--sensitivity sensitivity.nc]

Without result files the charts are drawn from the synthetic results of the test suite
(tests/charts/synthetic.py), and the page says so. Kinds whose input is missing are listed
as not drawn.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent

KINDS = ("forecast", "fan", "compare", "matrix", "heatmap", "tornado", "calibration")
WHAT = {
    "forecast": "One panel per target quantity, a line per scenario (the ensemble median), the "
    "十三五 record as points with ±2σ bars, and the targets: a triangle at the threshold, a dashed "
    "path for a growth target, the yearly average needed for a cumulative one.",
    "fan": "One scenario's ensemble: 5–95 % and 25–75 % bands of the members, the median, the "
    "record and the targets.",
    "compare": "Small multiples, one per target: each scenario's value (median, 25–75 % bar, "
    "5–95 % whisker) against the threshold.",
    "matrix": "Targets × scenarios, coloured by the probability that the target is met; the last "
    "row is the probability that all are met at once.",
    "heatmap": "The probability that all targets are met over a grid of two levers, with the "
    "status quo outlined (`--target KEY` maps one target instead).",
    "tornado": "Sobol sensitivity of the all-met probability: total (light) and first-order "
    "(dark) indices per lever and parameter, with 95 % confidence bars.",
    "calibration": "The model against the 十三五 record, 2015–2020: time series, and every "
    "figure's deviation from the record in units of its σ.",
}
TITLES = {
    "forecast": "Forecast",
    "fan": "Fan chart",
    "compare": "Scenario comparison",
    "matrix": "Target matrix",
    "heatmap": "Lever heatmap",
    "tornado": "Sensitivity (tornado of Sobol indices)",
    "calibration": "Calibration",
}


@dataclass
class Inputs:
    """The files each kind is drawn from, and the catalogues (None: the shipped ones)."""

    files: dict[str, Path | None]
    catalogues: list[str]
    synthetic: bool


def synthetic_inputs(directory: Path) -> Inputs:
    """Write the test suite's synthetic results and catalogues into ``directory``."""
    sys.path.insert(0, str(REPO / "tests" / "charts"))
    import synthetic

    (directory / "targets.toml").write_text(synthetic.TARGETS_TOML, encoding="utf-8")
    synthetic.write_observed(directory / "observed.csv")
    (directory / "levers.toml").write_text(synthetic.LEVERS_TOML, encoding="utf-8")
    files = {
        "results": directory / "results.nc",
        "sweep": directory / "sweep.nc",
        "best_fit": directory / "best_fit.nc",
        "sensitivity": directory / "sensitivity.nc",
    }
    synthetic.make_results(members=40).to_netcdf(files["results"])
    synthetic.make_sweep(members=20).to_netcdf(files["sweep"])
    synthetic.make_results(members=0).to_netcdf(files["best_fit"])
    synthetic.make_sensitivity().to_netcdf(files["sensitivity"])
    catalogues = [
        "--targets",
        str(directory / "targets.toml"),
        "--observed",
        str(directory / "observed.csv"),
        "--lever-file",
        str(directory / "levers.toml"),
    ]
    return Inputs(files, catalogues, synthetic=True)


def source_of(kind: str, files: dict[str, Path | None]) -> Path | None:
    """The file a kind is drawn from."""
    if kind == "calibration":
        return files.get("best_fit") or files.get("results")
    if kind == "fan":  # an ensemble's spread if there is one, else the spread over a sweep
        results = files.get("results")
        if results is not None and _has_ensemble(results):
            return results
        return files.get("fan_sweep") or files.get("sweep")
    return files.get({"heatmap": "sweep", "tornado": "sensitivity"}.get(kind, "results"))


def _provenance(path: Path) -> str:
    import xarray as xr

    with xr.open_dataset(path) as ds:
        attrs = ds.attrs
        sizes = " × ".join(f"{n} {d}" for d, n in ds.sizes.items())
    model = str(attrs.get("model_sha256", "?"))[:12]
    return (
        f"{sizes}; heping-sd {attrs.get('heping_sd_version', '?')}, model sha256 {model}…, "
        f"created {attrs.get('created', '?')}"
    )


def made_by(path: Path) -> str | None:
    """The command that wrote a result file, read back from its provenance attrs."""
    import json

    import xarray as xr

    with xr.open_dataset(path) as ds:
        attrs, sizes = dict(ds.attrs), dict(ds.sizes)
    kind = attrs.get("kind")
    if kind == "run":
        sources = json.loads(str(attrs.get("scenario_sources", "{}")))
        files = [chain[0][0] for chain in sources.values() if chain]
        best = ["--best-fit"] if attrs.get("calibration") == "best_fit" else []
        return shlex.join(["heping-sd", "run", *files, *best, "--out", path.name])
    if kind == "sweep" and "sweep_file" in attrs:
        sweep = f"scenarios/{attrs['sweep_file']}"
        used = {
            "ensemble": ["--members", str(attrs.get("members_requested", sizes.get("sample")))],
            "none": ["--uncalibrated"],
        }.get(str(attrs.get("calibration")), [])
        return shlex.join(["heping-sd", "sweep", sweep, *used, "--out", path.name])
    if kind == "sensitivity":
        return f"heping-sd assess --out DIR  # writes DIR/{path.name}"
    return None


def _heatmap_note(path: Path, inputs: Inputs) -> str:
    """What the reader should know when the drawn grid is 0 % everywhere."""
    if inputs.synthetic:
        return ""
    import xarray as xr

    from sim.targets import evaluate

    with xr.open_dataset(path) as ds:
        best = float(evaluate(ds.load())["all_met_probability"].max())
    if best > 0:
        return ""
    return (
        "Here no setting of the two levers, the other levers as in the sweep's base scenario, "
        "meets every target in any run: the grid is 0 % throughout."
    )


def _has_ensemble(path: Path) -> bool:
    import xarray as xr

    with xr.open_dataset(path) as ds:
        return "sample" in ds.dims


def command(kind: str, source: Path, out: Path, lang: str, catalogues: list[str]) -> list[str]:
    """The ``heping-sd plot`` arguments for one image (only the catalogue flags it takes)."""
    from sim.commands.plot import OPTIONS

    wanted = {"--targets": "targets", "--observed": "observed", "--lever-file": "lever_file"}
    extra = []
    for flag, value in zip(catalogues[::2], catalogues[1::2], strict=True):
        if wanted[flag] in OPTIONS[kind]:
            extra += [flag, value]
    return ["plot", str(source), "--kind", kind, "--out", str(out), "--lang", lang, *extra]


def shown(argv: list[str]) -> str:
    """The command as a reader would type it: paths in the repository relative to it, other
    paths (temporary or the user's result files) as bare file names."""
    words = ["heping-sd"]
    for word in argv:
        path = Path(word)
        if path.is_absolute():
            word = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name
        words.append(word)
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    """Draw the gallery; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="heping-sd run output (an ensemble)")
    parser.add_argument("--best-fit", type=Path, help="heping-sd run --best-fit output")
    parser.add_argument("--sweep", type=Path, help="heping-sd sweep output of a two-lever grid")
    parser.add_argument("--sensitivity", type=Path, help="a sensitivity Dataset (Sobol indices)")
    parser.add_argument(
        "--fan-sweep",
        type=Path,
        help="a sweep for the fan chart when the results hold no ensemble (default: --sweep)",
    )
    parser.add_argument("--out", type=Path, default=DOCS / "img", help="image directory")
    parser.add_argument("--page", type=Path, default=DOCS / "gallery.md", help="the page")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from sim.cli import main as heping_sd

    real = {
        "results": args.results,
        "best_fit": args.best_fit,
        "sweep": args.sweep,
        "sensitivity": args.sensitivity,
        "fan_sweep": args.fan_sweep,
    }
    with tempfile.TemporaryDirectory() as scratch:
        if any(real.values()):
            inputs = Inputs({k: v.resolve() if v else None for k, v in real.items()}, [], False)
        else:
            inputs = synthetic_inputs(Path(scratch))
        args.out.mkdir(parents=True, exist_ok=True)
        sections, missing = [], []
        for kind in KINDS:
            source = source_of(kind, inputs.files)
            if source is None:
                missing.append(kind)
                continue
            images = []
            for lang in ("en", "zh"):
                out = (args.out / f"{kind}_{lang}.png").resolve()
                argv_plot = command(kind, source, out, lang, inputs.catalogues)
                code = heping_sd([*argv_plot, "--dpi", str(args.dpi)])
                if code != 0:
                    print(f"make_gallery: {kind} ({lang}) failed", file=sys.stderr)
                    return code
                images.append((lang, out, shown(argv_plot)))
            note = _heatmap_note(source, inputs) if kind == "heatmap" else ""
            sections.append((kind, images, note))
        args.page.write_text(page(sections, missing, inputs), encoding="utf-8")
    print(f"wrote {args.page} and {sum(len(i) for _, i, _ in sections)} images in {args.out}")
    return 0


def page(sections, missing: list[str], inputs: Inputs) -> str:
    """The gallery page in Markdown."""
    lines = [
        "# Chart gallery",
        "",
        "Every chart `heping-sd plot` draws, in English (`--lang en`) and Chinese (`--lang zh`).",
        "This page and its images are generated by [`docs/make_gallery.py`](make_gallery.py);",
        "do not edit them by hand. Regenerate from real outputs with",
        "",
        "```bash",
        "python docs/make_gallery.py --results results.nc --sweep sweep.nc --fan-sweep lhs.nc \\",
        "    [--best-fit best_fit.nc] [--sensitivity sensitivity.nc]",
        "```",
        "",
    ]
    if not inputs.synthetic:
        lines += ["Drawn from:", ""]
        for role, path in inputs.files.items():
            if path is not None:
                lines.append(f"- `{path.name}` ({role}): {_provenance(path)}")
                typed = made_by(path)
                if typed is not None:
                    lines.append(f"  made by `{typed}`")
        lines.append("")
    if inputs.synthetic:
        lines += [
            "> **Synthetic data.** These images are drawn from the synthetic results of the",
            "> test suite (`tests/charts/synthetic.py`: three scenarios, closed-form dynamics),",
            "> not from the Heping model. They show what each chart looks like, not what the",
            "> model says.",
            "",
        ]
    lines += [
        "Style: Okabe–Ito colours for scenarios, ColorBrewer YlGnBu for probabilities (both",
        "colour-blind safe); black for the record (●, ±2σ) and the targets (△ at the threshold,",
        "dashed for a path); units on every value axis. Chinese labels need a CJK font",
        "(Noto Sans CJK, Source Han Sans, Microsoft YaHei, …); without one the chart is drawn in",
        "English with a warning.",
        "",
    ]
    for kind, images, note in sections:
        what = f"{WHAT[kind]} {note}" if note else WHAT[kind]
        lines += [f"## {TITLES[kind]} — `--kind {kind}`", "", what, ""]
        for lang, out, typed in images:
            lines += ["```bash", typed, "```", "", f"![{kind} ({lang})](img/{out.name})", ""]
    if missing:
        lines += [
            "## Not drawn",
            "",
            "No input was given for: " + ", ".join(f"`{k}`" for k in missing) + ".",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
