"""No text from a model file reaches the generated step code.

The compiler writes Python from the AST's *structure*: its own identifiers (``v12``,
``s3``, ``K[5]``), float literals and fixed templates. These tests tokenize the generated
source of several models and allow nothing else: no string literal, no model name.
"""

from __future__ import annotations

import io
import re
import tokenize

import pytest

from sim.engine import load_model

ALLOWED_NAMES = {
    # generated function signatures and locals
    "def",
    "return",
    "if",
    "else",
    "in",
    "pass",
    "initialize",
    "step",
    "controls",
    "advance",
    "del",
    "t",
    "dt",
    "N",
    "P",
    "c",
    "s",
    "update",
    "record",
    "K",
    "np",
    "F",
    "_order",
    "_length",
    "_init",
    "_out",
    "_NAN",
    "_INF",
    # numpy and sim.engine.functions attributes used by the templates
    "array",
    "broadcast_to",
    "float",
    "repeat",
    "axis",
    "dtype",
    "None",
    "shape",
    "copy",
    "where",
    "minimum",
    "maximum",
    "power",
    "divide",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "trunc",
    "logical_and",
    "logical_or",
    "logical_not",
    "sum",
    "prod",
    "min",
    "max",
    "transpose",
    "lift",
    "fill",
    "gather",
    "assemble",
    "lookup",
    "ramp",
    "pulse",
    "pulse_train",
    "xidz",
    "zidz",
    "modulo",
    "quantum",
    "shift_in",
    "smooth_order",
    "delay_order",
    "check_delay_order",
    "delay_fixed_length",
}
GENERATED = re.compile(r"^[vsnh]\d+$")

WEIRD = """{UTF-8}
np = 1
 ~ dmnl ~ a variable named like numpy |
"__import__('os')" = np + 1
 ~ dmnl ~ |
exec = SMOOTH("__import__('os')", 2) * STEP(1, 3)
 ~ dmnl ~ a comment with 'quotes' and "double" ones |
t = INTEG(exec, 0)
 ~ dmnl ~ |
lookup table([(0,0)-(10,10)],(0,0),(10,10))
 ~ dmnl ~ |
dt = lookup table(t) + IF THEN ELSE(t > 1, 1, 0)
 ~ dmnl ~ |
FINAL TIME = 5
 ~ Month ~ |
INITIAL TIME = 0
 ~ Month ~ |
SAVEPER = 1
 ~ Month ~ |
TIME STEP = 0.5
 ~ Month ~ |
"""


def _names_and_strings(source: str):
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    names = {tok.string for tok in tokens if tok.type == tokenize.NAME}
    strings = [tok.string for tok in tokens if tok.type == tokenize.STRING]
    return names, strings


def _assert_clean(model):
    source = model.source()
    names, strings = _names_and_strings(source)
    assert strings == []
    unexpected = {n for n in names if not GENERATED.match(n)} - ALLOWED_NAMES
    assert unexpected == set()


@pytest.mark.parametrize(
    "case",
    [
        "samples/teacup/teacup.mdl",
        "tests/special_characters/test_special_variable_names.mdl",
        "tests/subscript_mapping_simple/test_subscript_mapping_simple.mdl",
        "tests/delay_fixed/test_delay_fixed.mdl",
        "tests/lookups_with_expr/test_lookups_with_expr.mdl",
        "tests/subscript_aggregation/test_subscript_aggregation.mdl",
    ],
)
def test_generated_code_holds_only_compiler_tokens(case, test_models_dir):
    _assert_clean(load_model(test_models_dir / case))


def test_model_names_that_look_like_python_stay_data(tmp_path):
    path = tmp_path / "weird.mdl"
    path.write_text(WEIRD)
    model = load_model(path)
    _assert_clean(model)
    ds = model.run(n=2)
    by_long_name = {v.attrs["long_name"]: k for k, v in ds.data_vars.items()}
    assert {"np", "exec", "t", "dt"} <= set(by_long_name)
    # python-safe names as PySD makes them (reserved words get a suffix)
    assert by_long_name["np"] == "np_1" and by_long_name["exec"] == "exec_1"
    assert float(ds[by_long_name["np"]].isel(run=0, time=0)) == 1.0
