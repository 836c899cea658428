"""Memo: a chapter's expensive call (a training history, a particle simulation), kept on disk.

``memo(train, configs, steps=10_000, record_every=50)`` returns what ``train(...)`` returns.
The first call computes it and keeps it in the run cache (:mod:`modadd.cache.store`, kind
"memo"); a later call with the same function, the same arguments and the same code loads it
instead. The key (:func:`modadd.cache.store.key`) hashes the function's name, its arguments
and the code it runs: the source files of its module and of every package module that module
imports, directly or through others (an edit to the figures, ``plots``, does not recompute
the simulations); a function from outside the package is keyed by every source file of the
package. So a loaded result is always what computing would give (training and the particles
are seeded). Only the wall-time field of a result (``History.seconds``) tells them apart: it
is the time of the call that computed it.

This is what makes a chapter's second execution cheap: the book build executes every
chapter and fills the cache; the test command (nbval) and a student who runs a chapter
again then load the runs and re-check every assert on them. Set ``MODADD_MEMO=0`` to
compute everything afresh (the whole run cache's off switch).
"""
from __future__ import annotations

from . import store


def memo(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, loaded from the run cache if this call was made before by the
    same code, else computed and stored (atomically: a file is whole or absent)."""
    if not callable(fn):
        raise TypeError(f"memo's first argument must be a function, got {fn!r}")
    return store.cached("memo", fn, *args, **kwargs)
