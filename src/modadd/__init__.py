"""modadd: the machinery of the textbook on how a tiny network learns modular addition.

Subpackages by role, each importing only those before it (``tests/unit/test_imports.py``):

* ``core``: ``validate``, ``data``, ``model``, ``optim``, ``numerics``, ``train`` (the one
  batched trainer: ``RunConfig``, ``train``, ``History``) and ``reference`` (the same network
  the textbook way, the benchmarks' baseline u);
* ``cache``: ``sources`` (the code part of every cache key), ``store`` (the one key and
  store of every result kept on disk: runs, structure fits, chapter calls) and ``memo``
  (one expensive call kept there);
* ``analysis``: ``structure`` (circle and grid scores, the class of an embedding) and
  ``stats`` (how often each class forms, with Wilson intervals);
* ``forces`` (``fields``, ``kernels``, ``mesh``, ``fit``, ``law``): clustering, alignment and
  repulsion forces, and how much of the true gradient they explain;
* ``particles``: particles moved by those forces alone;
* ``runs``: ``sweep`` (many runs, cached) and ``cluster`` (sweeps on a Dask cluster);
* ``studies``: ``biases`` and ``decay`` (chapter 6), ``agreement`` (chapter 5);
* ``plots``: every figure; ``widget``: the live widget (training and particles in the
  browser, in Jupyter and on the site);
* ``teaching``: ``checks``, ``classroom`` (exercise checkers, student notebooks, grading) and
  ``setup_check`` (the first cell of a downloaded notebook);
* ``__main__``: the command line (``python -m modadd sweep|student|grade``).

The project's own tools (the course kits' builder, chapter timing, benchmark provenance)
live beside the package, in the repository's ``tools/``, not in the wheel.
"""
import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: The instruction set every numerical library computes with (set here, before torch computes
#: anything, unless the environment already says otherwise): AVX2 on every x86 machine, so a
#: seeded run gives the same bits with or without AVX-512 (a wider vector sums in another
#: order). ``scripts/pin_isa.sh`` sets the same, and numpy's, for the book's build and tests.
PINNED_ISA = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
for _k, _v in PINNED_ISA.items():
    os.environ.setdefault(_k, _v)

_here = Path(__file__).resolve().parents[2]
#: The source checkout this package is installed from (editable install), else None.
REPO_ROOT = _here if (_here / "pyproject.toml").exists() and (_here / "src" / "modadd").is_dir() else None


def default_cache_dir() -> Path:
    """Where trained runs, memoised calls and structure scores are kept: ``$MODADD_CACHE``,
    else ``_build/sweep_cache`` in a source checkout, else ~/.cache/modadd."""
    if os.environ.get("MODADD_CACHE"):
        return Path(os.environ["MODADD_CACHE"])
    if REPO_ROOT is not None:
        return REPO_ROOT / "_build" / "sweep_cache"
    return Path.home() / ".cache" / "modadd"


def _installed_version() -> str:
    try:
        return version("modadd")
    except PackageNotFoundError:        # imported from src/ without being installed
        return "0+unknown"


#: The package's version (pyproject.toml's, as installed).
__version__ = _installed_version()


def source_hash(package_dir: Path | str | None = None) -> str:
    """Short SHA-256 of the package's sources: every ``.py`` and ``web/*.js`` file (relative
    path and bytes), so an installed wheel and the checkout it was built from agree exactly
    when their code does. ``package_dir``: another copy of the package (default: this one)."""
    root = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    files = sorted(p for p in [*root.rglob("*.py"), *(root / "web").glob("*.js")]
                   if "__pycache__" not in p.parts)
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:10]


def local_version(base: str, package_dir: Path | str | None = None) -> str:
    """``base`` plus the sources' hash as a PEP 440 local version, e.g. ``0.1.0+g3f9a0c12de``.

    The ``g`` keeps the local part from being all digits: pip normalises a numeric local part
    (``+0433671976`` becomes ``+433671976``), and a wheel named with one would not be the
    file its version names."""
    return f"{base}+g{source_hash(package_dir)}"


def build_id() -> str:
    """The version plus the sources' hash (:func:`local_version`): it changes whenever the
    code does. A downloaded notebook checks it (see :mod:`modadd.teaching.setup_check`). The kit's wheel
    carries it as its version, so pip installs a newer kit's wheel over an older one; an
    editable install has pyproject.toml's version, without the hash."""
    return local_version(__version__.split('+')[0])
