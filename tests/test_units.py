"""Units check: unit strings, the inference rules, crafted mismatches and the shipped model."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sim.errors import InputError
from sim.resources import model_path
from sim.units import DIMENSIONLESS, Units, UnitsSyntaxError, check_units, parse_units

CONTROL = """
INITIAL TIME = 0
 ~ Year ~ |
FINAL TIME = 4
 ~ Year ~ |
TIME STEP = 0.25
 ~ Year ~ |
SAVEPER = 1
 ~ Year ~ |
"""


def write_model(tmp_path, equations: str):
    path = tmp_path / "m.mdl"
    path.write_text("{UTF-8}\n" + equations + CONTROL, encoding="utf-8")
    return path


# ------------------------------------------------------------------ unit strings


@pytest.mark.parametrize(
    ("text", "powers"),
    [
        ("persons/Year", {"persons": 1, "year": -1}),
        ("persons/Year [60,250]", {"persons": 1, "year": -1}),
        ("Year [0,?]", {"year": 1}),
        ("1/Year", {"year": -1}),
        ("Years", {"year": 1}),  # Vensim's default synonym
        ("YEAR", {"year": 1}),  # compared ignoring case
        ("亿元/(spaces*Year)", {"亿元": 1, "spaces": -1, "year": -1}),
        ("万m2/buildings", {"万m2": 1, "buildings": -1}),
        ("Degrees Fahrenheit/Minute", {"degrees fahrenheit": 1, "minute": -1}),
        ("m^2/s^2", {"m": 2, "s": -2}),
        ("Year^(-1)", {"year": -1}),
        ("a/b/c", {"a": 1, "b": -1, "c": -1}),
        ("a/(b/c)", {"a": 1, "b": -1, "c": 1}),
        ("dmnl", {}),
        ("Dmnl [0,1]", {}),
        ("dimensionless", {}),
        ("persons/persons", {}),
    ],
)
def test_unit_strings_parse_to_powers(text, powers):
    assert parse_units(text).powers == {k: Fraction(v) for k, v in powers.items()}


def test_no_units_is_none_and_spelling_is_kept_for_messages():
    assert parse_units("") is None and parse_units("  [0,1] ") is None
    assert str(parse_units("亿元/(spaces*Year)")) == "亿元/(spaces*Year)"
    assert str(parse_units("Year^(-1)")) == "1/Year"
    assert str(parse_units("m^2")) == "m^2"
    assert str(DIMENSIONLESS) == "dmnl"


def test_plural_and_singular_differ_as_in_vensim():
    assert parse_units("persons") != parse_units("person")
    assert parse_units("亿元/persons") * parse_units("persons/Year") == parse_units("亿元/Year")


def test_unit_algebra():
    flow = parse_units("persons/Year")
    assert flow * parse_units("Year") == parse_units("persons")
    assert (flow / flow).dimensionless
    assert flow**2 == Units.base("persons") ** 2 / Units.base("Year") ** 2
    assert parse_units("m^2") ** Fraction(1, 2) == parse_units("m")


@pytest.mark.parametrize("text", ["persons//Year", "(Year", "Year)", "Year^x", "*", "Year^"])
def test_malformed_unit_strings_are_refused(text):
    with pytest.raises(UnitsSyntaxError):
        parse_units(text)


# ------------------------------------------------------------------ the check


def test_the_shipped_model_balances():
    report = check_units(model_path())
    assert report.mismatches == ()
    assert report.ok
    assert report.checked > 200 and report.without_units == ()


def test_a_vensim_sample_model_balances(test_models_dir):
    report = check_units(test_models_dir / "samples/teacup/teacup.mdl")
    assert report.ok and report.checked >= 5


def test_a_well_formed_model_of_every_rule_balances(tmp_path):
    path = write_model(
        tmp_path,
        """
stock = INTEG(inflow - outflow, initial stock)
 ~ widgets ~ |
initial stock = 10
 ~ widgets ~ |
inflow = base rate * effect table(stock / reference stock) + STEP(extra rate, 2)
 ~ widgets/Year ~ |
base rate = 3
 ~ widgets/Year ~ |
extra rate = 1
 ~ widgets/Year ~ |
reference stock = 10
 ~ widgets ~ |
