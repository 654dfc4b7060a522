"""Helpers the commands share: finding the model and its catalogues, loading the engine."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.errors import InputError


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """``--model PATH``: the Vensim model to simulate (the shipped Heping model by default)."""
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="MDL",
        help="Vensim model file; its levers.toml and targets.toml are read from beside it "
        "(default: the shipped model/heping.mdl)",
    )


def model_file(args: argparse.Namespace) -> Path:
    """The model file the command works on; an InputError if it does not exist."""
    if args.model is None:
        from sim.resources import model_path

        path = model_path()
    else:
        path = Path(args.model)
    if not path.is_file():
        raise InputError("no such model file", file=path, expected="a Vensim .mdl file")
    return path


def load_engine_model(path: Path) -> Any:
    """Parse and compile the model with the batched engine."""
    from sim.engine import load_model

    return load_model(path)


@contextlib.contextmanager
def progress_bar(total: int, label: str, *, enabled: bool) -> Iterator[Callable[..., None]]:
    """Yield ``advance(done, total=None)``, drawing a rich progress bar on stderr when enabled.

    ``advance`` moves the bar on by ``done`` units; a new ``total`` extends the work (for
    example when a further calibration wave starts).
    """
    if not enabled:
        yield lambda done, total=None: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(done: int, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            bar.advance(task, done)

        yield advance
