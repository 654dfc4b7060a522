"""Small synthetic results files that follow docs/architecture.md, for the chart tests.

The dynamics are closed-form stand-ins for the model (exponential growth whose rate the
two levers raise after 2020, plus member-to-member noise): the charts only read Datasets,
so what matters is that dims, coordinates, attrs and the time convention are the contract's.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import xarray as xr

TIME = np.round(np.arange(2015.0, 2025.0 + 1e-9, 0.25), 2)
DT = 0.25
POLICY_START = 2020.0
SCENARIOS = {
    # name: (title_en, title_zh, talent_programme, building_upgrade)
    "baseline": ("Baseline", "基准情景", 1.0, 2.0),
    "talent_first": ("Talent first", "人才优先", 3.0, 2.0),
    "balanced": ("Balanced", "均衡发展", 2.0, 4.0),
}
LEVER_ATTRS = {
    "talent_programme": {
        "units": "programme intensity",
        "long_name": "High-level talent programme",
        "long_name_zh": "高层次人才引进计划",
    },
    "building_upgrade": {
        "units": "buildings/Year",
        "long_name": "Building upgrade programme",
        "long_name_zh": "楼宇提升计划",
    },
}
VARIABLE_ATTRS = {
    "high_tech_enterprises": ("firms", "High-tech enterprises", "高新技术企业"),
    "talent_introduced_total": (
        "persons",
        "High-level talent introduced, running total",
        "引进高层次人才累计",
    ),
    "retail_sales_total": (
        "亿元",
        "Retail sales of consumer goods, running total",
        "社会消费品零售总额累计",
    ),
    "key_commercial_buildings": ("buildings", "Key commercial buildings", "重点商务楼宇"),
    "services_value_added": ("亿元/Year", "Services value added", "服务业增加值"),
    "gdp": ("亿元/Year", "GDP", "地区生产总值"),
}

TARGETS_TOML = textwrap.dedent(
    """
    [targets.high_tech_enterprises_2025]
    name_en = "High-tech enterprises"
    name_zh = "高新技术企业"
    quote = "到2025年,高新技术企业达到500家以上。"
    kind = "level"
    year = 2025
    comparison = ">="
    threshold = 500
    unit = "firms"
    represented = true
    quantity = "high_tech_enterprises"
    aggregate = "level"

    [targets.high_level_talent_2021_2025]
    name_en = "High-level talent introduced"
    name_zh = "引进高层次人才"
    quote = "引进高层次人才1000人。"
    kind = "cumulative"
    window = [2021, 2025]
    comparison = ">="
    threshold = 1000
    unit = "persons"
    represented = true
    quantity = "talent_introduced_total"
    aggregate = "annual"

    [targets.retail_sales_growth]
    name_en = "Retail sales of consumer goods"
    name_zh = "社会消费品零售总额"
    quote = "到2025年,社会消费品零售总额年均增长10%。"
    kind = "growth"
    window = [2021, 2025]
    comparison = ">="
    threshold = 0.10
    unit = "fraction"
    represented = true
    quantity = "retail_sales_total"
    aggregate = "annual"

    [targets.key_buildings_2025]
    name_en = "Key commercial buildings (≥ 5000 m²)"
    name_zh = "5000平方米以上重点商务楼宇"
    quote = "到2025年,5000平方米以上重点商务楼宇达100座以上。"
    kind = "level"
    year = 2025
    comparison = ">="
    threshold = 100
    unit = "buildings"
    represented = true
    quantity = "key_commercial_buildings"
    aggregate = "level"

    [targets.key_buildings_added]
    name_en = "Key commercial buildings added"
    name_zh = "新增重点商务楼宇"
    quote = "(a net-increase reading, for the tests)"
    kind = "cumulative"
    window = [2021, 2025]
    comparison = ">="
    threshold = 11
    unit = "buildings"
    represented = true
    quantity = "key_commercial_buildings"
    aggregate = "level"

    [targets.services_share_2025]
    name_en = "Services share of GDP"
    name_zh = "服务业增加值占比"
    quote = "(a share target, for the tests)"
    kind = "share"
    year = 2025
    comparison = ">="
    threshold = 0.9
    unit = "fraction"
    represented = true
    quantity = "services_value_added"
    denominator = "gdp"
    aggregate = "level"

    [targets.foreign_investment]
    name_en = "Foreign investment used, cumulative"
    name_zh = "累计利用外资"
    quote = "未来五年实现累计利用外资5亿美元以上。"
    kind = "cumulative"
    window = [2021, 2025]
    comparison = ">="
    threshold = 5
    unit = "亿美元"
    represented = false
    reason = "The model has no foreign-investment sector."
    """
)

LEVERS_TOML = textwrap.dedent(
    """
    [levers.talent_programme]
    name_en = "High-level talent programme"
    name_zh = "高层次人才引进计划"
    unit = "programme intensity"
    status_quo = 1.0
    min = 0.0
    max = 4.0
    constant = "talent_programme_intensity"
    cost_per_unit = 0.8
    source = "聚焦“人才创新”。"

    [levers.building_upgrade]
    name_en = "Building upgrade programme"
    name_zh = "楼宇提升计划"
    unit = "buildings/Year"
    status_quo = 2.0
    min = 0.0
    max = 6.0
    constant = "building_upgrade_rate"
    cost_per_unit = 0.3
    source = "着力发展楼宇经济。"
    """
)

OBSERVED_COLUMNS = (
    "key,quantity,aggregate,kind,year,window_first,window_last,denominator,value,unit,"
    "rel_sigma,source,quote,note,use"
).split(",")
OBSERVED_ROWS = [
    # key, quantity, aggregate, kind, year, window, denominator, value, unit, rel_sigma, use
    (
        "hte_2015",
        "high_tech_enterprises",
        "level",
        "level",
        2015,
        None,
        "",
        114,
        "firms",
        0.02,
        "calibrate",
    ),
    (
        "hte_2020",
        "high_tech_enterprises",
        "level",
        "level",
        2020,
        None,
        "",
        244,
        "firms",
        0.02,
        "calibrate",
    ),
    (
        "retail_2016",
        "retail_sales_total",
        "annual",
        "level",
        2016,
        None,
        "",
        810,
        "亿元",
        0.05,
        "calibrate",
    ),
    (
        "retail_2018_2021",
        "retail_sales_total",
        "annual",
        "cumulative",
        None,
        (2018, 2021),
        "",
        2923.2,
        "亿元",
        0.1,
        "context",
    ),
    (
        "buildings_2020",
        "key_commercial_buildings",
        "level",
        "level",
        2020,
        None,
        "",
        89,
        "buildings",
        0.03,
        "calibrate",
    ),
    (
        "services_share_2016",
        "services_value_added",
        "level",
        "share",
        2016,
        None,
        "gdp",
        0.857,
        "fraction",
        0.02,
        "calibrate",
    ),
    # a figure of a quantity the synthetic results do not hold: skipped, and said so
    (
        "entities_growth",
        "market_entities",
        "level",
        "growth",
        None,
        (2016, 2020),
        "",
        0.116,
        "fraction",
        0.1,
        "calibrate",
    ),
]


def write_observed(path: Path) -> None:
    """observed.csv with every column of the contract."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OBSERVED_COLUMNS)
        for key, quantity, agg, kind, year, window, den, value, unit, sigma, use in OBSERVED_ROWS:
            first, last = window or ("", "")
            writer.writerow(
                [
                    key,
                    quantity,
                    agg,
                    kind,
                    year or "",
                    first,
                    last,
                    den,
                    value,
                    unit,
                    sigma,
                    "article",
                    "(quote)",
                    "",
                    use,
                ]
            )


