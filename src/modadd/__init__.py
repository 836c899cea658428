"""modadd: the machinery of the textbook on how a tiny network learns modular addition.

Modules, one idea each, in the order data flows through them:

* ``validate``: every argument check, called at the public entry points only;
* ``data``: the task, its train/validation split (``PairSplit``) and the unordered pairs;
* ``model``: the network for a batch of models, and its exact gradients;
* ``optim``: parameter groups and one AdamW step on a flat vector;
* ``numerics``: subnormal floats flushed to zero on every thread (a run's bits do not
  depend on the thread count or its batch);
* ``train``: the one batched trainer (``RunConfig``, ``train``, ``History``);
* ``structure``: circle and grid scores, and the class of an embedding;
* ``stats``: how often each class forms, with Wilson intervals (sweeps and particles alike);
* ``biases``: how much the biases weigh in the first layer (chapter 6's relative size), a
  start with scaled biases, and a cut on it judged on held-out runs;
* ``decay``: chapter 6's interventions on weight decay and the biases, summarised (shares
  with Wilson intervals per setting, and whether a run keeps its structure), and what decay
  does inside a run (weight norms, softmax confidence, spread of the pair gradient);
* ``forces`` (a package: ``fields``, ``kernels``, ``mesh``, ``fit``): clustering,
  alignment and repulsion forces, and how much of the true gradient they explain;
* ``particles``: particles moved by those forces alone;
* ``agreement``: does a network end in the same structure as the particles started from
  its initial embeddings (class, circle order, lattice rule; chapter 5);
* ``reference``: the same network the textbook way (nn.Module, autograd,
  torch.optim.AdamW), the benchmarks' baseline u;
* ``sweep``: many runs, cached; ``cluster``: sweeps on a Dask cluster;
* ``memo``: one expensive call (a training history, a simulation) kept in the same cache;
* ``plots``: every figure; ``widget``: the live widget (training and particles in the
  browser, in Jupyter and on the site);
* ``checks``, ``classroom``, ``kit``: exercise checkers, student notebooks and grading,
  the course kit; ``__main__``: the command line (``python -m modadd sweep|student|grade``);
* ``provenance``: when and where a stored measurement was made, and whether the code it
  describes changed since.
"""
import os
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
    from importlib.metadata import PackageNotFoundError, version
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
    import hashlib
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
    code does. A downloaded notebook checks it (see :mod:`modadd.kit`). The kit's wheel
    carries it as its version, so pip installs a newer kit's wheel over an older one; an
    editable install has pyproject.toml's version, without the hash."""
    return local_version(__version__.split('+')[0])
