"""Benchmark: the batched engine against PySD on the same model, in one process.

Usage::

    python benchmarks/engine_vs_pysd.py [--model PATH] [--n 10000] [--json]

The same measurement as ``heping-sd bench`` (see :mod:`sim.commands.bench`): PySD's median
``run()`` time per run over 20 runs with different parameters, the batched engine's time
per scenario-run at n = 10,000, their ratio, the engine's cost per variable-step, and the
peak memory of a 100,000-run batch returning only the stocks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.commands import bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench.add_arguments(parser)
    return bench.main(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