def simulate(talent: np.ndarray, building: np.ndarray, members: int, seed: int) -> dict:
    """Closed-form trajectories, shape (case, member, time), for lever arrays over cases."""
    rng = np.random.default_rng(seed)
    t = TIME[np.newaxis, np.newaxis, :]
    after = np.clip(t - POLICY_START, 0.0, None)
    before = np.minimum(t, POLICY_START) - 2015.0
    talent = np.asarray(talent, float)[:, np.newaxis, np.newaxis]
    building = np.asarray(building, float)[:, np.newaxis, np.newaxis]
    noise = rng.normal(0.0, 1.0, size=(1, members, 1)) if members else np.zeros((1, 1, 1))

    hte_rate_after = 0.15 + 0.02 * (talent - 1.0) + 0.015 * noise
    hte = 114.0 * np.exp(0.15 * before + hte_rate_after * after)
    inflow = 150.0 + 60.0 * (talent - 1.0) * (t > POLICY_START) + 15.0 * noise
    retail_rate = 0.06 + (0.01 * (talent - 1.0) + 0.008 * building) * (t > POLICY_START)
    retail_rate = retail_rate + 0.01 * noise
    retail_flow = 790.0 * np.exp(np.cumsum(retail_rate * DT, axis=-1) - retail_rate[..., :1] * DT)
    buildings = 80.0 + 1.8 * before + (1.8 + 0.6 * (building - 2.0) + 0.3 * noise) * after
    gdp = 860.0 * np.exp(0.05 * (t - 2015.0)) + 0.0 * noise
    services = gdp * (0.85 + 0.01 * (t - 2015.0) + 0.005 * noise)
    shape = np.broadcast_shapes(talent.shape, noise.shape, t.shape)
    return {
        "high_tech_enterprises": hte,
        "talent_introduced_total": np.cumsum(inflow * DT, axis=-1) - inflow[..., :1] * DT,
        "retail_sales_total": np.cumsum(retail_flow * DT, axis=-1) - retail_flow[..., :1] * DT,
        "key_commercial_buildings": buildings,
        "services_value_added": services,
        "gdp": gdp,
    } | {"_shape": shape}


