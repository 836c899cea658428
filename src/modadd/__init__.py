"""modadd: the machinery of the textbook on how a tiny network learns modular addition.

Modules, one idea each: ``data`` (the task and its split), ``model`` (the network and its
exact gradients), ``train`` (the one batched trainer), ``structure`` (circle and grid
scores), ``forces`` (clustering, alignment and repulsion forces fitted to the true
gradient), ``sweep`` (many runs, cached), ``plots`` (every figure), ``widget`` (the live
widget: training and particles in the browser, in Jupyter and on the site).
"""
from pathlib import Path

_here = Path(__file__).resolve().parents[2]
#: The source checkout this package is installed from (editable install), else None.
REPO_ROOT = _here if (_here / "pyproject.toml").exists() and (_here / "src" / "modadd").is_dir() else None


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


def build_id() -> str:
    """The version plus the sources' hash, e.g. ``0.1.0+3f9a0c12de``: it changes whenever the
    code does. A downloaded notebook checks it (see :mod:`modadd.kit`)."""
    return f"{__version__}+{source_hash()}"
