"""``calibrate``: the history-matching ensemble and the best fit of a model to its record.

One entry point, :func:`calibrate`, takes a model file with ``priors.toml`` and
``observed.csv`` beside it and returns a :class:`CalibrationResult`; :func:`save` writes its
two files into ``calibration/`` beside the model. Steps:

1. find the parameters that move no fitted figure (they cannot be identified);
2. history matching (:mod:`sim.calibration.history_matching`): the ensemble;
3. least squares from the lowest-cost runs of step 2 (:mod:`sim.calibration.best_fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.calibration.best_fit import BestFit, best_fit
from sim.calibration.files import (
    Provenance,
    best_fit_text,
    calibration_dir,
    ensemble_text,
    write_calibration,
)
from sim.calibration.history_matching import HistoryMatch, history_match
from sim.calibration.record import Record, Simulator, inert_parameters
from sim.errors import InputError
from sim.priors import Priors, from_unit, load_priors

DEFAULT_SEED = 2021


@dataclass(frozen=True)
class Settings:
    """How a calibration runs; stored with it (see docs/calibration.md).

    ``seed`` seeds the Sobol designs; ``samples`` runs per wave (a power of two);
    ``cutoff`` the implausibility cutoff; ``discrepancy`` the model discrepancy relative to
    each figure; ``min_members`` further waves run while fewer are found, up to
    ``max_waves``; ``max_members`` are stored; ``margin`` widens a refocused box;
    ``starts`` best-fit starting points.
    """

    seed: int = DEFAULT_SEED
    samples: int = 131_072
    cutoff: float = 3.0
    discrepancy: float = 0.05
    min_members: int = 200
    max_members: int = 1000
    max_waves: int = 4
    margin: float = 0.25
    starts: int = 4

    def check(self) -> Settings:
        """These settings, or an InputError naming the first invalid one."""
        positive = {
            "samples": self.samples,
            "cutoff": self.cutoff,
            "min_members": self.min_members,
            "max_waves": self.max_waves,
            "starts": self.starts,
        }
        for name, value in positive.items():
            if not value > 0:
                raise InputError(f"invalid value {value}", key=f"--{name.replace('_', '-')}")
        if self.samples & (self.samples - 1):
            raise InputError(
                f"invalid value {self.samples}",
                key="--samples",
                expected="a power of two (a balanced Sobol design), e.g. 131072",
            )
        if self.max_members < self.min_members:
            raise InputError(
                f"--max-members {self.max_members} is below --min-members {self.min_members}",
                key="--max-members",
            )
        if not (self.discrepancy >= 0 and self.margin >= 0):
            raise InputError("discrepancy and margin must be ≥ 0", key="--discrepancy")
        return self

    def as_dict(self) -> dict[str, Any]:
        """The settings as stored in the files, in field order."""
        return asdict(self)


@dataclass(frozen=True)
class CalibrationResult:
    """Everything a calibration found; :func:`save` stores its ensemble and best fit."""

    model_path: Path
    provenance: Provenance
    settings: Settings
    priors: Priors
    record: Record
    model_values: dict[str, float]
    inert: np.ndarray
    history: HistoryMatch
    fit: BestFit
    runs: int

    @property
    def names(self) -> list[str]:
        """The calibrated parameters, in ``priors.toml`` order."""
        return list(self.priors)

    def ensemble(self) -> dict[str, np.ndarray]:
        """Parameter → member values."""
        return from_unit(self.priors, self.history.points)

    def best_fit_parameters(self) -> dict[str, float]:
        """Parameter → best-fit value (the model's own for parameters not fitted)."""
        values = from_unit(self.priors, self.fit.point[None])
        return {
            name: float(self.model_values[name] if inert else values[name][0])
            for name, inert in zip(self.names, self.inert, strict=True)
        }

    def fitted(self) -> list[str]:
        """The parameters the best fit moved (those that move some fitted figure)."""
        return [n for n, inert in zip(self.names, self.inert, strict=True) if not inert]

    def not_fitted(self) -> list[str]:
        """The parameters that move no fitted figure (the model's own value in the fit)."""
        return [n for n, inert in zip(self.names, self.inert, strict=True) if inert]


def require_data(model_path: Path) -> None:
    """An InputError unless ``priors.toml`` and ``observed.csv`` lie beside the model."""
    for name in ("priors.toml", "observed.csv"):
        path = Path(model_path).parent / name
        if not path.is_file():
            raise InputError(f"no {name} beside the model", file=path, expected="the model's data")


def calibrate(
    model_path: str | Path,
    settings: Settings | None = None,
    *,
    model: Any = None,
    progress: Callable[..., None] | None = None,
) -> CalibrationResult:
    """Fit the priors beside a model to the record beside it.

    Parameters
    ----------
    model_path
        The Vensim model; ``priors.toml`` and ``observed.csv`` are read from beside it.
    settings
        Seed, sample count, cutoff, …; the defaults when omitted.
    model
        The compiled engine model, when already loaded (else it is loaded here).
    progress
        Told of the history-matching runs done (see :func:`history_match`).

    Returns
    -------
    CalibrationResult
    """
    from sim.batch import constant_values
    from sim.observed import load_observed

    settings = (settings or Settings()).check()
    model_path = Path(model_path)
    folder = model_path.parent
    require_data(model_path)
    provenance = Provenance.of(model_path)
    priors = load_priors(folder / "priors.toml")
    record = Record.fitted(load_observed(folder / "observed.csv"), settings.discrepancy)
    if model is None:
        from sim.engine import load_model

        model = load_model(model_path)
    simulate = Simulator(model, priors, record)
    own = constant_values(model, list(priors))
    outside = [n for n, p in priors.items() if not p.low <= own[n] <= p.high]
    if outside:
        raise InputError(
            f"the model's own value {own[outside[0]]:g} lies outside the prior",
            file=folder / "priors.toml",
            key=f"priors.{outside[0]}",
            expected=f"[{priors[outside[0]].low:g}, {priors[outside[0]].high:g}]",
        )
    own_point = np.array([priors[n].to_unit(own[n]) for n in priors])

    inert = inert_parameters(simulate, len(priors), seed=settings.seed)
    history = history_match(
        simulate,
        record,
        len(priors),
        samples=settings.samples,
        seed=settings.seed,
        cutoff=settings.cutoff,
        min_members=settings.min_members,
        max_members=settings.max_members,
        max_waves=settings.max_waves,
        margin=settings.margin,
        starts=settings.starts,
        progress=progress,
    )
    fit = best_fit(simulate, record, history.best_points, free=~inert, fixed_point=own_point)
    return CalibrationResult(
        model_path=model_path,
        provenance=provenance,
        settings=settings,
        priors=priors,
        record=record,
        model_values=own,
        inert=inert,
        history=history,
        fit=fit,
        runs=simulate.runs,
    )


def save(result: CalibrationResult, directory: str | Path | None = None) -> Path:
    """Write ``best_fit.toml`` and ``ensemble.csv`` (into ``calibration/`` beside the model).

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    folder = Path(directory) if directory is not None else calibration_dir(result.model_path)
    settings = result.settings.as_dict()
    record = result.record
    figures = {
        key: {"observed": z, "model": m, "residual": r}
        for key, z, m, r in zip(
            record.keys, record.values, result.fit.values, result.fit.residuals, strict=True
        )
    }
    fit = {
        "cost": float(result.fit.cost),
        "fitted": result.fitted(),
        "not_fitted": result.not_fitted(),
    }
    best = best_fit_text(result.provenance, settings, result.best_fit_parameters(), fit, figures)
    ensemble = result.ensemble()
    table = np.column_stack([ensemble[name] for name in result.names])
    text = ensemble_text(
        result.provenance,
        settings,
        result.names,
        table,
        result.history.weights,
        result.history.member_wave,
        result.history.implausibility.max(axis=1),
    )
    write_calibration(folder, best, text)
    return folder
