"""Generate the tables of ``docs/model.md`` from the model and its data files.

The equation table is read from ``model/heping.mdl`` itself, the lever table from
``model/levers.toml``, and the status-quo tables from a PySD run of the model, so the
documentation cannot drift from the model: ``python -m sim.modeldoc`` rewrites the generated
blocks of docs/model.md in place and ``python -m sim.modeldoc --check`` fails when they are
out of date (a test does the same).

Generated blocks sit between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``; everything else in the page is written by hand.

The ``.mdl`` text is only split into its parts here (name, equation, units, comment); nothing
in it is evaluated.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.observed import Observation, load_observed, predicate_value

CONTROL = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")
SKETCH_MARKER = "\\\\\\---///"
_BLOCK = re.compile(
    r"<!-- BEGIN GENERATED: (?P<name>[a-z0-9_-]+) -->\n.*?<!-- END GENERATED: (?P=name) -->",
    re.DOTALL,
)


@dataclass(frozen=True)
class Element:
    """One equation of a Vensim model as written in the file."""

    name: str
    equation: str
    units: str
    comment: str
    group: str
    kind: str  # stock | flow | auxiliary | constant | lookup | control


def python_name(name: str) -> str:
    """PySD's python-safe name of a (simple, ASCII) Vensim name: ``Tech SMEs`` -> ``tech_smes``."""
    return re.sub(r"\s+", "_", name.strip()).lower()


def _squash(text: str) -> str:
    return " ".join(text.split())


