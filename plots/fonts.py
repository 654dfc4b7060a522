"""Finding a font that can draw Chinese labels, through matplotlib's font manager.

Matplotlib draws a character it has no glyph for as an empty box (and warns "Glyph …
missing from font(s) …"). Chinese labels are therefore only used when a CJK font is
installed; otherwise the charts fall back to English with a :class:`MissingCJKFontWarning`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

#: Font families that cover simplified Chinese, best first. Simplified-Chinese cuts come
#: before the Japanese/Traditional cuts of the same design, whose hanzi shapes differ.
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Heiti SC",
    "Hiragino Sans GB",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Sarasa Gothic SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "Arial Unicode MS",
)

#: Characters a font must have to count as covering our Chinese labels: the district's
#: name, the plan names and the common words of titles and units.
_PROBE_TEXT = "和平区十三五十四五目标情景年亿元家人座概率"


class MissingCJKFontWarning(UserWarning):
    """No installed font can draw Chinese; the chart is drawn with English labels."""


def _covers_probe(entry: font_manager.FontEntry) -> bool:
    try:
        charmap = FT2Font(entry.fname, face_index=entry.index).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(char) in charmap for char in _PROBE_TEXT)


def _find_in(entries: list[font_manager.FontEntry]) -> str | None:
    by_name: dict[str, list[font_manager.FontEntry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    for family in CJK_FAMILIES:
        if any(_covers_probe(entry) for entry in by_name.get(family, ())):
            return family
    return None


def find_cjk_font() -> str | None:
    """Name of an installed font family that draws Chinese, or ``None``.

    Looks in matplotlib's font list for the families in :data:`CJK_FAMILIES` (in that
    order) and checks that the font really has glyphs for common Chinese characters.
    Matplotlib caches its font list; a font installed after the cache was written is
    missed, so when nothing is found the system font directories are scanned once more
    and new files are added to the font manager.
    """
    found = _find_in(font_manager.fontManager.ttflist)
    if found is not None:
        return found
    known = {Path(entry.fname) for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if Path(path) not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # unreadable font files are simply not candidates
    return _find_in(font_manager.fontManager.ttflist)


def resolve_language(lang: str) -> tuple[str, str | None]:
    """The language the chart will really use, and the CJK font family (if any).

    Parameters
    ----------
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    (lang, cjk_family)
        ``lang`` is ``"zh"`` only when a CJK font exists; otherwise a
        :class:`MissingCJKFontWarning` is issued and ``"en"`` returned. ``cjk_family`` is
        returned for English charts too, as a fallback for any Chinese character in the data.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', not {lang!r}")
    family = find_cjk_font()
    if lang == "zh" and family is None:
        warnings.warn(
            "no font that can draw Chinese was found (looked for "
            + ", ".join(CJK_FAMILIES[:6])
            + ", …); drawing the chart with English labels. Install one, e.g. "
            "`apt-get install fonts-noto-cjk`.",
            MissingCJKFontWarning,
            stacklevel=3,
        )
        return "en", None
    return lang, family