def _dataset(arrays: dict, case_dim: str, cases, members: int) -> xr.Dataset:
    shape = arrays.pop("_shape")
    dims = (case_dim, "sample", "time") if members else (case_dim, "time")
    data_vars = {}
    for name, values in arrays.items():
        values = np.broadcast_to(values, shape)
        if not members:
            values = values[:, 0, :]
        units, long_name, long_name_zh = VARIABLE_ATTRS[name]
        data_vars[name] = xr.DataArray(
            np.array(values),
            dims=dims,
            attrs={"units": units, "long_name": long_name, "long_name_zh": long_name_zh},
        )
    coords = {case_dim: cases, "time": TIME}
    if members:
        coords["sample"] = np.arange(members)
    return xr.Dataset(data_vars, coords=coords)


def make_results(members: int = 12, seed: int = 7) -> xr.Dataset:
    """``heping-sd run`` output: scenario × sample × time (scenario × time when members=0)."""
    names = list(SCENARIOS)
    talent = np.array([SCENARIOS[n][2] for n in names])
    building = np.array([SCENARIOS[n][3] for n in names])
    ds = _dataset(simulate(talent, building, members, seed), "scenario", names, members)
    ds = ds.assign_coords(
        title_en=("scenario", [SCENARIOS[n][0] for n in names]),
        title_zh=("scenario", [SCENARIOS[n][1] for n in names]),
        lever_talent_programme=("scenario", talent, LEVER_ATTRS["talent_programme"]),
        lever_building_upgrade=("scenario", building, LEVER_ATTRS["building_upgrade"]),
    )
    if members:
        ds["sample_weight"] = xr.DataArray(np.full(members, 1.0 / members), dims="sample")
    ds.attrs.update(
        kind="run",
        heping_sd_version="0.1.0",
        model_sha256="0" * 64,
        scenario_sha256=json.dumps(dict.fromkeys(names, "0" * 64)),
        seed=seed,
        created="2025-01-01T00:00:00+00:00",
    )
    return ds


GRID_TALENT = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
GRID_BUILDING = np.array([0.0, 2.0, 4.0, 6.0])


def make_sweep(members: int = 8, seed: int = 11) -> xr.Dataset:
    """``heping-sd sweep`` output of a two-lever grid: run × sample × time."""
    talent, building = (a.ravel() for a in np.meshgrid(GRID_TALENT, GRID_BUILDING))
    runs = np.arange(talent.size)
    ds = _dataset(simulate(talent, building, members, seed), "run", runs, members)
    ds = ds.assign_coords(
        lever_talent_programme=("run", talent, LEVER_ATTRS["talent_programme"]),
        lever_building_upgrade=("run", building, LEVER_ATTRS["building_upgrade"]),
    )
    ds.attrs.update(kind="sweep", seed=seed)
    return ds


def make_sensitivity() -> xr.Dataset:
    """A sensitivity Dataset as docs/architecture.md describes it."""
    factors = [
        "talent_programme",
        "building_upgrade",
        "consumption_stimulus",
        "talent_residence_time",
        "economy_growth_rate",
    ]
    return xr.Dataset(
        {
            "S1": ("factor", [0.31, 0.12, 0.02, 0.08, 0.22]),
            "S1_conf": ("factor", [0.04, 0.03, 0.02, 0.03, 0.04]),
            "ST": ("factor", [0.42, 0.18, 0.05, 0.11, 0.30]),
            "ST_conf": ("factor", [0.05, 0.03, 0.02, 0.03, 0.05]),
        },
        coords={
            "factor": factors,
            "factor_kind": ("factor", ["lever", "lever", "lever", "parameter", "parameter"]),
        },
        attrs={"output": "all_met_probability"},
    )
