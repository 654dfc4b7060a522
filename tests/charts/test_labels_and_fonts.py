"""Words on the charts (units, wrapping, target conditions) and finding a CJK font."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure

from plots import fonts, labels


@pytest.mark.parametrize(
    ("unit", "english", "chinese"),
    [
        ("亿元/Year", "100 million yuan/year", "亿元/年"),
        ("firms", "firms", "家"),
        ("persons/Year", "persons/year", "人/年"),
        ("buildings", "buildings", "座"),
        ("Dmnl", "", ""),
        ("Dmnl/Year", "per year", "每年"),
        ("1/Year", "1/year", "1/年"),
        ("万户", "10,000 entities", "万户"),
    ],
)
def test_units_in_both_languages(unit, english, chinese):
    assert labels.unit(unit, "en") == english
    assert labels.unit(unit, "zh") == chinese
    assert not labels.has_chinese(labels.unit(unit, "en"))


def test_numbers_and_percentages():
    assert labels.number(500.0) == "500"
    assert labels.number(1000) == "1,000"
    assert labels.number(2923.2) == "2,923"
    assert labels.number(12.5) == "12.5"
    assert labels.number(0.857) == "0.857"
    assert labels.number(0.0012) == "0.0012"
    assert labels.percent(0.1, "en") == "10 %"
    assert labels.percent(0.116, "zh") == "11.6%"


def test_target_conditions(targets):
    hte, talent, retail = (targets[k] for k in list(targets)[:3])
    assert labels.target_condition(hte, "en") == "≥ 500 firms, 2025"
    assert labels.target_condition(hte, "zh") == "≥ 500家，2025年"
    assert labels.target_condition(talent, "en") == "total ≥ 1,000 persons, 2021–2025"
    assert labels.target_condition(talent, "zh") == "累计 ≥ 1,000人，2021–2025年"
    assert labels.target_condition(retail, "en") == "average annual growth ≥ 10 %/yr, 2021–2025"
    assert labels.target_condition(retail, "zh") == "年均增长 ≥ 10%/年，2021–2025年"
    share = targets["services_share_2025"]
    assert labels.target_axis_label(share, "en") == "share, %, 2025"


def test_growth_words_are_said_once():
    assert labels.without_growth("Services value added, average annual growth") == (
        "Services value added"
    )
    assert labels.without_growth("服务业增加值年均增长") == "服务业增加值"
    assert labels.without_growth("数字经济增加值年均增速") == "数字经济增加值"
    assert labels.without_growth("High-tech enterprises") == "High-tech enterprises"
    growth = type("T", (), {})()
    growth.__dict__.update(
        name_en="Retail sales, average annual growth",
        name_zh="社会消费品零售总额年均增长",
        kind="growth",
        comparison=">=",
        threshold=0.1,
        unit="fraction",
        window=(2021, 2025),
        year=None,
    )
    assert labels.target_title(growth, "en") == (
        "Retail sales, average annual growth: ≥ 10 %/yr, 2021–2025"
    )
    assert labels.target_title(growth, "zh") == "社会消费品零售总额年均增长：≥ 10%/年，2021–2025年"


def test_chinese_wraps_at_punctuation_and_keeps_numbers_whole():
    text = "社会消费品零售总额：年均增长 ≥ 10%/年，2021–2025年"
    lines = labels.wrap(text, 30, "zh").split("\n")
    assert lines == ["社会消费品零售总额：年均增长", "≥ 10%/年，2021–2025年"]
    assert labels.wrap("High-level talent introduced, per year", 30, "en") == (
        "High-level talent introduced,\nper year"
    )


@pytest.mark.parametrize("width", range(20, 60))
def test_english_wrap_keeps_a_threshold_whole(width):
    text = "Retail sales of consumer goods, average annual growth: ≥ 10 %/yr, 2021–2025"
    wrapped = labels.wrap(text, width, "en")
    assert " ".join(wrapped.split()) == text
    lines = wrapped.split("\n")
    assert not any(line.endswith(("≥", "10")) for line in lines[:-1])
    assert not any(line.startswith("%") for line in lines)


def test_names_of_running_totals(results):
    talent = results["talent_introduced_total"]
    assert labels.amount_name(talent, "en") == "High-level talent introduced"
    assert labels.yearly_amount_name(talent, "en") == "High-level talent introduced, per year"
    assert labels.yearly_amount_name(talent, "zh") == "引进高层次人才（年度值）"
    # an English chart never shows a Chinese long_name
    odd = results["gdp"].assign_attrs(long_name="地区生产总值")
    assert labels.variable_name(odd, "en") == "GDP"


def test_every_phrase_exists_in_both_languages():
    for key, texts in labels.PHRASES.items():
        assert set(texts) == {"en", "zh"}, key
        assert not labels.has_chinese(texts["en"].replace("十三五", "")), key


# ----------------------------------------------------------------------------- fonts


def test_the_font_found_draws_chinese(cjk_font):
    assert cjk_font in fonts.CJK_FAMILIES
    figure = Figure()
    with mpl.rc_context({"font.family": [cjk_font]}):
        figure.text(0.1, 0.5, "和平区“十四五”规划目标：高新技术企业达到500家以上")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure.savefig(io.BytesIO(), format="png")


def test_a_stale_font_cache_is_rescanned(cjk_font, monkeypatch):
    # matplotlib's cached font list written before the CJK font was installed
    everything = font_manager.fontManager.ttflist
    cjk_files = {e.fname for e in everything if e.name in fonts.CJK_FAMILIES}
    latin_only = [e for e in everything if e.fname not in cjk_files]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", latin_only)
    assert fonts.find_cjk_font() == cjk_font


def test_a_font_named_cjk_without_the_glyphs_is_refused(monkeypatch):
    dejavu = Path(mpl.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    impostor = font_manager.FontEntry(fname=str(dejavu), name="Noto Sans CJK SC")
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [impostor])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda: [])
    assert fonts.find_cjk_font() is None
    with pytest.warns(fonts.MissingCJKFontWarning, match="fonts-noto-cjk"):
        assert fonts.resolve_language("zh") == ("en", None)


def test_only_english_and_chinese():
    with pytest.raises(ValueError, match="'en' or 'zh'"):
        fonts.resolve_language("fr")
