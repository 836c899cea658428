"""The reference network written the textbook way: ``nn.Module`` + autograd + ``torch.optim.AdamW``.

The book's trainer (:mod:`modadd.core.train`) batches many models with hand-written
gradients; this module is the plain PyTorch version it is measured against.
:func:`plain_loop` defines u, the book's time unit (benchmarks/bench.py).
"""
from __future__ import annotations

import time

import torch

from .data import make_dataset
from .numerics import flush_subnormals


class PlainNet(torch.nn.Module):
    """Embed ``a`` and ``b`` in 2-D, add, then ``Linear(2, hidden)``, ReLU, ``Linear(hidden, n)``."""

    def __init__(self, n: int = 17, hidden: int = 64):
        super().__init__()
        self.emb = torch.nn.Embedding(n, 2)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(self.emb(a) + self.emb(b))


def plain_loop(steps: int, seed: int = 0) -> float:
    """Wall time (s) of ``steps`` full-batch AdamW steps of :class:`PlainNet` at N = 17.

    lr 1e-2, weight decay 1.0, the dataset's training pairs (20 % held out). The
    benchmarks call it with 10,000 steps: that time is u.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    torch.manual_seed(seed)
    ds = make_dataset(17, 0.2, seed)
    model = PlainNet(17, 64)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1.0)
    x0, x1, y = ds.train_pairs[:, 0], ds.train_pairs[:, 1], ds.train_labels
    with flush_subnormals():
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x0, x1), y).backward()
            opt.step()
    return time.perf_counter() - t0
