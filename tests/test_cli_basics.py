"""The command line's front door: help, version, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

from sim.errors import InputError, nearest


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_commands_and_exits_zero():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "heping-sd" in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("heping-sd ")


def test_unknown_command_is_bad_input():
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_input_error_is_one_line_with_file_key_and_suggestion():
    err = InputError(
        "unknown lever",
        file="s.toml",
        key="levers.talent_programe",
        expected="a lever from model/levers.toml",
        suggestions=nearest("talent_programe", ["talent_programme", "digital_infrastructure"]),
    )
    text = err.one_line()
    assert "\n" not in text
    assert text.startswith("s.toml: levers.talent_programe: unknown lever")
    assert "'talent_programme'" in text


def test_nearest_always_points_somewhere():
    assert nearest("zzzz", ["alpha", "beta"])
    assert nearest("x", []) == []


def test_every_command_has_working_help():
    from sim.cli import COMMANDS

    for name in COMMANDS:
        result = run_cli(name, "--help")
        assert result.returncode == 0, (name, result.stderr[-500:])
        assert result.stdout.startswith("usage: heping-sd " + name), name
