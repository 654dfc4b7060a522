"""The Vensim conformance suite: our engine against Vensim's reference outputs.

Each ``.mdl`` under ``test-models/tests`` is one case. A case **passes** when the model
loads, every column of Vensim's reference output (``output.tab``/``output.csv``) has a
variable in our run, the save times are the same, and every shared column agrees at PySD's
own tolerances (``|ours - vensim| <= atol + rtol * |vensim|`` with PySD's defaults
``rtol = atol = 1e-5`` and the per-case overrides PySD's integration suite uses). A case is
**unsupported** when loading raises :class:`~sim.errors.InputError` (the reason is its
message), or when it is listed in :data:`KNOWN_DIFFERENCES` with the reason.

Run ``python -m sim.engine.conformance --write docs/conformance.md`` to regenerate the
table; ``tests/test_conformance.py`` checks that the document's count matches.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError

# PySD's integration suite loosens these two cases (tests/pytest_integration).
TOLERANCES = {
    "arguments/test_arguments.mdl": {"rtol": 1e-2},
    "allocate_available/test_allocate_available.mdl": {"rtol": 2e-2},
}

# Cases that cannot be compared, with the reason (listed as unsupported).
KNOWN_DIFFERENCES: dict[str, str] = {
    "data_from_other_model/model_to_generate_data.mdl": (
        "no reference output of its own: the folder's output.tab belongs to "
        "test_data_from_other_model.mdl (this file only generates that model's data)"
    ),
}


@dataclass
class CaseResult:
    """Outcome of one conformance case."""

    case: str
    status: str  # "pass", "unsupported" or "fail"
    reason: str = ""
    columns: int = 0


def default_dir() -> Path | None:
    """``$SD_TEST_MODELS`` or ``../shared/test-models`` beside the repository, if present."""
    env = os.environ.get("SD_TEST_MODELS")
    repo = Path(__file__).resolve().parents[2]
    for candidate in [Path(env)] if env else []:
        if (candidate / "tests").is_dir():
            return candidate
    candidate = repo.parent / "shared" / "test-models"
    return candidate if (candidate / "tests").is_dir() else None


def discover(test_models_dir: Path) -> list[str]:
    """Every case, as ``folder/file.mdl`` relative to ``tests/``, sorted."""
    root = Path(test_models_dir) / "tests"
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*.mdl"))


def reference_output(case_dir: Path) -> pd.DataFrame:
    """Vensim's output for a case: rows are save times, columns Vensim names."""
    from pysd.tools.benchmarking import load_outputs

    for name in ("output.csv", "output.tab"):
        path = case_dir / name
        if path.is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = load_outputs(path, encoding=_encoding(path))
            return frame
    raise FileNotFoundError(f"no output.csv or output.tab in {case_dir}")


