"""Reading untrusted TOML files: every failure is an :class:`~sim.errors.InputError`.

Shared by the scenario, sweep, lever and target loaders so that each reports a bad file the
same way: the file, the dotted key, what was expected and, for a typo, the nearest valid key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import InputError, nearest


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; every failure is an InputError naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a TOML file", file=path) from None
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror})", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start})", file=path) from None
    return parse_toml(text, path)


def parse_toml(text: str, file: str | Path | None) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes an InputError naming ``file``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"invalid TOML: {err}", file=file) from None
    except RecursionError:
        raise InputError("invalid TOML: nested too deeply", file=file) from None


def as_number(value: Any, *, file: str | Path | None, key: str, what: str = "a number") -> float:
    """A finite float from a TOML int or float (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"wrong type: got {type_name(value)}", file=file, key=key, expected=what)
    try:
        result = float(value)
    except OverflowError:  # a TOML integer beyond float range
        result = math.inf
    if not math.isfinite(result):
        raise InputError(f"not a finite number: {value!r}", file=file, key=key, expected=what)
    return result


def as_string(value: Any, *, file: str | Path | None, key: str) -> str:
    """``value`` if it is a string, else an InputError naming ``key``."""
    if not isinstance(value, str):
        raise InputError(
            f"wrong type: got {type_name(value)}", file=file, key=key, expected="a string"
        )
    return value


def as_table(value: Any, *, file: str | Path | None, key: str) -> dict[str, Any]:
    """``value`` if it is a TOML table, else an InputError naming ``key``."""
    if not isinstance(value, dict):
        raise InputError(
            f"wrong type: got {type_name(value)}", file=file, key=key, expected="a table"
        )
    return value


def type_name(value: Any) -> str:
    """How a TOML value's type reads in a message: "a string", "an array"…"""
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def check_keys(
    table: Mapping[str, Any],
    valid: tuple[str, ...] | list[str],
    *,
    file: str | Path | None,
    prefix: str,
    what: str,
) -> None:
    """Reject the first key of ``table`` not in ``valid``, naming the nearest valid keys."""
    for key in table:
        if key not in valid:
            raise InputError(
                f"unknown {what}",
                file=file,
                key=f"{prefix}{key}",
                suggestions=nearest(key, valid),
            )


def as_string_list(value: Any, *, file: str | Path | None, key: str) -> tuple[str, ...]:
    """``value`` as a tuple of strings, else an InputError naming ``key``."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("wrong type", file=file, key=key, expected="an array of strings")
    return tuple(value)
