"""How much the biases weigh in the first layer: chapter 6's relative bias size.

The first layer computes ``h = ReLU(s W1 + b1)`` on a sum vector ``s = E_a + E_b``. With
``b1 = 0`` a unit's response only depends on the direction of ``s``, so the decision
regions are cones from the origin (chapter 2), which rewards alignment. How far a network
is from that is the size of the biases *relative to* the signal they are added to::

    rho = RMS(b1) / RMS(s_p W1)

the second RMS over the pairs ``p`` and the hidden units. ``rho = 0`` for a network
without biases; ``rho > 1`` means the biases outweigh the signal.
"""
from __future__ import annotations

import numpy as np
import torch

from .data import unordered_pairs
from .validate import check_pairs, check_tensor

_AXES = (2, 3, 4, 5)     # one network, or runs, or runs x recorded steps, ...


def relative_bias(E, W1, b1, pairs=None):
    """``rho = RMS(b1) / RMS(s_p W1)`` of one network or of a batch of them.

    Args:
        E: embeddings (..., n, 2), e.g. (n, 2) for one network, or ``History.params.E``
            (M, T, n, 2) for M runs recorded at T steps.
        W1: first-layer weights (..., 2, H), the same leading axes as ``E``.
        b1: first-layer biases (..., H), or None for a network without biases (rho = 0).
        pairs: (U, 2) integer pairs ``(a, b)`` over which the signal's RMS is taken
            (default: every unordered pair ``a <= b`` of the n residues).

    Returns:
        rho over the leading axes, as a numpy array (a float for one network).
    """
    E = check_tensor("E", E, _AXES)
    W1 = check_tensor("W1", W1, _AXES, last=None)
    if W1.shape[:-2] != E.shape[:-2] or W1.shape[-2] != E.shape[-1]:
        raise ValueError(f"W1 must have shape (..., 2, H) with the leading axes of E {tuple(E.shape[:-2])}, "
                         f"got W1 of shape {tuple(W1.shape)}")
    n = E.shape[-2]
    if pairs is None:
        pairs = unordered_pairs(n)[0]
    pairs = torch.as_tensor(np.asarray(pairs)) if not isinstance(pairs, torch.Tensor) else pairs
    check_pairs(pairs, len(pairs), n)
    pre = (E[..., pairs[:, 0], :] + E[..., pairs[:, 1], :]) @ W1          # (..., U, H)
    rms_signal = pre.pow(2).mean((-2, -1)).sqrt()
    if b1 is None:
        rho = torch.zeros_like(rms_signal)
    else:
        b1 = check_tensor("b1", b1, (1,) + _AXES, last=W1.shape[-1])
        if b1.shape[:-1] != W1.shape[:-2]:
            raise ValueError(f"b1 must have shape (..., H) = {(*W1.shape[:-2], W1.shape[-1])} to match W1, "
                             f"got {tuple(b1.shape)}")
        rho = b1.pow(2).mean(-1).sqrt() / rms_signal
    rho = rho.detach().cpu().numpy()
    return float(rho) if rho.ndim == 0 else rho
