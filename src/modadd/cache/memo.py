"""Memo: a chapter's expensive call (a training history, a particle simulation), kept on disk.

``memo(train, configs, steps=10_000, record_every=50)`` returns what ``train(...)`` returns.
The first call computes it and writes it to the run cache (:func:`modadd.default_cache_dir`,
folder ``memo``); a later call with the same function, the same arguments and the same
code loads it instead. The key hashes the function's name, its arguments and the code it
runs: :func:`modadd.cache.sources.code_hash`, the source files of its module and of every package module that
module imports, directly or through others (an edit to the figures, ``plots.py``, does not
recompute the simulations). A function from outside the package is keyed by every source
file of the package (:func:`modadd.source_hash`). So any change to the code a result
depends on computes it again: a loaded result is always what computing would give
(training and the particles are seeded). Only the wall-time field of a result (``History.seconds``) tells
them apart: it is the time of the call that computed it.

This is what makes a chapter's second execution cheap: the book build executes every
chapter and fills the cache; the test command (nbval) and a student who runs a chapter
again then load the runs and re-check every assert on them. Set ``MODADD_MEMO=0`` to
compute everything afresh.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from .. import default_cache_dir
from .sources import code_hash


def _canonical(x, h) -> None:
    """Feed a stable description of ``x`` to the hash ``h`` (arrays by their bytes)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        h.update(f"array{x.dtype.str}{x.shape}".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, (list, tuple, range)):
        h.update(f"{type(x).__name__}[{len(x)}](".encode())
        for v in x:
            _canonical(v, h)
        h.update(b")")
    elif isinstance(x, dict):
        h.update(b"dict(")
        for k in sorted(x, key=str):
            _canonical(k, h)
            _canonical(x[k], h)
        h.update(b")")
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        h.update(type(x).__qualname__.encode())
        _canonical({f.name: getattr(x, f.name) for f in dataclasses.fields(x)}, h)
    elif x is None or isinstance(x, (bool, int, float, str, np.generic)):
        h.update(f"{type(x).__name__}:{x!r};".encode())
    else:
        raise TypeError(f"memo cannot key an argument of type {type(x).__name__}; allowed: numbers, "
                        "strings, None, lists/tuples/ranges/dicts of them, arrays, tensors, dataclasses")


def memo_key(fn, *args, **kwargs) -> str:
    """The cache key of ``fn(*args, **kwargs)`` under the current code (:func:`modadd.cache.sources.code_hash`)."""
    h = hashlib.sha256(f"{fn.__module__}.{fn.__qualname__}|{code_hash(fn)}|".encode())
    _canonical(list(args), h)
    _canonical(dict(kwargs), h)
    return h.hexdigest()[:24]


def memo_dir() -> Path:
    return default_cache_dir() / "memo"


def memo(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, loaded from the run cache if this call was made before by the
    same code, else computed and stored (atomically: a file is whole or absent)."""
    if not callable(fn):
        raise TypeError(f"memo's first argument must be a function, got {fn!r}")
    if os.environ.get("MODADD_MEMO", "1") == "0":
        return fn(*args, **kwargs)
    path = memo_dir() / f"{fn.__name__}-{memo_key(fn, *args, **kwargs)}.pt"
    if path.exists():
        return torch.load(path, weights_only=False)
    out = fn(*args, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(out, tmp)
    os.replace(tmp, path)
    return out
