"""Words on the charts, in English or Chinese.

Names come from the data: a variable's ``long_name`` / ``long_name_zh`` and ``units`` attrs,
a target's or a lever's ``name_en`` / ``name_zh``. The fixed words of titles and legends are
in :data:`PHRASES`. English text never contains Chinese characters (a Chinese unit such as
亿元 is translated), so that an English chart draws without a CJK font.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import Any

import xarray as xr

PHRASES: dict[str, dict[str, str]] = {
    "year": {"en": "Year (end of)", "zh": "年份（年末）"},
    "record": {"en": "13th FYP record", "zh": "“十三五”实绩"},
    "target": {"en": "Target", "zh": "目标"},
    "target_path": {"en": "Target path", "zh": "目标路径"},
    "needed_average": {"en": "Average needed", "zh": "所需年均值"},
    "median": {"en": "Median", "zh": "中位数"},
    "in_year": {"en": "{unit}, {period}", "zh": "{unit}，{period}年"},
    "total_over": {"en": "{unit}, total {period}", "zh": "{unit}，{period}年累计"},
    "growth_over": {
        "en": "average annual growth, %/yr, {period}",
        "zh": "年均增长（%/年），{period}年",
    },
    "share_in": {"en": "share, %, {period}", "zh": "占比（%），{period}年"},
    "band": {"en": "{low}–{high} % range", "zh": "{low}%–{high}% 区间"},
    "members": {"en": "{n} ensemble members", "zh": "{n} 个集合成员"},
    "lines_are_medians": {"en": "lines: medians of {members}", "zh": "曲线为{members}的中位数"},
    "per_year": {"en": "{name}, per year", "zh": "{name}（年度值）"},
    "forecast_title": {
        "en": "Forecast by scenario, with the record and the targets",
        "zh": "各情景预测、历史实绩与规划目标",
    },
    "fan_title": {
        "en": "{scenario}: forecast uncertainty ({members})",
        "zh": "{scenario}：预测不确定性（{members}）",
    },
    "fan_sweep_title": {
        "en": "{sweep}: spread of outcomes over {settings}",
        "zh": "{sweep}：{settings}下的结果分布",
    },
    "sweep": {"en": "Sweep", "zh": "扫描"},
    "settings": {"en": "{n} lever settings", "zh": "{n} 组杠杆设定"},
    "compare_title": {
        "en": "Target quantities by scenario",
        "zh": "各情景的目标指标",
    },
    "compare_whiskers": {
        "en": "dot: median; bar: 25–75 %; whisker: 5–95 % of members",
        "zh": "点：中位数；粗线：25%–75%；细线：5%–95% 成员区间",
    },
    "heatmap_title": {
        "en": "Probability that all targets are met",
        "zh": "全部目标同时达成的概率",
    },
    "heatmap_target_title": {
        "en": "Probability of meeting the target {target}",
        "zh": "目标“{target}”的达成概率",
    },
    "heatmap_subtitle": {"en": "{others}; {members}", "zh": "{others}；{members}"},
    "heatmap_others": {
        "en": "other levers as in the sweep's base scenario",
        "zh": "其余杠杆取扫描基准情景的值",
    },
    "heatmap_others_in": {
        "en": "other levers as in scenario '{base}'",
        "zh": "其余杠杆取情景“{base}”的值",
    },
    "matrix_title": {
        "en": "Probability of meeting each target, by scenario",
        "zh": "各情景各目标的达成概率",
    },
    "one_run_each": {
        "en": "one run per scenario: each target met (100 %) or not (0 %)",
        "zh": "每个情景一次运行：达成为 100%，未达成为 0%",
    },
    "one_run_per_setting": {
        "en": "one run per lever setting: met (100 %) or not (0 %)",
        "zh": "每组杠杆设定一次运行：达成为 100%，未达成为 0%",
    },
    "all_targets": {"en": "All targets", "zh": "全部目标"},
    "probability_met": {"en": "Probability met", "zh": "达成概率"},
    "probability_all_met": {"en": "P(all targets met)", "zh": "全部目标达成概率"},
    "worst_margin": {
        "en": "the worst target margin",
        "zh": "最差目标余量",
    },
    "tornado_title": {
        "en": "Sensitivity of {output}",
        "zh": "{output}的敏感性",
    },
    "tornado_subtitle": {
        "en": "Sobol indices; error bars: 95 % confidence",
        "zh": "Sobol 指数；误差线为 95% 置信区间",
    },
    "sobol_index": {"en": "Sobol index", "zh": "Sobol 指数"},
    "first_order": {"en": "First order (S1)", "zh": "一阶效应 (S1)"},
    "total_order": {"en": "Total (ST)", "zh": "总效应 (ST)"},
    "lever": {"en": "policy lever", "zh": "政策杠杆"},
    "parameter": {"en": "model parameter", "zh": "模型参数"},
    "calibration_title": {
        "en": "Model against the record of the 13th Five-Year Plan, {first}–{last}",
        "zh": "模型与“十三五”实绩对比（{first}–{last}年）",
    },
    "deviation": {
        "en": "Deviation of the model from the record, in σ: (model − record) / σ",
        "zh": "模型与实绩的偏差（以 σ 计）：(模型 − 实绩) / σ",
    },
    "record_band": {"en": "Within 2σ of the record", "zh": "与实绩相差 2σ 以内"},
    "model_range": {"en": "Model 5–95 %", "zh": "模型 5%–95%"},
    "model": {"en": "Model", "zh": "模型"},
    "model_median": {"en": "Model (median of members)", "zh": "模型（集合中位数）"},
    "all_observations": {
        "en": "Every figure of the record that the results hold a quantity for ({shown} of "
        "{total}); hollow: context, not fitted",
        "zh": "结果中有对应指标的全部实绩数据（{total} 项中的 {shown} 项）；"
        "空心：仅作参照，未参与拟合",
    },
    "status_quo": {"en": "Status quo", "zh": "现状"},
    "scenario": {"en": "Scenario", "zh": "情景"},
    "growth": {"en": "average annual growth", "zh": "年均增长"},
    "cumulative": {"en": "total", "zh": "累计"},
    "share": {"en": "share", "zh": "占比"},
}

#: Unit words, each way. A unit is split at "/" and "*" and each piece translated.
_UNITS_EN: dict[str, str] = {
    "亿元": "100 million yuan",
    "万元": "10,000 yuan",
    "元": "yuan",
    "亿美元": "100 million USD",
    "万户": "10,000 entities",
    "万人": "10,000 persons",
    "人": "persons",
    "家": "firms",
    "座": "buildings",
    "万平方米": "10,000 m²",
    "平方米": "m²",
    "年": "year",
    "Year": "year",
    "Years": "years",
    "Dmnl": "",
    "dmnl": "",
    "fraction": "",
}
_UNITS_ZH: dict[str, str] = {
    "Year": "年",
    "Years": "年",
    "year": "年",
    "years": "年",
    "firms": "家",
    "firm": "家",
    "enterprises": "家",
    "persons": "人",
    "person": "人",
    "people": "人",
    "buildings": "座",
    "building": "座",
    "events": "场",
    "projects": "个",
    "platforms": "个",
    "parks": "个",
    "schools": "所",
    "m2": "平方米",
    "m²": "平方米",
    "万m2": "万平方米",
    "spaces": "个",
    "areas": "个",
    "sectors": "个",
    "km": "公里",
    "hours": "小时",
    "day": "天",
    "minutes": "分钟",
    "yuan": "元",
    "CNY": "元",
    "USD": "美元",
    "entities": "户",
    "Dmnl": "",
    "dmnl": "",
    "fraction": "",
}
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def wrap(text: str, width: int, lang: str) -> str:
    """``text`` in lines of about ``width`` characters, never breaking a word or a number.

    English breaks at spaces. Chinese has none: it breaks after its punctuation (，；、：)
    and at spaces, and a Chinese character counts as two columns.
    """
    if lang != "zh":
        lines = textwrap.wrap(text, width, break_long_words=False)
        for i in range(len(lines) - 1):
            # a comparison stays with its number ("≥ 500"), a number with its "%" ("10 %/yr")
            head, _, last = lines[i].rpartition(" ")
            if head and (last in ("≥", "≤", "<", ">") or lines[i + 1].startswith("%")):
                lines[i], lines[i + 1] = head, f"{last} {lines[i + 1]}"
                head, _, last = lines[i].rpartition(" ")
                if head and last in ("≥", "≤", "<", ">"):
                    lines[i], lines[i + 1] = head, f"{last} {lines[i + 1]}"
        return "\n".join(lines) or text
    pieces = [p for p in re.split(r"(?<=[，；、：])|(?<=[^≥≤] )(?=\D)", text) if p]
    lines: list[str] = []
    for piece in pieces:
        if lines and columns(lines[-1] + piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.rstrip() for line in lines)


def columns(text: str) -> int:
    """The width of ``text`` in columns of Latin text: a Chinese character counts as two."""
    return sum(2 if has_chinese(char) else 1 for char in text)


def phrase(key: str, lang: str, **values: Any) -> str:
    """A fixed phrase in ``lang``, with ``{placeholders}`` filled from ``values``."""
    return PHRASES[key][lang].format(**values)


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds CJK characters (or full-width punctuation)."""
    return bool(_CJK.search(text))


