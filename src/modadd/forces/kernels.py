"""The force kernels: the maths of chapter 4's forces on arguments already checked.

These are what the public functions of :mod:`modadd.forces` compute after checking their
arguments once, and what the particle simulation (:mod:`modadd.particles`) calls thousands
of times. Arguments: ``S`` (M, U, 2) float sums, ``labels`` (U,) int answers, ``w`` (M, U)
pair weights, ``sigma`` None or an (M,) tensor of window widths > 0. Nothing is checked here.
"""
from __future__ import annotations

import numpy as np
import torch

#: Exact repulsion: the models of a chunk times U^2 stays below this many window entries
#: (cache-sized).
REPULSION_CHUNK = 1 << 19


def spread_to_embeddings(f, pairs, n: int, w) -> torch.Tensor:
    """Move a force on every sum onto the embeddings, :func:`modadd.forces.to_embeddings` unchecked (w (M, U))."""
    fw = f * w.unsqueeze(-1)
    F = torch.zeros(f.shape[0], n, 2, dtype=f.dtype)
    F.index_add_(1, pairs[:, 0], fw).index_add_(1, pairs[:, 1], fw)
    return F


def distances(S) -> torch.Tensor:
    """(M, U, U) exact pairwise distances (coincident sums give exactly 0)."""
    return torch.cdist(S, S, compute_mode="donot_use_mm_for_euclid_dist")


def displacement_sum(S, K) -> torch.Tensor:
    """``sum_q K[..., p, q] (s_q - s_p)`` for all p: (..., U, 2)."""
    return K @ S - K.sum(-1, keepdim=True) * S


def answer_groups(labels: torch.Tensor):
    """The pairs of each answer, as tables for computing answer by answer.

    Clustering and alignment only act between sums with the *same* answer, so they are
    computed group by group: L * G^2 interactions instead of U^2. For all unordered pairs
    of an odd n, L = n and G = (n + 1) / 2, so the table holds exactly L G^2 = n (n + 1)^2 / 4
    same-answer pairs (a sum with itself included), not the U^2 = n^2 (n + 1)^2 / 4 of all pairs.

    Returns ``(idx, safe, real, back)``: idx (L, G) the indices of the pairs of each of the
    L answers, padded with -1 to G = the largest group; safe, the same with the padding
    pointing at pair 0; real, a 0/1 float mask of the real entries; back (U,), every pair's
    flat position in the (L, G) table. Cached: a simulation asks thousands of times."""
    key = labels.numpy().tobytes()
    got = _GROUPS.get(key)
    if got is None:
        lab = labels.numpy()
        order = np.argsort(lab, kind="stable")
        _, starts, counts = np.unique(lab[order], return_index=True, return_counts=True)
        pos = np.arange(len(lab)) - np.repeat(starts, counts)
        row = np.repeat(np.arange(len(counts)), counts)
        idx = torch.full((len(counts), int(counts.max())), -1, dtype=torch.long)
        idx[torch.from_numpy(row), torch.from_numpy(pos)] = torch.from_numpy(order)
        back = torch.empty(len(lab), dtype=torch.long)
        back[torch.from_numpy(order)] = torch.from_numpy(row * idx.shape[1] + pos)
        got = (idx, idx.clamp_min(0), (idx >= 0).to(torch.float64), back)
        if len(_GROUPS) > 16:
            _GROUPS.clear()
        _GROUPS[key] = got
    return got


_GROUPS: dict[bytes, tuple] = {}   # labels -> groups


def within_answers(S, labels, w, pairwise) -> torch.Tensor:
    """Apply ``pairwise(S_g, w_g)`` to each answer's sums and put the results back: (M, U, 2).

    ``S_g`` (M, L, G, 2) holds the sums of each answer, ``w_g`` (M, L, G) their weights
    (0 for padding, so padding neither pulls nor is kept); ``pairwise`` returns the force
    on every member of the group from the members of the same group.
    """
    _, safe, real, back = answer_groups(labels)
    f_g = pairwise(S[:, safe], w[:, safe] * real.to(w.dtype))
    return f_g.reshape(S.shape[0], -1, S.shape[-1])[:, back]


def window(S, sigma) -> torch.Tensor:
    """``K_sigma(|s_q - s_p|)`` for all p, q: (M, ..., U, U) for S (M, ..., U, 2), sigma (M,)."""
    shape = S.shape[:-1] + S.shape[-2:-1]
    if sigma is None:
        return torch.ones(shape, dtype=S.dtype)
    # |s_p|^2 + |s_q|^2 - 2 s_p.s_q: one (batched) matrix product, no (..., U, U, 2) array.
    # Rounding can leave ~1e-16 instead of 0 for coincident sums: a window of 1 - 1e-16.
    sq = S.square().sum(-1)
    d2 = (S @ S.transpose(-1, -2)).mul_(-2).add_(sq.unsqueeze(-1)).add_(sq.unsqueeze(-2)).clamp_min_(0)
    sig = sigma.reshape(-1, *([1] * (len(shape) - 1)))
    return d2.mul_(-0.5 / sig ** 2).exp_()


def clustering(S, labels, w, sigma) -> torch.Tensor:
    """:func:`modadd.forces.clustering_force` unchecked (w (M, U), sigma None or (M,))."""
    return within_answers(S, labels, w,
                           lambda S_g, w_g: displacement_sum(S_g, window(S_g, sigma) * w_g[..., None, :]))


def alignment(S, labels, w, self_power: float = 0.0, other_power: float = 1.0) -> torch.Tensor:
    """:func:`modadd.forces.alignment_force` unchecked (w (M, U))."""

    def pairwise(S_g, w_g):                                            # (M, L, G, 2), (M, L, G)
        r = S_g.norm(dim=-1)
        nz = r > 0
        u = torch.where(nz.unsqueeze(-1), S_g / torch.where(nz, r, 1.0).unsqueeze(-1), 0.0)
        cos = u @ u.transpose(-1, -2)                                  # cos(theta_q - theta_p)
        sin = u[..., :, None, 0] * u[..., None, :, 1] - u[..., :, None, 1] * u[..., None, :, 0]
        half_sin2 = sin * cos                                          # (1/2) sin 2(theta_q - theta_p)
        rq = torch.where(nz, torch.where(nz, r, 1.0) ** other_power, 0.0)
        torque = (half_sin2 * (w_g * rq)[..., None, :]).sum(-1)
        rp = torch.where(nz, r, 1.0) ** self_power
        t = torch.stack([-u[..., 1], u[..., 0]], -1)
        return (rp * torque).unsqueeze(-1) * t

    return within_answers(S, labels, w, pairwise)


def repulsion(S, labels, w, sigma) -> torch.Tensor:
    """Exact :func:`modadd.forces.repulsion_force`, unchecked: all pairs minus the same answer.

    Models are done a few at a time, so that the (chunk, U, U) window stays small enough
    for the CPU's caches (320 models at n = 17: 6x faster than all at once)."""
    M, U, _ = S.shape
    c = max(1, REPULSION_CHUNK // (U * U))
    out = []
    for i in range(0, M, c):
        Si, wi = S[i:i + c], w[i:i + c]
        K = window(Si, None if sigma is None else sigma[i:i + c]) * wi[:, None, :]
        out.append(-displacement_sum(Si, K))
    return (out[0] if len(out) == 1 else torch.cat(out)) + clustering(S, labels, w, sigma)
