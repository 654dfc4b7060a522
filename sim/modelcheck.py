"""Check the lever declarations of ``model/levers.toml`` against the model.

A lever's ``raises`` (``lowers``) lists the quantities it may only raise (lower): for every
parameter set in ``model/priors.toml`` and every setting of the other levers, moving the lever
up must never move one of them down (up) at any saved time. Because the levers share one
budget, most quantities do not qualify; this module samples the prior and lever space and
reports every counter-example, so that a declaration is only kept when no sample breaks it.

The check needs a runner: any callable ``run(params, n, columns) -> {name: array (n, time)}``
taking arrays of length ``n`` per parameter. :func:`pysd_runner` loops over PySD (slow, the
reference); the batched engine can be wrapped the same way.

Run ``python -m sim.modelcheck [--samples N]`` for a report; it uses the batched engine
(``sim.load_model``) when it is installed and PySD otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import tomllib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.priors import Priors, load_priors

# PySD 3.14's own deprecation under pandas 3 (not ours, not about the model).
_PANDAS_INPLACE = "The inplace keyword in DataFrame.set_index is deprecated"
_CHARDET = "chardet.universaldetector is deprecated"

Runner = Callable[[Mapping[str, np.ndarray], int, Sequence[str]], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Violation:
    """A sample in which a lever moved a declared quantity the wrong way."""

    lever: str
    quantity: str
    direction: str  # "raises" or "lowers"
    sample: int
    low_value: float
    high_value: float
    worst_change: float  # signed, relative to the quantity's size


def load_catalogues(model_dir: Path) -> tuple[dict, Priors]:
    """The ``[levers]`` table and the checked prior catalogue of a model directory."""
    with open(model_dir / "levers.toml", "rb") as handle:
        levers = tomllib.load(handle)["levers"]
    return levers, load_priors(model_dir / "priors.toml")


def sample_priors(priors: Priors, n: int, rng: np.random.Generator) -> dict:
    """Independent pseudo-random draws from each prior, one uniform stream per parameter."""
    return {name: prior.from_unit(rng.random(n)) for name, prior in priors.items()}


def sample_levers(levers: Mapping[str, Mapping], n: int, rng: np.random.Generator) -> dict:
    """Lever settings mixing the status quo, both ends of the range and uniform draws."""
    draws = {}
    for lever in levers.values():
        kind = rng.random(n)
        uniform = lever["min"] + rng.random(n) * (lever["max"] - lever["min"])
        draws[lever["constant"]] = np.select(
            [kind < 0.3, kind < 0.4, kind < 0.5],
            [lever["status_quo"], lever["min"], lever["max"]],
            uniform,
        )
    return draws


def _lever_pairs(lever: Mapping, n: int, rng: np.random.Generator) -> tuple:
    """Pairs low <= high of lever values: random pairs, the full range, and small steps."""
    a = lever["min"] + rng.random(n) * (lever["max"] - lever["min"])
    b = lever["min"] + rng.random(n) * (lever["max"] - lever["min"])
    low, high = np.minimum(a, b), np.maximum(a, b)
    tenth = max(n // 10, 1)
    low[:tenth], high[:tenth] = lever["min"], lever["max"]
    step = 0.01 * (lever["max"] - lever["min"])
    high[tenth : 2 * tenth] = np.minimum(low[tenth : 2 * tenth] + step, lever["max"])
    return low, high


def check_monotonicity(
    run: Runner,
    levers: Mapping[str, Mapping],
    priors: Mapping[str, Mapping],
    *,
    n: int,
    seed: int = 0,
    rtol: float = 1e-9,
) -> list[Violation]:
    """Every sample in which a lever moves a declared quantity the wrong way.

    Parameters
    ----------
    run
        The model runner (see the module docstring).
    levers, priors
        The ``[levers]`` and ``[priors]`` tables.
    n
        Samples per lever: prior draws, settings of the other levers, and a pair of values
        of the lever under test.
    seed
        Seed of the sampler.
    rtol
        Changes smaller than this, relative to the quantity's size, count as no change.

    Returns
    -------
    list of Violation
        Empty when every declaration held in every sample.
    """
    rng = np.random.default_rng(seed)
    violations = []
    for key, lever in levers.items():
        if not lever["raises"] and not lever["lowers"]:
            continue
        base = sample_priors(priors, n, rng) | sample_levers(levers, n, rng)
        low, high = _lever_pairs(lever, n, rng)
        violations += lever_violations(run, key, lever, base, low, high, rtol=rtol)
    return violations


def lever_violations(
    run: Runner,
    key: str,
    lever: Mapping,
    base: Mapping[str, np.ndarray],
    low: np.ndarray,
    high: np.ndarray,
    *,
    rtol: float = 1e-9,
) -> list[Violation]:
    """The runs in which moving one lever from ``low`` up to ``high`` breaks its declarations.

    Parameters
    ----------
    run
        The model runner (see the module docstring).
    key, lever
        The lever's key and its ``[levers.<key>]`` table (``constant``, ``raises``,
        ``lowers``).
    base
        Everything else, all else equal: parameter and other lever values, one array of
        length ``n`` per model constant.
    low, high
        The lever's two values in each of the ``n`` runs (``low <= high``).
    rtol
        Changes smaller than this, relative to the quantity's size, count as no change.

    Returns
    -------
    list of Violation
        One per run and declared quantity that moved the wrong way at some saved time.
    """
    declared = {q: "raises" for q in lever["raises"]} | {q: "lowers" for q in lever["lowers"]}
    if not declared:
        return []
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    n = len(low)
    columns = sorted(declared)
    at_low = run({**base, lever["constant"]: low}, n, columns)
    at_high = run({**base, lever["constant"]: high}, n, columns)
    violations = []
    for quantity, direction in declared.items():
        x0, x1 = np.asarray(at_low[quantity]), np.asarray(at_high[quantity])
        size = np.maximum(np.abs(x0), np.abs(x1))
        change = (x1 - x0) / np.where(size > 0, size, 1.0)
        wrong = -change if direction == "raises" else change
        worst = wrong.max(axis=1)
        for sample in np.flatnonzero(worst > rtol):
            signed = change[sample][np.argmax(wrong[sample])]
            violations.append(
                Violation(key, quantity, direction, int(sample), float(low[sample]),
                          float(high[sample]), float(signed))
            )  # fmt: skip
    return violations


def pysd_runner(model_path: Path) -> Runner:
    """A runner that loops over PySD runs (translates a copy in a temporary directory)."""
    # PySD writes the translated module next to the .mdl: translate a copy in a temporary
    # directory; the loaded model no longer needs the file once imported.
    with tempfile.TemporaryDirectory(prefix="heping-modelcheck-") as tmp:
        copy = Path(tmp) / Path(model_path).name
        shutil.copy(model_path, copy)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_CHARDET)
            import pysd

            model = pysd.read_vensim(str(copy))
    return pysd_model_runner(model)


def pysd_model_runner(model) -> Runner:
    """A runner on an already translated PySD model (``pysd.py_backend.model.Model``)."""
    real_names = {py: real for real, py in model.namespace.items()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_INPLACE)
        first = model.run(reload=True)  # the file's own values, whatever ran before
    # PySD keeps a changed constant for later runs: put back every constant a previous run
    # changed, so that each run depends only on its own parameters.
    defaults = {py: float(first[real].iloc[0]) for real, py in model.namespace.items()
                if real in first.columns}  # fmt: skip
    touched: set[str] = set()

    def run(params: Mapping[str, np.ndarray], n: int, columns: Sequence[str]) -> dict:
        wanted = [real_names[c] for c in columns]
        touched.update(params)
        rows = []
        for i in range(n):
            values = {k: defaults[k] for k in touched}
            values |= {k: float(v[i]) for k, v in params.items()}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_PANDAS_INPLACE)
                frame = model.run(params=values, return_columns=wanted)
            rows.append(frame[wanted].to_numpy())
        stacked = np.stack(rows)  # run x time x column
        return {c: stacked[:, :, j] for j, c in enumerate(columns)}

    return run


def engine_runner(model_path: Path) -> Runner:
    """A runner on the batched engine (``sim.load_model``), if it is installed."""
    from sim import load_model  # type: ignore[attr-defined]

    return engine_model_runner(load_model(model_path))


def engine_model_runner(model) -> Runner:
    """A runner on an already compiled engine model (:class:`sim.engine.Model`)."""

    def run(params: Mapping[str, np.ndarray], n: int, columns: Sequence[str]) -> dict:
        result = model.run(params=dict(params), n=n, return_columns=list(columns))
        return {c: result[c].values for c in columns}

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Report every counter-example to the declared raises/lowers (exit 1 if any)."""
    from sim.resources import model_dir

    parser = argparse.ArgumentParser(prog="python -m sim.modelcheck", description=__doc__)
    parser.add_argument("--samples", type=int, default=2000, help="samples per lever")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pysd", action="store_true", help="use PySD even if the engine exists")
    args = parser.parse_args(argv)
    directory = model_dir()
    levers, priors = load_catalogues(directory)
    try:
        if args.pysd:
            raise ImportError
        run, engine = engine_runner(directory / "heping.mdl"), "batched engine"
    except ImportError:
        run, engine = pysd_runner(directory / "heping.mdl"), "PySD"
    found = check_monotonicity(run, levers, priors, n=args.samples, seed=args.seed)
    print(f"{len(levers)} levers x {args.samples} samples ({engine}, seed {args.seed}):")
    for v in found:
        print(
            f"  {v.lever} {v.direction} {v.quantity}: sample {v.sample}, lever "
            f"{v.low_value:g} -> {v.high_value:g}, change {v.worst_change:+.3g}"
        )
    print("  no counter-examples" if not found else f"  {len(found)} counter-examples")
    return 1 if found else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
