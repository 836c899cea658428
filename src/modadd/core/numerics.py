"""Subnormal floats flushed to zero, the same way on every thread, so a run's bits do not
depend on how many threads train it or on which runs share its batch.

Weight decay drives many values toward 0, and CPU arithmetic on subnormal floats (below
1.2e-38 in float32) is about 100x slower, so training and the particle simulation flush them
to zero (:func:`flush_subnormals`). ``torch.set_flush_denormal`` sets the flag on the calling
thread only. PyTorch's worker threads (OpenMP) copy the flag from the thread that creates
them, so this module creates them with the flag set, when it is imported: then every thread
flushes while training, and a tensor's elements get the same arithmetic whichever thread
works on them. Without this, a model trained in a large batch, whose elements are shared out
among threads, ended with different bits than the same model trained alone (chapter 3's
eye-judged pictures changed with the order in which chapters ran).

If the workers were started before this module was imported (torch work done before
``import modadd``), they do not flush; :func:`flush_subnormals` detects that and computes on
one thread meanwhile, which gives the same bits, more slowly, and says so once.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch

#: Enough elements that PyTorch shares an elementwise operation out among all its threads
#: (its grain is 32,768 elements per thread).
_SPREAD = 1 << 20
_warned = False


def _start_workers() -> None:
    """Run one operation on every thread with flushing set, so that worker threads created
    by it (the first parallel operation of the process) flush too."""
    torch.set_flush_denormal(True)
    try:
        torch.ones(_SPREAD).mul_(2)
    finally:
        torch.set_flush_denormal(False)


def workers_flush() -> bool:
    """Whether every thread that PyTorch computes on flushes subnormals while flushing is
    set: a subnormal times 2^30 is 0 on a thread that flushes, about 1e-30 on one that does
    not."""
    tiny = torch.full((1,), 1e-39)                     # made on this thread, flag unset
    torch.set_flush_denormal(True)
    try:
        return int(torch.count_nonzero(tiny.expand(_SPREAD) * 2.0 ** 30)) == 0
    finally:
        torch.set_flush_denormal(False)


@contextmanager
def flush_subnormals():
    """Flush subnormals to zero on every thread inside the ``with`` block; restore the
    default afterwards (numpy warns under flushing). Falls back to one thread when the
    worker threads do not flush (see the module's docstring)."""
    global _warned
    threads = torch.get_num_threads()
    single = threads > 1 and not workers_flush()
    if single:
        if not _warned:
            warnings.warn("PyTorch's worker threads were started before modadd was imported, so "
                          "they do not flush subnormal floats; modadd computes on one thread "
                          "(same results, slower). Import modadd before other torch work to use "
                          f"all {threads} threads.", RuntimeWarning, stacklevel=3)
            _warned = True
        torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        if single:
            torch.set_num_threads(threads)


def check_isa() -> str:
    """PyTorch's instruction set in use; warns when it is wider than AVX2 (torch computed
    something before modadd was imported, so :data:`modadd.PINNED_ISA` came too late and
    a run's last bits may differ from the book's)."""
    isa = torch.backends.cpu.get_cpu_capability()
    if isa.startswith("AVX512"):
        warnings.warn(f"PyTorch computes with {isa}, not AVX2 as the book does (it computed before "
                      "modadd was imported): results may differ in the last bits. Import modadd first, "
                      "or set ATEN_CPU_CAPABILITY=avx2.", RuntimeWarning, stacklevel=2)
    return isa


_start_workers()
check_isa()