def unit(text: str, lang: str) -> str:
    """A unit as shown on an axis.

    ``"亿元/Year"`` is ``"100 million yuan/year"`` in English and ``"亿元/年"`` in Chinese.
    """
    table = _UNITS_ZH if lang == "zh" else _UNITS_EN
    pieces = re.split(r"(\s*[/*]\s*)", text.strip())
    shown = [
        table.get(piece.strip(), piece.strip()) if i % 2 == 0 else piece.strip()
        for i, piece in enumerate(pieces)
    ]
    joined = "".join(shown)
    if joined.startswith("/"):  # "Dmnl/Year" → "per year" ("1/Year" stays as it is)
        joined = ("每" if lang == "zh" else "per ") + joined[1:]
    return joined


def probability_text(p: float) -> str:
    """A probability in a chart cell; below 10 % with a decimal, so 0.4 % does not read 0 %."""
    return f"{p:.1%}" if 0 < p < 0.1 else f"{p:.0%}"


def with_unit(name: str, unit_text: str, lang: str) -> str:
    """``"name (unit)"`` (``"名称（单位）"`` in Chinese); just the name when there is no unit."""
    if not unit_text:
        return name
    return f"{name}（{unit_text}）" if lang == "zh" else f"{name} ({unit_text})"


_ACRONYMS = {"gdp": "GDP", "hq": "HQ", "sme": "SME", "smes": "SMEs", "it": "IT", "rd": "R&D"}


