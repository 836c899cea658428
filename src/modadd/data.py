"""The task: modular addition, and its train/validation split.

Every pair ``(a, b)`` with ``a, b`` in ``Z_n`` is an example with label ``(a + b) mod n``.
The network only ever sees ``E_a + E_b``, so ``(a, b)`` and ``(b, a)`` are the *same*
input. Splitting ordered pairs at random would put one order in training and the other
in validation, leaking the answer. We therefore split the ``n (n + 1) / 2`` unordered
pairs and expand each side to both orders.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch


def check_n(n) -> int:
    """Return ``n`` as an int, or raise ``ValueError`` if it is not an integer >= 2."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"n must be an integer >= 2 (the modulus), got {n!r}")
    if n < 2:
        raise ValueError(f"n must be an integer >= 2 (the modulus), got n={n}")
    return int(n)


def check_seed(seed) -> int:
    """Return ``seed`` as an int, or raise ``ValueError`` if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_val_fraction(val_fraction) -> float:
    """Return the validation fraction as a float, or raise if it is not in [0, 1)."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    v = float(val_fraction)
    if math.isnan(v) or not 0.0 <= v < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got val_fraction={val_fraction!r}")
    return v


def all_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All ``n**2`` ordered pairs in row-major order: ``a = i // n``, ``b = i % n``.

    Returns ``(pairs, labels)`` with shapes ``(n*n, 2)`` and ``(n*n,)``, dtype int64.
    Pair number ``i`` is ``(i // n, i % n)``, so ``labels.reshape(n, n)`` is the
    addition table.
    """
    n = check_n(n)
    a = torch.arange(n).repeat_interleave(n)
    b = torch.arange(n).repeat(n)
    return torch.stack([a, b], dim=1), (a + b) % n


def validation_mask(n: int, val_fraction: float, seed: int) -> torch.Tensor:
    """Boolean ``(n*n,)`` mask over :func:`all_pairs`: True where the pair is held out.

    ``round(val_fraction * U)`` of the ``U = n (n + 1) / 2`` unordered pairs are drawn
    without replacement (at most ``U - 1``, so training is never empty); both orders of a
    drawn pair are held out. Deterministic in ``seed``.
    """
    n, v, seed = check_n(n), check_val_fraction(val_fraction), check_seed(seed)
    ii, jj = np.triu_indices(n)  # unordered pairs a <= b, U of them
    u = len(ii)
    k = min(int(round(v * u)), u - 1)
    rng = np.random.default_rng(seed)
    held = rng.choice(u, size=k, replace=False)
    mask = np.zeros((n, n), dtype=bool)
    mask[ii[held], jj[held]] = True
    mask |= mask.T
    return torch.from_numpy(mask.reshape(-1))


@dataclass(frozen=True)
class Dataset:
    """Train and validation pairs for one split.

    ``train_pairs``/``val_pairs`` have shape ``(T, 2)``/``(V, 2)`` (int64), the labels
    ``(T,)``/``(V,)``. ``val_mask`` is the ``(n*n,)`` mask over :func:`all_pairs`.
    """

    n: int
    val_fraction: float
    seed: int
    train_pairs: torch.Tensor
    train_labels: torch.Tensor
    val_pairs: torch.Tensor
    val_labels: torch.Tensor
    val_mask: torch.Tensor


def make_dataset(n: int, val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """All ``n**2`` pairs ``(a, b)`` labelled ``(a + b) mod n``, split by unordered pair.

    >>> ds = make_dataset(17, 0.2, seed=0)
    >>> len(ds.train_pairs) + len(ds.val_pairs)
    289
    """
    pairs, labels = all_pairs(n)
    mask = validation_mask(n, val_fraction, seed)
    return Dataset(
        n=int(n), val_fraction=float(val_fraction), seed=int(seed),
        train_pairs=pairs[~mask], train_labels=labels[~mask],
        val_pairs=pairs[mask], val_labels=labels[mask], val_mask=mask,
    )
