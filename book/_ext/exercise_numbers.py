"""Exercise numbers restart on every page: Exercise 1, 2, ... in each chapter.

sphinx-exercise numbers exercises with Sphinx's figure numbers, which run on across the
whole book unless the table of contents is numbered (then they read "Exercise 2.1"). The
book's chapters are not numbered pages, and the student notebooks call a chapter's
exercises 1, 2, ... (:mod:`modadd.teaching.classroom`), so the site does too: after Sphinx assigns
its numbers, each page's exercises are renumbered from 1 in page order. Sphinx compares
new numbers with the previous build's to decide which pages to rewrite, so the book-wide
numbers are kept beside the renumbered ones and restored before Sphinx compares: an
unchanged book rewrites nothing.
"""
from __future__ import annotations

import copy

_SAVED = "modadd_bookwide_fignumbers"


def _restore(app, env):
    saved = getattr(env, _SAVED, None)
    if saved is not None:
        env.toc_fignumbers = saved
    return []


def _renumber(app, env):
    setattr(env, _SAVED, copy.deepcopy(env.toc_fignumbers))
    for fignums in env.toc_fignumbers.values():
        ex = fignums.get("exercise")
        if ex:
            order = sorted(ex, key=lambda i: ex[i])
            fignums["exercise"] = {i: (k,) for k, i in enumerate(order, 1)}
    return []


def setup(app):
    app.connect("env-get-updated", _restore, priority=100)     # before Sphinx's numbering (500)
    app.connect("env-get-updated", _renumber, priority=900)    # after it
    return {"parallel_read_safe": True, "parallel_write_safe": True}
