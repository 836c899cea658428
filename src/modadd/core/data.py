"""The task: modular addition, and its train/validation split.

Every pair ``(a, b)`` with ``a, b`` in ``Z_n`` is an example with label ``(a + b) mod n``.
The network only ever sees ``E_a + E_b``, so ``(a, b)`` and ``(b, a)`` are the *same*
input. Splitting ordered pairs at random would put one order in training and the other
in validation, leaking the answer. We therefore split the ``n (n + 1) / 2`` unordered
pairs and expand each side to both orders.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .validate import check_n, check_seed, check_val_fraction


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


def unordered_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs a <= b, shape (U, 2), and how many ordered pairs each stands for (1 or 2)."""
    ii, jj = torch.triu_indices(n, n)
    return torch.stack([ii, jj], 1), torch.where(ii == jj, 1.0, 2.0)


def answers(pairs: torch.Tensor, n: int) -> torch.Tensor:
    """The answer ``(a + b) mod n`` of every pair (P, 2) -> (P,)."""
    return pairs.sum(1) % n


@dataclass(frozen=True)
class PairSplit:
    """The unordered pairs of ``Z_n`` and M runs' training and validation weights on them.

    Attributes:
        n: the modulus.
        pairs: (U, 2) the unordered pairs ``a <= b``, U = n (n + 1) / 2.
        labels: (U,) their answers ``(a + b) mod n``.
        multiplicity: (U,) how many ordered pairs each stands for: 2 for ``a != b``, 1 for
            ``a == b``.
        train_weights: (M, U) ``multiplicity * (1 - held_out)`` normalised to sum 1 per run,
            so a loss weighted by it equals the mean over the run's ordered training pairs.
        val_weights: (M, U) the same on the held-out pairs (all zero for a run with none).
        has_val: (M,) bool, whether the run holds out any pair.
    """

    n: int
    pairs: torch.Tensor
    labels: torch.Tensor
    multiplicity: torch.Tensor
    train_weights: torch.Tensor
    val_weights: torch.Tensor
    has_val: torch.Tensor


def pair_split(n: int, seeds, val_fractions) -> PairSplit:
    """The split of M runs (one seed and one validation fraction each) on the unordered pairs.

    Run m holds out exactly the pairs :func:`validation_mask` ``(n, val_fractions[m],
    seeds[m])`` holds out; see :class:`PairSplit`.
    """
    n = check_n(n)
    seeds, val_fractions = list(seeds), list(val_fractions)
    if not seeds or len(seeds) != len(val_fractions):
        raise ValueError(f"need one validation fraction per seed and at least one seed, got "
                         f"{len(seeds)} seeds and {len(val_fractions)} fractions")
    pairs, mult = unordered_pairs(n)
    iu = pairs[:, 0] * n + pairs[:, 1]     # positions in the ordered (n*n) layout
    val = torch.stack([validation_mask(n, v, s)[iu] for s, v in zip(seeds, val_fractions)]).float()
    return held_out_split(n, pairs, mult, val)


def held_out_split(n: int, pairs: torch.Tensor, mult: torch.Tensor, val: torch.Tensor) -> PairSplit:
    """The split of M runs that hold out the unordered ``pairs`` where ``val`` (M, U) is 1:
    each side's weights proportional to the pairs' multiplicities ``mult``, in their dtype (what
    :func:`pair_split` builds from its masks; the live widget from its own)."""
    w_train = mult * (1 - val)
    w_train = w_train / w_train.sum(1, keepdim=True)
    w_val = mult * val
    has_val = w_val.sum(1) > 0
    w_val = w_val / w_val.sum(1, keepdim=True).clamp_min(1)
    return PairSplit(n=n, pairs=pairs, labels=answers(pairs, n), multiplicity=mult,
                     train_weights=w_train, val_weights=w_val, has_val=has_val)
