"""One look for every chart: a colour-blind-safe palette, fonts, sizes.

Charts are drawn inside :func:`context`, a :func:`matplotlib.rc_context`, so that nothing of
this style leaks into the caller's matplotlib settings. Figures are created as plain
:class:`matplotlib.figure.Figure` objects on the Agg canvas: no pyplot, no global figure list,
no change of the caller's backend.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from plots import fonts
from sim.fileio import atomic_path

#: Okabe & Ito (2008), "Color Universal Design": distinguishable under the common forms of
#: colour blindness. Black is kept for the record and the targets; yellow comes last
#: because it is faint on white.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
RECORD_COLOR = "#000000"
TARGET_COLOR = "#000000"
GRID_COLOR = "#DDDDDD"
#: Fan-chart bands: the inner (25–75 %) band darker than the outer (5–95 %).
BAND_ALPHAS = (0.18, 0.38)

#: Probabilities (0–1) use one sequential colour map everywhere: ColorBrewer's YlGnBu,
#: light (unlikely) to dark (likely); colour-blind safe and readable in grey scale.
PROBABILITY_CMAP = mpl.colormaps["YlGnBu"]

#: Inches; a report page is about 6.5 in wide.
PANEL_WIDTH = 3.4
PANEL_HEIGHT = 2.6
MAX_COLUMNS = 3
DPI = 200

_BASE_RC: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID_COLOR,
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "lines.linewidth": 1.8,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,
}


def rc_params(lang: str, cjk_family: str | None) -> dict[str, Any]:
    """The matplotlib settings of the style for a resolved language.

    Families are named concretely (not ``"sans-serif"``) so that every text keeps its font
    after the context is left, and the CJK family follows as a per-glyph fallback.
    """
    latin = "DejaVu Sans"
    if cjk_family is None:
        family = [latin]
    elif lang == "zh":
        family = [cjk_family, latin]
    else:
        family = [latin, cjk_family]
    return {**_BASE_RC, "font.family": family}


@contextlib.contextmanager
def context(lang: str) -> Iterator[str]:
    """Draw in the style; yields the language really used (``"en"`` if no CJK font exists)."""
    resolved, cjk_family = fonts.resolve_language(lang)
    with mpl.rc_context(rc_params(resolved, cjk_family)):
        yield resolved


def color(index: int) -> str:
    """The palette colour for the ``index``-th series (wraps around)."""
    return PALETTE[index % len(PALETTE)]


def new_figure(width: float, height: float) -> Figure:
    """An empty figure on the Agg canvas (call inside :func:`context`)."""
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def panel_grid(
    count: int, *, sharex: bool = True, panel_height: float = PANEL_HEIGHT
) -> tuple[Figure, list]:
    """A figure with ``count`` panels in up to :data:`MAX_COLUMNS` columns; unused cells removed.

    Four panels go in a square, two side by side: fewer empty cells.
    """
    columns = 2 if count in (2, 4) else min(count, MAX_COLUMNS)
    rows = -(-count // columns)
    figure = new_figure(PANEL_WIDTH * columns, panel_height * rows + 0.7)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=sharex).ravel().tolist()
    for extra in axes[count:]:
        extra.remove()
    return figure, axes[:count]


def save(figure: Figure, path: str | Path, *, fmt: str, dpi: int = DPI) -> None:
    """Write ``figure`` as ``fmt`` (png, svg, pdf) to ``path``, atomically.

    Matplotlib's defaults for vector output suit Chinese text: PDF fonts as Type 3 (Type 42
    would mislabel the CFF outlines of the CJK OpenType fonts), SVG text as paths (the same
    look where the fonts are not installed).
    """
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format=fmt, dpi=dpi, facecolor="white")


def chart(function: Callable[..., Figure]) -> Callable[..., Figure]:
    """Decorator for a chart function ``f(..., lang="en", ...) -> Figure``.

    Runs it inside :func:`context` (passing on the language really used) and lays the figure
    out before the context is left, so that every text, tick label included, is created with
    the style's fonts.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, lang: str = "en", **kwargs: Any) -> Figure:
        with context(lang) as resolved:
            figure = function(*args, lang=resolved, **kwargs)
            figure.draw_without_rendering()
        return figure

    return wrapper
