"""Reality checks: checks.toml, their semantics on the engine, and ``heping-sd check``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim.checks import Check, _shortfall, load_checks, run_checks
from sim.cli import main as cli
from sim.engine import load_model
from sim.errors import InputError
from sim.priors import load_priors
from sim.resources import model_dir, model_path
from sim.scenarios import load_levers

CATALOGUE = load_levers()
PROGRAMME = "reference talent introduction * job attractiveness effect * talent programme effect"


@pytest.fixture(scope="module")
def model():
    return load_model(model_path())


@pytest.fixture(scope="module")
def priors():
    return load_priors(model_dir() / "priors.toml")


def copy_model(tmp_path, replace: tuple[str, str] | None = None):
    """The shipped model and its data files in ``tmp_path``, with one text replaced."""
    for source in model_dir().iterdir():
        if source.suffix in (".mdl", ".toml", ".csv"):
            shutil.copy(source, tmp_path / source.name)
    if replace is not None:
        path = tmp_path / "heping.mdl"
        text = path.read_text(encoding="utf-8")
        assert text.count(replace[0]) == 1
        path.write_text(text.replace(*replace), encoding="utf-8")
    return tmp_path / "heping.mdl"


def one(model, priors, **fields) -> Check:
    """Run a single check built from ``fields`` and return its result."""
    check = Check(key=fields.pop("key", "probe"), statement="probe", **fields)
    (result,) = run_checks(model, {check.key: check}, CATALOGUE, priors, seed=1)
    return result


# ----------------------------------------------------------------- the shipped checks


def test_the_shipped_checks_load_against_the_model(model):
    checks = load_checks(
        model_dir() / "checks.toml",
        CATALOGUE,
        variables=model.variables,
        constants=model.constants,
    )
    assert len(checks) >= 10
    assert {c.compare for c in checks.values()} == {"status_quo", "value", "trend"}
    assert any(c.draws == "priors" and c.other_levers == "sampled" for c in checks.values())
    for check in checks.values():
        assert check.statement.endswith(".")


def test_heping_sd_check_passes_on_the_shipped_model(capsys):
    assert cli(["check", "--samples", "60"]) == 0
    out = capsys.readouterr().out
    assert "PASS  units: the units of every equation balance" in out
    assert "FAIL" not in out
    for key in load_checks(model_dir() / "checks.toml", CATALOGUE):
        assert f"PASS  {key} (60 runs)" in out
    assert out.rstrip().endswith("checks passed.")


def test_a_model_edited_to_break_a_check_fails_naming_it(tmp_path, capsys):
    # talent introduction no longer depends on the talent programme
    broken = copy_model(
        tmp_path, (PROGRAMME, "reference talent introduction * job attractiveness effect")
    )
    assert cli(["check", "--model", str(broken), "--samples", "30"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  no_talent_programme_fewer_talents (30 runs, 30 failed)" in out
    assert "PASS  units" in out  # the edit keeps the units right
    block = out.split("FAIL  no_talent_programme_fewer_talents")[1].split("\nPASS")[0]
    assert "expected talent_introduced_total < status quo" in block
    assert "levers: talent_programme=0," in block
    assert "parameters: shenyang_economy_growth=" in block  # the prior draw of that run
    assert "PASS  no_incubators_fewer_new_tech_smes" in out  # the others still pass

    assert cli(["check", "--model", str(broken), "--samples", "30", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["passed"] is False
    failed = summary["checks"]["no_talent_programme_fewer_talents"]
    assert failed["passed"] is False and failed["failed_runs"] == 30
    failure = failed["failure"]
    assert failure["levers"]["talent_programme"] == 0
    assert 2021 <= failure["time"] <= 2025
    assert failure["value"] >= failure["reference"]  # not lower than the status quo
    assert set(failure["parameters"]) == set(load_priors(model_dir() / "priors.toml"))


def test_a_units_mismatch_fails_the_check_naming_the_element(tmp_path, capsys):
    broken = copy_model(tmp_path, ("\t~\t亿元/(spaces*Year)", "\t~\t亿元/space"))
    assert cli(["check", "--model", str(broken), "--samples", "5"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  units" in out
    assert "lever spending requested: operands of +: expected 亿元/Year, found" in out


def test_bad_input_is_exit_2_with_one_line(tmp_path, capsys):
    path = copy_model(tmp_path)
    (tmp_path / "checks.toml").write_text(
        '[checks.x]\nstatement = "s."\nquantity = "gdp"\ncompare = "value"\n'
        'comparison = "<="\nvalue = "gpd"\n'
    )
    assert cli(["check", "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "checks.x.value: unknown model variable 'gpd'" in err and "'gdp'" in err
    assert cli(["check", "--checks", str(tmp_path / "absent.toml")]) == 2


# ----------------------------------------------------------------- semantics


def test_status_quo_comparisons_are_all_else_equal(model, priors):
    more = {
        "levers": {"talent_programme": 500.0},
        "other_levers": "sampled",
        "draws": "priors",
        "samples": 40,
        "quantity": "talent_introduced_total",
        "compare": "status_quo",
    }
    assert one(model, priors, comparison=">=", **more).passed
    # identical to the status quo until the plan starts: not strictly higher at 2015…2020
    strict = one(model, priors, comparison=">", **more)
    assert not strict.passed and strict.failed_runs == 40
    assert strict.failure.time == 2015 and strict.failure.value == strict.failure.reference
    assert one(model, priors, comparison=">", window=(2021.0, 2025.0), **more).passed


def test_value_comparisons_report_the_first_failing_time(model, priors):
    result = one(model, priors, quantity="gdp", compare="value", comparison="<=", value=900.0)
    assert result.runs == 1 and not result.passed  # nothing drawn: one run
    failure = result.failure
    gdp = model.run(return_columns=["gdp"], saveper=0.125)["gdp"].values[0]
    first = int(np.flatnonzero(gdp > 900.0)[0])
    assert failure.time == pytest.approx(2015 + 0.125 * first)
    assert failure.value == pytest.approx(gdp[first]) and failure.reference == 900.0
    assert failure.reference_label == "900"
    assert failure.levers == {k: lever.status_quo for k, lever in CATALOGUE.items()}
    assert failure.parameters == {}
    assert one(model, priors, quantity="gdp", compare="value", comparison=">=", value=0.0).passed


def test_trends_compare_the_ends_of_the_window(model, priors):
    fields = {"quantity": "gdp_total", "compare": "trend", "draws": "priors", "samples": 20}
    assert one(model, priors, trend="rises", **fields).passed
    falls = one(model, priors, trend="falls", window=(2016.0, 2020.0), **fields)
    assert not falls.passed and falls.failed_runs == 20
    assert falls.failure.time == 2020 and falls.failure.reference_label == "2016 value"
    assert falls.failure.value > falls.failure.reference


def test_parameters_are_set_in_the_tested_runs_only(model, priors):
    result = one(model, priors, quantity="gdp", compare="status_quo", comparison="<",
                 parameters={"fiscal_yield": 0.08}, window=(2016.0, 2025.0))  # fmt: skip
    assert result.passed is False  # GDP does not depend on the fiscal yield
    assert one(model, priors, quantity="budget_revenue", compare="status_quo", comparison="<",
               parameters={"fiscal_yield": 0.08}).passed  # fmt: skip


def test_draws_are_reproducible_and_independent_of_other_checks(model, priors):
    check = Check("a", "s.", "lever_budget_scale", "value", "<", 1.0, other_levers="sampled",
                  draws="priors", samples=50)  # fmt: skip
    other = Check("b", "s.", "gdp", "value", ">=", 0.0, draws="priors", samples=50)
    (alone,) = run_checks(model, {"a": check}, CATALOGUE, priors, seed=7)
    _, together = run_checks(model, {"b": other, "a": check}, CATALOGUE, priors, seed=7)
    assert alone == together and not alone.passed  # the budget binds in some draws
    (reseeded,) = run_checks(model, {"a": check}, CATALOGUE, priors, seed=8)
    assert reseeded.failure != alone.failure


def test_shortfall_tolerance_and_non_finite_values():
    value = np.array([[1.0, 1.0 + 1e-12, 2.0, np.nan]])
    reference = np.ones((1, 4))
    assert (_shortfall(value, reference, "<=") > 0).tolist() == [[False, False, True, True]]
    assert (_shortfall(value, reference, "<") > 0).tolist() == [[True, True, True, True]]
    assert (_shortfall(value, reference, ">=") > 0).tolist() == [[False, False, False, True]]
    assert (_shortfall(value, reference, ">") > 0).tolist() == [[True, True, False, True]]


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("levers = { talent_programm = 1 }", "checks.x.levers.talent_programm: unknown lever"),
        ("levers = { talent_programme = 900 }", "value 900 out of range"),
        ('levers = { talent_programme = "most" }', "unknown lever value 'most'"),
        ('compare = "trends"', "checks.x.compare: unknown value 'trends'"),
        ('comparison = "=<"', "checks.x.comparison: unknown value '=<'"),
        ('quantity = "gpd"', "unknown model variable 'gpd'"),
        ("window = [2025, 2021]", "first time after last"),
        ("window = 2025", "checks.x.window: wrong value"),
        ("samples = 0", "checks.x.samples: wrong value"),
        ("parameters = { talent_programme_places = 1 }", "a lever's constant is set under levers"),
        ("parameters = { fiscal_yeild = 0.1 }", "unknown model constant"),
        ('draws = "prior"', "did you mean 'priors'"),
        ('colour = "red"', "checks.x.colour: unknown check field"),
    ],
)
def test_bad_checks_are_input_errors(tmp_path, model, body, message):
    fields = {"statement": '"s."', "quantity": '"gdp"', "compare": '"status_quo"',
              "comparison": '"<="', "levers": "{ talent_programme = 0 }"}  # fmt: skip
    key = body.split(" = ")[0]
    fields[key] = body.split(" = ", 1)[1]
    path = tmp_path / "checks.toml"
    path.write_text("[checks.x]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items()))
    with pytest.raises(InputError) as err:
        load_checks(path, CATALOGUE, variables=model.variables, constants=model.constants)
    assert message in err.value.one_line()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('compare = "status_quo"\ncomparison = "<="', "nothing to compare with the status quo"),
        ('compare = "value"\ncomparison = "<="', "checks.x.value: missing field"),
        ('compare = "trend"', "checks.x.trend: missing field"),
        ('compare = "trend"\ntrend = "falls"\ncomparison = "<"', "not used with compare"),
        ('compare = "value"\nvalue = 1', "checks.x.comparison: missing field"),
    ],
)
def test_incomplete_checks_are_input_errors(tmp_path, text, message):
    path = tmp_path / "checks.toml"
    path.write_text(f'[checks.x]\nstatement = "s."\nquantity = "gdp"\n{text}\n')
    with pytest.raises(InputError) as err:
        load_checks(path, CATALOGUE)
    assert message in err.value.one_line()


def test_subscripted_quantities_are_refused(test_models_dir):
    model = load_model(test_models_dir / "tests/subscript_2d_arrays/test_subscript_2d_arrays.mdl")
    check = Check("x", "s.", "stock_a", "value", "<=", 1e9)
    with pytest.raises(InputError, match="subscripted variables cannot be checked"):
        run_checks(model, {"x": check}, {}, None)