effect table([(0,0)-(2,2)],(0,0.5),(1,1),(2,1.5))
 ~ dmnl ~ |
outflow = MAX(0, stock / residence time) * (1 - PULSE(1, 1))
 ~ widgets/Year ~ |
residence time = 4
 ~ Years ~ |
smoothed = SMOOTH(inflow, residence time) + DELAY1(outflow, 1 * residence time)
 ~ widgets/Year ~ |
share = XIDZ(outflow, inflow, 1) * EXP(-Time / residence time)
 ~ dmnl ~ |
area = side ^ 2
 ~ m^2 ~ |
side = 3
 ~ m ~ |
side again = SQRT(area) + IF THEN ELSE(Time > 2, side, 0)
 ~ m ~ |
elapsed = Time - INITIAL TIME
 ~ Year ~ |
ratio = MIN(1, share) + ZIDZ(stock, reference stock)
 ~ dmnl ~ |
total = INTEG(inflow, 0)
 ~ widgets ~ |
""",
    )
    report = check_units(path)
    assert report.mismatches == ()
    assert report.checked == 16 + 4  # every equation but the lookup, and the 4 controls


def test_each_mismatch_is_reported_by_element_with_both_units(tmp_path):
    path = write_model(
        tmp_path,
        """
stock = INTEG(inflow, initial people)
 ~ widgets ~ |
initial people = 10
 ~ persons ~ |
inflow = stock
 ~ widgets/Year ~ |
mixed = stock + initial people
 ~ widgets ~ |
smallest = MIN(stock, initial people)
 ~ widgets ~ |
branch = IF THEN ELSE(Time > 1, stock, inflow)
 ~ widgets ~ |
grown = EXP(Time)
 ~ dmnl ~ |
per capita = stock / initial people
 ~ widgets ~ |
one more = stock + 1
 ~ widgets ~ |
smoothed = SMOOTH(stock, initial people)
 ~ widgets ~ |
""",
    )
    found = {(m.element, m.where, m.expected, m.found) for m in check_units(path).mismatches}
    EQUATION = "equation (declared units vs right-hand side)"
    assert found == {
        ("stock", "initial value of INTEG", "widgets", "persons"),
        ("inflow", EQUATION, "widgets/Year", "widgets"),
        ("mixed", "operands of +", "widgets", "persons"),
        ("smallest", "arguments of MIN", "widgets", "persons"),
        ("branch", "branches of IF THEN ELSE", "widgets", "widgets/Year"),
        ("grown", "argument 1 of EXP", "dmnl", "Year"),
        ("per capita", EQUATION, "widgets", "widgets/persons"),
        ("one more", "operands of +", "widgets", "dmnl"),
        ("smoothed", "delay time of SMOOTH", "Year", "persons"),
    }
    for mismatch in check_units(path).mismatches:
        assert mismatch.message().startswith(f"{mismatch.element}: {mismatch.where}: expected ")


def test_a_stock_flow_in_the_wrong_time_unit_is_reported(tmp_path):
    path = write_model(
        tmp_path,
        """
stock = INTEG(inflow, 0)
 ~ widgets ~ |
inflow = 1
 ~ widgets/Month ~ |
""",
    )
    (mismatch,) = check_units(path).mismatches
    assert (mismatch.element, mismatch.expected, mismatch.found) == (
        "stock",
        "widgets/Year",
        "widgets/Month",
    )
    assert mismatch.where == "flow of INTEG (stock units per time)"


def test_elements_without_units_are_listed_and_never_cascade(tmp_path):
    path = write_model(
        tmp_path,
        """
mystery = 3
 ~  ~ |
uses it = mystery * 2 + 1
 ~ widgets ~ |
""",
    )
    report = check_units(path)
    assert report.without_units == ("mystery",)
    assert report.mismatches == ()


def test_unreadable_units_are_an_input_error_naming_the_element(tmp_path):
    path = write_model(tmp_path, "x = 1\n ~ widgets//Year ~ |\n")
    with pytest.raises(InputError) as err:
        check_units(path)
    assert ": x: cannot read units" in err.value.one_line()


def test_check_units_accepts_the_engine_models_abstract_model():
    from sim.engine import load_model

    model = load_model(model_path())
    assert check_units(model.abstract_model).ok
