"""User-facing input errors.

Every problem caused by what a user gave us (a model file, a scenario file, a command-line
value) is raised as :class:`InputError`. The command line prints it as one line and exits
with code 2; it never shows a traceback for bad input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

EXIT_BAD_INPUT = 2


class InputError(Exception):
    """Bad input: names the file, the key, what was expected and the nearest valid names.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The file the problem is in, if any.
    key
        The key, element or option that is wrong, if any.
    expected
        What would have been accepted.
    suggestions
        Nearest valid names (see :func:`nearest`).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        key: str | None = None,
        expected: str | None = None,
        suggestions: Iterable[str] = (),
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        self.expected = expected
        self.suggestions = list(suggestions)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as a single line: ``file: key: message (expected …; did you mean …?)``."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.key:
            parts.append(self.key)
        head = ": ".join([*parts, self.message])
        tails = []
        if self.expected:
            tails.append(f"expected {self.expected}")
        if self.suggestions:
            tails.append("did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?")
        text = head + (" (" + "; ".join(tails) + ")" if tails else "")
        return " ".join(text.split())


def nearest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (case-insensitive), best first.

    Always returns at least one name when ``valid`` is not empty, so that a message can
    point somewhere even for a wild typo.
    """
    valid = list(valid)
    if not valid:
        return []
    lowered = {v.lower(): v for v in valid}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.0)
    return [lowered[c] for c in close]
