"""The footer of every page: the paper it follows, the licenses (code MIT, text and figures
CC BY 4.0, both files served by the site itself), "Cite this book", the repository when the
build is told it (``BOOK_REPOSITORY_URL``: the theme option ``launch_buttons.py`` sets), and the build id and
date of the code the pages were executed with (:func:`modadd.build_id`).

A page keeps the footer it was written with, so when the build id or the date changes every
page is written again (``env-get-outdated``): no page states another build's id.
"""
from __future__ import annotations

import datetime as _dt
import html
import shutil
from pathlib import Path

import modadd

ROOT = Path(__file__).resolve().parents[2]
#: the repository's license files -> their names on the site (plain text, served as is)
LICENSES = {"LICENSE": "LICENSE.txt", "LICENSE-CC-BY-4.0.md": "LICENSE-CC-BY-4.0.txt"}
CITE_ANCHOR = "cite-this-book"        # the introduction's section "Cite this book"


def footer_html(up: str, root_page: str, build_id: str, date: str, repository_url: str | None) -> str:
    """The footer for a page ``up`` (``"../"`` per folder) below the site's root."""
    repo = (f' Source: <a href="{html.escape(repository_url)}">{html.escape(repository_url)}</a>.'
            if repository_url else "")
    return (
        '<div class="modadd-footer">'
        "<p>After T. Musat, <em>Clustering and Alignment: Understanding the Training Dynamics in "
        "Modular Addition</em>, arXiv:2408.09414 (CC BY 4.0). Derivations, code and numbers in "
        "this book are our own unless stated.</p>"
        f'<p>Code: <a href="{up}{LICENSES["LICENSE"]}">MIT</a>. Text and figures: '
        f'<a href="{up}{LICENSES["LICENSE-CC-BY-4.0.md"]}">CC BY 4.0</a>. '
        f'<a class="modadd-cite" href="{up}{root_page}.html#{CITE_ANCHOR}">Cite this book</a>.{repo}</p>'
        f'<p class="modadd-build">Built {date} from <code>modadd {html.escape(build_id)}</code>.</p>'
        "</div>")


def _stamp(app) -> tuple[str, str]:
    if not hasattr(app, "modadd_footer_stamp"):
        app.modadd_footer_stamp = (modadd.build_id(), _dt.datetime.now(_dt.timezone.utc).date().isoformat())
    return app.modadd_footer_stamp


def _outdated(app, env, added, changed, removed):
    stamp = _stamp(app)
    if getattr(env, "modadd_footer_stamp", None) == stamp:
        return []
    env.modadd_footer_stamp = stamp
    return sorted(env.found_docs)


def _page_context(app, pagename, templatename, context, doctree):
    build_id, date = _stamp(app)
    up = "../" * pagename.count("/")
    repo = app.config.html_theme_options.get("repository_url") or None   # set by launch_buttons
    context["theme_extra_footer"] = footer_html(up, app.config.root_doc, build_id, date, repo)


def _copy_licenses(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for name, served in LICENSES.items():
        shutil.copy2(ROOT / name, Path(app.outdir) / served)


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _copy_licenses)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