def _encoding(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8", "utf-16", "latin-1"):
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"  # pragma: no cover


def _key(name: str) -> str:
    """Column key insensitive to case, spaces/underscores and quotes, subscripts kept."""
    name = name.strip().strip('"')
    match = re.fullmatch(r"(.*?)\s*\[(.*)\]", name)
    if match:
        base, subs = match.groups()
        subs = ",".join(_clean(s) for s in subs.split(","))
        return f"{_clean(base)}[{subs}]"
    return _clean(name)


def _clean(text: str) -> str:
    return re.sub(r"[\s_]+", "_", text.strip().strip('"').lower())


def flatten(ds) -> dict[str, np.ndarray]:
    """One series per Vensim column name (``name`` or ``name[a,b]``) of run 0."""
    columns = {}
    for name, variable in ds.data_vars.items():
        long_name = variable.attrs.get("long_name", name)
        values = variable.isel(run=0)
        dims = [d for d in values.dims if d != "time"]
        if not dims:
            columns[_clean(long_name)] = values.values
            continue
        stacked = values.stack(_flat=dims).transpose("time", "_flat")
        for j, labels in enumerate(stacked["_flat"].values):
            labels = labels if isinstance(labels, tuple) else (labels,)
            key = f"{_clean(long_name)}[{','.join(_clean(str(x)) for x in labels)}]"
            columns[key] = stacked.values[:, j]
    return columns


def run_case(test_models_dir: Path, case: str) -> CaseResult:
    """Load, run and compare one case."""
    from sim.engine import load_model

    path = Path(test_models_dir) / "tests" / case
    if case in KNOWN_DIFFERENCES:
        return CaseResult(case, "unsupported", KNOWN_DIFFERENCES[case])
    try:
        model = load_model(path)
        ds = model.run()
    except InputError as err:
        return CaseResult(case, "unsupported", _short(err.message))
    expected = reference_output(path.parent)
    ours = flatten(ds)
    missing = [c for c in expected.columns if _key(c) not in ours]
    if missing:
        return CaseResult(case, "fail", f"no result for column(s) {missing[:3]}")
    times = expected.index.values.astype(float)
    if len(times) != len(ds.time) or not np.allclose(times, ds.time.values, rtol=0, atol=1e-9):
        return CaseResult(case, "fail", "save times differ from Vensim's")
    tolerance = {"rtol": 1e-5, "atol": 1e-5, **TOLERANCES.get(case, {})}
    bad = []
    for column in expected.columns:
        want = _fill_constant(pd.to_numeric(expected[column], errors="coerce").values)
        got = ours[_key(column)].astype(float)
        close = np.abs(got - want) <= tolerance["atol"] + tolerance["rtol"] * np.abs(want)
        close |= np.isnan(got) & np.isnan(want)
        if not close.all():
            bad.append(column)
    if bad:
        return CaseResult(case, "fail", f"differs from Vensim in {bad[:3]}", len(expected.columns))
    return CaseResult(case, "pass", "", len(expected.columns))


def _fill_constant(values: np.ndarray) -> np.ndarray:
    # Vensim writes a constant only in the first row; PySD's comparison fills it down.
    if len(values) > 1 and not np.isnan(values[0]) and np.isnan(values[1:]).all():
        return np.full_like(values, values[0])
    return values


def _short(message: str) -> str:
    return " ".join(message.split())[:160]


def run_all(test_models_dir: Path) -> list[CaseResult]:
    """Every case's result, in case order."""
    return [run_case(test_models_dir, case) for case in discover(test_models_dir)]


def render(results: list[CaseResult]) -> str:
    """``docs/conformance.md``: every case with its status and the totals."""
    passed = sum(r.status == "pass" for r in results)
    unsupported = sum(r.status == "unsupported" for r in results)
    failed = sum(r.status == "fail" for r in results)
    lines = [
        "# Conformance with Vensim's reference outputs",
        "",
        "Generated by `python -m sim.engine.conformance --write docs/conformance.md` from the",
        "SDXorg test-models suite (`$SD_TEST_MODELS` or `../shared/test-models`). Each case is",
        "one `.mdl` under `tests/`; it passes when every column of Vensim's `output.tab`/",
        "`output.csv` agrees with the batched engine at PySD's tolerances (rtol = atol = 1e-5,",
        "loosened only where PySD's own integration suite does). `tests/test_conformance.py`",
        "runs every case and checks the count below.",
        "",
        f"**Passing: {passed}** · unsupported: {unsupported} · failing: {failed} · "
        f"total: {len(results)}",
        "",
        "## What the engine supports",
        "",
        SUPPORTED,
        "",
        "## Every case",
        "",
        "| case | result | reason |",
        "| --- | --- | --- |",
    ]
    for r in results:
        reason = r.reason.replace("|", "\\|")
        lines.append(f"| `{r.case}` | {r.status} | {reason} |")
    return "\n".join(lines) + "\n"


SUPPORTED = """\
Arithmetic (`+ - * / ^`, unary minus), comparisons (`= <> < <= > >=`), `:AND:`, `:OR:`,
`:NOT:`; MIN, MAX, ABS, EXP, LN, LOG, SQRT, SIN, COS, TAN, ARCSIN, ARCCOS, ARCTAN, SINH,
COSH, TANH, INTEGER, MODULO, QUANTUM, POWER, PI, IF THEN ELSE, XIDZ, ZIDZ; STEP, RAMP, PULSE,
PULSE TRAIN; lookups (named, WITH LOOKUP, inline) holding their end values outside the
table; INTEG; SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N; DELAY1, DELAY1I, DELAY3, DELAY3I,
DELAY N, DELAY FIXED; TREND, FORECAST; INITIAL, ACTIVE INITIAL, SAMPLE IF TRUE; GAME (passes
its input through, as PySD does); TIME, TIME STEP, INITIAL TIME, FINAL TIME, SAVEPER (constant
in time). Subscripts: ranges and sub-ranges, element-by-element and partial definitions,
:EXCEPT:, simple mappings, transposition, SUM/PROD/VMIN/VMAX over `range!`, ELMCOUNT,
subscripted stocks, flows, lookups and delays. Macros (inlined: each call gets its own copy of
the macro's variables; not inside subscripted equations).

Not supported (a clear `InputError` at load time): data variables and GET XLS/DIRECT
functions, external subscript ranges, ALLOCATE AVAILABLE/BY PRIORITY, VECTOR SELECT/SORT/RANK/
REORDER, INVERT MATRIX, GET TIME VALUE, control variables that change in time, and delays too
short for their order in some runs of a batch only."""

PASSING_PATTERN = re.compile(r"\*\*Passing: (\d+)\*\*")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the table, or write it with ``--write PATH``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="PATH", help="write the markdown table here")
    parser.add_argument("--dir", type=Path, default=None, help="test-models checkout")
    args = parser.parse_args(argv)
    directory = args.dir or default_dir()
    if directory is None:
        print("conformance suite not found: set $SD_TEST_MODELS", file=sys.stderr)
        return 2
    text = render(run_all(directory))
    if args.write:
        from sim.fileio import write_text_atomic

        write_text_atomic(args.write, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
