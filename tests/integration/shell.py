"""A reader's shell for the tests that install the kits outside the repository
(test_kit, test_course, test_publish): one environment, so they all mean the same by it."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(home: Path) -> dict[str, str]:
    """An environment with no trace of this repository or its .venv, HOME at ``home`` (made
    if missing); pip's download cache stays the user's (what it holds pip would download
    again), and two threads for OpenMP."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MODADD_", "VIRTUAL_ENV", "PYTHON", "JUPYTER", "IPYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not Path(p).resolve().is_relative_to(ROOT))
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["OMP_NUM_THREADS"] = "2"
    return env
