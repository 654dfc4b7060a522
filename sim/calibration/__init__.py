"""Calibration to the 十三五 record: a history-matching ensemble and a best fit.

``heping-sd calibrate`` runs :func:`calibrate` and :func:`save`; ``heping-sd run`` and other
commands read the stored result with :func:`load_calibration` (``None`` for a model without
one; a stale one says what changed). See docs/calibration.md for the method and the files.

Modules, one per step: :mod:`~sim.calibration.record` (the figures and the batched
simulator), :mod:`~sim.calibration.history_matching` (the ensemble),
:mod:`~sim.calibration.best_fit` (least squares), :mod:`~sim.calibration.files` (storage and
stale detection), :mod:`~sim.calibration.report` (docs/calibration.md).
"""

from sim.calibration.calibrate import CalibrationResult, Settings, calibrate, save
from sim.calibration.files import (
    Calibration,
    StaleCalibrationError,
    calibration_dir,
    load_calibration,
)

__all__ = [
    "Calibration",
    "CalibrationResult",
    "Settings",
    "StaleCalibrationError",
    "calibrate",
    "calibration_dir",
    "load_calibration",
    "save",
]
