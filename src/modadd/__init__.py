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
