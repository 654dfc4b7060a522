"""Shared helpers for the engine tests: PySD as the reference, run on a private copy."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.conformance import flatten
from sim.safety import check_model_file


def pysd_reference(model_path: Path, tmp_path: Path):
    """PySD's model for a copy of ``model_path`` (PySD writes a .py beside the file)."""
    import pysd

    folder = tmp_path / "pysd"
    folder.mkdir(exist_ok=True)
    copy = folder / Path(model_path).name
    shutil.copy(model_path, copy)
    check_model_file(copy)  # PySD imports what it translates: only after our check
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.read_vensim(str(copy))


def pysd_run(reference, params=None, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference.run(params=params or {}, **kwargs)


def assert_same_as_pysd(ds, frame: pd.DataFrame, run: int = 0, rtol: float = 1e-9) -> int:
    """Every variable of run ``run`` equals PySD's column (relative ``rtol``); returns count."""
    np.testing.assert_allclose(ds.time.values, frame.index.values.astype(float), rtol=0, atol=0)
    ours = flatten(ds.isel(run=[run]))
    theirs = {_key(c): c for c in frame.columns}
    compared = 0
    for key, values in ours.items():
        if key not in theirs:
            continue
        expected = pd.to_numeric(frame[theirs[key]], errors="coerce").to_numpy(dtype=float)
        scale = np.nanmax(np.abs(expected)) if np.isfinite(expected).any() else 1.0
        np.testing.assert_allclose(
            values, expected, rtol=rtol, atol=rtol * 1e-3 * scale, equal_nan=True, err_msg=key
        )
        compared += 1
    return compared


def _key(column: str) -> str:
    from sim.engine.conformance import _key as conformance_key

    return conformance_key(column)