def humanize(key: str) -> str:
    """A readable name from an identifier: ``"gdp_growth_rate"`` → ``"GDP growth rate"``."""
    words = [_ACRONYMS.get(word.lower(), word) for word in key.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def variable_name(variable: xr.DataArray, lang: str) -> str:
    """A variable's name from its attrs: ``long_name_zh`` in Chinese, else ``long_name``."""
    english = str(variable.attrs.get("long_name") or "").strip()
    if not english or has_chinese(english):
        english = str(variable.name)
    english = humanize(english)
    if lang == "zh":
        return str(variable.attrs.get("long_name_zh") or "").strip() or english
    return english


_RUNNING_TOTAL = {
    "en": re.compile(r"[,\s]*\b(running\s+total|cumulative|total)$", re.IGNORECASE),
    "zh": re.compile(r"(累计值|累计)$"),
}


def amount_name(variable: xr.DataArray, lang: str) -> str:
    """What a running total adds up: "retail sales total" → "Retail sales".

    A running total's name usually ends in "total" (累计); the amounts it sums drop the word.
    """
    name = variable_name(variable, lang)
    for pattern in _RUNNING_TOTAL.values():  # a Chinese chart may fall back to the English name
        name = pattern.sub("", name).strip() or name
    return name


_GROWTH = re.compile(
    r"[,，:：]?\s*(average\s+annual\s+growth(\s+rate)?|annual\s+growth|growth(\s+rate)?|"
    r"年均增长率?|年均增速|增长率|增速)\s*$",
    re.IGNORECASE,
)


def without_growth(name: str) -> str:
    """A growth target's name without the growth words: "零售总额年均增长" → "零售总额"."""
    return _GROWTH.sub("", name).strip() or name


def mentions_growth(name: str) -> bool:
    """Whether a name already says "growth" (so a label need not say it again)."""
    return without_growth(name) != name


def yearly_amount_name(variable: xr.DataArray, lang: str) -> str:
    """The name of a running total's yearly amount: ``"Retail sales, per year"``."""
    return phrase("per_year", lang, name=amount_name(variable, lang))


def named(entry: Any, lang: str) -> str:
    """The ``name_zh`` or ``name_en`` of a target or lever."""
    return entry.name_zh if lang == "zh" else entry.name_en


def number(value: float) -> str:
    """A threshold or a figure with three significant digits, never in e-notation.

    500 → ``"500"``, 1000 → ``"1,000"``, 2923.2 → ``"2,923"``, 12.5 → ``"12.5"``,
    0.857 → ``"0.857"``.
    """
    if not math.isfinite(value):
        return str(value)
    if value == round(value):
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(fraction: float, lang: str) -> str:
    """A fraction as a percentage: 0.1 → ``"10 %"`` (``"10%"`` in Chinese)."""
    text = number(round(fraction * 100, 6))
    return f"{text}%" if lang == "zh" else f"{text} %"


def is_fraction_kind(kind: str) -> bool:
    """Growth and share values are fractions, shown as percentages."""
    return kind in ("growth", "share")


def target_condition(target: Any, lang: str, *, growth_named: bool = False) -> str:
    """What a target asks, briefly: ``"≥ 500 firms, 2025"``, ``"growth ≥ 10 %/yr, 2021–2025"``.

    ``growth_named``: the target's name, shown beside, already says "growth".
    """
    sign = "≥" if target.comparison == ">=" else "≤"
    if target.kind == "growth":
        amount = percent(target.threshold, lang) + ("/年" if lang == "zh" else "/yr")
        what = f"{sign} {amount}" if growth_named else f"{phrase('growth', lang)} {sign} {amount}"
    elif target.kind == "share":
        what = f"{phrase('share', lang)} {sign} {percent(target.threshold, lang)}"
    else:
        unit_text = unit(target.unit, lang)
        amount = number(target.threshold) + (unit_text if lang == "zh" else f" {unit_text}")
        prefix = f"{phrase('cumulative', lang)} " if target.kind == "cumulative" else ""
        what = f"{prefix}{sign} {amount.strip()}"
    when = f"{target.window[0]}–{target.window[1]}" if target.window else str(target.year)
    return f"{what}，{when}年" if lang == "zh" else f"{what}, {when}"


def target_title(target: Any, lang: str) -> str:
    """A target's name and condition: ``"High-tech enterprises: ≥ 500 firms, 2025"``."""
    name = named(target, lang)
    condition = target_condition(target, lang, growth_named=mentions_growth(name))
    return f"{name}：{condition}" if lang == "zh" else f"{name}: {condition}"


def target_axis_label(target: Any, lang: str) -> str:
    """The axis label of a target's value: its unit and period (percent for growth, share)."""
    period = f"{target.window[0]}–{target.window[1]}" if target.window else str(target.year)
    if target.kind == "growth":
        return phrase("growth_over", lang, period=period)
    if target.kind == "share":
        return phrase("share_in", lang, period=period)
    key = "total_over" if target.kind == "cumulative" else "in_year"
    return phrase(key, lang, unit=unit(target.unit, lang), period=period)
