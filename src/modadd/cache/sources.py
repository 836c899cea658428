"""Which source files a computation runs, and their hash: the code part of every cache key.

A stored result (a trained run, a memoised chapter call, a structure fit) is reused only
while the code that computed it is unchanged. That code is the module of the function and
every package module it imports, directly or through others: :func:`code_files` follows the
import statements of the package's source files (static; those inside functions included),
and :func:`code_hash` hashes those files' paths and bytes. The run cache's key
(:func:`modadd.cache.store.key`) holds the code hash of the function whose result it keeps:
the trainer's for a sweep's runs, the memoised function's for a chapter's call, the
structure module's for its fits. An edit to the figures (``plots``) then recomputes
nothing; an edit to the optimiser retrains every run. No torch, no numpy.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from .. import source_hash

PACKAGE = __name__.split(".")[0]
_ROOT = Path(__file__).resolve().parents[1]     # the package: src/modadd


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
                pkg = package.split(".")
                up = pkg[:len(pkg) - node.level + 1]
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
    through the imports (static: dynamic imports are not seen). Sorted. Found once per
    process."""
    return list(_code_files(module, Path(package_dir) if package_dir is not None else _ROOT))


@functools.lru_cache(maxsize=64)
def _code_files(module: str, root: Path) -> tuple[Path, ...]:
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
    return tuple(sorted(_module_file(root, n) for n in seen))


def code_hash(fn, package_dir: Path | str | None = None) -> str:
    """Short SHA-256 of the code ``fn`` runs: :func:`code_files` of its module (relative
    path and bytes) for a function of the package (or a module's name, "modadd.core.train"),
    :func:`modadd.source_hash`, every source file, otherwise.

    For the package this process imported (``package_dir`` None) the files are hashed once
    per process: the code a process runs is the code it read at import, so a file edited
    later must not lend its hash to results the old code computes."""
    module = fn if isinstance(fn, str) else getattr(fn, "__module__", None) or ""
    if module.split(".")[0] != PACKAGE:
        return source_hash(package_dir)
    if package_dir is None:
        return _imported_hash(module)
    return _hash(module, Path(package_dir))


@functools.lru_cache(maxsize=64)
def _imported_hash(module: str) -> str:
    return _hash(module, _ROOT)


def _hash(module: str, root: Path) -> str:
    h = hashlib.sha256()
    for p in code_files(module, root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:10]
