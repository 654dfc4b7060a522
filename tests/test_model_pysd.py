"""The shipped model translates and runs under PySD, and its status-quo run behaves."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pysd_heping import reference_run

from sim.modeldoc import parse_mdl, python_name
from sim.resources import model_path


@pytest.fixture(scope="module")
def ref():
    return reference_run()


def test_translates_and_runs_2015_to_2025_without_warnings(ref):
    # Any warning left after the two known PySD deprecations would be a finding: an unknown
    # function ("Trying to translate ... not implemented"), a lookup read outside its range, ...
    assert ref.warnings == ()
    np.testing.assert_allclose(ref.times, np.arange(2015, 2026))


def test_control_section_follows_the_time_convention():
    elements = {e.name: e for e in parse_mdl(model_path().read_text(encoding="utf-8"))}
    assert elements["INITIAL TIME"].equation == "2015"
    assert elements["FINAL TIME"].equation == "2025"
    time_step = float(elements["TIME STEP"].equation)
    assert time_step in (0.125, 0.25)
    assert float(elements["SAVEPER"].equation) in (0.25, 1.0)


def test_status_quo_run_is_finite_and_non_negative(ref):
    for name, values in ref.series.items():
        assert np.isfinite(values).all(), name
        assert (values >= -1e-9 * max(1.0, np.abs(values).max())).all(), name


def test_status_quo_budget_funds_the_status_quo(ref):
    # The 十三五 practice is what the budget paid for: no scaling back in the status quo.
    np.testing.assert_allclose(ref.series["lever_budget_scale"], 1.0)
    np.testing.assert_allclose(
        ref.series["lever_spending_requested"], ref.series["status_quo_lever_spending"]
    )


def test_running_totals_accumulate_their_flows(ref):
    # Saved at every Euler step, each running total grows by exactly TIME STEP x its flow, so
    # a yearly amount is an exact difference of year-end values (the time convention).
    dt = 0.125
    fine = ref.run({}, saveper=dt)
    np.testing.assert_allclose(np.diff(fine["time"]), dt)
    totals = [
        e for e in parse_mdl(model_path().read_text(encoding="utf-8")) if e.name.endswith(" total")
    ]
    assert len(totals) >= 9
    for e in totals:
        match = re.fullmatch(r"INTEG\((.+), 0\)", e.equation)
        assert match, e.name
        total, flow = fine[python_name(e.name)], fine[python_name(match.group(1))]
        assert total[0] == 0
        np.testing.assert_allclose(np.diff(total), dt * flow[:-1], rtol=1e-12, err_msg=e.name)


LEVER_EXTREMES = {
    "talent_programme_places": 500,
    "incubator_spaces": 60,
    "certification_support": 2,
    "building_upgrade_rate": 10,
    "hq_attraction_funding": 5,
    "consumption_stimulus": 4,
    "old_street_areas_in_renewal": 6,
    "digital_infrastructure_investment": 3,
    "business_environment_funding": 2,
}


@pytest.fixture(scope="module")
def all_levers_at_max(ref):
    return ref.run(LEVER_EXTREMES)


def test_levers_cannot_change_the_record(ref, all_levers_at_max):
    # Levers take their scenario values from the end of 2020: stocks and running totals up to
    # 2020, which the record is compared with, are the same whatever the levers say.
    history = ref.times <= 2020
    stocks = [
        e.name
        for e in parse_mdl(model_path().read_text(encoding="utf-8"))
        if e.kind == "stock" or e.equation.startswith("SMOOTH")
    ]
    assert len(stocks) >= 22
    for name in map(python_name, stocks):
        np.testing.assert_array_equal(
            all_levers_at_max[name][history], ref.series[name][history], err_msg=name
        )
    for name in [
        "high_level_talent",
        "tech_smes",
        "key_commercial_buildings",
        "retail_sales_total",
    ]:
        assert not np.array_equal(all_levers_at_max[name], ref.series[name]), name


def test_levers_compete_for_one_budget(ref, all_levers_at_max):
    s = all_levers_at_max
    after = ref.times > 2020
    assert (s["lever_budget_scale"][after] < 1).all()
    np.testing.assert_allclose(
        s["lever_spending"][after], s["lever_budget_available"][after], rtol=1e-12
    )
    # Every funded lever gets the same fraction of what it asked for.
    scale = s["lever_budget_scale"][after]
    for constant in LEVER_EXTREMES:
        effective = s[f"{constant}_effective"][after]
        np.testing.assert_allclose(effective, LEVER_EXTREMES[constant] * scale, rtol=1e-12)


def test_comments_are_safe_for_generated_code():
    # PySD copies comments into generated Python; the engine's safety check rejects these.
    text = model_path().read_text(encoding="utf-8")
    body = text.split("\\\\\\---///", 1)[0]
    assert text.startswith("{UTF-8}")
    assert "\\\\\\---///" in text
    assert '"""' not in body
    assert "\\" not in body
    assert re.search(r"^\s*\.Control", body, re.MULTILINE)
