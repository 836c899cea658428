"""Sweeps on a Dask cluster: batches of runs sent to Dask workers, results brought back.

:func:`modadd.runs.sweep.run_sweep` (and ``python -m modadd sweep``) calls this when given a
cluster: a scheduler address (``"tcp://HOST:PORT"``), a number of local worker processes,
or a ``distributed.Client``. The unit of work is one batch of runs, so each worker keeps
the batched trainer's speed. A worker *returns* its batch's results (a few small arrays per
run); the sweep writes them into its cache as they arrive, so the cluster needs no shared
filesystem, and runs already cached are never sent.

* A worker that dies mid-sweep: Dask runs its tasks again on another worker.
* An interrupted client: every result received is already in the cache; the same sweep
  again sends only what is missing.
* A worker with a GPU trains there (the trainer picks CUDA when it is available).
* Before anything is sent, the Dask packages and ours (Python, torch, numpy and a hash of
  the training code) are compared between this process and every worker; any difference
  is an error, because a run's cache key assumes this process's training code. Each
  result carries its worker's versions and is checked again (workers may join later).

Workers need the same environment as the client: this package (``pip install -e .`` of
the same checkout) and the pinned requirements.
"""
from __future__ import annotations

import logging
import os
import platform
import sys
import uuid

import numpy as np
import torch

from . import sweep

__all__ = ["ClusterError", "CONNECT_TIMEOUT_S", "versions", "worker_task", "train_on_cluster", "local_cores"]

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 10


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


def worker_task(configs, steps: int, device, threads: int | None) -> dict:
    """What a worker runs: one batch, with its versions for the client to check."""
    if threads is not None:
        torch.set_num_threads(threads)
    return {"versions": versions(), "results": sweep.train_batch(configs, steps, device)}


def _differences(mine: dict, theirs: dict) -> list[str]:
    return [f"{k}: client {mine.get(k)}, worker {theirs.get(k)}"
            for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]


def _connect(cluster, timeout: float = CONNECT_TIMEOUT_S):
    """(client, close): a ``distributed.Client`` for ``cluster`` and how to let it go
    (``timeout``: seconds to wait for a scheduler at an address)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:                     # pragma: no cover - pinned in requirements.txt
        raise ClusterError("sweeps on a cluster need the 'distributed' package "
                           "(pip install -r requirements.txt)") from e
    if isinstance(cluster, Client):
        return cluster, lambda: None
    if isinstance(cluster, int) and not isinstance(cluster, bool):
        if cluster < 1:
            raise ValueError(f"a local cluster needs at least one worker, got workers={cluster}")
        local = LocalCluster(n_workers=cluster, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(local, set_as_default=False)

        def close():
            client.close()
            local.close()
        return client, close
    if not isinstance(cluster, str) or not cluster.strip():
        raise ValueError("cluster must be a scheduler address 'tcp://HOST:PORT', a number of local "
                         f"workers or a distributed.Client, got {cluster!r}")
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


def train_on_cluster(cluster, batches, steps: int, *, device=None, threads: int | None = None,
                     connect_timeout: float = CONNECT_TIMEOUT_S):
    """Train ``batches`` (lists of RunConfig) on ``cluster``; yield ``(k, results)`` for batch
    ``k`` as each finishes (``results`` as :func:`modadd.runs.sweep.train_batch` gives them).

    ``threads``: torch threads per task (None: the worker's setting; a local cluster of K
    workers gets this machine's cores divided by K). Closing the generator (the sweep
    finished, failed or was interrupted) cancels what is still in flight and lets go of a
    cluster it started or connected to (a given Client stays open). ``connect_timeout``:
    seconds to wait for a scheduler at an address.
    """
    from distributed import as_completed

    if threads is None and isinstance(cluster, int) and not isinstance(cluster, bool) and cluster > 0:
        threads = max(1, local_cores() // cluster)
    client, close = _connect(cluster, connect_timeout)
    futures = {}
    try:
        _check_versions(client)
        mine = versions()
        tag = uuid.uuid4().hex[:8]
        for k, batch in enumerate(batches):
            f = client.submit(worker_task, list(batch), steps, device, threads, key=f"modadd-batch-{tag}-{k}")
            futures[f] = k
        for f in as_completed(list(futures), loop=client.loop):
            k = futures.pop(f)
            try:
                out = f.result()
            except Exception as e:
                c = batches[k][0]
                raise ClusterError(f"a batch of {len(batches[k])} runs (the first: {c.describe()}, n={c.model.n}) "
                                   f"failed on the cluster: {type(e).__name__}: {e}") from None
            diff = _differences(mine, out["versions"])
            if diff:
                raise ClusterError("version mismatch between this client and a worker; results would not "
                                   "match their cache keys: " + "; ".join(diff))
            f.release()
            yield k, out["results"]
    finally:
        if futures:
            try:
                client.cancel(list(futures))
            except Exception:                    # the cluster may already be gone
                pass
        close()
