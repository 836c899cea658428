"""Memo: a chapter's expensive call (a training history, a particle simulation), kept on disk.

``memo(train, configs, steps=10_000, record_every=50)`` returns what ``train(...)`` returns.
The first call computes it and writes it to the run cache (:func:`modadd.default_cache_dir`,
folder ``memo``); a later call with the same function, the same arguments and the same
code loads it instead. The key hashes the function's name, its arguments and the code it
runs: :func:`code_hash`, the source files of its module and of every package module that
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

import ast
import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from . import default_cache_dir, source_hash


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


PACKAGE = __name__.split(".")[0]


def _module_file(root: Path, name: str) -> Path | None:
    """The source file of package module ``name`` ("modadd.forces.fit") under ``root``."""
    parts = name.split(".")[1:]
    for path in (root.joinpath(*parts).with_suffix(".py") if parts else None,
                 root.joinpath(*parts, "__init__.py")):
        if path is not None and path.is_file():
            return path
    return None


def _imported(root: Path, name: str, path: Path) -> set[str]:
    """The package modules that the file of module ``name`` imports (every import statement,
    those inside functions included), and the packages that contain them."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            bases, names = [a.name for a in node.names], []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            bases, names = [base], [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for mod in bases + names:           # ``from . import x``: x may be a module
            if mod.split(".")[0] == PACKAGE and _module_file(root, mod) is not None:
                parts = mod.split(".")
                found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return found


def code_files(module: str, package_dir: Path | str | None = None) -> list[Path]:
    """The source files that importing package module ``module`` runs: its own, its
    packages' ``__init__.py``, and those of every package module it imports, followed
    through the imports (static: dynamic imports are not seen). Sorted."""
    root = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    todo, seen = [module], set()
    parts = module.split(".")
    todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(root, name)
        if path is None:
            raise ValueError(f"{name!r} is not a module of the {PACKAGE} package under {root}")
        todo += sorted(_imported(root, name, path) - seen)
    return sorted(_module_file(root, n) for n in seen)


def code_hash(fn, package_dir: Path | str | None = None) -> str:
    """Short SHA-256 of the code ``fn`` runs: :func:`code_files` of its module (relative
    path and bytes) for a function of the package, :func:`modadd.source_hash` otherwise."""
    module = getattr(fn, "__module__", None) or ""
    if module.split(".")[0] != PACKAGE:
        return source_hash(package_dir)
    root = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in code_files(module, root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:10]


def memo_key(fn, *args, **kwargs) -> str:
    """The cache key of ``fn(*args, **kwargs)`` under the current code (:func:`code_hash`)."""
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
