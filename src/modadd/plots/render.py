"""How a figure reaches the page: the book's renderer (:class:`BookRenderer`, the site's one
local plotly.js) and, in a Jupyter kernel, :class:`NotebookRenderer` in place of plotly's
default (see :mod:`modadd.plots`)."""
from __future__ import annotations

import hashlib
import json
import os

import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer
from plotly.offline import get_plotlyjs_version

from .theme import CONFIG


class BookRenderer(MimetypeRenderer):
    """Plotly JSON plus an HTML div without plotly.js (the site serves it once)."""

    def to_mimebundle(self, fig_dict):
        body = pio.to_json(fig_dict, validate=False)
        div_id = "fig-" + hashlib.sha1(body.encode()).hexdigest()[:12]   # same figure, same id
        html = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False, div_id=div_id, auto_play=False,
                           config=CONFIG, validate=False)
        return {"application/vnd.plotly.v1+json": json.loads(body), "text/html": html}


class NotebookRenderer(MimetypeRenderer):
    """A figure as an HTML ``<div>`` and its data, without plotly.js: the page's plotly.js
    draws it, loaded once per page from plotly's CDN (the first figure adds the script, the
    others wait for it). Offline, the figure says how to embed plotly.js instead."""

    def to_mimebundle(self, fig_dict):
        body = pio.to_json(fig_dict, validate=False)
        div_id = "fig-" + hashlib.sha1(body.encode()).hexdigest()[:12]
        height = fig_dict.get("layout", {}).get("height") or 525
        script = (
            "(function () {\n"
            f"  var fig = {body}, id = {div_id!r};\n"
            f"  fig.config = {json.dumps(CONFIG)};\n"
            "  function draw() { window.Plotly.newPlot(id, fig); }\n"
            "  if (window.Plotly) { draw(); return; }\n"
            "  var s = document.getElementById('modadd-plotly-js');\n"
            "  if (!s) {\n"
            "    s = document.createElement('script'); s.id = 'modadd-plotly-js';\n"
            f"    s.src = 'https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js';\n"
            "    document.head.appendChild(s);\n"
            "  }\n"
            "  s.addEventListener('load', draw);\n"
            "  s.addEventListener('error', function () { document.getElementById(id).textContent =\n"
            f"    {OFFLINE_MESSAGE!r}; }});\n"
            "})();")
        html = (f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>\n'
                f'<script type="text/javascript">\n{script}\n</script>')
        return {"text/html": html}


#: What a figure says when plotly.js cannot be loaded (no internet).
OFFLINE_MESSAGE = ("This figure needs plotly.js, loaded from cdn.plot.ly. Offline, run "
                   "import plotly.io as pio; pio.renderers.default = 'notebook' "
                   "first: it embeds plotly.js (4.6 MB) in every figure.")


def _lighter_notebook_default() -> None:
    """In a Jupyter kernel, replace plotly's own default renderer (which embeds plotly.js in
    every figure) by :class:`NotebookRenderer`; any other choice stays."""
    pio.renderers["modadd_notebook"] = NotebookRenderer()
    if pio.renderers.default == "plotly_mimetype+notebook" and not os.environ.get("PLOTLY_RENDERER"):
        pio.renderers.default = "modadd_notebook"


_lighter_notebook_default()


def use_book_renderer() -> None:
    """Register :class:`BookRenderer` as plotly's renderer ``"modadd"`` and make it the default.

    The book build's kernels call it (scripts/book_kernel_startup.py); nothing else does.
    """
    pio.renderers["modadd"] = BookRenderer()
    pio.renderers.default = "modadd"
