"""The force kernels: the maths of chapter 4's forces on arguments already checked.

These are what the public functions of :mod:`modadd.forces` compute after checking their
arguments once, and what the particle simulation (:mod:`modadd.particles`) calls thousands
of times. Arguments: ``S`` (M, U, 2) float sums, ``labels`` (U,) int answers, ``w`` (M, U)
pair weights, ``sigma`` None or an (M,) tensor of window widths > 0. Nothing is checked here.
"""
from __future__ import annotations

import math

import numpy as np
import torch

#: Kernels on all U^2 pairs of sums (the exact repulsion, a binned law): the models of a
#: chunk times U^2 stays below this many entries, so that a chunk's tables stay in the CPU's
#: caches.
PAIR_CHUNK = 1 << 19
#: Same-answer tables: about this many entries (groups x G^2) at a time, so that a chunk's
#: tables stay in the CPU's caches; a whole number of 16 groups, so that every chunk starts
#: on a whole vector and each entry is computed exactly as in one big table.
GROUP_CHUNK = 1 << 18


def add_rows(rows: int, indices, src) -> torch.Tensor:
    """``out[:, i[k]] += src[:, k]`` for every k, index list by index list: (M, rows, ...)
    from ``src`` (M, K, ...), starting from 0.

    The same bits as ``torch.zeros(M, rows, ...).index_add_(1, i, src)`` for each ``i`` of
    ``indices`` in turn: that adds the rows one index at a time, in order, and so does this,
    along the first dimension of transposed copies, where each row it adds is contiguous
    (``tests/unit/test_forces.py`` checks the bits). Measured for the particles' shapes on a
    2-core machine: 1.5x (64 systems at n = 17) to 3.7x (8 at n = 97) faster."""
    t = src.transpose(0, 1).contiguous()
    acc = torch.zeros((rows,) + t.shape[1:], dtype=src.dtype)
    for i in indices:
        acc.index_add_(0, i, t)
    return acc.transpose(0, 1).contiguous()


def spread_to_embeddings(f, pairs, n: int, w) -> torch.Tensor:
    """Move a force on every sum onto the embeddings, :func:`modadd.forces.to_embeddings` unchecked (w (M, U))."""
    return add_rows(n, (pairs[:, 0], pairs[:, 1]), f * w.unsqueeze(-1))


def distances(S) -> torch.Tensor:
    """(M, U, U) exact pairwise distances (coincident sums give exactly 0)."""
    return torch.cdist(S, S, compute_mode="donot_use_mm_for_euclid_dist")


