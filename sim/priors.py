"""The prior ranges of the uncertain parameters, ``model/priors.toml``, and sampling from them.

Each prior is uniform or log-uniform on ``[low, high]`` (docs/architecture.md,
"model/priors.toml"). Samplers work in the **unit cube**: a point ``u`` in ``[0, 1]^P`` maps
to parameter values through each prior's quantile function (:meth:`Prior.from_unit`), so
that a uniform design on the cube (``scipy.stats.qmc``) is a draw from the joint prior, and
fits and refocused samples can work in one scale for every parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from sim.errors import InputError
from sim.tomlfile import as_number, as_string, as_table, check_keys, read_toml

DISTRIBUTIONS = ("uniform", "loguniform")
_FIELDS = ("unit", "low", "high", "distribution", "reason")


@dataclass(frozen=True)
class Prior:
    """The prior of one model constant: uniform or log-uniform on ``[low, high]``."""

    name: str
    low: float
    high: float
    distribution: str
    unit: str = ""
    reason: str = ""

    def from_unit(self, u: ArrayLike) -> np.ndarray:
        """Parameter values at unit-cube coordinates ``u`` (the prior's quantile function)."""
        u = np.asarray(u, dtype=float)
        if self.distribution == "loguniform":
            return self.low * (self.high / self.low) ** u
        return self.low + u * (self.high - self.low)

    def to_unit(self, values: ArrayLike) -> np.ndarray:
        """Unit-cube coordinates of parameter values (the prior's distribution function)."""
        values = np.asarray(values, dtype=float)
        if self.distribution == "loguniform":
            return np.log(values / self.low) / math.log(self.high / self.low)
        return (values - self.low) / (self.high - self.low)


Priors = dict[str, Prior]


def load_priors(path: str | Path | None = None) -> Priors:
    """Read and check a prior catalogue, ``model/priors.toml`` by default.

    Returns
    -------
    dict
        Constant name → :class:`Prior`, in file order.

    Raises
    ------
    InputError
        On an unknown field, a missing or non-numeric bound, ``low >= high``, an unknown
        distribution, or a log-uniform prior whose range is not positive.
    """
    if path is None:
        from sim.resources import model_dir

        path = model_dir() / "priors.toml"
    path = Path(path)
    data = read_toml(path)
    check_keys(data, ["priors"], file=path, prefix="", what="top-level key")
    table = as_table(data.get("priors", {}), file=path, key="priors")
    if not table:
        raise InputError("no priors", file=path, key="priors", expected="[priors.<constant>]")
    priors: Priors = {}
    for name, entry in table.items():
        where = f"priors.{name}"
        entry = as_table(entry, file=path, key=where)
        check_keys(entry, _FIELDS, file=path, prefix=f"{where}.", what="prior field")
        for field in ("low", "high", "distribution"):
            if field not in entry:
                raise InputError("missing field", file=path, key=f"{where}.{field}")
        low = as_number(entry["low"], file=path, key=f"{where}.low")
        high = as_number(entry["high"], file=path, key=f"{where}.high")
        distribution = as_string(entry["distribution"], file=path, key=f"{where}.distribution")
        if distribution not in DISTRIBUTIONS:
            raise InputError(
                f"unknown distribution {distribution!r}",
                file=path,
                key=f"{where}.distribution",
                expected=" or ".join(repr(d) for d in DISTRIBUTIONS),
            )
        if not low < high:
            raise InputError(
                f"low {low:g} is not below high {high:g}", file=path, key=f"{where}.low"
            )
        if distribution == "loguniform" and low <= 0:
            raise InputError("a log-uniform range must be positive", file=path, key=f"{where}.low")
        priors[name] = Prior(
            name=name,
            low=low,
            high=high,
            distribution=distribution,
            unit=as_string(entry.get("unit", ""), file=path, key=f"{where}.unit"),
            reason=as_string(entry.get("reason", ""), file=path, key=f"{where}.reason"),
        )
    return priors


def from_unit(priors: Priors, u: ArrayLike) -> dict[str, np.ndarray]:
    """Parameter values for unit-cube points ``u`` of shape ``(n, len(priors))``."""
    u = np.atleast_2d(np.asarray(u, dtype=float))
    if u.shape[1] != len(priors):
        raise ValueError(f"points have {u.shape[1]} coordinates, not {len(priors)}")
    return {name: prior.from_unit(u[:, j]) for j, (name, prior) in enumerate(priors.items())}


def to_unit(priors: Priors, values: dict[str, ArrayLike]) -> np.ndarray:
    """Unit-cube points ``(n, len(priors))`` of parameter values (the inverse of from_unit)."""
    columns = [priors[name].to_unit(values[name]) for name in priors]
    return np.stack(np.broadcast_arrays(*(np.atleast_1d(c) for c in columns)), axis=1)


def sample(priors: Priors, n: int, *, seed: int, method: str = "sobol") -> dict[str, np.ndarray]:
    """``n`` quasi-random draws from the joint prior (independent parameters).

    Parameters
    ----------
    priors
        The catalogue.
    n
        Number of draws (a power of two keeps a Sobol design balanced).
    seed
        Seed of the scrambling, so that a draw can be repeated exactly.
    method
        ``"sobol"`` (scrambled Sobol) or ``"lhs"`` (Latin hypercube), from ``scipy.stats.qmc``.
    """
    return from_unit(priors, unit_design(len(priors), n, seed=seed, method=method))


def unit_design(dimension: int, n: int, *, seed: int, method: str = "sobol") -> np.ndarray:
    """``n`` scrambled quasi-random points in the unit cube of ``dimension`` coordinates."""
    from scipy.stats import qmc

    if method == "sobol":
        sampler = qmc.Sobol(dimension, scramble=True, seed=seed)
        if n & (n - 1) == 0:
            return sampler.random_base2(int(math.log2(n)))
        return sampler.random(n)
    if method == "lhs":
        return qmc.LatinHypercube(dimension, seed=seed).random(n)
    raise ValueError(f"unknown design {method!r}; expected 'sobol' or 'lhs'")
