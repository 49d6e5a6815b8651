"""Batches of independent work on dask.distributed: a local cluster or any running scheduler.

`map_batches(func, batches, workers=N)` applies ``func(batch, **kwargs)`` to every batch on a
`dask.distributed` cluster and returns the results in the order of the batches; without
``workers``, ``scheduler`` or ``client`` it is a plain loop in this process (the serial path,
with the same results). `cluster(...)` opens one client for several calls.

dask is an optional dependency (``pip install polase[distributed]``); the serial path never
imports it. Tasks run with numba limited to ``threads_per_task`` threads (default 1), so
several workers on one machine do not oversubscribe its cores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .errors import PolaseError


class DistributedError(PolaseError):
    """dask.distributed is missing, or the cluster or scheduler cannot be reached."""


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise DistributedError(
            "workers/scheduler need dask.distributed: pip install 'polase[distributed]'"
        ) from None
    return distributed


@contextlib.contextmanager
def cluster(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    processes: bool = True,
    threads_per_worker: int = 1,
) -> Iterator[Any]:
    """A `distributed.Client`: on a new local cluster of `workers` workers, or on `scheduler`.

    Parameters
    ----------
    workers
        Number of local worker processes (or threads with processes=False) to start.
    scheduler
        Address of a running dask scheduler (e.g. "tcp://10.0.0.5:8786"); takes precedence
        over `workers`.
    processes
        Local workers as processes (default; real parallelism for Python code) or threads.
    threads_per_worker
        Threads per local worker.

    Yields
    ------
    distributed.Client
        Closed (with its local cluster) on exit.
    """
    distributed = _import_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise DistributedError(f"cannot reach dask scheduler {scheduler!r}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is None or int(workers) < 1:
        raise DistributedError(f"workers must be a positive integer, got {workers!r}")
    local = distributed.LocalCluster(
        n_workers=int(workers),
        threads_per_worker=int(threads_per_worker),
        processes=processes,
        dashboard_address=None,
    )
    client = distributed.Client(local)
    try:
        yield client
    finally:
        client.close()
        local.close()


def _run_task(func: Callable, batch: Any, kwargs: dict, threads: int | None) -> Any:
    """func(batch, **kwargs) with numba limited to `threads` threads (thread-local setting)."""
    if threads is None:
        return func(batch, **kwargs)
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        return func(batch, **kwargs)
    finally:
        numba.set_num_threads(before)


def map_batches(
    func: Callable,
    batches: Iterable[Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    processes: bool = True,
    threads_per_task: int | None = 1,
    **kwargs: Any,
) -> list[Any]:
    """Apply ``func(batch, **kwargs)`` to every batch; results in the order of `batches`.

    Parameters
    ----------
    func
        A picklable function (module level, or anything cloudpickle handles) of one batch.
    batches
        The batches (e.g. slices of arrays, file paths, parameter sets).
    workers
        Run on a new local dask cluster of this many workers (closed afterwards).
    scheduler
        Run on the running dask scheduler at this address.
    client
        Run on this `distributed.Client` (from `cluster`), e.g. to reuse one cluster.
    processes
        With `workers`: workers are processes (default) or threads.
    threads_per_task
        numba threads inside each task (None: leave numba's setting).
    **kwargs
        Passed to every call of func (sent to the workers once).

    Returns
    -------
    list
        ``[func(b, **kwargs) for b in batches]``. Without workers, scheduler and client, that
        loop runs here (no dask import).

    Raises
    ------
    DistributedError
        dask.distributed is not installed, or the scheduler cannot be reached.
    Exception
        The first exception raised by a task, re-raised here.
    """
    batches = list(batches)
    if client is None and workers is None and scheduler is None:
        return [func(b, **kwargs) for b in batches]
    if client is not None:
        return _submit(client, func, batches, kwargs, threads_per_task)
    with cluster(workers, scheduler, processes=processes) as c:
        return _submit(c, func, batches, kwargs, threads_per_task)


def _submit(client, func, batches: Sequence, kwargs: dict, threads: int | None) -> list:
    if not batches:
        return []
    # the batches go to the cluster as data (scatter), not inside the task graph
    data = client.scatter(batches, hash=False)
    futures = [client.submit(_run_task, func, d, kwargs, threads, pure=False) for d in data]
    return client.gather(futures)