def window_width(d, labels, w) -> torch.Tensor:
    """:func:`modadd.forces.auto_sigma` from the distances d (M, U, U), unchecked: (M,), NaN
    or 0 where no width can be set."""
    valid = w[:, None, :] > 0                       # partners with weight (a sum without: NaN below)
    if labels is not None:
        valid = valid & (labels[:, None] != labels[None, :])
    else:
        big = d.amax((1, 2), keepdim=True)
        valid = valid & (d > 1e-9 * big)
    nearest = torch.where(valid, d, torch.inf).amin(-1)                 # (M, U)
    nearest = torch.where(w > 0, nearest, torch.nan)
    return torch.nanmedian(torch.where(torch.isinf(nearest), torch.nan, nearest), dim=-1).values


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
    """Apply ``pairwise(S_g, w_g, models)`` to each answer's sums and put the results back: (M, U, 2).

    The answers of all M models are B = M L groups (group ``b`` is answer ``b % L`` of model
    ``b // L``), done a cache-sized chunk at a time (:data:`GROUP_CHUNK`). ``S_g`` (B', G, 2)
    holds the sums of a chunk's groups, ``w_g`` (B', G) their weights (0 for padding, so
    padding neither pulls nor is kept), and ``models`` (B',) the model of each group (to pick
    per-model settings); ``pairwise`` returns the force on every member of a group from the
    members of the same group.
    """
    _, safe, real, back = answer_groups(labels)
    M, (L, G) = S.shape[0], safe.shape
    S_g = S[:, safe].reshape(M * L, G, S.shape[-1])
    w_g = (w[:, safe] * real.to(w.dtype)).reshape(M * L, G)
    models = torch.arange(M).repeat_interleave(L)
    k = max(1, GROUP_CHUNK // (G * G) // 16) * 16
    f_g = torch.cat([pairwise(S_g[i:i + k], w_g[i:i + k], models[i:i + k]) for i in range(0, M * L, k)])
    return f_g.reshape(M, -1, S.shape[-1])[:, back]


def square_distances(S) -> torch.Tensor:
    """``|s_p - s_q|^2`` for all p, q: (M, ..., U, U) for S (M, ..., U, 2).

    ``|s_p|^2 + |s_q|^2 - 2 s_p.s_q``: one (batched) matrix product, no (..., U, U, 2) array.
    Rounding can leave ~1e-16 instead of 0 for coincident sums (a window of 1 - 1e-16)."""
    sq = S.square().sum(-1)
    return (S @ S.transpose(-1, -2)).mul_(-2).add_(sq.unsqueeze(-1)).add_(sq.unsqueeze(-2)).clamp_min_(0)


def window(S, sigma) -> torch.Tensor:
    """``K_sigma(|s_q - s_p|)`` for all p, q: (M, ..., U, U) for S (M, ..., U, 2), sigma (M,)."""
    if sigma is None:
        return torch.ones(S.shape[:-1] + S.shape[-2:-1], dtype=S.dtype)
    d2 = square_distances(S)
    return d2.mul_(-0.5 / sigma.reshape(-1, *([1] * (d2.dim() - 1))) ** 2).exp_()


def clustering(S, labels, w, sigma) -> torch.Tensor:
    """:func:`modadd.forces.clustering_force` unchecked (w (M, U), sigma None or (M,))."""
    return within_answers(S, labels, w, lambda S_g, w_g, m: displacement_sum(
        S_g, window(S_g, None if sigma is None else sigma[m]) * w_g[..., None, :]))


def windows(S, labels, w, terms) -> torch.Tensor:
    """``sum_k c_k * clustering(S, labels, w, sigma_k)`` with one distance table: (M, U, 2).

    ``terms``: pairs ``(c_k, sigma_k)`` of (M,) strengths and (M,) widths. The particle
    simulation's clustering and the same-answer part of its repulsion are two windows on
    the same same-answer distances; this computes those distances once."""
    scales = [(c, -0.5 / sig ** 2) for c, sig in terms]

    def pairwise(S_g, w_g, m):
        d2 = square_distances(S_g)
        K = None
        for i, (c, scale) in enumerate(scales):          # in place: these tables are large
            scale = scale[m].reshape(-1, 1, 1)
            k = (d2.mul_(scale) if i == len(scales) - 1 else d2 * scale).exp_().mul_(c[m].reshape(-1, 1, 1))
            K = k if K is None else K.add_(k)
        return displacement_sum(S_g, K.mul_(w_g[..., None, :]))

    return within_answers(S, labels, w, pairwise)


def alignment(S, labels, w, self_power: float = 0.0, other_power: float = 1.0) -> torch.Tensor:
    """:func:`modadd.forces.alignment_force` unchecked (w (M, U)), in O(U) per model.

    The torque on p, ``sum_q w_q r_q (1/2) sin 2(theta_q - theta_p)`` over p's answer, is
    ``(1/2) Im(A conj(z_p))`` with ``z = exp(2 i theta)`` and ``A = sum_q w_q r_q z_q``: one
    sum per answer instead of one term per pair of sums."""
    r = S.norm(dim=-1)                                                 # (M, U)
    nz = r > 0
    rs = torch.where(nz, r, 1.0)
    u = torch.where(nz.unsqueeze(-1), S / rs.unsqueeze(-1), 0.0)      # unit vectors, 0 at the origin
    ux, uy = u.unbind(-1)
    c2, s2 = ux * ux - uy * uy, 2 * ux * uy                            # cos 2 theta, sin 2 theta
    wq = w * torch.where(nz, rs ** other_power, 0.0)
    A = add_rows(int(labels.max()) + 1, (labels,), torch.stack([wq * c2, wq * s2], -1))
    A = A[:, labels]                                                   # each sum's answer's total
    torque = 0.5 * (A[..., 1] * c2 - A[..., 0] * s2) * rs ** self_power
    return torque.unsqueeze(-1) * torch.stack([-uy, ux], -1)


def repulsion_all(S, w, sigma) -> torch.Tensor:
    """The push from *every* sum, ``-sum_q w_q K (s_q - s_p)``, exact (labels ignored).

    The window is symmetric, so one product of (w_q s_q, w_q) with it gives both
    ``sum_q w_q K_pq s_q`` and ``sum_q w_q K_pq`` (a 3-row product: faster on a CPU than
    the (U, U) x (U, 2) one). Models are done a few at a time, so that the (chunk, U, U)
    window stays small enough for the CPU's caches (320 models at n = 17: 6x faster than
    all at once)."""
    M, U, _ = S.shape
    c = max(1, PAIR_CHUNK // (U * U))
    A = torch.cat([S, torch.ones(M, U, 1, dtype=S.dtype)], -1).mul_(w.unsqueeze(-1)).transpose(1, 2)
    out = []
    for i in range(0, M, c):
        Si = S[i:i + c]
        R = torch.bmm(A[i:i + c], window(Si, None if sigma is None else sigma[i:i + c]))   # (c, 3, U)
        out.append(R[:, 2:].transpose(1, 2) * Si - R[:, :2].transpose(1, 2))
    return out[0] if len(out) == 1 else torch.cat(out)


def repulsion(S, labels, w, sigma) -> torch.Tensor:
    """Exact :func:`modadd.forces.repulsion_force`, unchecked: all pairs minus the same answer."""
    return repulsion_all(S, w, sigma) + clustering(S, labels, w, sigma)


def angle_differences(S, full_angle: bool = True) -> torch.Tensor:
    """``theta_q - theta_p`` for every two sums: (M, U, U), in [-pi, pi) between directions
    (``full_angle``) or folded to [-pi/2, pi/2) between lines."""
    th = torch.atan2(S[..., 1], S[..., 0])
    d = th[..., None, :] - th[..., :, None]                             # in [-2 pi, 2 pi]
    period = 2 * math.pi if full_angle else math.pi
    if not full_angle:                                                  # fold to [-pi, pi] first
        d = torch.where(d >= math.pi, d - 2 * math.pi, torch.where(d < -math.pi, d + 2 * math.pi, d))
    half = period / 2
    return torch.where(d >= half, d - period, torch.where(d < -half, d + period, d))


def bin_index(x, edges) -> torch.Tensor:
    """``torch.bucketize(x, edges, right=True) - 1`` as int32: the bin j of each x among
    increasing ``edges`` (B + 1 of them, in the dtype of x), where edges[j] <= x < edges[j + 1];
    -1 below the first edge, B at or past the last (and for NaN).

    Edges uniform to within 1% of their width (the force law's are, up to rounding) are
    binned without a search, 8x faster here: one division finds the edge h nearest to x,
    x lies within half a width of it, so its bin is h if x >= edges[h] and h - 1 if not.
    Comparing x with that edge itself gives the search's bins exactly, also for x within
    rounding of an edge."""
    B = len(edges) - 1
    first, width = float(edges[0]), float(edges[-1] - edges[0]) / B
    if float((torch.diff(edges) - width).abs().max()) > 0.01 * width:
        return torch.bucketize(x, edges, right=True, out_int32=True) - 1
    near = (x * (1 / width)).add_(0.5 - first / width).clamp_(0, B).nan_to_num_(B)
    h = near.int()
    edge = torch.index_select(edges, 0, h.flatten(), out=near.view(-1)).view_as(h)   # in place: these are large
    return h.sub_((x < edge).view(torch.uint8))


def law_tables(d_edges, k, a_edges, a, full_angle: bool, dtype) -> tuple:
    """A binned law as :func:`binned_law` looks it up: (distance edges, pulls (2, Bd + 2),
    turn cells' edges, turns (2, C + 2)), in ``dtype``.

    From the law's Bd + 1 distance edges (in units of sigma) and pulls k (2, Bd), and its
    Ba + 1 angle edges (|dtheta| between directions, in [0, pi], with ``full_angle``; between
    lines, in [0, pi/2], if not) and turns a (2, Ba); row 0 for partners with the same
    answer, row 1 with a different one (arrays). A table has one column for every bin of
    :func:`bin_index`, from -1 (below the first edge) to B (at or past the last): no pull
    below the first distance edge or past the last.

    The turn is tabulated by the raw difference ``theta_q - theta_p`` (in [-2 pi, 2 pi]), so
    that nothing needs wrapping: over every period (2 pi between directions, pi between lines)
    the bins of |dtheta| on both sides of 0, the turn's sign with them (-a on the negative
    side), the last bin reaching to half a period (angles at or past the last edge turn by
    the last bin), no turn below the first edge. Uniform angle edges give uniform cells."""
    period = 2 * math.pi if full_angle else math.pi
    e, a, B = np.asarray(a_edges, dtype=float), np.asarray(a, dtype=float), len(a_edges) - 1
    below = e[:1] > 0                                              # a cell (-e_0, e_0) without a turn
    starts = np.concatenate([[-period / 2], -e[B - 1:0:-1], -e[:1][below], e[:B]])   # one period's cells
    turns = np.concatenate([-a[:, ::-1], np.zeros((2, int(below.sum()))), a], 1)
    reps = round(2 * math.pi / period)                             # periods on each side of 0
    starts = np.concatenate([starts + j * period for j in range(-reps, reps + 1)] + [[(reps + 0.5) * period]])
    turns = np.tile(turns, 2 * reps + 1)
    zero = np.zeros((2, 1))
    pulls = np.concatenate([zero, np.asarray(k, dtype=float), zero], 1)
    return tuple(torch.tensor(x, dtype=dtype) for x in (d_edges, pulls, starts, np.concatenate([zero, turns, zero], 1)))


def _look_up(table, idx, rel) -> torch.Tensor:
    """``table[rel, idx + 1]`` for every two sums: table (2, B + 2) from :func:`law_tables`,
    idx (M, U, U) int32 bins from :func:`bin_index` (overwritten), rel (U, U) 0 or 1 (same or
    different answer). One flat index_select: faster than indexing by (row, column)."""
    return table.flatten().index_select(0, idx.add_(rel * table.shape[1] + 1).flatten()).view_as(idx)


def binned_law(S, labels, w, sigma, tables) -> torch.Tensor:
    """The force on every sum of a binned law, :meth:`modadd.forces.ForceLaw.field` unchecked
    (``sigma`` None: :func:`window_width` from the true answers, on the same distances).

    ``tables`` from :func:`law_tables` (:meth:`modadd.forces.ForceLaw.tables`), in the dtype
    of S. Returns (M, U, 2): the pull ``sum_q k w_q (s_q - s_p) / sigma`` plus the turn
    ``sum_q a w_q (r_q / mean r) sign(dtheta) t_p``, with w scaled to mean 1. Models are
    done a few at a time (:data:`PAIR_CHUNK`): 1.3x faster than all at once for 64 or 128
    systems at n = 17, the same bits."""
    U = S.shape[1]
    c = max(1, PAIR_CHUNK // (U * U))
    rel = (labels[:, None] != labels[None, :]).int()                     # 0 same answer, 1 different
    out = [_binned_law(S[i:i + c], labels, rel, w[i:i + c], None if sigma is None else sigma[i:i + c], tables)
           for i in range(0, S.shape[0], c)]
    return out[0] if len(out) == 1 else torch.cat(out)


def _binned_law(S, labels, rel, w, sigma, tables) -> torch.Tensor:
    """:func:`binned_law` on a chunk of models; ``rel`` (U, U): 0 for two sums with the same
    answer, 1 for different answers."""
    d_edges, pulls, a_edges, turns = tables
    wq = w / w.mean(-1, keepdim=True)
    dist = distances(S)
    sigma = window_width(dist, labels, w) if sigma is None else sigma
    # a sum's own term (distance 0, angle 0) pulls by 0 (s_p - s_p) and turns by sign(0) = 0
    K = _look_up(pulls, bin_index(dist.div_(sigma[:, None, None]), d_edges), rel).mul_(wq[:, None, :])
    pull = displacement_sum(S, K) / sigma[:, None, None]
    th = torch.atan2(S[..., 1], S[..., 0])
    dth = th[..., None, :] - th[..., :, None]                            # theta_q - theta_p, unwrapped
    A = _look_up(turns, bin_index(dth, a_edges), rel).masked_fill_(dth == 0, 0)
    r = S.norm(dim=-1)
    u = S / r.clamp_min(1e-300).unsqueeze(-1)
    turn = (A @ (wq * r / r.mean(-1, keepdim=True)).unsqueeze(-1)) * torch.stack([-u[..., 1], u[..., 0]], -1)
    return pull + turn
