"""Sensitivity: Sobol indices of the targets to the levers and the most uncertain parameters.

A Saltelli design (SALib's ``sample.sobol``, first and total order) over *factors*: every lever
over its ``[min, max]`` and the ``k`` parameters the ensemble leaves most uncertain, each over
its ensemble 5–95 % range. Each design point is run over a few ensemble members, whose values
of the other parameters carry the rest of the uncertainty, and gives:

* ``all_met_probability``: the share of those members meeting every represented target;
* ``worst_margin``: the members' median of the worst normalised target margin (≥ 0 when
  every target is met; it keeps moving where the probability is flat at 0 or 1);
* ``margin_<target>``: each target's median normalised margin.

SALib's ``analyze.sobol`` turns each output into a Dataset in the form of
docs/architecture.md: dim ``factor``, variables ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, a
``factor_kind(factor)`` coordinate (``lever`` or ``parameter``) and attr ``output``.

The factors are sampled independently, so the parameters' correlations within the ensemble are
not kept for the ``k`` varied ones; "most uncertain" means the largest ensemble 5–95 % range as a
share of the prior range (in log terms for a log-uniform prior): the parameters the record
says least about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from sim.outcomes import Outcomes, Simulator, weighted_quantile
from sim.priors import Priors

CHUNK_POINTS = 1024
"""Design points per engine call (× members runs), to bound memory."""


@dataclass(frozen=True)
class Factor:
    """One input of the sensitivity analysis."""

    name: str
    kind: str
    """``lever`` or ``parameter``."""
    low: float
    high: float
    log: bool = False
    """Sampled uniformly in log space (a log-uniform prior)."""
    name_en: str = ""
    name_zh: str = ""
    """Names for people (the key when empty)."""

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map [0, 1] onto the factor's range."""
        if self.log and self.low > 0:
            return self.low * (self.high / self.low) ** u
        return self.low + u * (self.high - self.low)


def most_uncertain(
    ensemble: Mapping[str, np.ndarray], weights: np.ndarray, priors: Priors, count: int
) -> list[tuple[str, float]]:
    """The ``count`` parameters whose ensemble range is widest relative to their prior.

    Returns
    -------
    list of (name, share)
        ``share`` is the ensemble's 5–95 % range over the prior's range (in log terms for a
        log-uniform prior), largest first; parameters without a prior are skipped.
    """
    shares = []
    for name, values in ensemble.items():
        prior = priors.get(name)
        if prior is None:
            continue
        low, high = prior.low, prior.high
        q05, q95 = (weighted_quantile(values, weights, q, axis=0) for q in (0.05, 0.95))
        if prior.distribution == "loguniform" and q05 > 0:
            share = np.log(q95 / q05) / np.log(high / low)
        else:
            share = (q95 - q05) / (high - low) if high > low else 0.0
        shares.append((name, float(share)))
    shares.sort(key=lambda item: -item[1])
    return shares[:count]


def factors_for(
    simulate: Simulator,
    priors: Priors,
    parameters: Sequence[str],
    names: Mapping[str, tuple[str, str]] | None = None,
) -> list[Factor]:
    """Every lever of the simulator's space, then ``parameters`` over their ensemble 5–95 %.

    ``names`` maps a lever or parameter key to its (English, Chinese) names for charts and
    the brief; keys without one are shown as they are.
    """
    names = names or {}
    space = simulate.space
    out = [
        Factor(key, "lever", float(low), float(high), False, *names.get(key, ("", "")))
        for key, low, high in zip(space.keys, space.low, space.high, strict=True)
    ]
    for name in parameters:
        values = simulate.ensemble[name]
        low, high = (
            float(weighted_quantile(values, simulate.weights, q, axis=0)) for q in (0.05, 0.95)
        )
        log = name in priors and priors[name].distribution == "loguniform"
        out.append(Factor(name, "parameter", low, high, log, *names.get(name, ("", ""))))
    return out


