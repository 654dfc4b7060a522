"""The shipped Heping model translated by PySD once per test session (the reference run).

PySD writes the translated ``heping.py`` next to the ``.mdl``, so the model is copied into a
temporary directory first and the repository stays clean. PySD 3.14 with pandas 3 emits two
known deprecation warnings of its own; they are filtered by message, and every other warning
raised while translating or running is kept for the tests to inspect.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.resources import model_dir

# PySD's own deprecations under pandas 3 / chardet 5 (not ours, not about the model).
KNOWN_PYSD_WARNINGS = (
    "chardet.universaldetector is deprecated",
    "The inplace keyword in DataFrame.set_index is deprecated",
)


@dataclass(frozen=True)
class ReferenceRun:
    """PySD's translation of the shipped model and its status-quo run."""

    model: object  # pysd.py_backend.model.Model
    times: np.ndarray
    series: dict[str, np.ndarray]  # python-safe name -> values at `times`
    warnings: tuple[str, ...]  # every other warning from translating and running
    workdir: Path

    def run(self, params: dict[str, float], **options) -> dict[str, np.ndarray]:
        """Another run with some constants changed (PySD reloads first, so runs are pure).

        ``options`` go to PySD's ``run`` (``saveper``, ``final_time``, ...); the saved times
        are returned under the key ``"time"``.
        """
        with warnings.catch_warnings():
            for message in KNOWN_PYSD_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            frame = self.model.run(params=params, reload=True, **options)
        return _series(self.model, frame) | {"time": frame.index.to_numpy(dtype=float)}


def _series(model, frame) -> dict[str, np.ndarray]:
    names = dict(model.namespace)
    return {names[c]: frame[c].to_numpy(dtype=float) for c in frame.columns}


@functools.cache
def reference_run() -> ReferenceRun:
    """Translate a temporary copy of ``model/heping.mdl`` and run it at its defaults."""
    workdir = Path(tempfile.mkdtemp(prefix="heping-pysd-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    shutil.copy(model_dir() / "heping.mdl", workdir / "heping.mdl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import pysd

        model = pysd.read_vensim(str(workdir / "heping.mdl"))
        frame = model.run()
    other = tuple(
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if not any(str(w.message).startswith(m) for m in KNOWN_PYSD_WARNINGS)
    )
    times = frame.index.to_numpy(dtype=float)
    return ReferenceRun(model, times, _series(model, frame), other, workdir)
