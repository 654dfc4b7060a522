"""Refuse model files that could make PySD run code, before PySD's parser sees them.

Model files are untrusted input. PySD's Vensim translator (3.14) calls Python's ``eval()`` on
the text between the brackets of a lookup range (``[(x0,y0)-(x1,y1)]``; its grammar accepts
any text there), and PySD's Python builder copies names, units and comments into generated
Python source (comments become docstrings). We never use that builder, but the reference
engine (``pysd.read_vensim``) does, so a file must be safe for both.

The rules, checked on the raw text of the model part (the sketch after ``\\\\\\---///`` is
ignored by PySD):

1. every bracketed text in an equation is either a subscript list (no parentheses, quotes
   or backslashes) or a lookup range made only of plain numbers:
   ``[(number,number)-(number,number)]``, optionally with more ``(number,number)`` points;
2. no triple quotes (``\"\"\"`` or ``'''``) anywhere: they could close a generated
   docstring or string;
3. in units and comments, no backslash next to a quote character (PySD 3.14 writes names
   and units with ``repr`` and turns comment backslashes into newlines, so this only guards
   against a builder that would not).

Vensim's line continuation (a backslash at the end of a line) is allowed everywhere.

A violation raises :class:`~sim.errors.InputError` naming the file, the line, the element
and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import InputError

_SKETCH_MARKER = "\\\\\\---///"
_NUMBER = r"\s*[+-]?\s*(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\s*"
_POINT = rf"\(\s*{_NUMBER},{_NUMBER}\)"
_NUMERIC_RANGE = re.compile(rf"\s*{_POINT}\s*-\s*{_POINT}\s*(?:,?\s*{_POINT}\s*)*")
_SUBSCRIPT_LIST = re.compile(r"[^()\[\]'\"\\`]*")
_QUOTED_NAME = re.compile(r'"(?:[^"\\]|\\.)*"')
_CONTINUATION = re.compile(r"\\[ \t]*(?:\r\n|\r|\n)")
_RISKY_BACKSLASH = re.compile(r"\\[ \t]*[\"']|[\"']\\")


def read_model_text(path: str | Path) -> str:
    """The model file decoded as PySD decodes it (UTF-8, else Latin-1)."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def check_model_file(path: str | Path) -> None:
    """Raise :class:`~sim.errors.InputError` if the model file could run code in PySD.

    Parameters
    ----------
    path
        A Vensim ``.mdl`` file.
    """
    check_model_text(read_model_text(path), path)


def check_model_text(text: str, path: str | Path = "<model>") -> None:
    """Check a model's text; see the module docstring for the rules."""
    model = text.split(_SKETCH_MARKER, 1)[0]
    for quotes in ('"""', "'''"):
        offset = model.find(quotes)
        if offset >= 0:
            _refuse(path, model, offset, f"triple quotes {quotes} in the model text", "none")
    for entry_start, entry in _entries(model):
        equation, _, rest = entry.partition("~")
        _check_equation(path, model, entry_start, equation)
        risky = _RISKY_BACKSLASH.search(rest)
        if risky:
            offset = entry_start + len(equation) + 1 + risky.start()
            _refuse(
                path,
                model,
                offset,
                "a backslash next to a quote in units or a comment",
                "no backslash beside a quote character",
            )


def _entries(model: str):
    """(offset, text) of each ``|``-terminated entry, ignoring ``|`` inside quoted names."""
    start = 0
    i = 0
    while i < len(model):
        char = model[i]
        if char == '"':
            match = _QUOTED_NAME.match(model, i)
            i = match.end() if match else i + 1
            continue
        if char == "|":
            yield start, model[start:i]
            start = i + 1
        i += 1
    if model[start:].strip():
        yield start, model[start:]


def _check_equation(path, model: str, entry_start: int, equation: str) -> None:
    # Offsets are kept: continuations become spaces, quoted names (which may hold
    # brackets and escaped quotes; PySD writes names with repr) become underscores.
    equation = _CONTINUATION.sub(lambda m: " " * len(m.group(0)), equation)
    blanked = _QUOTED_NAME.sub(lambda m: '"' + "_" * (len(m.group(0)) - 2) + '"', equation)
    depth_start = None
    for i, char in enumerate(blanked):
        if char == "[" and depth_start is None:
            depth_start = i
        elif char == "]" and depth_start is not None:
            inside = blanked[depth_start + 1 : i]
            original = equation[depth_start + 1 : i]
            if not (_SUBSCRIPT_LIST.fullmatch(inside) or _NUMERIC_RANGE.fullmatch(original)):
                _refuse(
                    path,
                    model,
                    entry_start + depth_start,
                    f"bracketed text '[{_preview(original)}]' is neither a subscript list nor "
                    "a numeric lookup range",
                    "[(xmin,ymin)-(xmax,ymax)] with plain numbers, or [subscript, …]",
                )
            depth_start = None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _refuse(path, model: str, offset: int, what: str, expected: str) -> None:
    line = model.count("\n", 0, offset) + 1
    entry_start = max(model.rfind("|", 0, offset), 0)
    head = [
        text.strip()
        for text in model[entry_start:offset].lstrip("|").splitlines()
        if text.strip() and not text.strip().startswith(("{", "*"))
    ]
    element = head[0].split("=")[0].split("(")[0].split("[")[0].strip() if head else ""
    key = f"line {line}" + (f" ({element})" if element else "")
    raise InputError(
        f"refused: {what}; PySD would pass it to eval() or into generated Python",
        file=path,
        key=key,
        expected=expected,
    )
