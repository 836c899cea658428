"""The pages that show the chapters' execution times run after the chapters, every time.

The teacher guide and the appendix read the execution time of each chapter from the build's
jupyter-cache (:func:`tools.chapter_times.chapter_record`). Sphinx reads (and myst-nb executes)
pages in sorted order, so ``book/0*`` chapters come before ``book/appendix_benchmarks`` and
``book/teacher_guide``. But an unchanged page is neither re-read nor re-executed: after a
chapter alone changed, these two pages would show the chapter's previous time. So whenever
a chapter is re-read, this extension drops the two pages' jupyter-cache records and has
Sphinx read them again: they execute once more, after the chapter, and show its new time.
"""
from __future__ import annotations

from pathlib import Path

REPORTS = ("book/teacher_guide", "book/appendix_benchmarks")


def _is_chapter(docname: str) -> bool:
    return docname.startswith("book/0")


def _outdated(app, env, added, changed, removed):
    if not any(_is_chapter(d) for d in (*added, *changed)):
        return []
    path = app.config["nb_execution_cache_path"] if "nb_execution_cache_path" in app.config else ""
    path = Path(path or Path(app.outdir).parent / ".jupyter_cache")
    if path.is_dir():
        from jupyter_cache import get_cache

        cache = get_cache(path)
        for rec in cache.list_cache_records():
            if any(Path(rec.uri).with_suffix("").as_posix().endswith(r) for r in REPORTS):
                cache.remove_cache(rec.pk)
    return [d for d in REPORTS if d in env.found_docs and d not in added and d not in changed]


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
