"""Sweeps on a Dask cluster: the chunks of :func:`sim.sweep.run_sweep` run on the workers.

The client (this process) loads and checks the sweep, computes the design points and
assembles the results, exactly as for a local sweep; :class:`DaskExecutor` only sends each
chunk's design points to a worker and brings its result back. The same seed therefore gives
the same Dataset, whichever workers ran which chunks and in which order.

What a worker receives is data: the model file's *text* with its sha256, the chunk's
:class:`~sim.sweep.ChunkTask` and its design points. A worker checks the hash, checks the
text with :mod:`sim.safety` and compiles it with the batched engine itself (never
code compiled elsewhere); :func:`worker_model` keeps the compiled model in the worker
process, keyed by that hash, so each worker compiles a model once per sweep and not once
per chunk.

A worker that dies mid-sweep loses its running and finished-but-unfetched chunks; the
scheduler runs them again on another worker (``distributed.scheduler.allowed-failures``
times), and since a chunk is a pure function of its inputs the result does not change.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import uuid
from collections import OrderedDict, deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.errors import InputError
from sim.sweep import BatchModel, Chunk, ChunkTask

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a scheduler before giving up (``--connect-timeout``)."""
DEFAULT_RETRIES = 2
"""Times a chunk that raised an unexpected error is tried again (on top of the scheduler's
own rescheduling of the chunks a dead worker was running)."""
KEY_PREFIX = "heping-sd-chunk"
"""Task keys are ``heping-sd-chunk-<sweep token>-<first run>`` (the dashboard groups them)."""


class WorkersLostError(RuntimeError):
    """A chunk killed every worker that tried it (``distributed.scheduler.allowed-failures``
    + 1 of them): most often it needs more memory than a worker has."""


@dataclass(frozen=True)
class ModelSource:
    """A model file as shipped to the workers: its name, bytes and sha256."""

    name: str
    text: bytes
    sha256: str

    @classmethod
    def from_model(cls, model: BatchModel) -> ModelSource:
        """The file a loaded engine model was compiled from, checked against its hash.

        Raises
        ------
        InputError
            If the model has no file (a stand-in model) or the file changed since loading.
        """
        path = getattr(model, "path", None)
        expected = getattr(model, "sha256", None)
        if path is None or expected is None:
            raise InputError(
                "a Dask sweep needs a model loaded from a file (sim.load_model)", key="model"
            )
        text = Path(path).read_bytes()
        if hashlib.sha256(text).hexdigest() != expected:
            raise InputError(
                "the model file changed after it was loaded",
                file=path,
                expected="an unchanged file during the sweep",
            )
        return cls(name=Path(path).name, text=text, sha256=expected)


# --------------------------------------------------------------------------- worker side

_WORKER_MODELS: OrderedDict[str, Any] = OrderedDict()
"""The worker process's compiled models, by sha256 of the model text (most recent last).

An explicit cache, and the only state a worker keeps between chunks: a model is compiled
on the first chunk of a sweep that needs it and reused for the others. It holds at most
:data:`WORKER_CACHE_SIZE` models; the engine's ``Model`` keeps no run state, so reusing
it cannot change a result."""
WORKER_CACHE_SIZE = 4
_WORKER_USES: dict[str, int] = {}


