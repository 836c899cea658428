"""Serve every script the site needs from the site itself (no CDN), so it works offline.

* plotly.js: copied from the installed ``plotly`` package into ``_static/vendor/`` and
  loaded only on pages that contain a plotly figure.
* MathJax 3 (``book/_vendor/mathjax``, vendored from npm): Sphinx's ``mathjax_path``
  points at it; Sphinx loads it only on pages with math.
* ipywidgets: the book shows no static widgets (a widget without a kernel is dead), so the
  CDN scripts myst-nb would add for widget state are switched off in ``_config.yml``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import plotly
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MATHJAX = HERE.parent / "_vendor" / "mathjax"
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
    if "plotly-graph-div" in body:
        app.add_js_file("vendor/plotly.min.js")   # called here, it is added to this page only


def _copy_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "vendor"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PLOTLY_JS, dest / "plotly.min.js")
    shutil.copytree(MATHJAX, dest / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
