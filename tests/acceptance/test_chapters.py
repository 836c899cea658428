"""Every chapter runs top to bottom under nbval, as a student's notebook would.

Chapters are MyST-Markdown notebooks; nbval reads .ipynb, so each is converted with
jupytext into a temporary folder first. Outputs are not compared (``--nbval-lax``): the
chapters' own asserts check every number the prose states.
"""
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from modadd.teaching.classroom import chapters

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.acceptance


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + [c for part in toc.get("parts", []) for c in part["chapters"]]
    while stack:
        entry = stack.pop(0)
        files.append(entry["file"])
        stack = list(entry.get("sections", [])) + stack
    return [ROOT / (f if f.endswith(".md") else f + ".md") for f in files]


CHAPTERS = chapters(ROOT)


def run_nbval(md: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    nb = jupytext.read(md)
    ipynb = tmp_path / (md.stem + ".ipynb")
    jupytext.write(nb, ipynb)
    env = {k: v for k, v in os.environ.items() if k != "MODADD_BOOK_BUILD"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
         "-c", os.devnull, "--rootdir", str(tmp_path), str(ipynb)],
        cwd=md.parent, env=env, capture_output=True, text=True, timeout=1200)


def test_every_toc_entry_exists():
    missing = [str(p) for p in toc_files() if not p.exists()]
    assert not missing and len(CHAPTERS) >= 2


@pytest.mark.slow                         # minutes a chapter, more on a cold sweep cache
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_executes_under_nbval(chapter, tmp_path):
    r = run_nbval(chapter, tmp_path)
    assert r.returncode == 0, f"{chapter.name} failed under nbval:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    assert " passed" in r.stdout and "failed" not in r.stdout


@pytest.mark.slow                         # starts a kernel under nbval
def test_a_chapter_that_raises_fails(tmp_path):
    bad = tmp_path / "bad.md"
    good_header = CHAPTERS[0].read_text().split("---")[1]
    bad.write_text("---" + good_header + "---\n\n# Bad\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
                   "```{code-cell} ipython3\nassert x == 2, 'the prose lied'\n```\n")
    r = run_nbval(bad, tmp_path)
    assert r.returncode != 0 and "the prose lied" in r.stdout
