"""Sweeps: many runs, trained in batches, cached on disk run by run.

A run is kept in the run cache (:mod:`modadd.cache.store`, kind "runs") under the key of
``train(config, steps)`` (:func:`run_key`): a hash of its full configuration, its number of
steps and the source of the code that trains it (``data``, ``model``, ``train`` and the
modules they import), so a cached result is reused only if retraining would reproduce it.
Each finished batch is written at once, one file per run, atomically: an interrupted sweep
(Ctrl-C, a killed process) loses at most the batches in flight, and running the same sweep
again trains only what is missing. With the cache switched off (``MODADD_MEMO=0``) every
run is trained and nothing is written.

The batches can also run on any :class:`concurrent.futures.Executor` (``executor=``): a
process pool, or a Dask cluster (:class:`modadd.runs.cluster.DaskExecutor`): workers return
their results and this process writes them into the cache as they arrive, so the cluster
needs no shared filesystem, and runs already cached are never sent. A run whose loss becomes non-finite does not stop the sweep: it is cached as a
failure (``RunResult.error``) and its table row says so (class ``"diverged"``).

A run also leaves its **prefixes** in the cache: trained for ``steps``, it passes through
every step of :data:`PREFIX_STEPS` below ``steps``, and the parameters and metrics it has
there are, bit for bit, those of a run of that many steps (the trainer's arithmetic for a
step does not depend on how many follow; ``tests/unit/test_sweep.py`` checks it). So a
later sweep of the same configs at 1,000 steps loads them instead of training again.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..analysis import structure
from ..cache import sources, store
from ..core.model import Params
from ..core.train import DivergenceError, RunConfig, train


#: Steps at which a longer run's state is also cached as the result of a run that long.
PREFIX_STEPS = (100, 300, 1_000, 2_000, 3_000, 5_000)


#: The run cache's kind for a sweep's runs (:func:`modadd.cache.store.path`).
KIND = "runs"


def code_hash() -> str:
    """Hash of the source files that determine a run's result: the trainer's module and
    every package module it imports (:func:`modadd.cache.sources.code_hash`; the part of
    :func:`run_key` that a Dask cluster's workers must share with this process)."""
    return sources.code_hash(train)


def run_key(cfg: RunConfig, steps: int) -> str:
    """Cache key of one run: the key of ``train(cfg, steps)`` (:func:`modadd.cache.store.key`):
    its configuration, its steps and the training code."""
    return store.key(train, cfg, int(steps))


@dataclass
class RunResult:
    """One finished run: its config, final parameters (a batch of one) and final metrics.

    A run that diverged has ``error`` set (the trainer's message), ``final`` None and NaN
    metrics. ``cached`` says whether it was loaded from the cache rather than trained by
    this call.
    """

    config: RunConfig
    steps: int
    final: Params | None
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float
    error: str | None = None
    cached: bool = False

    @property
    def embeddings(self) -> np.ndarray:
        """(n, 2) final embeddings (NaN for a run that diverged)."""
        if self.final is None:
            return np.full((self.config.model.n, self.config.model.dim), np.nan)
        return self.final.E[0].numpy()


def train_batch(configs: list[RunConfig], steps: int, device=None) -> list[dict]:
    """Train one batch; one result per run, as plain arrays (what a cache file holds).

    A run's result is ``{"E": ..., "W1": ..., "b1": ..., "W2": ..., "b2": ..., "metrics":
    [train_loss, val_loss, train_acc, val_acc], "prefixes": {k: the same at step k}}`` for
    every k of :data:`PREFIX_STEPS` below ``steps``, or ``{"error": message}`` if its loss
    became non-finite. The trainer stops a whole batch when one run diverges, so such a
    batch is split in halves and trained again until every diverging run is alone.
    """
    prefixes = [k for k in PREFIX_STEPS if 0 < k < steps]
    try:
        h = train(configs, steps=steps, record_every=prefixes + [steps] if steps else 1,
                  record_params=True, progress=False, device=device)
    except DivergenceError as e:
        if len(configs) == 1:
            return [{"error": str(e).replace("run 0 (", "run (", 1)}]
        half = (len(configs) + 1) // 2
        return train_batch(configs[:half], steps, device) + train_batch(configs[half:], steps, device)

    def state(j, t):
        row = {k: v[j, t].numpy() for k, v in zip(Params.NAMES, h.params.tensors())}
        row["metrics"] = np.array([h.train_loss[j, t], h.val_loss[j, t],
                                   h.train_acc[j, t], h.val_acc[j, t]], dtype=np.float64)
        return row

    at = {int(s): t for t, s in enumerate(h.steps)}
    return [state(j, at[steps]) | {"prefixes": {k: state(j, at[k]) for k in prefixes}}
            for j in range(len(configs))]


def _stored(result: dict) -> dict:
    """What the cache keeps of one result of :func:`train_batch` (its prefixes apart)."""
    if "error" in result:
        return {"error": str(result["error"]), "metrics": np.full(4, np.nan)}
    return {k: np.asarray(result[k]) for k in Params.NAMES + ("metrics",)}


def _result(cfg: RunConfig, steps: int, kept: dict, cached: bool = False) -> RunResult:
    """The :class:`RunResult` of what :func:`_stored` keeps."""
    m = [float(v) for v in kept["metrics"]]
    if "error" in kept:
        return RunResult(cfg, steps, None, *m, error=kept["error"], cached=cached)
    final = Params(*(torch.from_numpy(kept[k]).unsqueeze(0) for k in Params.NAMES))
    return RunResult(cfg, steps, final, *m, cached=cached)


def _batches(configs: list[RunConfig], todo: list[int], batch_size: int) -> list[list[int]]:
    """Indices of the runs to train, grouped by shape, optimiser and Adam constants, cut into batches
    (the same batches in-process and on a cluster, so both give the same numbers)."""
    groups: dict = {}
    for i in todo:
        c = configs[i]
        groups.setdefault((c.model.n, c.model.dim, c.model.hidden, c.optimizer, c.betas, c.eps), []).append(i)
    return [idx[j:j + batch_size] for idx in groups.values() for j in range(0, len(idx), batch_size)]


def _trained(batches: list[list[RunConfig]], steps: int, device, executor: Executor | None):
    """Yield ``(k, results)`` for batch ``k`` as each finishes (``results`` as
    :func:`train_batch` gives them): in this process, in order, without an executor; else
    every batch submitted at once, yielded as they complete. Closing the generator cancels
    the batches still pending."""
    if executor is None:
        for k, batch in enumerate(batches):
            yield k, train_batch(batch, steps, device)
        return
    pending = {}
    try:
        for k, batch in enumerate(batches):
            pending[executor.submit(train_batch, batch, steps, device)] = k
        for f in as_completed(list(pending)):
            yield pending.pop(f), f.result()
    finally:
        for f in pending:
            f.cancel()


def run_sweep(configs: list[RunConfig], steps: int = 10_000, *, cache_dir=None, batch_size: int = 64,
              progress: bool | None = None, device=None, on_batch=None,
              executor: Executor | None = None) -> list[RunResult]:
    """Results of every config (in order), training only those not in the cache.

    Args:
        configs: the runs; any mix (runs are grouped by shape, optimiser and betas before
            batching: a batch shares them).
        steps: training steps of every run.
        cache_dir: the run cache's folder (default :func:`modadd.default_cache_dir`).
        batch_size: models trained together in one batch.
        progress: show a progress bar over runs (None: only if something must be trained).
        device: torch device of the training (default: CUDA if available, else CPU; on a
            cluster, each worker's own).
        on_batch: called with the number of runs trained so far after each finished batch.
        executor: where batches are trained: None (this process, one batch after another),
            or a :class:`concurrent.futures.Executor` given each batch as a call of
            :func:`train_batch`: a process pool, Dask's ``client.get_executor()``, or
            :class:`modadd.runs.cluster.DaskExecutor` (which adds Dask's version checks).
            The results are written as they come back, in the order they finish.

    Raises:
        ValueError: bad arguments.
        Exception: what the executor raises for a batch (a
            :class:`modadd.runs.cluster.ClusterError` on a cluster). Results received before
            are kept.
    """
    configs = list(configs)
    if not all(isinstance(c, RunConfig) for c in configs):
        raise ValueError("configs must be a list of RunConfig")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got batch_size={batch_size!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got steps={steps!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise ValueError(f"executor must be a concurrent.futures.Executor or None, got {executor!r}")
    steps = int(steps)
    keys = [run_key(c, steps) for c in configs]
    todo, queued = [], set()                 # a config listed twice is trained once
    for i, k in enumerate(keys):
        if not store.has(KIND, k, cache_dir) and k not in queued:
            todo.append(i)
            queued.add(k)
    batches = _batches(configs, todo, batch_size)
    finished = _trained([[configs[i] for i in b] for b in batches], steps, device, executor)
    bar = tqdm(total=len(configs), initial=len(configs) - len(todo), disable=progress is False or not todo,
               unit="run", file=sys.stderr, desc=f"sweep ({len(todo)} to train)")
    done, trained = 0, {}
    try:
        for k, results in finished:          # in the order they finish
            for i, result in zip(batches[k], results):
                kept = _stored(result)
                store.save(KIND, keys[i], kept, cache_dir)
                if not store.enabled():
                    trained[keys[i]] = kept  # the cache is off: returned from memory
                for k_steps, state in result.get("prefixes", {}).items():
                    prefix = run_key(configs[i], k_steps)
                    if not store.has(KIND, prefix, cache_dir):
                        store.save(KIND, prefix, _stored(state), cache_dir)
            done += len(batches[k])
            bar.update(len(batches[k]))
            if on_batch is not None:
                on_batch(done)
    finally:
        bar.close()
        finished.close()                     # an executor's batches still pending are cancelled
        if done and os.environ.get("MODADD_RUN_LOG"):
            with open(os.environ["MODADD_RUN_LOG"], "a") as log:   # runs this process trained
                log.write(f"{done}\n")       # (the book build counts them per chapter)
    return [_result(c, steps, store.load(KIND, k, cache_dir) if store.enabled() else trained[k], cached=k not in queued)
            for c, k in zip(configs, keys)]


def results_table(results: list[RunResult]):
    """A tidy pandas table, one row per run: config, final metrics, structure class and scores."""
    scored = {}                              # run index -> scores, one batch per embedding shape
    for shape in {r.embeddings.shape for r in results if r.error is None}:
        idx = [i for i, r in enumerate(results) if r.error is None and r.embeddings.shape == shape]
        scored.update(zip(idx, structure.scores_many(np.stack([results[i].embeddings for i in idx]))))
    rows = []
    for i, r in enumerate(results):
        row = r.config.row()
        row.update(steps=r.steps, train_loss=r.train_loss, val_loss=r.val_loss,
                   train_acc=r.train_acc, val_acc=r.val_acc)
        if r.error is None:
            row.update(scored[i])
        else:                                # a diverged run: no structure to score
            row.update(circle_score=np.nan, circle_k=np.nan, grid_score=np.nan, **{"class": "diverged"})
        row["error"] = r.error or ""
        rows.append(row)
    return pd.DataFrame(rows)
