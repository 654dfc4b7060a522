"""heping-sd: batched system-dynamics scenarios for Heping District's 14th Five-Year Plan."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("heping-sd")
except PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0+source"

__all__ = ["Model", "__version__", "load_model"]


def __getattr__(name: str):
    # Lazy, so that `import sim` (and every CLI command) does not pay for numpy/PySD.
    if name in ("Model", "load_model"):
        from sim import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
