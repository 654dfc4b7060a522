"""docs/model.md's generated tables match the model, and the generator reads .mdl files right."""

from __future__ import annotations

from pathlib import Path

import pytest
from pysd_heping import reference_run

from sim.modeldoc import fill, generate, parse_mdl
from sim.resources import model_dir

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"

SMALL_MDL = """{UTF-8}
********************************************************
	.Stocks
********************************************************~
	A group comment.
	|

cups=
	INTEG(filling - drinking, 3)
	~	cups
	~	Cups on the table.
	|

filling=
	rate table(Time) * scale
	~	cups/Minute
	~	How fast cups are filled.
	|

drinking=
	cups / sip time
	~	cups/Minute
	~	First-order drain.
	|

sip time=
	2
	~	Minute [1,4]
	~	Prior.
	|

scale=
	INITIAL(cups) / 3
	~	dmnl
	~	Not a flow, although it mentions cups.
	|

rate table(
	[(0,0)-(10,10)],(0,1),(10,2))
	~	cups/Minute
	~	A lookup.
	|

********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

TIME STEP  = 0.25
	~	Minute [0,?]
	~	The time step.
	|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
cups = 1 | this is sketch text and must be ignored
///---\\\\\\
"""


def test_parse_mdl_reads_names_kinds_units_comments_and_groups():
    elements = {e.name: e for e in parse_mdl(SMALL_MDL)}
    assert list(elements) == [
        "cups",
        "filling",
        "drinking",
        "sip time",
        "scale",
        "rate table",
        "TIME STEP",
    ]
    assert elements["cups"].kind == "stock"
    assert elements["cups"].equation == "INTEG(filling - drinking, 3)"
    assert elements["filling"].kind == "flow"
    assert elements["drinking"].kind == "flow"
    assert elements["scale"].kind == "auxiliary"
    assert elements["sip time"].kind == "constant"
    assert elements["sip time"].units == "Minute [1,4]"
    assert elements["rate table"].kind == "lookup"
    assert elements["rate table"].equation == "([(0,0)-(10,10)],(0,1),(10,2))"
    assert elements["TIME STEP"].kind == "control"
    assert elements["cups"].group == "Stocks" and elements["TIME STEP"].group == "Control"
    assert elements["drinking"].comment == "First-order drain."


def test_fill_replaces_only_generated_blocks():
    doc = "intro\n<!-- BEGIN GENERATED: a -->\nold\n<!-- END GENERATED: a -->\noutro\n"
    assert fill(doc, {"a": "new"}) == (
        "intro\n<!-- BEGIN GENERATED: a -->\nnew\n<!-- END GENERATED: a -->\noutro\n"
    )
    with pytest.raises(KeyError):
        fill(doc, {"a": "new", "b": "missing"})


def test_model_doc_is_up_to_date():
    ref = reference_run()
    doc = DOC.read_text(encoding="utf-8")
    fresh = fill(doc, generate(model_dir(), ref.times, ref.series))
    assert fresh == doc, "docs/model.md is stale: run `python -m sim.modeldoc`"


def test_equation_table_lists_every_variable_once():
    ref = reference_run()
    table = generate(model_dir(), ref.times, ref.series)["equations"]
    text = (model_dir() / "heping.mdl").read_text(encoding="utf-8")
    names = [e.name.lower().replace(" ", "_") for e in parse_mdl(text)]
    for name in names:
        assert table.count(f"| `{name}` |") == 1, name
