"""The model's data files agree with the model and with their sources.

levers.toml, priors.toml, targets.toml and observed.csv name model quantities and constants;
these tests check every name against the model, every value against the ``.mdl``, and every
quote against the article (and public_figures.csv) when ``../shared`` is present.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pysd_heping import reference_run

from sim.modeldoc import parse_mdl, python_name
from sim.observed import load_observed, predicate_value
from sim.resources import model_dir

LEVER_KEYS = {
    "talent_programme",
    "incubator_capacity",
    "hightech_certification_support",
    "building_upgrade",
    "hq_attraction",
    "consumption_stimulus",
    "old_street_renewal",
    "digital_infrastructure",
    "business_environment_reform",
}
TARGET_FIELDS = {"name_en", "name_zh", "section", "quote", "kind", "comparison", "threshold"}
TARGET_FIELDS |= {"unit", "represented"}


def _toml(name: str) -> dict:
    with open(model_dir() / name, "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def elements():
    text = (model_dir() / "heping.mdl").read_text(encoding="utf-8")
    return {python_name(e.name): e for e in parse_mdl(text)}


@pytest.fixture(scope="module")
def constants(elements):
    return {name: float(e.equation) for name, e in elements.items() if e.kind == "constant"}


@pytest.fixture(scope="module")
def quantities():
    """Every variable the PySD run reports (python-safe names)."""
    return set(reference_run().series)


def _unit_range(units: str) -> tuple[float, float] | None:
    match = re.search(r"\[([^,\]]+),([^,\]]+)\]", units)
    if not match or "?" in match.group(0):
        return None
    return float(match.group(1)), float(match.group(2))


def _shared() -> Path | None:
    shared = Path(os.environ.get("HEPING_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    return shared if (shared / "seed").is_dir() else None


@pytest.fixture(scope="module")
def article() -> str:
    shared = _shared()
    if shared is None:
        if os.environ.get("CI"):
            pytest.fail("the article is needed in CI: ../shared/seed is missing")
        pytest.skip("../shared/seed (the article) is not present")
    (path,) = sorted((shared / "seed").glob("*.txt"))
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- levers


def test_levers_are_the_contract_keys():
    assert set(_toml("levers.toml")["levers"]) == LEVER_KEYS


@pytest.mark.parametrize("key", sorted(LEVER_KEYS))
def test_lever_matches_the_model(key, constants, elements, quantities):
    lever = _toml("levers.toml")["levers"][key]
    for field in ("name_en", "name_zh", "unit", "source"):
        assert lever[field].strip(), field
    assert lever["constant"] in constants
    assert lever["cost_constant"] in constants
    assert lever["status_quo"] == constants[lever["constant"]]
    assert lever["cost_per_unit"] == constants[lever["cost_constant"]]
    assert lever["cost_per_unit"] > 0
    assert lever["min"] <= lever["status_quo"] <= lever["max"]
    # The model holds the status quo in its own constant, which the lever must not move.
    assert constants[f"{lever['constant']}_status_quo"] == lever["status_quo"]
    assert _unit_range(elements[lever["constant"]].units) == (lever["min"], lever["max"])
    for name in lever["raises"] + lever["lowers"]:
        assert name in quantities, name
    assert not set(lever["raises"]) & set(lever["lowers"])


def test_every_lever_raises_the_spending_it_asks_for():
    for key, lever in _toml("levers.toml")["levers"].items():
        assert "lever_spending_requested" in lever["raises"], key


def test_lever_sources_are_article_sentences(article):
    for key, lever in _toml("levers.toml")["levers"].items():
        assert lever["source"] in article, key


# --------------------------------------------------------------------------- priors


def test_priors_name_model_constants_within_their_range(constants, elements):
    priors = _toml("priors.toml")["priors"]
    levers = _toml("levers.toml")["levers"]
    lever_constants = {v["constant"] for v in levers.values()}
    assert 15 <= len(priors) <= 32
    for name, prior in priors.items():
        assert name in constants, name
        assert name not in lever_constants, name
        assert prior["low"] < prior["high"], name
        assert prior["low"] <= constants[name] <= prior["high"], name
        assert prior["distribution"] in ("uniform", "loguniform"), name
        if prior["distribution"] == "loguniform":
            assert prior["low"] > 0, name
        assert prior["unit"].strip() and len(prior["reason"]) > 20, name
        # The .mdl shows the same range on the constant, for Vensim users.
        assert _unit_range(elements[name].units) == (prior["low"], prior["high"]), name


def test_every_constant_has_provenance(elements):
    # A constant is a lever, a lever's status quo or cost, a prior, or carries its source or
    # stated assumption in its comment.
    for name, e in elements.items():
        if e.kind in ("constant", "lookup"):
            assert len(e.comment) > 15, name


def test_every_variable_has_units_and_a_comment(elements):
    for name, e in elements.items():
        assert e.units.strip(), name
        assert e.comment.strip(), name


# --------------------------------------------------------------------------- targets


@pytest.fixture(scope="module")
def targets():
    return _toml("targets.toml")["targets"]


def test_targets_have_every_contract_field(targets):
    assert len(targets) >= 24
    for key, t in targets.items():
        assert TARGET_FIELDS <= set(t), (key, TARGET_FIELDS - set(t))
        assert t["kind"] in ("level", "growth", "cumulative", "share"), key
        assert t["comparison"] in (">=", "<="), key
        assert isinstance(t["threshold"], int | float), key
        if t["kind"] in ("level", "share"):
            assert t["year"] in (2023, 2025), key
        else:
            first, last = t["window"]
            assert 2021 <= first <= last <= 2025, key
        if t["represented"]:
            assert t["aggregate"] in ("level", "annual"), key
            assert "reason" not in t, key
        else:
            assert "quantity" not in t and len(t["reason"]) > 10, key


def test_represented_targets_name_model_quantities(targets, quantities):
    represented = {k: t for k, t in targets.items() if t["represented"]}
    for key, t in represented.items():
        assert t["quantity"] in quantities, key
        if t["aggregate"] == "annual":
            assert t["quantity"].endswith("_total"), key
    assert {t["quantity"] for t in represented.values()} >= {
        "tech_smes",
        "high_tech_enterprises",
        "gazelles_and_unicorns",
        "talent_introduced_total",
        "top_talent_introduced_total",
        "key_commercial_buildings",
        "services_value_added_total",
        "retail_sales_total",
    }


def test_stocks_and_target_quantities_carry_their_chinese_names(targets):
    """Results label variables in Chinese from the comment's first bracketed Chinese term;
    Chinese words elsewhere in a comment (units, sources, quotes) must not become names."""
    from sim import load_model

    model = load_model(model_dir() / "heping.mdl")
    ds = model.run(final_time=2016)
    named = {str(k): v.attrs.get("long_name_zh", "") for k, v in ds.data_vars.items()}
    wanted = set(model.stocks) | {t["quantity"] for t in targets.values() if t["represented"]}
    assert sorted(k for k in wanted if not named[k]) == []
    # words that comments use as units or periods, never as a variable's name
    not_names = {"万", "亿元", "十三五", "十四五", "万元"}
    assert sorted(k for k, zh in named.items() if zh in not_names) == []
    assert named["gdp"] == "地区生产总值"
    # "... (高新技术企业认定管理办法, 2016)" cites a source; the name is the term before it
    assert named["hightech_certificate_validity"] == "高新技术企业证书有效期"


def test_represented_targets_evaluate_on_the_status_quo_run(targets):
    ref = reference_run()
    for key, t in targets.items():
        if t["represented"]:
            value = predicate_value(
                ref.series,
                ref.times,
                quantity=t["quantity"],
                aggregate=t["aggregate"],
                kind=t["kind"],
                year=t.get("year"),
                window=tuple(t["window"]) if "window" in t else None,
            )
            assert math.isfinite(value), key


def test_target_quotes_are_exact(targets, article):
    for key, t in targets.items():
        assert t["quote"] in article, key


def test_every_quantified_target_sentence_is_covered(targets, article):
    # Every sentence of the article that sets a number for 2023/2025 or the next five years
    # is quoted by some target.
    quotes = " ".join(t["quote"] for t in targets.values())
    sentences = re.split(r"(?<=[。;])", article)
    dated = [s for s in sentences if re.search(r"到202[35]年|未来五年|5年内", s)]
    numbered = [s.strip() for s in dated if re.search(r"\d", s.split("年", 1)[-1])]
    assert numbered
    for sentence in numbered:
        assert sentence in quotes or any(part in quotes for part in sentence.split(",")), sentence


# --------------------------------------------------------------------------- observed


@pytest.fixture(scope="module")
def observed():
    return load_observed()


def test_observed_rows_have_source_quote_and_unique_keys(observed):
    keys = [o.key for o in observed]
    assert len(keys) == len(set(keys))
    assert sum(o.use == "calibrate" for o in observed) >= 12
    for o in observed:
        assert o.source == "article" or o.source.startswith("http"), o.key
        assert len(o.quote) > 5 and o.note.strip(), o.key
        assert o.rel_sigma > 0 and o.unit.strip(), o.key


def test_calibration_rows_name_model_quantities(observed, quantities):
    for o in observed:
        if o.quantity:
            assert o.quantity in quantities, o.key
            if o.aggregate == "annual":
                assert o.quantity.endswith("_total"), o.key
        if o.denominator:
            assert o.denominator in quantities, o.key
        if o.use == "calibrate":
            assert o.quantity, o.key


def test_observed_figures_evaluate_on_the_status_quo_run(observed):
    ref = reference_run()
    for o in observed:
        if o.use == "calibrate":
            value = predicate_value(
                ref.series,
                ref.times,
                quantity=o.quantity,
                aggregate=o.aggregate,
                kind=o.kind,
                year=o.year,
                window=o.window,
                denominator=o.denominator,
            )
            assert math.isfinite(value), o.key


def test_observed_quotes_match_their_sources(observed, article):
    shared = _shared()
    with open(shared / "data" / "public_figures.csv", encoding="utf-8", newline="") as handle:
        public = {(r["source_url"], r["quote"]) for r in csv.DictReader(handle)}
    for o in observed:
        if o.source == "article":
            assert o.quote in article, o.key
        else:
            assert (o.source, o.quote) in public, o.key


def test_predicates_follow_the_time_convention():
    times = np.arange(2015.0, 2021.0)
    series = {
        "stock": np.array([100.0, 110, 121, 133.1, 146.41, 161.051]),
        "total": np.array([0.0, 10, 21, 33.1, 46.41, 61.051]),  # yearly 10, 11, 12.1, ...
    }
    kw = {"quantity": "stock", "aggregate": "level"}
    assert predicate_value(series, times, kind="level", year=2017, **kw) == 121
    assert predicate_value(series, times, kind="growth", window=(2016, 2020), **kw) == (
        pytest.approx(0.1)
    )
    assert predicate_value(series, times, kind="cumulative", window=(2016, 2020), **kw) == (
        pytest.approx(61.051)
    )
    kw = {"quantity": "total", "aggregate": "annual"}
    assert predicate_value(series, times, kind="level", year=2016, **kw) == 10
    assert predicate_value(series, times, kind="growth", window=(2017, 2020), **kw) == (
        pytest.approx(0.1)
    )
    assert predicate_value(series, times, kind="cumulative", window=(2018, 2020), **kw) == (
        pytest.approx(61.051 - 21)
    )
    share = predicate_value(series, times, kind="share", year=2018, denominator="total", **kw)
    assert share == pytest.approx(1.0)
