"""heping-sd: batched system-dynamics scenarios for Heping District's 14th Five-Year Plan."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("heping-sd")
except PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0+source"

__all__ = ["__version__"]
