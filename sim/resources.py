"""Where the shipped model and scenarios live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries the files under sim/_data/ (see pyproject's force-include); a source
    # checkout or an editable install has them beside the package.
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the shipped '{name}/' directory near {_PACKAGE_DIR}")


def model_dir() -> Path:
    """Directory holding ``heping.mdl`` and its data files (observed, targets, levers, priors)."""
    return _data_dir("model")


def scenarios_dir() -> Path:
    """Directory holding the shipped scenario and sweep files."""
    return _data_dir("scenarios")


def model_path() -> Path:
    """Path of the shipped Heping model, ``model/heping.mdl``."""
    return model_dir() / "heping.mdl"