def outputs_of(outcomes: Outcomes) -> dict[str, np.ndarray]:
    """Per design point: the all-met probability, the median worst margin and each target's
    median margin (see the module docstring)."""
    out = {
        "all_met_probability": outcomes.all_met_probability(),
        "worst_margin": weighted_quantile(outcomes.worst_margin, outcomes.weights, 0.5, axis=1),
    }
    median = outcomes.median_margin()
    for j, key in enumerate(outcomes.targets):
        out[f"margin_{key}"] = median[:, j]
    return out


def analyze(
    simulate: Simulator,
    factors: Sequence[Factor],
    *,
    samples: int = 256,
    seed: int = 20211210,
    resamples: int = 100,
) -> dict[str, xr.Dataset]:
    """Sobol first-order and total indices of every output to every factor.

    Parameters
    ----------
    simulate
        Runs lever mixes over (a few) ensemble members; parameter factors override the
        members' values.
    factors
        The levers and parameters to vary (:func:`factors_for`).
    samples
        Saltelli base sample size N (a power of two): ``N × (factors + 2)`` design points.
    seed
        Seed of the scrambled Sobol' sequence and of the bootstrap intervals.
    resamples
        Bootstrap resamples for the 95 % confidence intervals.

    Returns
    -------
    dict
        Output name → sensitivity Dataset. An output that does not vary over the design
        (e.g. a probability that is 0 everywhere) has no indices and is left out.
    """
    problem = {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[0.0, 1.0]] * len(factors),
    }
    unit = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    values = np.column_stack([f.from_unit(unit[:, j]) for j, f in enumerate(factors)])
    lever_columns = [j for j, f in enumerate(factors) if f.kind == "lever"]
    if [factors[j].name for j in lever_columns] != list(simulate.space.keys):
        raise ValueError("the lever factors must be the simulator's levers, in its order")
    parameter_columns = {f.name: j for j, f in enumerate(factors) if f.kind == "parameter"}

    collected: dict[str, list[np.ndarray]] = {}
    for start in range(0, values.shape[0], CHUNK_POINTS):
        chunk = values[start : start + CHUNK_POINTS]
        outcomes = simulate(
            chunk[:, lever_columns],
            {name: chunk[:, j] for name, j in parameter_columns.items()},
        )
        for name, y in outputs_of(outcomes).items():
            collected.setdefault(name, []).append(y)

    results = {}
    for name, parts in collected.items():
        y = np.concatenate(parts)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        indices = sobol_analyze.analyze(
            problem, y, calc_second_order=False, num_resamples=resamples, seed=seed
        )
        ds = _dataset(indices, factors, name, samples, simulate.members, seed)
        ds.attrs["output_mean"] = float(y.mean())
        ds.attrs["output_share_above_min"] = float(np.mean(y > y.min()))
        ds.attrs["output_share_below_max"] = float(np.mean(y < y.max()))
        results[name] = ds
    return results


def _dataset(
    indices: Mapping[str, np.ndarray],
    factors: Sequence[Factor],
    output: str,
    samples: int,
    members: int,
    seed: int,
) -> xr.Dataset:
    coords = {
        "factor": [f.name for f in factors],
        "factor_kind": ("factor", [f.kind for f in factors]),
        "factor_low": ("factor", [f.low for f in factors]),
        "factor_high": ("factor", [f.high for f in factors]),
        "factor_name_en": ("factor", [f.name_en or f.name for f in factors]),
        "factor_name_zh": ("factor", [f.name_zh or f.name_en or f.name for f in factors]),
    }
    names = {
        "S1": "first-order Sobol index",
        "S1_conf": "95 % confidence half-width of S1",
        "ST": "total-order Sobol index",
        "ST_conf": "95 % confidence half-width of ST",
    }
    data = {
        key: ("factor", np.asarray(indices[key], dtype=float), {"long_name": text, "units": "1"})
        for key, text in names.items()
    }
    return xr.Dataset(
        data,
        coords=coords,
        attrs={
            "output": output,
            "method": "Sobol (SALib: sample.sobol, analyze.sobol; first and total order)",
            "base_samples": samples,
            "design_points": samples * (len(factors) + 2),
            "members_per_point": members,
            "sobol_seed": seed,
        },
    )
