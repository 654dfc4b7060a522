"""The stored calibration: ``calibration/best_fit.toml`` and ``calibration/ensemble.csv``.

Both files live in a ``calibration/`` folder beside the model they were fitted to (the
shipped ones in ``model/calibration/``, which a wheel carries with the model). Each carries
the same provenance — the model file's name and the sha256 of the model, of
``observed.csv`` and of ``priors.toml`` — and the same settings (the seed among them), so
that :func:`load_calibration` can tell when a change to the model or its data has made them
**stale**. They hold no timestamps and write floats in Python's shortest round-trip form,
so that the same inputs and seed rewrite them byte for byte.

``best_fit.toml``: ``[provenance]``, ``[settings]``, ``[parameters]`` (the best fit, every
prior), ``[fit]`` (cost, the parameters fitted and those the record does not move), and
``[figures.<key>]`` (observed, model and residual at the best fit).

``ensemble.csv``: ``# key: value`` header lines (provenance and settings), then a table
``member, wave, weight, max_implausibility, <parameter>…`` with one row per member; the
weights sum to 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.fileio import sha256_file, write_text_atomic
from sim.tomlfile import read_toml

DIRECTORY = "calibration"
BEST_FIT = "best_fit.toml"
ENSEMBLE = "ensemble.csv"
FORMAT = 1
PROVENANCE_KEYS = (
    "format",
    "model_file",
    "model_sha256",
    "observed_sha256",
    "priors_sha256",
)
_MEMBER_COLUMNS = ("member", "wave", "weight", "max_implausibility")


@dataclass(frozen=True)
class Provenance:
    """What a calibration was fitted to: the model file and the data beside it."""

    model_file: str
    model_sha256: str
    observed_sha256: str
    priors_sha256: str
    format: int = FORMAT

    @classmethod
    def of(cls, model_path: Path) -> Provenance:
        """The provenance of the model file and the data beside it, as they are now."""
        folder = model_path.parent
        return cls(
            model_file=model_path.name,
            model_sha256=sha256_file(model_path),
            observed_sha256=_sha_or_missing(folder / "observed.csv"),
            priors_sha256=_sha_or_missing(folder / "priors.toml"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The provenance as stored, in :data:`PROVENANCE_KEYS` order."""
        return {key: getattr(self, key) for key in PROVENANCE_KEYS}

    def changed_since(self, model_path: Path) -> list[str]:
        """What differs between this provenance and the files beside ``model_path`` now."""
        now = Provenance.of(model_path)
        changes = []
        if now.model_file != self.model_file:
            changes.append(f"{now.model_file} is not {self.model_file}, the model it was fitted to")
        elif now.model_sha256 != self.model_sha256:
            changes.append(f"{self.model_file} changed")
        if now.observed_sha256 != self.observed_sha256:
            changes.append("observed.csv changed")
        if now.priors_sha256 != self.priors_sha256:
            changes.append("priors.toml changed")
        return changes


def _sha_or_missing(path: Path) -> str:
    return sha256_file(path) if path.is_file() else "missing"


class StaleCalibrationError(InputError):
    """The stored calibration was fitted to other versions of the model or its data."""


@dataclass(frozen=True)
class Calibration:
    """A stored calibration, as :func:`load_calibration` reads it.

    Attributes
    ----------
    directory
        The ``calibration/`` folder.
    model_path
        The model it was checked against.
    provenance
        What it was fitted to.
    settings
        The settings of the run that made it (seed, samples, cutoff, …).
    best_fit
        Parameter → best-fit value, for every prior.
    ensemble
        Parameter → member values ``(M,)``.
    weights
        Member weights ``(M,)`` summing to 1.
    fitted, not_fitted
        Parameters the best fit moved, and those the record does not move (they keep the
        model's own value in the best fit and their prior spread in the ensemble).
    stale
        What changed since the fit (empty when current).
    """

    directory: Path
    model_path: Path
    provenance: Provenance
    settings: dict[str, Any]
    best_fit: dict[str, float]
    ensemble: dict[str, np.ndarray]
    weights: np.ndarray
    fitted: tuple[str, ...]
    not_fitted: tuple[str, ...]
    stale: tuple[str, ...] = field(default=())

    @property
    def members(self) -> int:
        """Number of ensemble members."""
        return int(self.weights.size)

    @property
    def seed(self) -> int:
        """The seed the ensemble was drawn with."""
        return int(self.settings["seed"])

    @property
    def ensemble_file(self) -> Path:
        """``ensemble.csv``."""
        return self.directory / ENSEMBLE

    @property
    def best_fit_file(self) -> Path:
        """``best_fit.toml``."""
        return self.directory / BEST_FIT

    def require_current(self) -> Calibration:
        """This calibration, or a :class:`StaleCalibrationError` saying what changed."""
        if self.stale:
            raise StaleCalibrationError(
                "the stored calibration is stale: "
                + "; ".join(self.stale)
                + " since it was fitted",
                file=self.directory,
                expected=f"a calibration of the current files: run `heping-sd calibrate"
                f"{_model_option(self.model_path)}` to refit it (about a minute), or pass "
                "--uncalibrated to run the model's own parameter values",
            )
        return self


