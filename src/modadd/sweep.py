"""Sweeps: many runs, trained in batches, cached on disk run by run.

A run's cache key is a hash of its full configuration, its number of steps and the source
of the code that trains it (``data.py``, ``model.py``, ``train.py``), so a cached result
is reused only if retraining would reproduce it. Each finished batch is written at once,
one file per run, atomically (write to a temporary file, then rename): an interrupted
sweep (Ctrl-C, a killed process) loses at most the batch in flight, and running the same
sweep again trains only what is missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import REPO_ROOT
from .model import Params
from .train import RunConfig, train

_CODE = ("data.py", "model.py", "train.py")


def code_hash() -> str:
    """Hash of the source files that determine a run's result."""
    h = hashlib.sha256()
    for name in _CODE:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def run_key(cfg: RunConfig, steps: int) -> str:
    """Cache key of one run: its configuration, its steps and the training code."""
    row = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.row().items()}
    blob = json.dumps({"config": row, "steps": int(steps), "code": code_hash()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    """``$MODADD_CACHE``, else ``_build/sweep_cache`` in a source checkout, else ~/.cache/modadd."""
    if os.environ.get("MODADD_CACHE"):
        return Path(os.environ["MODADD_CACHE"])
    if REPO_ROOT is not None:
        return REPO_ROOT / "_build" / "sweep_cache"
    return Path.home() / ".cache" / "modadd"


@dataclass
class RunResult:
    """One finished run: its config, final parameters (a batch of one) and final metrics."""

    config: RunConfig
    steps: int
    final: Params
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float

    @property
    def embeddings(self) -> np.ndarray:
        """(n, 2) final embeddings."""
        return self.final.E[0].numpy()


def _save(path: Path, r: RunResult) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    np.savez(tmp, **{k: t[0].numpy() for k, t in zip(Params.NAMES, r.final.tensors())},
             metrics=np.array([r.train_loss, r.val_loss, r.train_acc, r.val_acc]))
    os.replace(tmp, path)                      # atomic: a file is either whole or absent


def _load(path: Path, cfg: RunConfig, steps: int) -> RunResult:
    with np.load(path) as z:
        final = Params(*(torch.from_numpy(z[k]).unsqueeze(0) for k in Params.NAMES))
        m = z["metrics"]
    return RunResult(cfg, steps, final, *map(float, m))


def run_sweep(configs: list[RunConfig], steps: int = 10_000, *, cache_dir=None, batch_size: int = 64,
              progress: bool | None = None, device=None, on_batch=None) -> list[RunResult]:
    """Results of every config (in order), training only those not in the cache.

    Args:
        configs: the runs; any mix, as long as runs of one batch share shapes and betas
            (runs are grouped by shape and betas before batching).
        steps: training steps of every run.
        cache_dir: where results live (default :func:`default_cache_dir`).
        batch_size: models trained together in one batch.
        progress: show a progress bar over runs (None: only if something must be trained).
        on_batch: called with the number of runs trained so far after each finished batch.
    """
    configs = list(configs)
    if not all(isinstance(c, RunConfig) for c in configs):
        raise ValueError("configs must be a list of RunConfig")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got batch_size={batch_size!r}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    paths = [cache / f"{run_key(c, steps)}.npz" for c in configs]
    todo, queued = {}, set()                 # a config listed twice is trained once
    for i, p in enumerate(paths):
        if not p.exists() and p not in queued:
            todo[i] = p
            queued.add(p)
    groups: dict = {}
    for i in todo:
        c = configs[i]
        groups.setdefault((c.model.n, c.model.dim, c.model.hidden, c.betas, c.eps), []).append(i)
    batches = [idx[j:j + batch_size] for idx in groups.values() for j in range(0, len(idx), batch_size)]
    bar = tqdm(total=len(todo), disable=progress is False or not todo, unit="run", file=sys.stderr,
               desc=f"sweep: training {len(todo)} of {len(configs)} runs")
    done = 0
    try:
        for batch in batches:
            h = train([configs[i] for i in batch], steps=steps, record_every=steps or 1,
                      record_params=False, progress=False, device=device)
            for j, i in enumerate(batch):
                r = RunResult(configs[i], steps, h.final[j],
                              float(h.train_loss[j, -1]), float(h.val_loss[j, -1]),
                              float(h.train_acc[j, -1]), float(h.val_acc[j, -1]))
                _save(paths[i], r)
            done += len(batch)
            bar.update(len(batch))
            if on_batch is not None:
                on_batch(done)
    finally:
        bar.close()
    return [_load(p, c, steps) for c, p in zip(configs, paths)]


def results_table(results: list[RunResult]):
    """A tidy pandas table, one row per run: config, final metrics, structure class and scores."""
    import pandas as pd

    from . import structure

    rows = []
    for r in results:
        row = r.config.row()
        row.update(steps=r.steps, train_loss=r.train_loss, val_loss=r.val_loss,
                   train_acc=r.train_acc, val_acc=r.val_acc)
        row.update(structure.scores(r.embeddings))
        rows.append(row)
    return pd.DataFrame(rows)


def wilson_interval(k, n, z: float = 1.96):
    """95% Wilson score interval for a proportion k/n (arrays allowed); (lo, hi)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    den = 1 + z ** 2 / n
    centre = (p + z ** 2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / den
    return centre - half, centre + half


def class_fractions(table, by: list[str], classes=("circle", "grid", "other")):
    """Share of each structure class per setting, with 95% Wilson intervals.

    Returns a long table: the ``by`` columns, ``class``, ``count``, ``runs``, ``fraction``,
    ``lo``, ``hi``.
    """
    import pandas as pd

    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        for c in classes:
            k, n = int((g["class"] == c).sum()), len(g)
            lo, hi = wilson_interval(k, n)
            rows.append(dict(zip(by, key), **{"class": c, "count": k, "runs": n,
                                              "fraction": k / n, "lo": float(lo), "hi": float(hi)}))
    return pd.DataFrame(rows)
