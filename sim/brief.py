"""``assessment.md``: a short brief that answers the plan question from an :class:`Assessment`.

Every number in the brief is read from the assessment's results (the same figures that
``targets.json``, ``results.nc`` and ``assessment.json`` hold) and each section says which
file holds it. English by default; ``lang="zh"`` gives the brief in Chinese.

A probability estimated from M ensemble members is itself uncertain: next to each one the brief
gives a 95 % Wilson interval for the share of members, with M replaced by the effective number
of members ``1 / Σ w²`` when the members are weighted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.targets import evaluate, unrepresented

if TYPE_CHECKING:  # the brief only reads an Assessment
    from sim.assess import Assessment

LANGS = ("en", "zh")
MAX_CONFLICTS = 8
"""Conflicts listed in the brief (all of them are in assessment.json)."""

TEXT: dict[str, dict[str, str]] = {
    "title": {
        "en": "Are Heping District's 2025 targets jointly reachable?",
        "zh": "和平区“十四五”2025年目标能否同时实现？",
    },
    "intro": {
        "en": "heping-sd {version}. The model represents {represented} of the plan's {total} "
        "quantified targets; a target set is *met* when every one of the {represented} is. "
        "Probabilities are shares of the {members} members of the {source}; brackets give "
        "95 % intervals for that share (effective members: {effective:.0f}).",
        "zh": "heping-sd {version}。规划的 {total} 项量化目标中，模型表示了 {represented} 项；"
        "“全部达成”指这 {represented} 项同时达成。概率为{source}（{members} 个成员）中达成的成员"
        "占比；括号内为该占比的 95% 区间（有效成员数 {effective:.0f}）。",
    },
    "answer": {"en": "Answer", "zh": "结论"},
    "status_quo": {
        "en": "**Status quo** ({scenario}): every represented target is met with probability "
        "**{p}** {ci}. {verdict}",
        "zh": "**现状延续**（{scenario}）：全部目标同时达成的概率为 **{p}** {ci}。{verdict}",
    },
    "reachable": {
        "en": "Under the status quo the targets are jointly reachable with at least the goal "
        "probability ({goal}).",
        "zh": "现状延续下，各目标同时达成的概率不低于目标概率（{goal}）。",
    },
    "not_reachable": {
        "en": "Under the status quo they are not jointly reachable with the goal probability "
        "({goal}); the weakest targets: {weakest}.",
        "zh": "现状延续下，各目标难以按目标概率（{goal}）同时实现；最薄弱的目标：{weakest}。",
    },
    "best_scenario": {
        "en": "**Best shipped scenario**: {scenario}, probability **{p}** {ci}.",
        "zh": "**最优预设情景**：{scenario}，概率 **{p}** {ci}。",
    },
    "mix_met": {
        "en": "**Cheapest lever mix** with probability ≥ {goal}: **{cost:.2f} 亿元/year** "
        "(status quo {sq_cost:.2f}); it meets every target with probability **{p}** {ci}.",
        "zh": "达成概率≥{goal}的**最低成本政策组合**：每年 **{cost:.2f} 亿元**（现状 "
        "{sq_cost:.2f}）；全部达成的概率为 **{p}** {ci}。",
    },
    "mix_none": {
        "en": "**No lever mix found meets every target in any member** of the search within the "
        "budget. The mix shown ({cost:.2f} 亿元/year, status quo {sq_cost:.2f}) brings the "
        "members closest; over the whole ensemble it meets every target with probability "
        "**{p}** {ci}.",
        "zh": "在预算之内，搜索**未找到**能在任一成员中全部达成目标的政策组合。下表组合（每年 "
        "{cost:.2f} 亿元，现状 {sq_cost:.2f}）最接近达成；在全部集合成员上全部达成的概率为 "
        "**{p}** {ci}。",
    },
    "no_scenario": {
        "en": "**No shipped scenario** meets every target in any member.",
        "zh": "**没有预设情景**能在任一成员中全部达成目标。",
    },
    "mix_unmet": {
        "en": "**No lever mix found reaches {goal}** within the budget: the highest "
        "probability found is **{p}** {ci}, at **{cost:.2f} 亿元/year** for the cheapest mix "
        "found there (status quo {sq_cost:.2f}).",
        "zh": "在预算之内，搜索**未找到**达成概率≥{goal}的政策组合：找到的最高概率为 "
        "**{p}** {ci}，该概率下找到的最低成本组合每年 **{cost:.2f} 亿元**（现状 "
        "{sq_cost:.2f}）。",
    },
    "fits": {
        "en": "It asks {share:.0%} of the projected lever budget ({budget}) and {rev_share:.1%} "
        "of 2025 general public budget revenue ({revenue}); the budget funds the whole ask "
        "every year in {funded} of members.",
        "zh": "它占预计政策预算（{budget}）的 {share:.0%}，占2025年一般公共预算收入（{revenue}）"
        "的 {rev_share:.1%}；在 {funded} 的成员中，预算每年都能全额保障。",
    },
    "limits": {
        "en": "**What stands in the way**: over the {samples} sampled lever mixes of section 3, "
        "these targets never reach {goal} even on their own: {targets}.",
        "zh": "**主要障碍**：在第3节的 {samples} 组抽样杠杆组合中，以下目标即使单独考虑也达不到 "
        "{goal}：{targets}。",
    },
    "conflicts_short": {
        "en": "**Conflicts**: {lever} lever conflict(s) and {budget} budget conflict(s) "
        "between targets (section 5).",
        "zh": "**目标冲突**：{lever} 项杠杆冲突、{budget} 项预算冲突（见第5节）。",
    },
    "by_scenario": {"en": "1. Targets by scenario", "zh": "1. 各情景的目标达成概率"},
    "by_scenario_note": {
        "en": "Probability that each target is met (`targets.json`; chart `matrix.png`, "
        "forecasts `forecast.png`, spreads `fan_*.png`, `compare.png`).",
        "zh": "各目标的达成概率（`targets.json`；图 `matrix.png`，预测 `forecast.png`，"
        "不确定性 `fan_*.png`、`compare.png`）。",
    },
    "all_targets": {"en": "**All at once**", "zh": "**全部同时达成**"},
    "target": {"en": "Target", "zh": "目标"},
    "mix_section": {"en": "2. The cheapest lever mix", "zh": "2. 最低成本政策组合"},
    "mix_note": {
        "en": "Minimise Σ value × cost per unit over every lever's range, subject to P(all met) "
        "≥ goal and the cost fitting the projected lever budget: the median over members of the "
        "smallest `lever_budget_available` in 2021–2025 under the mix (above it the model scales "
        "every lever back). Differential evolution on {members} members; the mix is the "
        "scenario `cheapest_mix` in `results.nc` and `cheapest_mix.toml` "
        "(`heping-sd run cheapest_mix.toml` reruns it). Each mix proposed as the answer is "
        "judged on the whole ensemble; on the search's members it scores {p_search}.",
        "zh": "在各杠杆允许范围内最小化 Σ 取值×单位成本，约束为全部达成概率≥目标概率、且成本"
        "不超过预计政策预算（该组合下各成员2021–2025年 `lever_budget_available` 最小值的中位数；"
        "超出时模型按同一比例压缩所有杠杆）。差分进化，使用 {members} 个成员；该组合即 "
        "`results.nc` 中的情景 `cheapest_mix` 与 `cheapest_mix.toml`。每个候选答案都在全部成员上"
        "检验；在搜索所用成员上其概率为 {p_search}。",
    },
    "lever": {"en": "Lever", "zh": "政策杠杆"},
    "unit": {"en": "Unit", "zh": "单位"},
    "status_quo_col": {"en": "Status quo", "zh": "现状"},
    "mix_col": {"en": "Mix", "zh": "组合"},
    "cost_col": {"en": "Cost, 亿元/yr", "zh": "成本（亿元/年）"},
    "total": {"en": "**Total**", "zh": "**合计**"},
    "cuts": {
        "en": "Levers set below their status quo: {levers}. Their own targets are partly among "
        "those the model does not represent (section 6).",
        "zh": "低于现状水平的杠杆：{levers}。其相关目标部分属于模型未表示的目标（见第6节）。",
    },
    "discovery": {"en": "3. Where every target is met", "zh": "3. 全部目标达成的政策区域"},
    "discovery_note": {
        "en": "PRIM on {samples} Latin-hypercube lever mixes × {members} members "
        "(`assessment.json` → `discovery`). Density: P(all met) for a mix drawn at random in "
        "the box; coverage: share of all (mix, member) successes inside it. Over the whole "
        "lever box P(all met) is {overall}.",
        "zh": "PRIM 方法，{samples} 组拉丁超立方杠杆组合 × {members} 个成员（`assessment.json` → "
        "`discovery`）。密度：框内随机组合的全部达成概率；覆盖率：全部成功（组合、成员）中落在"
        "框内的比例。整个杠杆空间的全部达成概率为 {overall}。",
    },
    "box": {
        "en": "Box: density **{density}**, coverage {coverage}, {mass} of the sampled mixes; "
        "it {contains} the cheapest mix.",
        "zh": "区域：密度 **{density}**，覆盖率 {coverage}，占抽样组合的 {mass}；"
        "{contains}最低成本组合。",
    },
    "contains": {"en": "contains", "zh": "包含"},
    "excludes": {"en": "does not contain", "zh": "不包含"},
    "no_box": {
        "en": "No box reaches density {threshold}; the densest box found is shown.",
        "zh": "没有区域的密度达到 {threshold}；下表为找到的密度最高的区域。",
    },
    "no_success": {
        "en": "No sampled mix meets every target in any member: there is no region to show.",
        "zh": "所有抽样组合在任何成员中都未能全部达成目标，无可显示的区域。",
    },
    "unrestricted": {"en": "(no lever restricted)", "zh": "（未限制任何杠杆）"},
    "range": {"en": "Range", "zh": "范围"},
    "sensitivity": {"en": "4. What moves the outcome", "zh": "4. 影响结果的关键因素"},
    "sensitivity_note": {
        "en": "Sobol indices (SALib) of {output} over the {levers} levers and the {params} "
        "parameters the ensemble leaves most uncertain, N = {n} ({points} design points × "
        "{members} members; `sensitivity.nc`, chart `tornado.png`). ST: total effect, "
        "S1: effect alone.",
        "zh": "{output}的 Sobol 指数（SALib），因素为 {levers} 个杠杆和集合中最不确定的 {params} "
        "个参数，N = {n}（{points} 个设计点 × {members} 个成员；`sensitivity.nc`，图 "
        "`tornado.png`）。ST：总效应，S1：单独效应。",
    },
    "output_all_met": {"en": "the probability that all targets are met", "zh": "全部达成概率"},
    "output_worst": {
        "en": "the worst normalised target margin (the median over members; P(all met) itself "
        "is constant over most of the design, so its indices would be noise)",
        "zh": "最差归一化目标余量（成员中位数；全部达成概率在大部分设计点上不变，其指数没有意义）",
    },
    "factor": {"en": "Factor", "zh": "因素"},
    "kind_lever": {"en": "lever", "zh": "杠杆"},
    "kind_parameter": {"en": "parameter", "zh": "参数"},
    "heatmap": {
        "en": "`heatmap.png`: P(all met) over {a} × {b} (the two levers with the largest ST), "
        "the other levers at the cheapest mix.",
        "zh": "`heatmap.png`：{a} × {b}（总效应最大的两个杠杆）上的全部达成概率，其余杠杆取最低"
        "成本组合的值。",
    },
    "heatmap_target": {
        "en": "`heatmap.png`: P({target} met) over {a} × {b} (the two levers with the largest "
        "ST), the other levers at the cheapest mix. P(all met) is {p} in every cell of that "
        "grid, so the chart maps the target these two levers move most.",
        "zh": "`heatmap.png`：{a} × {b}（总效应最大的两个杠杆）上“{target}”的达成概率，其余杠杆"
        "取最低成本组合的值。该网格每一格的全部达成概率均为 {p}，"
        "故改为展示这两个杠杆影响最大的目标。",
    },
    "conflicts": {"en": "5. Targets in conflict", "zh": "5. 目标之间的冲突"},
    "conflicts_note": {
        "en": "Each lever raised by {step:.0%} of its range, every member run again; a conflict "
        "counts when at least 90 % of members agree on both directions "
        "(`assessment.json` → `conflicts`: {n} target pairs).",
        "zh": "每个杠杆提高其范围的 {step:.0%}，所有成员重新运行；至少 90% 的成员在两个方向上"
        "一致时计为冲突（`assessment.json` → `conflicts`：共 {n} 对目标）。",
    },
    "lever_conflict": {
        "en": "*{lever}* moves targets apart: it raises {raised} but lowers **{lowered}**.",
        "zh": "*{lever}* 使目标反向变化：提高{raised}，但降低 **{lowered}**。",
    },
    "budget_conflict": {
        "en": "Budget competition: *{lever}* is the best lever per 亿元 for {raised}; when the "
        "budget binds, raising it cuts the funded share of every lever by {scale:.3f} and "
        "lowers **{lowered}**.",
        "zh": "预算竞争：*{lever}* 是{raised}每亿元效果最好的杠杆；预算紧约束时，提高它使各杠杆"
        "获资助比例下降 {scale:.3f}，并降低 **{lowered}**。",
    },
    "change_item": {"en": "{name} ({change:+.3f})", "zh": "{name}（{change:+.3f}）"},
    "agreeing": {
        "en": "(each change in at least {share} of members)",
        "zh": "（每项变化至少在 {share} 的成员中成立）",
    },
    "margin_note": {
        "en": "Margins are normalised: (value − threshold) / |threshold|, for one step of the "
        "lever; a target is met where its margin is ≥ 0.",
        "zh": "余量为归一化值：(取值 − 阈值) / |阈值|，对应杠杆提高一步；余量≥0即达成。",
    },
    "no_conflicts": {
        "en": "No pair of targets conflicts in at least 90 % of members.",
        "zh": "没有在至少 90% 的成员中都成立的目标冲突。",
    },
    "budget_slack": {
        "en": "The budget does not bind even with every lever raised to ask {overspend:.2f}× "
        "the projected lever budget, so no budget competition was measured.",
        "zh": "即使各杠杆需求达到预计政策预算的 {overspend:.2f} 倍，预算也未形成约束，故未测得"
        "预算竞争。",
    },
    "sure": {"en": "6. How sure we are, and what is left out", "zh": "6. 可信程度与未涵盖内容"},
    "ensemble_prior": {
        "en": "**The ensemble is drawn from the priors, not calibrated**: the probabilities "
        "reflect prior ranges, not the 十三五 record.",
        "zh": "**集合来自先验分布，未经校准**：概率反映的是先验范围，而非“十三五”实绩。",
    },
    "sizes": {
        "en": "Sample sizes: {text}. Total {runs:,} engine runs in {wall:.0f} s ({cpu:.0f} s CPU).",
        "zh": "样本量：{text}。共 {runs:,} 次模型运行，用时 {wall:.0f} 秒（CPU {cpu:.0f} 秒）。",
    },
    "caveats": {
        "en": "The search and discovery use subsets of the ensemble, so their probabilities "
        "differ a little from the whole-ensemble figures in `targets.json`; the Sobol factors "
        "are sampled independently, which ignores correlations among the varied parameters; "
        "the levers are held constant from 2021 to 2025.",
        "zh": "搜索与区域识别使用集合的子集，其概率与 `targets.json` 中全集合的数值略有差异；"
        "Sobol 因素独立抽样，忽略了所变参数之间的相关性；各杠杆在2021–2025年保持不变。",
    },
    "unrepresented": {
        "en": "Not represented ({n} of {total} targets; their probabilities are unknown, and "
        '"all met" above excludes them):',
        "zh": "模型未表示的目标（{total} 项中的 {n} 项；其达成概率未知，上文“全部达成”不含"
        "这些目标）：",
    },
}


def phrase(key: str, lang: str, **values) -> str:
    """A fixed phrase of the brief in ``lang``, with ``values`` filled in."""
    return TEXT[key][lang].format(**values)


def percent(p: float) -> str:
    """A probability as a percentage: whole percents, one decimal below 10 %, and never a
    rounded 0 % or 100 % for a share that is not exactly that."""
    if 0 < p < 0.001:
        return "<0.1%"
    if 0.999 < p < 1:
        return ">99.9%"
    if 0 < p < 0.1 or 0.9 < p < 1:
        return f"{p:.1%}"
    return f"{p:.0%}"


def share_interval(p: float, weights: np.ndarray) -> tuple[float, float]:
    """95 % Wilson interval for a share ``p`` of weighted members (effective count 1/Σw²)."""
    n = 1.0 / float(np.sum(np.asarray(weights, dtype=float) ** 2))
    z = 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = centre - half, centre + half
    # At p = 0 (or 1) the bound is exactly 0 (or 1); do not let rounding make it "<0.1%".
    return (0.0 if p == 0 else max(0.0, low)), (1.0 if p == 1 else min(1.0, high))


def brief(assessment: Assessment, charts: Mapping[str, str], lang: str = "en") -> str:
    """The brief as Markdown text."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    from sim import __version__

    a = assessment
    weights = a.results["sample_weight"].values
    summary = a.summary["scenarios"]
    effective = 1.0 / float(np.sum(weights**2))

    def pct(p: float) -> str:
        return percent(p)

    def ci(p: float) -> str:
        low, high = share_interval(p, weights)
        return f"[{percent(low)}–{percent(high)}]"

    def target_name(key: str) -> str:
        t = a.targets[key]
        return t.name_en if lang == "en" else t.name_zh

    def lever_name(key: str) -> str:
        lever = a.catalogue[key]
        return lever.name_en if lang == "en" else lever.name_zh

    def scenario_title(name: str) -> str:
        index = a.results["scenario"].values.tolist().index(name)
        title = a.results["title_en" if lang == "en" else "title_zh"].values[index]
        return f"{title} (`{name}`)"

    represented_keys = list(a.evaluation["target"].values.tolist())
    missing = unrepresented(a.targets)
    total = len(a.targets)
    goal = pct(a.settings.goal)
    base = a.scenario_names[0]
    lines = [f"# {phrase('title', lang)}", ""]
    lines += [
        phrase(
            "intro",
            lang,
            version=__version__,
            represented=len(represented_keys),
            total=total,
            members=a.members,
            source=a.ensemble_source if lang == "en" else a.ensemble_source_zh,
            effective=effective,
        ),
        "",
        f"## {phrase('answer', lang)}",
        "",
    ]
    p_base = summary[base]["all_met_probability"]
    if p_base >= a.settings.goal:
        verdict = phrase("reachable", lang, goal=goal)
    else:
        weakest = sorted(summary[base]["targets"].items(), key=lambda kv: kv[1]["probability"])
        verdict = phrase(
            "not_reachable",
            lang,
            goal=goal,
            weakest=", ".join(
                f"{target_name(k)} ({pct(v['probability'])})" for k, v in weakest[:3]
            ),
        )
    lines.append(
        "- "
        + phrase(
            "status_quo",
            lang,
            scenario=scenario_title(base),
            p=pct(p_base),
            ci=ci(p_base),
            verdict=verdict,
        )
    )
    shipped = [name for name in a.scenario_names if name != "cheapest_mix"]
    best = max(shipped, key=lambda name: (summary[name]["all_met_probability"], name == base))
    p_best = summary[best]["all_met_probability"]
    if p_best > 0:
        text = phrase(
            "best_scenario", lang, scenario=scenario_title(best), p=pct(p_best), ci=ci(p_best)
        )
    else:
        text = phrase("no_scenario", lang)
    lines.append("- " + text)
    found = a.search
    p_mix = summary["cheapest_mix"]["all_met_probability"]
    search_members = found.search_members
    mix_key = "mix_met" if found.goal_met else "mix_unmet" if found.probability > 0 else "mix_none"
    mix_text = phrase(
        mix_key,
        lang,
        goal=goal,
        cost=found.cost,
        sq_cost=a.budgets[base].cost,
        p=pct(p_mix),
        ci=ci(p_mix),
    )
    facts = a.budgets["cheapest_mix"]
    if facts.lever_budget is not None and facts.revenue_2025 is not None:
        mix_text += " " + phrase(
            "fits",
            lang,
            share=found.cost / facts.lever_budget.median,
            budget=_spread(facts.lever_budget, "亿元"),
            rev_share=found.cost / facts.revenue_2025.median,
            revenue=_spread(facts.revenue_2025, "亿元"),
            funded=pct(facts.funded_probability or 0.0),
        )
    lines.append("- " + mix_text)
    reach = a.discovery.target_success.max(axis=0) if a.discovery.target_success.size else []
    short = [
        f"{target_name(k)} (≤ {float(r):.1%})"
        for k, r in zip(represented_keys, reach, strict=False)
        if r < a.settings.goal
    ]
    if not found.goal_met and short:
        lines.append(
            "- "
            + phrase(
                "limits", lang, samples=a.discovery.samples, goal=goal, targets=", ".join(short)
            )
        )
    kinds = [c.kind for c in a.conflicts]
    lines += [
        "- "
        + phrase("conflicts_short", lang, lever=kinds.count("lever"), budget=kinds.count("budget")),
        "",
    ]

    # 1. targets by scenario
    lines += [f"## {phrase('by_scenario', lang)}", "", phrase("by_scenario_note", lang), ""]
    columns = [name for name in dict.fromkeys([base, best, "cheapest_mix"])]
    lines.append(
        "| " + phrase("target", lang) + " | " + " | ".join(f"`{c}`" for c in columns) + " |"
    )
    lines.append("|---" * (len(columns) + 1) + "|")
    for key in represented_keys:
        t = a.targets[key]
        label = f"{target_name(key)} ({_threshold(t, lang)})"
        cells = [pct(summary[c]["targets"][key]["probability"]) for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = [f"**{pct(summary[c]['all_met_probability'])}**" for c in columns]
    lines += ["| " + phrase("all_targets", lang) + " | " + " | ".join(cells) + " |", ""]

    # 2. the mix
    lines += [
        f"## {phrase('mix_section', lang)}",
        "",
        phrase(
            "mix_note",
            lang,
            members=found.search_members,
            p_search=pct(found.search_probability),
        ),
        "",
    ]
    header = [phrase(k, lang) for k in ("lever", "unit", "status_quo_col", "mix_col", "cost_col")]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    cuts = []
    for key, value in found.levers.items():
        lever = a.catalogue[key]
        if value < lever.status_quo - 1e-6 * max(1.0, abs(lever.status_quo)):
            cuts.append(lever_name(key))
        lines.append(
            f"| {lever_name(key)} | {_unit(lever.unit, lang)} | {lever.status_quo:g} | "
            f"{value:.3g} | "
            f"{value * lever.cost_per_unit:.2f} |"
        )
    lines += [f"| {phrase('total', lang)} | | | | **{found.cost:.2f}** |", ""]
    if cuts:
        lines += [phrase("cuts", lang, levers=", ".join(cuts)), ""]

    # 3. discovery
    d = a.discovery
    lines += [
        f"## {phrase('discovery', lang)}",
        "",
        phrase(
            "discovery_note",
            lang,
            samples=d.samples,
            members=d.members,
            overall=pct(d.overall_density),
        ),
        "",
    ]
    if d.box.coverage == 0:
        lines += [phrase("no_success", lang), ""]
    else:
        if not d.reaches_threshold:
            lines += [phrase("no_box", lang, threshold=pct(d.threshold)), ""]
        lines += [
            phrase(
                "box",
                lang,
                density=pct(d.box.density),
                coverage=pct(d.box.coverage),
                mass=pct(d.box.mass),
                contains=phrase("contains" if d.box.contains(found.levers) else "excludes", lang),
            ),
            "",
        ]
        if d.box.limits:
            lines += [f"| {phrase('lever', lang)} | {phrase('range', lang)} |", "|---|---|"]
            for key, (low, high) in d.box.limits.items():
                lever = a.catalogue[key]
                unit = _unit(lever.unit, lang)
                lines.append(f"| {lever_name(key)} | {low:.3g} – {high:.3g} {unit} |")
            lines.append("")
        else:
            lines += [phrase("unrestricted", lang), ""]

    # 4. sensitivity
    from sim.assess import headline_sensitivity

    headline = headline_sensitivity(a.sensitivity)
    lines += [f"## {phrase('sensitivity', lang)}", ""]
    if headline is not None:
        output = "output_all_met" if headline.attrs["output"] == "all_met_probability" else None
        kinds_of = headline["factor_kind"].values.tolist()
        lines += [
            phrase(
                "sensitivity_note",
                lang,
                output=phrase(output or "output_worst", lang),
                levers=kinds_of.count("lever"),
                params=kinds_of.count("parameter"),
                n=headline.attrs["base_samples"],
                points=headline.attrs["design_points"],
                members=headline.attrs["members_per_point"],
            ),
            "",
            f"| {phrase('factor', lang)} | ST | S1 |",
            "|---|---|---|",
        ]
        order = np.argsort(-headline["ST"].values, kind="stable")[:6]
        for i in order:
            name = str(headline["factor"].values[i])
            kind = str(headline["factor_kind"].values[i])
            stored = f"factor_name_{lang}"
            if kind == "lever":
                label = lever_name(name)
            elif stored in headline.coords:
                label = f"{headline[stored].values[i]} (`{name}`)"
            else:
                label = f"`{name}`"
            label += f" ({phrase('kind_' + kind, lang)})"
            st, st_c = float(headline["ST"][i]), float(headline["ST_conf"][i])
            s1, s1_c = float(headline["S1"][i]), float(headline["S1_conf"][i])
            lines.append(f"| {label} | {st:.2f} ± {st_c:.2f} | {s1:.2f} ± {s1_c:.2f} |")
        lines.append("")
    if "heatmap" in charts and a.grid_levers:
        x, y = (lever_name(key) for key in a.grid_levers)
        if a.grid_target is None:
            lines += [phrase("heatmap", lang, a=x, b=y), ""]
        else:
            flat = float(evaluate(a.grid, a.targets)["all_met_probability"].max())
            text = phrase(
                "heatmap_target", lang, target=target_name(a.grid_target), a=x, b=y, p=pct(flat)
            )
            lines += [text, ""]

    # 5. conflicts
    lines += [
        f"## {phrase('conflicts', lang)}",
        "",
        phrase("conflicts_note", lang, step=a.settings.conflict_step, n=len(a.conflicts)),
        "",
    ]
    groups: dict[tuple[str, str], list] = {}
    for c in a.conflicts:
        groups.setdefault((c.kind, c.lever), []).append(c)
    ranked = sorted(
        groups.values(), key=lambda cs: (cs[0].kind != "lever", min(x.lowered_change for x in cs))
    )

    def items(pairs: dict[str, tuple[float, float]]) -> str:
        ordered = sorted(pairs.items(), key=lambda kv: -abs(kv[1][0]))
        return ", ".join(
            phrase("change_item", lang, name=target_name(k), change=v) for k, (v, _) in ordered
        )

    for cs in ranked[:MAX_CONFLICTS]:
        c = cs[0]
        raised = {x.raised: (x.raised_change, x.raised_share) for x in cs}
        lowered = {x.lowered: (x.lowered_change, x.lowered_share) for x in cs}
        key = "lever_conflict" if c.kind == "lever" else "budget_conflict"
        text = phrase(
            key,
            lang,
            lever=lever_name(c.lever),
            raised=items(raised),
            lowered=items(lowered),
            scale=-(c.budget_scale_change or 0.0),
        )
        agree = min(min(x.raised_share, x.lowered_share) for x in cs)
        lines.append(f"- {text} " + phrase("agreeing", lang, share=pct(agree)))
    if a.conflicts:
        lines.append("- " + phrase("margin_note", lang))
    if not a.conflicts:
        lines.append("- " + phrase("no_conflicts", lang))
    if a.effects_binding is None:
        lines.append("- " + phrase("budget_slack", lang, overspend=a.settings.overspend))
    lines.append("")

    # 6. how sure
    lines += [f"## {phrase('sure', lang)}", ""]
    if not a.calibrated:
        lines += ["- " + phrase("ensemble_prior", lang)]
    s = a.settings
    sizes = (
        f"scenarios {len(a.scenario_names)} × {a.members} members; search "
        f"{search_members} members × ≤ {s.search.maxiter + 1} generations × "
        f"{s.search.popsize} × levers per generation; discovery {s.discovery_samples} × "
        f"{min(s.discovery_members, a.members)}; Sobol N = {s.sensitivity_samples} × "
        f"{min(s.sensitivity_members, a.members)}; conflicts {min(s.conflict_members, a.members)}"
    )
    runs = sum(int(v["runs"]) for v in a.stages.values())
    wall = sum(v["wall_s"] for v in a.stages.values())
    cpu = sum(v["cpu_s"] for v in a.stages.values())
    lines += [
        "- " + phrase("sizes", lang, text=sizes, runs=runs, wall=wall, cpu=cpu),
        "- " + phrase("caveats", lang),
        "- " + phrase("unrepresented", lang, n=len(missing), total=total),
    ]
    for t in missing:
        name = t.name_en if lang == "en" else t.name_zh
        lines.append(f"  - {name} ({_threshold(t, lang)})")
    lines.append("")
    return "\n".join(lines)


def _threshold(target, lang: str) -> str:
    """``≥ 500 firms, 2025``; growth and share targets as percentages."""
    sign = "≥" if target.comparison == ">=" else "≤"
    if target.kind in ("growth", "share"):
        value = f"{target.threshold:.0%}" + (
            ("/年" if lang == "zh" else " a year") if target.kind == "growth" else ""
        )
    else:
        value = f"{target.threshold:g} {_unit(target.unit, lang)}"
    if lang == "zh":
        return f"{sign} {value}，{target.period_text()}年"
    return f"{sign} {value}, {target.period_text()}"


def _unit(text: str, lang: str) -> str:
    """A unit as the brief shows it: the model's own in English, translated in Chinese."""
    if lang != "zh":
        return text
    from plots.labels import unit

    return unit(text, lang)


def _spread(spread, unit: str) -> str:
    return f"{spread.median:.3g} {unit}, 5–95 % {spread.low:.3g}–{spread.high:.3g}"
