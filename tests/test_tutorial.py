"""docs/tutorial.md runs as written: its ```python blocks in order, in one namespace, and its
```bash blocks that start with ``heping-sd`` through the command line, in one directory."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))]


def test_the_tutorial_has_python_and_command_line_steps():
    langs = [lang for lang, _ in blocks()]
    assert langs.count("python") >= 5
    assert any(lang == "bash" and body.startswith("heping-sd") for lang, body in blocks())


@pytest.mark.slow
def test_tutorial_runs_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "tutorial"}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    ran = 0
    for lang, body in blocks():
        if lang == "python":
            exec(compile(body, str(TUTORIAL), "exec"), namespace)
            ran += 1
        elif lang == "bash" and body.startswith("heping-sd"):
            for line in body.strip().splitlines():
                args = shlex.split(line)
                assert args[0] == "heping-sd"
                done = subprocess.run(
                    [sys.executable, "-m", "sim", *args[1:]],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    cwd=tmp_path,
                    env=env,
                )
                assert done.returncode == 0, f"{line}: {done.stderr}"
                ran += 1
    printed = capsys.readouterr().out
    assert ran >= 7
    found = namespace["found"]
    mix = np.array([list(found.levers.values())])
    assert found.probability == pytest.approx(namespace["simulate"](mix).all_met_probability()[0])
    assert "best lever per 亿元" in printed
    assert (tmp_path / "tech_mix.toml").is_file() and (tmp_path / "tech_mix.nc").is_file()
