"""The run cache: one key and one store for every result kept on disk (the sweeps' runs, the
chapters' memoised calls, the structure fits).

:func:`key` names the result of a call ``fn(*args, **kwargs)``: a hash of the function's
name, the code it runs (:func:`modadd.cache.sources.code_hash`: its module and every package
module that module imports, so an edit to the figures recomputes nothing and an edit to the
optimiser retrains every run) and its arguments (arrays by dtype, shape and bytes,
dataclasses by their fields). A result is reused only while computing it again would give
it, bit for bit (training and the particles are seeded).

The store keeps each result as one file, ``<folder>/<kind>/<key>.pt`` (``torch.save``), in
:func:`modadd.default_cache_dir` or another folder; ``kind`` ("runs", "memo", "scores") keeps
apart two uses of one function whose stored forms differ. A file is written to a temporary
name and renamed: it is whole or absent, so an interrupted process loses only what it had
not finished. ``MODADD_MEMO=0`` switches the store off (:func:`enabled`): nothing is loaded
or written, every result is computed afresh.
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


def enabled() -> bool:
    """Whether results are loaded from and written to the store (``MODADD_MEMO`` is not "0")."""
    return os.environ.get("MODADD_MEMO", "1") != "0"


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
        raise TypeError(f"the run cache cannot key an argument of type {type(x).__name__}; allowed: numbers, "
                        "strings, None, lists/tuples/ranges/dicts of them, arrays, tensors, dataclasses")


def key(fn, *args, **kwargs) -> str:
    """The key of ``fn(*args, **kwargs)`` under the current code: ``<fn's name>-<hash>``."""
    h = hashlib.sha256(f"{fn.__module__}.{fn.__qualname__}|{code_hash(fn)}|".encode())
    _canonical(list(args), h)
    _canonical(dict(kwargs), h)
    return f"{fn.__name__}-{h.hexdigest()[:24]}"


def path(kind: str, k: str, folder: Path | str | None = None) -> Path:
    """The file of result ``k`` (a :func:`key`) of ``kind`` in ``folder`` (default
    :func:`modadd.default_cache_dir`)."""
    return Path(folder if folder is not None else default_cache_dir()) / kind / f"{k}.pt"


def has(kind: str, k: str, folder: Path | str | None = None) -> bool:
    """Whether the store holds result ``k`` (always False when the store is off)."""
    return enabled() and path(kind, k, folder).exists()


def load(kind: str, k: str, folder: Path | str | None = None):
    """Result ``k``, as it was saved (raises FileNotFoundError if the store has none)."""
    return torch.load(path(kind, k, folder), weights_only=False)


def save(kind: str, k: str, value, folder: Path | str | None = None) -> None:
    """Keep ``value`` as result ``k``, atomically (nothing when the store is off)."""
    if not enabled():
        return
    p = path(kind, k, folder)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f"{p.stem}.tmp{os.getpid()}")
    torch.save(value, tmp)
    os.replace(tmp, p)                         # atomic: a file is whole or absent


def cached(kind: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, loaded from the store if this call was made before by the same
    code, else computed and saved."""
    if not enabled():
        return fn(*args, **kwargs)
    k = key(fn, *args, **kwargs)
    if has(kind, k):
        return load(kind, k)
    out = fn(*args, **kwargs)
    save(kind, k, out)
    return out
