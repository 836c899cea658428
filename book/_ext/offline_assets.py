"""Serve every script the site needs from the site itself (no CDN), so it works offline.

* plotly.js: copied from the installed ``plotly`` package into ``_static/vendor/`` and
  loaded only on pages that contain a plotly figure.
* MathJax 3 (``book/_vendor/mathjax``, vendored from npm): Sphinx's ``mathjax_path``
  points at it; Sphinx loads it only on pages with math.
* The live widget (:mod:`modadd.widget`, an anywidget): pages that carry widget state get
  require.js, ``@jupyter-widgets/html-manager``'s ``embed-amd.js`` and a script pointing
  require.js at anywidget's front-end module, all from ``_static/vendor/widgets/``
  (``nb_ipywidgets_js`` in ``_config.yml``; ``book/_vendor/widgets/`` holds them, and
  anywidget's module is copied from the installed Python package so the two match). The
  widget then runs in the page, with no kernel and no other host.

It also publishes every chapter as a notebook, in full and as a student version
(``modadd.classroom``), under ``notebooks/``, with links at the top of each chapter.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import plotly
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MATHJAX = HERE.parent / "_vendor" / "mathjax"
WIDGETS = HERE.parent / "_vendor" / "widgets"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _page_context(app, pagename, templatename, context, doctree):
    body = context.get("body", "")
    if "Traceback (most recent call last)" in body:
        # e.g. a figure whose display failed: IPython prints that as output, not as an error
        logger.warning("page %s shows a Python traceback in an output", pagename)
    # Sphinx 7.4 can list one inline script twice (sphinx-thebe's ``const THEBE_JS_URL``),
    # which is a SyntaxError in the browser: keep the first copy of each script.
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (getattr(js, "filename", str(js)) or "", str(getattr(js, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"][:] = unique      # in place: later add_js_file calls append to it
    stem = pagename.rsplit("/", 1)[-1]
    if stem in _notebook_stems(app):
        up = "../" * pagename.count("/")
        links = (f'<p class="modadd-downloads">Run this chapter yourself: download it as a notebook '
                 f'(<a href="{up}notebooks/{stem}.ipynb" download>{stem}.ipynb</a>, or the '
                 f'<a href="{up}notebooks/student/{stem}.ipynb" download>student version</a> with '
                 f'the answers removed).</p>')
        context["body"] = body.replace("</h1>", "</h1>\n" + links, 1)
    if "plotly-graph-div" in body:
        app.add_js_file("vendor/plotly.min.js")   # called here, it is added to this page only


@functools.lru_cache(maxsize=None)
def _notebook_chapters(confdir: str) -> tuple[Path, ...]:
    """The toc's notebook chapters, read once per build (asked for on every page)."""
    from modadd.classroom import chapters
    return tuple(chapters(Path(confdir)))


def _notebook_stems(app) -> set[str]:
    return {p.stem for p in _notebook_chapters(str(app.confdir))}


def _copy_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "vendor"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PLOTLY_JS, dest / "plotly.min.js")
    shutil.copytree(MATHJAX, dest / "mathjax", dirs_exist_ok=True)
    shutil.copytree(WIDGETS, dest / "widgets", dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    import anywidget
    (dest / "widgets" / "anywidget").mkdir(exist_ok=True)
    shutil.copy2(Path(anywidget.__file__).parent / "nbextension" / "index.js", dest / "widgets" / "anywidget" / "index.js")
    import jupytext
    from modadd.classroom import write_student_notebooks
    nbdir = Path(app.outdir) / "notebooks"
    nbdir.mkdir(exist_ok=True)
    for ch in _notebook_chapters(str(app.confdir)):
        jupytext.write(jupytext.read(ch), nbdir / f"{ch.stem}.ipynb")
    write_student_notebooks(nbdir / "student", root=Path(app.confdir))


def setup(app):
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
