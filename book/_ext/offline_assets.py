"""Serve every script the site needs from the site itself (no CDN), so it works offline.

* plotly.js: copied from the installed ``plotly`` package into ``_static/vendor/`` and
  loaded only on pages that contain a plotly figure, with ``book/_vendor/plotly_pages.js``
  (the figures follow the page's light/dark theme; animations get keyboard controls).
* MathJax 3 (``book/_vendor/mathjax``, vendored from npm): Sphinx's ``mathjax_path``
  points at it; Sphinx loads it only on pages with math.
* The live widget (:mod:`modadd.widget`, an anywidget): pages that carry widget state get
  require.js, ``@jupyter-widgets/html-manager``'s ``embed-amd.js`` and a script pointing
  require.js at anywidget's front-end module, all from ``_static/vendor/widgets/``
  (``nb_ipywidgets_js`` in ``_config.yml``; ``book/_vendor/widgets/`` holds them, and
  anywidget's module is copied from the installed Python package so the two match). The
  widget then runs in the page, with no kernel and no other host.

It also publishes every chapter as a notebook, without the exercises' solutions, and as a
student version (``modadd.teaching.classroom``), under ``notebooks/``, and the course kits
(``tools/kit.py``): the student kit ``kit/modadd-kit.zip`` (a wheel of ``modadd``, those
notebooks, the runtime pins and a README) and the teacher kit ``kit/modadd-teacher-kit.zip``
(solutions, nbgrader's source notebooks, the chapters' exercises as a second wheel), all
when the build starts, so each page can state a kit's size and date. Links at the top of
each chapter; the introduction's ``<span class="modadd-kit-link">...</span>`` becomes a link
to the student kit, and a ``<span class="modadd-teacher-kit-link">...</span>`` (the teacher
guide's) one to the teacher kit. Every downloaded notebook starts with the kit's check
cell, including the executed ones the theme's download button offers (``_sources/``).

**A build for a course** (``BOOK_SOLUTIONS=hide`` in the build's environment; default
``show``): the exercises' solution dropdowns (``{solution}``, and what a ``solution-start``
... ``solution-end`` pair holds) are left out of every page, the executed notebooks of
``_sources/`` lose them too, and the teacher kit is written beside the site
(``<outdir>/../teacher-kit/``), not served by it.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import plotly
from launch_buttons import site_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))      # the repository: its tools/
from tools.kit import (KIT_NAME, TEACHER_KIT_NAME, add_check_to_file, build_kit, build_teacher_kit, describe,  # noqa: E402
                       kit_chapters, write_notebooks, write_teacher_notebooks)
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MATHJAX = HERE.parent / "_vendor" / "mathjax"
WIDGETS = HERE.parent / "_vendor" / "widgets"
WIDGET_FONTS = HERE.parent / "_vendor" / "widget-fonts"   # html-manager's icon fonts (woff2)
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_PAGES_JS = HERE.parent / "_vendor" / "plotly_pages.js"   # theme and keyboard for the figures


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
    up = "../" * pagename.count("/")
    kit = getattr(app, "modadd_kit", None)
    kit_link = (f'<a class="modadd-kit-link" href="{up}kit/{KIT_NAME}" download>course kit</a> '
                f'<span class="modadd-kit-info">({kit})</span>')
    if stem in _notebook_stems(app) and kit:
        student = (f', its exercises without their answers, or the <a href="{up}notebooks/student/{stem}.ipynb" '
                   f'download>student version</a>: the exercises as an assignment' if stem in app.modadd_student_stems
                   else '')
        links = (f'<p class="modadd-downloads">Run this chapter yourself: download it as a notebook '
                 f'(<a href="{up}notebooks/{stem}.ipynb" download>{stem}.ipynb</a>{student}). '
                 f'It runs with the <code>modadd</code> package from the {kit_link}: every chapter, '
                 f'the package and the two commands that install them.</p>')
        body = context["body"] = body.replace("</h1>", "</h1>\n" + links, 1)
    teacher = re.compile(r'<span class="modadd-teacher-kit-link">teacher kit</span>')
    if teacher.search(body) and kit:
        tkit = getattr(app, "modadd_teacher_kit", None)
        link = (f'<a class="modadd-teacher-kit-link" href="{up}kit/{TEACHER_KIT_NAME}" download>teacher kit</a> '
                f'<span class="modadd-kit-info">({tkit})</span>' if tkit else
                'teacher kit (this site was built for a course, without the solutions, and does not serve '
                f'it: the build wrote it beside the site, to <code>teacher-kit/{TEACHER_KIT_NAME}</code>)')
        body = context["body"] = teacher.sub(lambda m: link, body)
    if pagename == app.config.root_doc and kit:
        marker = re.compile(r'<span class="modadd-kit-link">course kit</span>')
        if not marker.search(body):
            logger.warning('page %s lost its <span class="modadd-kit-link">course kit</span> '
                           'marker: the introduction must link the course kit', pagename)
        body = context["body"] = marker.sub(lambda m: kit_link, body)
    if "plotly-graph-div" in body:
        app.add_js_file("vendor/plotly.min.js")   # called here, it is added to this page only
        app.add_js_file("vendor/plotly_pages.js")  # theme following and keyboard controls


@functools.lru_cache(maxsize=None)
def _notebook_chapters(confdir: str) -> tuple[Path, ...]:
    """The chapters published as notebooks (those that run without the repository: see
    :func:`tools.kit.kit_chapters`), read once per build (asked for on every page)."""
    return tuple(kit_chapters(Path(confdir)))


def _notebook_stems(app) -> set[str]:
    return {p.stem for p in _notebook_chapters(str(app.confdir))}


def _copy_assets(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "vendor"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PLOTLY_JS, dest / "plotly.min.js")
    shutil.copy2(PLOTLY_PAGES_JS, dest / "plotly_pages.js")
    shutil.copytree(MATHJAX, dest / "mathjax", dirs_exist_ok=True)
    shutil.copytree(WIDGETS, dest / "widgets", dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    import anywidget
    (dest / "widgets" / "anywidget").mkdir(exist_ok=True)
    shutil.copy2(Path(anywidget.__file__).parent / "nbextension" / "index.js", dest / "widgets" / "anywidget" / "index.js")
    # html-manager's stylesheet asks for its icon fonts relative to the page, under
    # @jupyter-widgets/html-manager/dist/: put them beside every page that has widgets.
    for folder in {p.parent for p in Path(app.outdir).rglob("*.html")
                   if "application/vnd.jupyter.widget-state+json" in p.read_text(errors="replace")}:
        shutil.copytree(WIDGET_FONTS, folder / "@jupyter-widgets" / "html-manager" / "dist", dirs_exist_ok=True)
    # the executed notebooks the theme's download button offers get the check cell too (and, in
    # a build for a course, lose the solutions)
    stems = _notebook_stems(app)
    for nb in (Path(app.outdir) / "_sources").rglob("*.ipynb"):
        if nb.stem in stems:
            add_check_to_file(nb, site_url=site_url(), root=Path(app.confdir))
            if app.config.modadd_solutions == "hide":
                import nbformat
                from modadd.teaching.classroom import without_solutions
                nbformat.write(without_solutions(nbformat.read(nb, as_version=4)), nb)


def _solutions_option(app, config):
    """``BOOK_SOLUTIONS`` (``show`` or ``hide``) as the config value ``modadd_solutions``: a
    change rebuilds every page."""
    value = os.environ.get("BOOK_SOLUTIONS", "show").strip().lower()
    if value not in ("show", "hide"):
        raise ConfigError(f"BOOK_SOLUTIONS must be 'show' or 'hide', got {os.environ['BOOK_SOLUTIONS']!r}")
    config.modadd_solutions = value


def _drop_solutions(app, doctree):
    """In a build for a course, no exercise's solution (a gated one is one node by now)."""
    if app.config.modadd_solutions != "hide":
        return
    from sphinx_exercise.nodes import solution_node
    for node in list(doctree.findall(solution_node)):
        node.parent.remove(node)


