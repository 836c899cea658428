"""Sweeps on a Dask cluster: a :class:`concurrent.futures.Executor` that sends batches of
runs to Dask workers and brings their results back.

:func:`modadd.runs.sweep.run_sweep` (and ``python -m modadd sweep``) takes any executor;
this one adds what a cluster needs. Give it a scheduler address (``"tcp://HOST:PORT"``), a
number of local worker processes, or a ``distributed.Client``::

    with DaskExecutor("tcp://HOST:8786") as ex:
        results = run_sweep(configs, steps, executor=ex)

The unit of work is one batch of runs, so each worker keeps the batched trainer's speed. A
worker *returns* its batch's results (a few small arrays per run); the sweep writes them
into its cache as they arrive, so the cluster needs no shared filesystem, and runs already
cached are never sent (the executor connects, or starts its local cluster, at the first
batch it is given: a sweep with every run cached contacts nothing).

* A worker that dies mid-sweep: Dask runs its tasks again on another worker.
* An interrupted client: every result received is already in the cache; the same sweep
  again sends only what is missing.
* A worker with a GPU trains there (the trainer picks CUDA when it is available).
* Before anything is sent, the Dask packages and ours (Python, torch, numpy and a hash of
  the training code) are compared between this process and every worker; any difference
  is an error, because a run's cache key assumes this process's training code. Each
  result carries its worker's versions and is checked again (workers may join later).

Workers need the same environment as the client: this package (``pip install -e .`` of
the same checkout) and the pinned requirements. Dask itself is optional: it is imported
when a cluster is first used.
"""
from __future__ import annotations

import logging
import os
import platform
import sys
import threading
import uuid
from concurrent.futures import Executor, Future, InvalidStateError

import numpy as np
import torch

from ..core.validate import check_number
from . import sweep

__all__ = ["ClusterError", "CONNECT_TIMEOUT_S", "DaskExecutor", "versions", "worker_task", "local_cores"]

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 10

#: Seconds of one wait for a finished task's result; between waits the executor checks
#: whether it is letting go of the cluster (a wait on a closed connection never ends).
FETCH_WAIT_S = 1.0


class ClusterError(RuntimeError):
    """The cluster could not be reached, disagrees on versions, or failed a batch."""


def versions() -> dict:
    """What must agree between the client and every worker for results to be valid."""
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "modadd training code": sweep.code_hash()}


def local_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                       # not on Linux
        return os.cpu_count() or 1


def worker_task(fn, args: tuple, threads: int | None) -> dict:
    """What a worker runs: ``fn(*args)`` (with ``threads`` torch threads), with its versions
    for the client to check."""
    if threads is not None:
        torch.set_num_threads(threads)
    return {"versions": versions(), "result": fn(*args)}


def _differences(mine: dict, theirs: dict) -> list[str]:
    return [f"{k}: client {mine.get(k)}, worker {theirs.get(k)}"
            for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]


def _connect(cluster, timeout: float):
    """(client, close): a ``distributed.Client`` for ``cluster`` and how to let it go
    (``timeout``: seconds to wait for a scheduler at an address)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:                     # pragma: no cover - pinned in requirements.txt
        raise ClusterError("sweeps on a cluster need the 'distributed' package "
                           "(pip install -r requirements.txt)") from e
    if isinstance(cluster, Client):
        return cluster, lambda: None
    if isinstance(cluster, int):
        local = LocalCluster(n_workers=cluster, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(local, set_as_default=False)

        def close():
            client.close()
            local.close()
        return client, close
    address = cluster.strip()
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as e:                       # OSError, TimeoutError, ValueError (bad address)
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                           f"({type(e).__name__}: {e}); is a scheduler running there "
                           "(dask scheduler), and is its port open to this machine?") from None
    return client, client.close


def _check_versions(client) -> None:
    """Dask's own check (required packages) and ours (Python, torch, numpy, training code)."""
    try:
        client.get_versions(check=True)          # warns about optional packages, raises on required ones
    except ValueError as e:
        raise ClusterError(f"Dask versions differ between this client, the scheduler and the workers:\n{e}") from None
    try:
        theirs = client.run(versions)
    except Exception as e:
        raise ClusterError("the workers cannot run modadd: install the same environment there "
                           f"(this package and requirements.txt) ({type(e).__name__}: {e})") from None
    mine = versions()
    bad = {w: d for w, v in theirs.items() if (d := _differences(mine, v))}
    if bad:
        raise ClusterError("version mismatch between this client and the workers; results would not "
                           "match their cache keys:\n" + "\n".join(
                               f"  {w}: " + "; ".join(d) for w, d in sorted(bad.items())))
    if not theirs:
        print("sweep: the scheduler has no workers yet; the batches wait for one to join",
              file=sys.stderr)


def _describe(args: tuple) -> str:
    """A task's work in words, for an error: the batch of runs it trains, where it is one."""
    batch = args[0] if args and isinstance(args[0], list) else []
    if batch and hasattr(batch[0], "describe"):
        return f"a batch of {len(batch)} runs (the first: {batch[0].describe()}, n={batch[0].model.n})"
    return "a task"


