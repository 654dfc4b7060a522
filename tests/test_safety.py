"""A crafted model file is refused before PySD's parser sees it, and runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.engine import load_model
from sim.engine.conformance import discover
from sim.errors import InputError
from sim.safety import check_model_file

CONTROLS = """FINAL TIME = 1
 ~ Month ~ |
INITIAL TIME = 0
 ~ Month ~ |
SAVEPER = 1
 ~ Month ~ |
TIME STEP = 1
 ~ Month ~ |
"""

# Each payload would create the file MARKER if its text were evaluated or imported.
PAYLOADS = {
    "with_lookup_range": (
        "x = WITH LOOKUP(Time, ([(0,0)-(__import__('pathlib').Path('MARKER')"
        ".write_text('ran') and 1,1)],(0,0),(1,1)))\n ~ dmnl ~ |\n"
    ),
    "lookup_definition_range": (
        "table([(0,0)-(1,__import__('pathlib').Path('MARKER').touch() or 1)],(0,0),(1,1))\n"
        " ~ dmnl ~ |\nx = table(Time)\n ~ dmnl ~ |\n"
    ),
    "range_without_points": (
        "table([__import__('pathlib').Path('MARKER').touch()],(0,0),(1,1))\n"
        " ~ dmnl ~ |\nx = table(Time)\n ~ dmnl ~ |\n"
    ),
    "comment_breaking_a_docstring": (
        'x = 1\n ~ dmnl ~ """\nimport pathlib; pathlib.Path("MARKER").touch()\n""" |\n'
    ),
    "backslash_before_quote_in_units": 'x = 1\n ~ dmnl\\" ~ |\n',
}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "crafted.mdl"
    path.write_text("{UTF-8}\n" + body.replace("MARKER", str(tmp_path / "MARKER")) + CONTROLS)
    return path


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_crafted_model_is_refused_and_nothing_runs(payload, tmp_path):
    path = _write(tmp_path, PAYLOADS[payload])
    with pytest.raises(InputError) as err:
        load_model(path)
    message = err.value.one_line()
    assert str(path) in message and "line " in message and "refused" in message
    assert not (tmp_path / "MARKER").exists()


def test_the_threat_is_real_pysd_alone_runs_the_payload(tmp_path):
    """Without our check, PySD's parser evaluates the lookup range (in a child process)."""
    path = _write(tmp_path, PAYLOADS["with_lookup_range"])
    code = (
        "import sys, warnings; warnings.simplefilter('ignore');"
        "from pysd.translators.vensim.vensim_file import VensimFile;"
        "VensimFile(sys.argv[1]).parse()"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], cwd=tmp_path, timeout=120)
    assert (tmp_path / "MARKER").read_text() == "ran"


def test_cli_refuses_with_one_line_and_exit_code_2(tmp_path):
    path = _write(tmp_path, PAYLOADS["with_lookup_range"])
    result = subprocess.run(
        [sys.executable, "-m", "sim", "bench", "--model", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "refused" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "MARKER").exists()


def test_ordinary_models_pass_the_check(test_models_dir):
    for case in discover(test_models_dir):
        check_model_file(test_models_dir / "tests" / case)
    for sample in ("teacup/teacup.mdl", "SIR/SIR.mdl"):
        check_model_file(test_models_dir / "samples" / sample)


def test_engine_never_loads_pysd_code_builder(test_models_dir, tmp_path):
    """Loading and running imports no PySD builder module and writes no translated file."""
    model = tmp_path / "teacup.mdl"
    model.write_bytes((test_models_dir / "samples/teacup/teacup.mdl").read_bytes())
    code = (
        "import sys; from sim.engine import load_model;"
        "load_model(sys.argv[1]).run(n=3);"
        "bad = [m for m in sys.modules if m.startswith('pysd.builders.python.python_')];"
        "bad += [m for m, mod in list(sys.modules.items())"
        " if sys.argv[1].rsplit('/', 1)[0] in str(getattr(mod, '__file__', '') or '')];"
        "print(bad)"
    )
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=repo,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacup.mdl"]