def _model_option(model_path: Path) -> str:
    from sim.resources import model_path as shipped

    try:
        same = model_path.resolve() == shipped().resolve()
    except FileNotFoundError:
        same = False
    return "" if same else f" --model {model_path}"


def calibration_dir(model_path: str | Path) -> Path:
    """Where the calibration of a model lives: ``calibration/`` beside it."""
    return Path(model_path).parent / DIRECTORY


def load_calibration(model_path: str | Path | None = None) -> Calibration | None:
    """The calibration stored beside a model, checked against the files as they are now.

    Parameters
    ----------
    model_path
        The model file (the shipped ``model/heping.mdl`` by default).

    Returns
    -------
    Calibration or None
        ``None`` when the model has no ``calibration/`` folder with both files. A stale
        calibration is returned with :attr:`Calibration.stale` saying what changed; call
        :meth:`Calibration.require_current` to refuse it.

    Raises
    ------
    InputError
        When a file is malformed, or the two files come from different runs.
    """
    if model_path is None:
        from sim.resources import model_path as shipped

        model_path = shipped()
    model_path = Path(model_path)
    folder = calibration_dir(model_path)
    best_path, ensemble_path = folder / BEST_FIT, folder / ENSEMBLE
    if not (best_path.is_file() and ensemble_path.is_file()):
        return None
    best = read_best_fit(best_path)
    header, names, table = read_ensemble(ensemble_path)
    if header["provenance"] != best["provenance"] or header["settings"] != best["settings"]:
        raise InputError(
            f"{BEST_FIT} and {ENSEMBLE} come from different calibration runs",
            file=folder,
            expected="both files from one `heping-sd calibrate`",
        )
    if sorted(names) != sorted(best["parameters"]):
        raise InputError(f"{ENSEMBLE} and {BEST_FIT} hold different parameters", file=ensemble_path)
    provenance = Provenance(**best["provenance"])
    weights = table[:, _MEMBER_COLUMNS.index("weight")]
    ensemble = {name: table[:, len(_MEMBER_COLUMNS) + j] for j, name in enumerate(names)}
    return Calibration(
        directory=folder,
        model_path=model_path,
        provenance=provenance,
        settings=dict(best["settings"]),
        best_fit={k: float(v) for k, v in best["parameters"].items()},
        ensemble=ensemble,
        weights=weights / weights.sum(),
        fitted=tuple(best["fit"]["fitted"]),
        not_fitted=tuple(best["fit"]["not_fitted"]),
        stale=tuple(provenance.changed_since(model_path)),
    )


# --------------------------------------------------------------------------- writing


def _number(x: float) -> float:
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"cannot store the non-finite number {value}")
    return value


def best_fit_text(
    provenance: Provenance,
    settings: Mapping[str, Any],
    parameters: Mapping[str, float],
    fit: Mapping[str, Any],
    figures: Mapping[str, Mapping[str, float]],
) -> str:
    """The text of ``best_fit.toml``."""
    import tomli_w

    document = {
        "provenance": provenance.as_dict(),
        "settings": dict(settings),
        "parameters": {k: _number(v) for k, v in parameters.items()},
        "fit": dict(fit),
        "figures": {k: {f: _number(v) for f, v in row.items()} for k, row in figures.items()},
    }
    head = (
        "# The best fit of priors.toml to observed.csv, written by `heping-sd calibrate`.\n"
        "# Do not edit: the command rewrites it (byte for byte for the same inputs and seed).\n"
        "# [figures.*]: observed value, model value and residual ((model - observed) /\n"
        "# |observed| / rel_sigma) at the best fit. Format: docs/calibration.md.\n\n"
    )
    return head + tomli_w.dumps(document)