def worker_model(source: ModelSource) -> Any:
    """The compiled model for ``source``, compiled in this process on first use.

    The text is checked against its sha256 and, by :func:`sim.load_model`, against the
    safety rules before PySD's parser sees it. The model runs one engine thread: a worker
    process is one core's worth of work (``threads_per_worker=1``), so threads inside it
    would only compete with the other workers.
    """
    if hashlib.sha256(source.text).hexdigest() != source.sha256:
        raise InputError("the model text does not match its sha256", file=source.name)
    model = _WORKER_MODELS.get(source.sha256)
    if model is None:
        from sim.engine import load_model

        folder = Path(tempfile.mkdtemp(prefix="heping-sd-model-"))
        try:
            # the same file name, since results record it; only a name, never a path
            path = folder / (Path(source.name).name or "model.mdl")
            path.write_bytes(source.text)
            model = load_model(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        model.threads = 1
        _WORKER_MODELS[source.sha256] = model
        while len(_WORKER_MODELS) > WORKER_CACHE_SIZE:
            evicted, _ = _WORKER_MODELS.popitem(last=False)
            _WORKER_USES.pop(evicted, None)
    _WORKER_MODELS.move_to_end(source.sha256)
    _WORKER_USES[source.sha256] = _WORKER_USES.get(source.sha256, 0) + 1
    return model


def worker_cache_info() -> dict[str, int]:
    """sha256 → chunks served, for each model compiled in this process (for tests, logs)."""
    return {sha: _WORKER_USES.get(sha, 0) for sha in _WORKER_MODELS}


def run_chunk_on_worker(
    source: ModelSource, task: ChunkTask, start: int, points: np.ndarray
) -> xr.Dataset | InputError:
    """The task a worker runs: one chunk of a sweep.

    A problem with the input (NaN in a run, a year the runs do not save) is returned, not
    raised: it would be the same on every try, so Dask should not retry it; the client
    raises it.
    """
    try:
        return task.run_chunk(worker_model(source), start, points)
    except InputError as err:
        return err


def worker_version() -> str:
    """The heping-sd version a worker runs (checked against the client's)."""
    from sim import __version__

    return __version__


# --------------------------------------------------------------------------- client side


class DaskExecutor:
    """Runs the chunks of a sweep on a dask.distributed cluster (:class:`sim.sweep.ChunkExecutor`).

    Parameters
    ----------
    client
        A connected ``distributed.Client`` (see :func:`dask_client`).
    retries
        Further tries of a chunk that raised an unexpected error.
    in_flight
        Chunks submitted and not yet collected; by default twice the cluster's threads
        (read again as workers come and go), so that every worker has its next chunk
        queued while the client collects, and no more chunk inputs and results wait in
        memory than that.
    """

    def __init__(
        self, client: Any, *, retries: int = DEFAULT_RETRIES, in_flight: int | None = None
    ) -> None:
        self.client = client
        self.retries = retries
        self.in_flight = in_flight

    def _window(self) -> int:
        if self.in_flight is not None:
            return max(1, self.in_flight)
        return max(2, 2 * sum(self.client.nthreads().values()))

    def map(
        self, model: BatchModel, task: ChunkTask, chunks: Sequence[Chunk], points: np.ndarray
    ) -> Generator[tuple[Chunk, xr.Dataset], None, None]:
        """Submit the chunks a few at a time; yield each result as it arrives."""
        from distributed import KilledWorker, as_completed

        source = ModelSource.from_model(model)
        token = uuid.uuid4().hex[:12]  # distinct keys for each sweep on a shared cluster
        remaining = deque(chunks)
        outstanding: dict[str, tuple[Any, Chunk]] = {}
        running = as_completed(loop=self.client.loop)

        def fill() -> None:
            window = self._window()
            while remaining and len(outstanding) < window:
                start, stop = remaining.popleft()
                future = self.client.submit(
                    run_chunk_on_worker,
                    source,
                    task,
                    start,
                    points[start:stop],
                    key=f"{KEY_PREFIX}-{token}-{start}",
                    retries=self.retries,
                    pure=False,
                )
                outstanding[future.key] = (future, (start, stop))
                running.add(future)

        try:
            fill()
            for future in running:
                _, chunk = outstanding.pop(future.key)
                try:
                    result = future.result()
                except KilledWorker as err:
                    raise WorkersLostError(
                        f"runs {chunk[0]}–{chunk[1] - 1} of the sweep: every worker that ran "
                        f"them died ({err})".replace("\n", " ")
                    ) from None
                future.release()
                if isinstance(result, InputError):
                    raise result
                fill()
                yield chunk, result
        finally:
            # an error, or the caller stopping early: leave no chunk running on the cluster
            running.clear()
            if outstanding:
                self.client.cancel([future for future, _ in outstanding.values()])


@contextlib.contextmanager
def dask_client(
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Iterator[Any]:
    """A ``distributed.Client`` on a new local cluster, or on an existing cluster.

    Parameters
    ----------
    workers
        Start a local cluster of this many worker processes, one thread each (the engine
        in each runs one thread too, so N workers keep N cores busy); it is shut down on
        exit.
    scheduler
        Instead, connect to a running scheduler, e.g. ``tcp://HOST:8786``; its workers must
        run the same heping-sd version (checked).
    connect_timeout
        Seconds to wait for the scheduler.

    Raises
    ------
    InputError
        For a worker count below 1, an address that cannot be reached in time, or workers
        without the same heping-sd.
    """
    from distributed import Client, LocalCluster

    if (workers is None) == (scheduler is None):
        raise ValueError("give either workers or scheduler")
    if workers is not None:
        if workers < 1:
            raise InputError(f"invalid value {workers}", key="--workers", expected="N ≥ 1")
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,  # no port to collide with on a shared machine
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield client
        return
    _check_address(scheduler)
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(
            f"cannot connect to a Dask scheduler at {scheduler!r} within "
            f"{connect_timeout:g} s ({reason})",
            key="--scheduler",
            expected="the address a running dask scheduler prints, such as tcp://HOST:8786",
        ) from None
    with client:
        check_workers(client)
        yield client


def _check_address(address: str) -> None:
    """Refuse an address no Dask comm can use, before a client is made for it."""
    from distributed.comm.addressing import parse_address
    from distributed.comm.registry import backends

    scheme, location = parse_address(address, strict=False)
    if scheme not in backends or not location:
        raise InputError(
            f"{address!r} is not a Dask scheduler address",
            key="--scheduler",
            expected=f"SCHEME://HOST:PORT with SCHEME one of {', '.join(sorted(backends))}",
        )


def check_workers(client: Any) -> None:
    """Make sure every connected worker runs the client's heping-sd version.

    A chunk is computed by the worker's engine; another version could give other numbers
    while the results record this one.
    """
    from sim import __version__

    try:
        versions = client.run(worker_version)
    except Exception as err:  # the worker could not even import the function
        raise InputError(
            f"the cluster's workers cannot run heping-sd ({type(err).__name__}: {err})",
            key="--scheduler",
            expected=f"heping-sd {__version__} installed on every worker",
        ) from None
    other = {address: v for address, v in versions.items() if v != __version__}
    if other:
        raise InputError(
            "workers run another heping-sd version: "
            + ", ".join(f"{a} has {v}" for a, v in sorted(other.items())),
            key="--scheduler",
            expected=f"heping-sd {__version__} on every worker",
        )
