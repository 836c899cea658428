"""Binder launch buttons (book/_ext/launch_buttons.py): configured from BOOK_REPOSITORY_URL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from launch_buttons import LaunchConfigError, launch_options  # noqa: E402


def test_no_address_no_buttons():
    assert launch_options({}) == {}
    assert launch_options({"BOOK_REPOSITORY_URL": "  "}) == {}


def test_address_gives_binder_options():
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://github.com/someone/modadd-book.git/"})
    assert opts["repository_url"] == "https://github.com/someone/modadd-book"
    assert opts["repository_branch"] == "main" and opts["use_repository_button"] is True
    assert opts["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert opts["launch_buttons"]["notebook_interface"] == "jupyterlab"
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://gitlab.com/a/b", "BOOK_REPOSITORY_BRANCH": "v2",
                           "BOOK_BINDERHUB_URL": "https://hub.example.org/binder/"})
    assert opts["repository_branch"] == "v2"
    assert opts["launch_buttons"]["binderhub_url"] == "https://hub.example.org/binder"


@pytest.mark.parametrize("env, match", [
    ({"BOOK_REPOSITORY_URL": "github.com/a/b"}, "BOOK_REPOSITORY_URL must look like .*'github.com/a/b'"),
    ({"BOOK_REPOSITORY_URL": "http://github.com/a/b"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_REPOSITORY_BRANCH": "x y"}, "BOOK_REPOSITORY_BRANCH"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_BINDERHUB_URL": "ftp://hub"}, "BOOK_BINDERHUB_URL"),
])
def test_bad_values_are_named(env, match):
    with pytest.raises(LaunchConfigError, match=match):
        launch_options(env)


CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
1 + 1
```
"""

CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = ["myst_nb", "launch_buttons"]
html_theme = "sphinx_book_theme"
nb_execution_mode = "off"
html_theme_options = {{"path_to_docs": "", "use_download_button": True,
                      "launch_buttons": {{"notebook_interface": "jupyterlab", "binderhub_url": ""}}}}
"""


def _build(tmp_path, monkeypatch, url):
    from sphinx.cmd.build import build_main
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text(CONF.format(ext=str(ROOT / "book" / "_ext")))
    (src / "index.md").write_text("# Home\n\n```{toctree}\nbook/ch\n```\n")
    (src / "book" / "ch.md").write_text(CHAPTER)
    if url:
        monkeypatch.setenv("BOOK_REPOSITORY_URL", url)
    else:
        monkeypatch.delenv("BOOK_REPOSITORY_URL", raising=False)
    out = tmp_path / "html"
    assert build_main(["-b", "html", "-q", "-E", str(src), str(out)]) == 0
    return (out / "book" / "ch.html").read_text()


def test_built_chapter_has_a_binder_button_that_opens_it(tmp_path, monkeypatch):
    html = _build(tmp_path, monkeypatch, "https://github.com/someone/modadd-book")
    assert "https://mybinder.org/v2/gh/someone/modadd-book/main?urlpath=lab/tree/book/ch.md" in html


def test_built_chapter_without_an_address_has_no_launch_button(tmp_path, monkeypatch):
    html = _build(tmp_path, monkeypatch, "")
    assert "mybinder" not in html and "v2/gh" not in html
