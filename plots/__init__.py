"""Charts from heping-sd results Datasets (they never re-run the model).

Each chart kind is a module with one function, ``plot(dataset, *, lang="en", ...)``, that
returns a :class:`matplotlib.figure.Figure`; :data:`KINDS` maps the kind's name to it::

    import xarray as xr
    from plots import KINDS

    figure = KINDS["forecast"](xr.open_dataset("results.nc"), lang="zh")
    figure.savefig("forecast.png")

The figures are drawn in one style (:mod:`plots.style`) inside a matplotlib ``rc_context``,
so the caller's settings are untouched; ``lang="zh"`` needs a CJK font (:mod:`plots.fonts`).
"""

from plots import calibration, compare, fan, forecast, heatmap, matrix, tornado

KINDS = {
    "forecast": forecast.plot,
    "fan": fan.plot,
    "compare": compare.plot,
    "heatmap": heatmap.plot,
    "matrix": matrix.plot,
    "tornado": tornado.plot,
    "calibration": calibration.plot,
}

__all__ = ["KINDS"]