def parse_mdl(text: str) -> list[Element]:
    """Split a Vensim model's text into its equations, in file order.

    Parameters
    ----------
    text
        The ``.mdl`` file's text.

    Returns
    -------
    list of Element
        Every equation with its group (``.Name`` group headers), units and comment. Units
        keep a ``[min,max]`` range if the file gives one.
    """
    body = text.split(SKETCH_MARKER, 1)[0]
    if body.startswith("{UTF-8}"):
        body = body[len("{UTF-8}") :]
    group = ""
    raw = []
    for block in body.split("|"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("*"):
            header = re.search(r"^\s*\.(.+)$", block, re.MULTILINE)
            group = header.group(1).strip() if header else group
            continue
        parts = block.split("~")
        definition = parts[0]
        units = _squash(parts[1]) if len(parts) > 1 else ""
        comment = _squash(parts[2]) if len(parts) > 2 else ""
        lookup = re.match(r"^\s*([^=(]+?)\s*\(\s*\[", definition, re.DOTALL)
        if lookup:
            name, equation = lookup.group(1), _squash(definition[lookup.end() - 1 :])
            equation = equation[:-1].strip() if equation.endswith(")") else equation
            raw.append((name, "(" + equation + ")", units, comment, group, "lookup"))
            continue
        name, _, equation = definition.partition("=")
        name, equation = _squash(name), _squash(equation)
        if name.upper() in CONTROL:
            kind = "control"
        elif re.match(r"^INTEG\s*\(", equation, re.IGNORECASE):
            kind = "stock"
        elif re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", equation):
            kind = "constant"
        else:
            kind = "auxiliary"
        raw.append((name, equation, units, comment, group, kind))
    rates = set()
    for e in raw:
        if e[5] == "stock":
            rates |= _referenced_names(_first_argument(e[1]))
    return [
        Element(name, equation, units, comment, group, "flow" if kind == "auxiliary" and
                name.lower() in rates else kind)
        for name, equation, units, comment, group, kind in raw
    ]  # fmt: skip


def _first_argument(call: str) -> str:
    """The first top-level argument of ``F(a, b)``: the net flow of ``INTEG(rate, init)``."""
    inside = call[call.index("(") + 1 :]
    depth = 0
    for i, char in enumerate(inside):
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return inside[:i]
            depth -= 1
        elif char == "," and depth == 0:
            return inside[:i]
    return inside


def _referenced_names(expression: str) -> set[str]:
    """Names an expression refers to (lower case), split at operators and brackets."""
    return {_squash(p).lower() for p in re.split(r"[()+\-*/^,<>=]", expression) if p.strip()}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def equation_table(
    elements: Sequence[Element], levers: Mapping[str, Mapping], priors: Mapping[str, Mapping]
) -> str:
    """Markdown: one table per group of every equation with its rationale and source."""
    lever_constants = {v["constant"]: k for k, v in levers.items()}
    cost_constants = {v["cost_constant"]: k for k, v in levers.items()}
    lines = []
    group = None
    for e in elements:
        if e.group != group:
            group = e.group
            lines += ["", f"#### {group}", ""]
            lines += ["| Variable | Kind | Equation | Units | Rationale and source |"]
            lines += ["| --- | --- | --- | --- | --- |"]
        py = python_name(e.name)
        kind = e.kind
        if py in priors:
            kind += f" (prior {priors[py]['low']:g}–{priors[py]['high']:g})"
        elif py in lever_constants:
            kind += f" (lever `{lever_constants[py]}`)"
        elif py in cost_constants:
            kind += f" (cost of `{cost_constants[py]}`)"
        lines.append(
            f"| `{py}` | {kind} | `{_cell(e.equation)}` | {_cell(e.units)} | {_cell(e.comment)} |"
        )
    return "\n".join(lines).strip("\n")


def lever_table(levers: Mapping[str, Mapping]) -> str:
    """Markdown: the levers with unit, status quo, range, cost and declared effects."""
    lines = [
        "| Lever | 中文 | Unit | Status quo | Range | 亿元/Year per unit | Raises | Lowers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, v in levers.items():
        raises = ", ".join(f"`{q}`" for q in v["raises"]) or "–"
        lowers = ", ".join(f"`{q}`" for q in v["lowers"]) or "–"
        lines.append(
            f"| `{key}` | {v['name_zh']} | {v['unit']} | {v['status_quo']:g} | "
            f"{v['min']:g}–{v['max']:g} | {v['cost_per_unit']:g} | {raises} | {lowers} |"
        )
    return "\n".join(lines)


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if x != 0 and abs(x) < 1:
        return f"{x:.3f}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def observed_table(
    observations: Sequence[Observation], times: np.ndarray, series: Mapping[str, np.ndarray]
) -> str:
    """Markdown: each figure with a model quantity beside the status-quo run's value."""
    header = (
        "| Figure | Quantity | Predicate | Period | Observed | Model | (Model − observed) / σ |"
    )
    lines = [header + " Use |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for obs in observations:
        if not obs.quantity:
            continue
        model = predicate_value(
            series,
            times,
            quantity=obs.quantity,
            aggregate=obs.aggregate,
            kind=obs.kind,
            year=obs.year,
            window=obs.window,
            denominator=obs.denominator,
        )
        sigma = obs.rel_sigma * abs(obs.value)
        z = (model - obs.value) / sigma if sigma > 0 else float("nan")
        predicate = obs.kind + (f" of `{obs.denominator}`" if obs.denominator else "")
        lines.append(
            f"| `{obs.key}` | `{obs.quantity}` | {predicate} | {obs.period_text()} | "
            f"{_fmt(obs.value)} | {_fmt(model)} | {z:+.1f} | {obs.use} |"
        )
    return "\n".join(lines)


def target_table(
    targets: Mapping[str, Mapping], times: np.ndarray, series: Mapping[str, np.ndarray]
) -> str:
    """Markdown: each represented target's value in the status-quo run, before calibration."""
    lines = [
        "| Target | Quantity | Predicate | Threshold | Status quo (default parameters) | Met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, t in targets.items():
        if not t["represented"]:
            continue
        window = tuple(t["window"]) if "window" in t else None
        value = predicate_value(
            series,
            times,
            quantity=t["quantity"],
            aggregate=t["aggregate"],
            kind=t["kind"],
            year=t.get("year"),
            window=window,
            denominator=t.get("denominator", ""),
        )
        met = value >= t["threshold"] if t["comparison"] == ">=" else value <= t["threshold"]
        period = f"{window[0]}–{window[1]}" if window else str(t["year"])
        lines.append(
            f"| `{key}` | `{t['quantity']}` | {t['kind']} {period} | {t['comparison']} "
            f"{t['threshold']:g} | {_fmt(value)} | {'yes' if met else 'no'} |"
        )
    return "\n".join(lines)


def run_status_quo(model_path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the model with PySD at its default values; translate a copy in a temporary dir.

    Returns
    -------
    times, series
        Saved times and python-safe name -> values.
    """
    with tempfile.TemporaryDirectory(prefix="heping-modeldoc-") as tmp:
        copy = Path(tmp) / Path(model_path).name
        shutil.copy(model_path, copy)
        with warnings.catch_warnings():
            # PySD 3.14's own deprecations under chardet 5 and pandas 3.
            warnings.filterwarnings("ignore", message="chardet.universaldetector is deprecated")
            warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame")
            import pysd

            model = pysd.read_vensim(str(copy))
            frame = model.run()
    names = {real: py for real, py in model.namespace.items()}
    series = {names.get(c, python_name(str(c))): frame[c].to_numpy() for c in frame.columns}
    return frame.index.to_numpy(dtype=float), series


def generate(
    model_dir: Path, times: np.ndarray, series: Mapping[str, np.ndarray]
) -> dict[str, str]:
    """Every generated block of docs/model.md, by name."""
    with open(model_dir / "levers.toml", "rb") as handle:
        levers = tomllib.load(handle)["levers"]
    with open(model_dir / "priors.toml", "rb") as handle:
        priors = tomllib.load(handle)["priors"]
    with open(model_dir / "targets.toml", "rb") as handle:
        targets = tomllib.load(handle)["targets"]
    elements = parse_mdl((model_dir / "heping.mdl").read_text(encoding="utf-8"))
    observations = load_observed(model_dir / "observed.csv")
    return {
        "equations": equation_table(elements, levers, priors),
        "levers": lever_table(levers),
        "status-quo-observed": observed_table(observations, times, series),
        "status-quo-targets": target_table(targets, times, series),
    }


def fill(doc: str, blocks: Mapping[str, str]) -> str:
    """The page with each generated block replaced by its new content.

    Raises
    ------
    KeyError
        If the page lacks a block that was generated, or holds one that was not.
    """
    found = [m.group("name") for m in _BLOCK.finditer(doc)]
    if sorted(found) != sorted(blocks):
        raise KeyError(f"docs/model.md holds blocks {found}, expected {sorted(blocks)}")

    def replace(match: re.Match) -> str:
        name = match.group("name")
        return f"<!-- BEGIN GENERATED: {name} -->\n{blocks[name]}\n<!-- END GENERATED: {name} -->"

    return _BLOCK.sub(replace, doc)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated blocks of docs/model.md (``--check``: only compare)."""
    from sim.fileio import write_text_atomic
    from sim.resources import model_dir

    parser = argparse.ArgumentParser(prog="python -m sim.modeldoc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument(
        "--doc", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "model.md"
    )
    args = parser.parse_args(argv)
    directory = model_dir()
    times, series = run_status_quo(directory / "heping.mdl")
    doc = args.doc.read_text(encoding="utf-8")
    new = fill(doc, generate(directory, times, series))
    if args.check:
        stale = new != doc
        print(f"{args.doc}: {'out of date' if stale else 'up to date'}")
        return 1 if stale else 0
    if new != doc:
        write_text_atomic(args.doc, new)
    print(f"{args.doc}: {'updated' if new != doc else 'already up to date'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
