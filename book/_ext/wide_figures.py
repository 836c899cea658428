"""The site's one stylesheet of its own: wide figures stay in the text column, and on
narrow screens equations and tables scroll inside it (``book/_css/wide_figures.css``; why,
there). Served from the site itself, on every page."""
from __future__ import annotations

from pathlib import Path

CSS = Path(__file__).resolve().parent.parent / "_css"


def _add(app):
    app.config.html_static_path.append(str(CSS))


def setup(app):
    app.connect("builder-inited", _add)
    app.add_css_file("wide_figures.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
