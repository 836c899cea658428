"""What several integration tests share: a one-chapter Sphinx site built with the book's
own extensions (``book/_ext``), for the launch buttons and the course kit links."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SITE_CONF = """
import sys
sys.path.insert(0, {ext!r})
extensions = {extensions!r}
html_theme = "sphinx_book_theme"
nb_execution_mode = "off"
html_theme_options = {{"path_to_docs": "", "use_download_button": True,
                      "launch_buttons": {{"notebook_interface": "jupyterlab", "binderhub_url": ""}}}}
"""

#: The front matter that makes a MyST-Markdown file a notebook (shared with test_book_ext).
FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

CHAPTER = FRONT_MATTER.replace("{", "{{").replace("}", "}}") + """
# A chapter

```{{code-cell}} ipython3
{code}
```
"""

INDEX = "# Home\n\n```{toctree}\nbook/ch\n```\n"


@pytest.fixture
def tiny_site(tmp_path):
    """A builder of a one-chapter site under ``tmp_path``; returns the HTML folder.

    ``build(code, extensions, conf="", files=None, index=INDEX, strict=False)``: the chapter
    ``book/ch.md`` holds one code cell ``code`` (not executed); ``extensions`` are Sphinx's
    (the book's own found in ``book/_ext``); ``conf`` is appended to ``conf.py``; ``files``
    maps a path in the source folder to its text, or to a Path to copy, or to
    ``("link", Path)`` for a symbolic link; ``index`` is the root page (None: none, when
    ``conf`` names another root); ``strict`` turns warnings into errors (``-W``).
    """
    def build(code: str, extensions: list[str], *, conf: str = "", files: dict | None = None,
              index: str | None = INDEX, strict: bool = False) -> Path:
        from sphinx.cmd.build import build_main
        src = tmp_path / "src"
        (src / "book").mkdir(parents=True)
        (src / "conf.py").write_text(SITE_CONF.format(ext=str(ROOT / "book" / "_ext"), extensions=extensions) + conf)
        (src / "book" / "ch.md").write_text(CHAPTER.format(code=code))
        if index is not None:
            (src / "index.md").write_text(index)
        for rel, what in (files or {}).items():
            path = src / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(what, tuple) and what[0] == "link":
                path.symlink_to(what[1])
            elif isinstance(what, Path):
                shutil.copy2(what, path)
            else:
                path.write_text(what)
        out = tmp_path / "html"
        assert build_main(["-b", "html", "-q", "-E", *(["-W"] if strict else []), str(src), str(out)]) == 0
        return out
    return build