def ensemble_text(
    provenance: Provenance,
    settings: Mapping[str, Any],
    names: Sequence[str],
    values: np.ndarray,
    weights: np.ndarray,
    waves: np.ndarray,
    max_implausibility: np.ndarray,
) -> str:
    """The text of ``ensemble.csv`` (``values`` is members × parameters)."""
    out = io.StringIO()
    out.write("# The history-matching ensemble of priors.toml against observed.csv, written by\n")
    out.write("# `heping-sd calibrate`; do not edit. One row per member; weights sum to 1.\n")
    for key, value in provenance.as_dict().items():
        out.write(f"# {key}: {value}\n")
    out.write(f"# settings: {json.dumps(dict(settings), sort_keys=True)}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_MEMBER_COLUMNS, *names])
    for m in range(values.shape[0]):
        writer.writerow(
            [
                m,
                int(waves[m]),
                repr(_number(weights[m])),
                repr(_number(max_implausibility[m])),
                *(repr(_number(v)) for v in values[m]),
            ]
        )
    return out.getvalue()


def write_calibration(folder: Path, best_fit: str, ensemble: str) -> None:
    """Write both files, each atomically (a failure leaves the previous version)."""
    write_text_atomic(folder / ENSEMBLE, ensemble)
    write_text_atomic(folder / BEST_FIT, best_fit)


# --------------------------------------------------------------------------- reading


def read_best_fit(path: Path) -> dict[str, Any]:
    """``best_fit.toml`` as a checked dict."""
    data = read_toml(path)
    for table in ("provenance", "settings", "parameters", "fit"):
        if not isinstance(data.get(table), dict):
            raise InputError("missing table", file=path, key=table)
    _check_provenance(data["provenance"], path)
    for name, value in data["parameters"].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError("not a number", file=path, key=f"parameters.{name}")
    for key in ("fitted", "not_fitted"):
        if not isinstance(data["fit"].get(key), list):
            raise InputError("missing list", file=path, key=f"fit.{key}")
    return data


def _check_provenance(provenance: Mapping[str, Any], path: Path) -> None:
    missing = [key for key in PROVENANCE_KEYS if key not in provenance]
    if missing:
        raise InputError("missing provenance", file=path, key=f"provenance.{missing[0]}")
    if provenance["format"] != FORMAT:
        raise InputError(
            f"calibration format {provenance['format']!r} is not {FORMAT}",
            file=path,
            expected="a file written by this version: rerun `heping-sd calibrate`",
        )


def read_ensemble(path: Path) -> tuple[dict[str, Any], list[str], np.ndarray]:
    """``ensemble.csv``: its header (provenance, settings), parameter names and table."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    provenance: dict[str, Any] = {}
    settings: dict[str, Any] | None = None
    body_start = 0
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = number
            break
        key, sep, value = line[1:].partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "settings":
            try:
                settings = json.loads(value)
            except json.JSONDecodeError:
                raise InputError("settings are not JSON", file=path, key="settings") from None
        elif key in PROVENANCE_KEYS:
            provenance[key] = int(value) if key == "format" and value.isdigit() else value
    else:
        raise InputError("no table", file=path)
    _check_provenance(provenance, path)
    if settings is None:
        raise InputError("missing settings line", file=path, key="settings")
    rows = list(csv.reader(lines[body_start:]))
    header = rows[0]
    if tuple(header[: len(_MEMBER_COLUMNS)]) != _MEMBER_COLUMNS:
        raise InputError(
            "unexpected columns", file=path, expected=", ".join(_MEMBER_COLUMNS) + ", parameters…"
        )
    try:
        table = np.array([[float(x) for x in row] for row in rows[1:]], dtype=float)
    except ValueError:
        raise InputError("a value is not a number", file=path) from None
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] != len(header):
        raise InputError("the table has no members or ragged rows", file=path)
    weights = table[:, _MEMBER_COLUMNS.index("weight")]
    if not (np.all(np.isfinite(table)) and np.all(weights >= 0) and weights.sum() > 0):
        raise InputError("weights must be non-negative and values finite", file=path)
    return {"provenance": provenance, "settings": settings}, header[len(_MEMBER_COLUMNS) :], table