class _Task(Future):
    """The client's side of one task: cancelling it cancels the task on the cluster."""

    def __init__(self, remote):
        super().__init__()
        self.remote = remote

    def cancel(self) -> bool:
        # this future first, so that the cluster's "cancelled" callback finds it settled
        # and asks the cluster for nothing
        if not super().cancel():
            return False
        try:
            self.remote.cancel()
        except Exception:                        # the cluster may already be gone
            pass
        return True


def _settle(task: Future, result=None, error: BaseException | None = None) -> None:
    """Give ``task`` its result or error, unless it was cancelled meanwhile."""
    try:
        if error is not None:
            task.set_exception(error)
        else:
            task.set_result(result)
    except InvalidStateError:                    # cancelled by the client
        pass


class DaskExecutor(Executor):
    """A :class:`concurrent.futures.Executor` on a Dask cluster, for
    :func:`modadd.runs.sweep.run_sweep` (``executor=``).

    Args:
        cluster: a scheduler address ``"tcp://HOST:PORT"``, a positive int K (a local cluster
            of K worker processes, started at the first task and stopped at shutdown), or a
            ``distributed.Client`` (left open at shutdown).
        threads: torch threads of each task (None: the worker's setting; a local cluster of
            K workers gets this machine's cores divided by K).
        connect_timeout: seconds to wait for a scheduler at an address (None:
            :data:`CONNECT_TIMEOUT_S`).

    Nothing is contacted before the first :meth:`submit`, which connects and compares
    versions (:class:`ClusterError` when the scheduler cannot be reached or versions
    differ). A task that fails on the cluster, or whose worker's versions differ, fails
    with a :class:`ClusterError`.
    """

    def __init__(self, cluster, threads: int | None = None, connect_timeout: float | None = None):
        if isinstance(cluster, bool) or (isinstance(cluster, int) and cluster < 1):
            raise ValueError(f"a local cluster needs at least one worker, got workers={cluster}")
        if not isinstance(cluster, int) and (isinstance(cluster, str) and not cluster.strip()
                                             or not isinstance(cluster, str) and not hasattr(cluster, "submit")):
            raise ValueError("cluster must be a scheduler address 'tcp://HOST:PORT', a number of local "
                             f"workers or a distributed.Client, got {cluster!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got threads={threads!r}")
        if threads is None and isinstance(cluster, int):
            threads = max(1, local_cores() // cluster)
        self.cluster, self.threads = cluster, threads
        connect_timeout = check_number("connect_timeout", connect_timeout, strict=True, allow_none=True)
        self.connect_timeout = CONNECT_TIMEOUT_S if connect_timeout is None else connect_timeout
        self._client, self._close, self._mine = None, None, None
        self._letting_go = False
        self._tag, self._count, self._lock = uuid.uuid4().hex[:8], 0, threading.Lock()

    def _connected(self):
        if self._client is None:
            client, close = _connect(self.cluster, self.connect_timeout)
            try:
                _check_versions(client)
            except BaseException:
                close()
                raise
            self._client, self._close, self._mine = client, close, versions()
            self._letting_go = False
        return self._client

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if kwargs:
            raise TypeError("DaskExecutor.submit takes positional arguments only")
        client = self._connected()
        with self._lock:
            key, self._count = f"modadd-{self._tag}-{self._count}", self._count + 1
        remote = client.submit(worker_task, fn, args, self.threads, key=key, pure=False)
        task = _Task(remote)
        remote.add_done_callback(lambda r: self._finish(r, task, args))
        return task

    def _finish(self, remote, task: _Task, args: tuple) -> None:
        """Hand a finished task's result (or its failure) to the client's future.

        Runs on Dask's callback thread, which Python waits for at exit: it must not wait on
        a connection that is being closed (an interrupted sweep would then never exit)."""
        if task.done() or self._letting_go:     # cancelled, or the cluster is being let go
            return
        try:
            out = self._fetch(remote)
            if out is None:
                return
        except Exception as e:
            return _settle(task, error=ClusterError(f"{_describe(args)} failed on the cluster: "
                                                     f"{type(e).__name__}: {e}"))
        diff = _differences(self._mine, out["versions"])
        if diff:
            return _settle(task, error=ClusterError("version mismatch between this client and a worker; results "
                                                     "would not match their cache keys: " + "; ".join(diff)))
        remote.release()
        _settle(task, result=out["result"])

    def _fetch(self, remote):
        """A finished task's output, waited for in short waits (None once the executor lets
        go of the cluster); a task's own failure is raised."""
        while not self._letting_go:
            try:
                return remote.result(timeout=FETCH_WAIT_S)
            except TimeoutError:
                if remote.status == "error":     # the task itself raised TimeoutError
                    raise
        return None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let go of the cluster: stop a local cluster started here, close a connection
        made here (a given Client stays open, and its results still arrive)."""
        self._letting_go = self._client is not None and self._client is not self.cluster
        if self._close is not None:
            self._close()
        self._client = self._close = None