def _write_kit(app):
    """Write the notebooks and pack the course kit before any page is written."""
    if app.builder.format != "html":
        return
    out = Path(app.outdir)
    nbdir = out / "notebooks"
    shutil.rmtree(nbdir, ignore_errors=True)         # no notebook of a chapter that left the toc
    written = write_notebooks(nbdir, root=Path(app.confdir), site_url=site_url())
    app.modadd_student_stems = {p.stem for p in written if p.parent.name == "student"}
    zip_path = build_kit(out / "kit", nbdir, root=Path(app.confdir))
    app.modadd_kit = describe(zip_path)
    logger.info("[offline_assets] course kit %s (%s)", zip_path, app.modadd_kit)
    app.modadd_teacher_kit = None
    (out / "kit" / TEACHER_KIT_NAME).unlink(missing_ok=True)
    if app.modadd_student_stems:                      # chapters with exercises: something to teach
        where = out / "kit" if app.config.modadd_solutions == "show" else out.parent / "teacher-kit"
        with tempfile.TemporaryDirectory() as tmp:
            write_teacher_notebooks(tmp, root=Path(app.confdir))
            tzip = build_teacher_kit(where, tmp, root=Path(app.confdir))
        if app.config.modadd_solutions == "show":
            app.modadd_teacher_kit = describe(tzip)
        logger.info("[offline_assets] teacher kit %s (%s)", tzip, describe(tzip))


def _kit_outdated(app, env, added, changed, removed):
    """Pages that state the kit's size and date are written again when those change."""
    kit = (getattr(app, "modadd_kit", None), getattr(app, "modadd_teacher_kit", None))
    if kit[0] is None or getattr(env, "modadd_kit", None) == kit:
        return []
    env.modadd_kit = kit
    stems = _notebook_stems(app)
    return [d for d in env.found_docs if d == app.config.root_doc or d.rsplit("/", 1)[-1] in stems
            or d.endswith("teacher_guide")]


def setup(app):
    app.add_config_value("modadd_solutions", "show", "env")
    app.connect("config-inited", _solutions_option)
    app.connect("doctree-read", _drop_solutions)
    app.connect("builder-inited", _write_kit)
    app.connect("env-get-outdated", _kit_outdated)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
