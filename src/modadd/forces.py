"""Forces between sum vectors: the exact gradient, three force models, and how much they explain.

The network sees a pair ``(a, b)`` only through its sum vector ``s_ab = E_a + E_b``, so the
exact gradient on an embedding is a sum over its pairs::

    dL/dE_a = sum over training pairs p containing a of  g_p,      g_p = dL/ds_p

(a pair ``(a, a)`` contains ``a`` twice). :func:`pair_gradients` returns every ``g_p``.
The force models below replace ``-g_p`` by a simple interaction between sum vectors, named
after the two tendencies of Musat (2024, arXiv:2408.09414), *clustering* and *alignment*,
plus a *repulsion* between different answers. **The formulas are this book's own
derivations**: the paper's exact force laws are not available to us, and nothing here
should be quoted as the paper's formula.

Notation, for M models (the leading axis everywhere), U unordered pairs ``a <= b``:

* ``S`` (M, U, 2): the sum vectors ``s_p``; ``y_p = (a + b) mod n`` the answers (U,);
* ``w_q`` (M, U): a weight per pair; the trainer's training weights
  (:func:`modadd.train.pair_weights`: ``mult * (1 - val)``, normalised to sum 1, with
  ``mult`` = 2 for ``a != b``) make held-out pairs exert and feel nothing, and make an
  unordered pair count like its two ordered pairs. ``None`` means ``w_q = 1``;
* a force on every sum vector is an (M, U, 2) tensor ``f``; :func:`to_embeddings` moves it
  onto the embeddings by the same chain rule as the gradient:
  ``F_a = sum_{p containing a} w_p f_p`` (twice for ``(a, a)``);
* ``K_sigma(d) = exp(-d^2 / (2 sigma^2))``, a Gaussian window (sigma = None: no window,
  ``K = 1``).

Comparing a force model with the gradient (:func:`fit_forces`) removes first the *affine*
part of every field, ``F_a = A E_a + t``: the first layer can absorb a global affine change
of all embeddings (``E -> A E + t`` with ``W1 -> A^-T W1`` and ``b1`` adjusted computes the
same function), so that part of the gradient says nothing about the *shape* of the
embedding. Every measured fraction must be read beside the same fit with shuffled answers
(:func:`shuffled_labels`), which keeps all positions and group sizes but destroys which
pairs share an answer.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from .model import Params, loss_and_grads, sum_vectors

FORCE_NAMES = ("clustering", "alignment", "repulsion")
MESH_CELLS_PER_SIGMA = 3.0   # repulsion_force(method="mesh"): relative error ~0.7% (tested < 1%)


# ---------------------------------------------------------------------------- checks


def _as_tensor(name, x, ndim_options, last=2) -> torch.Tensor:
    """``x`` as a floating tensor with one of the allowed numbers of axes and last axis ``last``."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}")
    if not x.is_floating_point():
        x = x.double()
    if x.ndim not in ndim_options or (last is not None and x.shape[-1] != last):
        want = " or ".join(f"{k} axes" for k in ndim_options)
        raise ValueError(f"{name} must have {want} with last axis {last}, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _check_sums(S) -> torch.Tensor:
    return _as_tensor("S", S, (3,))


def _check_labels(labels, U) -> torch.Tensor:
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.shape != (U,):
        shape = tuple(labels.shape) if hasattr(labels, "shape") else type(labels).__name__
        raise ValueError(f"labels must be an integer tensor of shape (U,) = ({U},), got {shape}")
    return labels


def _check_weights(weights, M, U, dtype) -> torch.Tensor:
    if weights is None:
        return torch.ones(M, U, dtype=dtype)
    w = _as_tensor("weights", weights, (1, 2), last=U).to(dtype)
    if (w < 0).any():
        raise ValueError(f"weights must be >= 0, got a minimum of {w.min().item():g}")
    w = w.expand(M, U) if w.ndim == 1 or w.shape[0] == 1 else w
    if w.shape != (M, U):
        raise ValueError(f"weights must have shape (U,) or (M, U) = ({M}, {U}), got {tuple(weights.shape)}")
    return w


def _check_sigma(sigma, S, labels, weights):
    """None, or a (M,) tensor of window scales > 0. ``"auto"`` is :func:`window_scale`."""
    M = S.shape[0]
    if sigma is None:
        return None
    if isinstance(sigma, str):
        if sigma != "auto":
            raise ValueError(f"sigma must be None, 'auto', a number > 0 or an (M,) tensor, got sigma={sigma!r}")
        return window_scale(S, labels, weights=weights)
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        if not math.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"sigma must be a finite number > 0, got sigma={sigma!r}")
        return torch.full((M,), float(sigma), dtype=S.dtype)
    if isinstance(sigma, (torch.Tensor, np.ndarray)):
        s = torch.as_tensor(sigma, dtype=S.dtype).reshape(-1)
        if s.numel() == 1:
            s = s.expand(M)
        if s.shape != (M,) or not torch.isfinite(s).all() or (s <= 0).any():
            raise ValueError(f"sigma must hold M={M} finite values > 0, got {sigma!r}")
        return s
    raise ValueError(f"sigma must be None, 'auto', a number > 0 or an (M,) tensor, got sigma={sigma!r}")


# ---------------------------------------------------------------------------- exact gradient


def _configs_for(config, M):
    from .train import RunConfig
    if isinstance(config, RunConfig):
        return [config] * M
    configs = list(config)
    if len(configs) != M:
        raise ValueError(f"need one RunConfig or one per model (M={M}), got {len(configs)}")
    return configs


def pair_gradients(params: Params, config) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact gradient of the training loss with respect to every sum vector.

    Args:
        params: parameters of M models (:class:`modadd.model.Params`).
        config: a :class:`modadd.train.RunConfig` (used for all M models, e.g. M recorded
            steps of one run) or a list of M of them; it fixes the training pairs and their
            weights exactly as :func:`modadd.train.train` does.

    Returns:
        ``(pairs, labels, g)``: pairs (U, 2) with a <= b, labels (U,), and g (M, U, 2) with
        ``g[m, p] = dL_m/ds_p`` for the training loss ``L_m`` (zero for held-out pairs).
        Then ``dL/dE_a = sum_{p containing a} g_p`` with ``(a, a)`` counted twice, i.e.
        ``to_embeddings(g, pairs, n)`` equals the gradient on the embeddings.
    """
    from .train import pair_weights
    if not isinstance(params, Params):
        raise ValueError(f"params must be a modadd.model.Params, got {type(params).__name__}")
    M, n = params.E.shape[:2]
    configs = _configs_for(config, M)
    if configs[0].model.n != n:
        raise ValueError(f"config has n={configs[0].model.n} but the embeddings have n={n}")
    pairs, labels, w_train, _, _ = pair_weights(configs)
    out = loss_and_grads(params, pairs, labels, w_train.to(params.E.dtype))
    return pairs, labels, out.sum_grad


def to_embeddings(f, pairs: torch.Tensor, n: int, weights=None) -> torch.Tensor:
    """Distribute a force on each sum vector onto its two embeddings: (M, U, 2) -> (M, n, 2).

    ``F_a = sum_{p = (a, b)} w_p f_p + sum_{p = (b, a)} w_p f_p``: ``s_ab = E_a + E_b``, so
    by the chain rule the same vector acts on ``E_a`` and on ``E_b`` (and twice on ``E_a``
    for the pair ``(a, a)``). ``weights`` (U,) or (M, U), default 1.
    """
    f = _as_tensor("f", f, (3,))
    M, U, _ = f.shape
    if not isinstance(pairs, torch.Tensor) or pairs.shape != (U, 2):
        raise ValueError(f"pairs must be a (U, 2) = ({U}, 2) integer tensor, got "
                         f"{tuple(pairs.shape) if hasattr(pairs, 'shape') else pairs!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 or int(pairs.max()) >= n or int(pairs.min()) < 0:
        raise ValueError(f"n must be an integer larger than every index in pairs, got n={n!r}")
    return _to_embeddings(f, pairs, int(n), _check_weights(weights, M, U, f.dtype))


def _to_embeddings(f, pairs, n: int, w) -> torch.Tensor:
    """:func:`to_embeddings` on checked arguments (w (M, U))."""
    fw = f * w.unsqueeze(-1)
    F = torch.zeros(f.shape[0], n, 2, dtype=f.dtype)
    F.index_add_(1, pairs[:, 0], fw).index_add_(1, pairs[:, 1], fw)
    return F


# ---------------------------------------------------------------------------- force models


def window_scale(S, labels=None, *, weights=None) -> torch.Tensor:
    """Default window scale per model (M,): the median distance from a sum to its nearest
    neighbouring sum, over the pairs with weight > 0 (for an even count, the lower of the
    two middle values, as ``torch.median``).

    With ``labels`` (what ``sigma="auto"`` uses everywhere in this module), the neighbour
    must have a *different* answer: in a grid many same-answer sums coincide (distance 0),
    and the distance to the nearest other answer is the scale on which the network must
    tell answers apart. Without labels, the nearest *distinct* sum (distance above 1e-9
    of the largest distance) is used; on trained grids that window explains less of the
    gradient. Raises ValueError when the sums of a model all coincide.
    """
    S = _check_sums(S)
    M, U, _ = S.shape
    w = _check_weights(weights, M, U, S.dtype)
    d = _distances(S)
    valid = (w[:, :, None] > 0) & (w[:, None, :] > 0)
    if labels is not None:
        labels = _check_labels(labels, U)
        valid = valid & (labels[:, None] != labels[None, :])
    else:
        big = d.amax((1, 2), keepdim=True)
        valid = valid & (d > 1e-9 * big)
    nearest = torch.where(valid, d, torch.inf).min(-1).values          # (M, U)
    nearest = torch.where(w > 0, nearest, torch.nan)
    scale = torch.nanmedian(torch.where(torch.isinf(nearest), torch.nan, nearest), dim=-1).values
    bad = ~(torch.isfinite(scale) & (scale > 0))
    if bad.any():
        raise ValueError(f"cannot set a window scale for model(s) {bad.nonzero().flatten().tolist()[:10]}: "
                         "their sum vectors coincide (no sum has a distinct neighbour"
                         f"{' with a different answer' if labels is not None else ''})")
    return scale


def _distances(S) -> torch.Tensor:
    """(M, U, U) exact pairwise distances (coincident sums give exactly 0)."""
    return torch.cdist(S, S, compute_mode="donot_use_mm_for_euclid_dist")


def _displacement_sum(S, K) -> torch.Tensor:
    """``sum_q K[..., p, q] (s_q - s_p)`` for all p: (..., U, 2)."""
    return K @ S - K.sum(-1, keepdim=True) * S


def _groups(labels: torch.Tensor):
    """The pairs of each answer, as tables for computing answer by answer.

    Clustering and alignment only act between sums with the *same* answer, so they are
    computed group by group: L * G^2 interactions instead of U^2. For all unordered pairs
    of an odd n, L = n and G = (n + 1) / 2, so the cost is about n^3 / 4, not n^4 / 4.

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


def _within_answers(S, labels, w, pairwise) -> torch.Tensor:
    """Apply ``pairwise(S_g, w_g)`` to each answer's sums and put the results back: (M, U, 2).

    ``S_g`` (M, L, G, 2) holds the sums of each answer, ``w_g`` (M, L, G) their weights
    (0 for padding, so padding neither pulls nor is kept); ``pairwise`` returns the force
    on every member of the group from the members of the same group.
    """
    _, safe, real, back = _groups(labels)
    f_g = pairwise(S[:, safe], w[:, safe] * real.to(w.dtype))
    return f_g.reshape(S.shape[0], -1, S.shape[-1])[:, back]


def _window(S, sigma) -> torch.Tensor:
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


def clustering_force(S, labels, sigma="auto", *, weights=None) -> torch.Tensor:
    """Clustering: pull each sum toward the sums with the same answer.

    ``f_p = sum_{q : y_q = y_p} w_q K_sigma(|s_q - s_p|) (s_q - s_p)``

    Without a window it pulls ``s_p`` toward the (weighted) mean of its answer's sums,
    ``f_p = W_y (mean_y - s_p)``, with ``W_y`` the answer's total weight. With every pair
    present and equal (or ordered-pair) weights, this field is *exactly affine* on the
    embeddings (each answer's mean is the overall mean plus at most one embedding's
    share), so after removing the affine part only the imbalance left by the held-out
    pairs remains. The window keeps the pull local, as the loss's is: a network separates
    a sum from the other answers near it, not from far-away copies of its own answer (in a
    grid one answer sits at several lattice points). Windowed, ``f_p = sigma^2 grad_{s_p} sum_{q: y_q = y_p} w_q
    K_sigma(|s_q - s_p|)``: each sum climbs the local density of its own answer's sums.
    Computed answer by answer: O(L G^2) per model for L answers of at most G pairs each
    (about n^3 / 4 for all pairs of an odd n). ``sigma="auto"`` costs O(U^2) on top
    (:func:`window_scale`); pass a number to avoid it.

    Args:
        S: (M, U, 2) sum vectors. labels: (U,) answers.
        sigma: None (no window), "auto" (:func:`window_scale`), a number > 0, or (M,).
        weights: (U,) or (M, U) weights ``w_q`` of the pulling sums; default 1.
    Returns:
        (M, U, 2) the force on every sum vector.
    """
    S, labels, w, sigma = _check_field_args(S, labels, sigma, weights)
    return _clustering(S, labels, w, sigma)


def _check_field_args(S, labels, sigma, weights):
    S = _check_sums(S)
    labels = _check_labels(labels, S.shape[1])
    w = _check_weights(weights, S.shape[0], S.shape[1], S.dtype)
    return S, labels, w, _check_sigma(sigma, S, labels, w)


def _clustering(S, labels, w, sigma) -> torch.Tensor:
    """:func:`clustering_force` on checked arguments (w (M, U), sigma None or (M,))."""
    return _within_answers(S, labels, w,
                           lambda S_g, w_g: _displacement_sum(S_g, _window(S_g, sigma) * w_g[..., None, :]))


def repulsion_force(S, labels, sigma="auto", *, weights=None, method: str = "exact",
                    cells_per_sigma: float = MESH_CELLS_PER_SIGMA) -> torch.Tensor:
    """Repulsion: push apart sums with *different* answers.

    ``f_p = sum_{q : y_q != y_p} w_q K_sigma(|s_p - s_q|) (s_p - s_q)``

    This is our stand-in for what the loss does between different answers: two sums that
    the network must classify differently cannot sit close together, and the cross-entropy
    pushes the confused ones apart. The window makes it local (sigma=None gives an
    unbounded push growing with distance, which on the embeddings is mostly an affine
    expansion).
    Careful when reading its fit: most near neighbours of a sum have a different answer
    anyway, so a good part of this force does not depend on the labels, and the shuffled
    baseline explains that part too.

    Two ways to compute it, the same field:

    * ``method="exact"``: every pair of sums, O(U^2) time and memory per model, U =
      n(n+1)/2 pairs: cheap for n = 17 (153 pairs), ~n^4/4 for large n.
    * ``method="mesh"`` (needs one window scale for all models): the push from *all* sums is
      a smoothed density's slope, ``sum_q w_q K (s_p - s_q) = -sigma^2 grad phi(s_p)`` with
      ``phi(x) = sum_q w_q K_sigma(|x - s_q|)``. Spread every sum's weight over the four
      corners of its cell on a square mesh (``cells_per_sigma`` cells per sigma), convolve
      with the window's slope by FFT, and read the result back at each sum from the same
      four corners (the particle-mesh method of gravity simulations). The push from the
      sum's *own* answer is then subtracted exactly (it is minus :func:`clustering_force`
      with the same window). Cost O(U + cells log cells) instead of O(U^2). Spreading and
      reading back blur the window by a variance of ``h^2 / 3`` per axis (``h`` = cell
      size); the mesh uses a window narrowed by that much and rescaled, which leaves a
      relative error below 1% at 3 cells per sigma (tested against ``"exact"``).
      Spreading and reading with the same weights make a sum's push on itself exactly 0
      and every pair's pushes equal and opposite.

    Args and return as :func:`clustering_force`, plus ``method`` ("exact" or "mesh") and
    ``cells_per_sigma`` (mesh only, >= 1).
    """
    S, labels, w, sigma = _check_field_args(S, labels, sigma, weights)
    if method == "exact":
        return _repulsion(S, labels, w, sigma)
    if method != "mesh":
        raise ValueError(f"method must be 'exact' or 'mesh', got method={method!r}")
    if sigma is None or not bool((sigma == sigma[0]).all()):
        raise ValueError("method='mesh' needs one window scale sigma > 0 shared by all models")
    if isinstance(cells_per_sigma, bool) or not isinstance(cells_per_sigma, numbers.Real) \
            or not math.isfinite(cells_per_sigma) or cells_per_sigma < 1:
        raise ValueError(f"cells_per_sigma must be a number >= 1, got cells_per_sigma={cells_per_sigma!r}")
    return _repulsion_mesh(S, labels, w, sigma, float(cells_per_sigma))


_CHUNK = 1 << 19   # exact repulsion: models per chunk * U^2 stays below this (cache-sized)


def _repulsion(S, labels, w, sigma) -> torch.Tensor:
    """Exact :func:`repulsion_force` on checked arguments: all pairs minus the same answer.

    Models are done a few at a time, so that the (chunk, U, U) window stays small enough
    for the CPU's caches (320 models at n = 17: 6x faster than all at once)."""
    M, U, _ = S.shape
    c = max(1, _CHUNK // (U * U))
    out = []
    for i in range(0, M, c):
        Si, wi = S[i:i + c], w[i:i + c]
        K = _window(Si, None if sigma is None else sigma[i:i + c]) * wi[:, None, :]
        out.append(-_displacement_sum(Si, K))
    return (out[0] if len(out) == 1 else torch.cat(out)) + _clustering(S, labels, w, sigma)


_CUTOFF = 5.0   # the mesh window is cut at this many sigma (exp(-12.5) ~ 4e-6)
_MESH_CELLS = 1 << 25   # at most this many mesh cells over all models (~270 MB per array)
_MESH_KERNELS: dict[tuple, torch.Tensor] = {}


def _fft_size(k: int) -> int:
    """The smallest size >= k with no prime factor above 5 (fast FFT sizes)."""
    while True:
        m = k
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return k
        k += 1


def _mesh_kernel(G: int, h: float, sigma: float) -> torch.Tensor:
    """FFT of the window's slope ``K(r) r`` on a (G, G) periodic mesh of cell size h:
    (2, G, G//2+1), for a window narrowed by the blur of spreading and reading back."""
    key = (G, h, sigma)
    if key not in _MESH_KERNELS:
        s2 = sigma ** 2 - h * h / 3                     # narrowed window ...
        off = torch.arange(G, dtype=torch.float64)
        off = torch.where(off > G // 2, off - G, off) * h
        K = torch.exp(-(off[:, None] ** 2 + off[None, :] ** 2) / (2 * s2)) * (sigma ** 2 / s2) ** 2
        K = torch.where(off[:, None] ** 2 + off[None, :] ** 2 <= (_CUTOFF * sigma) ** 2, K, 0.0)
        ker = torch.stack([K * off[:, None], K * off[None, :]])   # ... rescaled (2-D Gaussians)
        if len(_MESH_KERNELS) > 32:
            _MESH_KERNELS.clear()
        _MESH_KERNELS[key] = torch.fft.rfft2(ker)
    return _MESH_KERNELS[key]


def _repulsion_mesh(S, labels, w, sigmas, cells_per_sigma: float) -> torch.Tensor:
    """:func:`repulsion_force` by the particle-mesh method (see there); S (M, U, 2), sigmas
    (M,) all equal."""
    M, U, _ = S.shape
    sigma = float(sigmas[0])
    h = sigma / cells_per_sigma
    pad = int(math.ceil(_CUTOFF * cells_per_sigma)) + 1
    lo = S.amin(1) - pad * h                                          # (M, 2) mesh corner
    extent = float((S.amax(1) - S.amin(1)).max())
    G = _fft_size(16 * math.ceil((extent / h + 2 * pad + 2) / 16))   # stable sizes: kernel reuse
    if M * G * G > _MESH_CELLS:
        raise ValueError(f"method='mesh': the sums span {extent:.3g}, {extent / sigma:.3g} window widths; "
                         f"{M} mesh(es) of {G}x{G} cells exceed the limit of {_MESH_CELLS:,} cells "
                         "(use method='exact' or a wider window)")
    u = (S - lo[:, None]) / h
    i = u.floor()
    fx, fy = (u - i).unbind(-1)
    i = i.long()
    corner = i[..., 0] * G + i[..., 1]
    idx = torch.cat([corner, corner + G, corner + 1, corner + G + 1], 1)          # (M, 4U)
    W = torch.cat([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1)
    rho = torch.zeros(M, G * G, dtype=S.dtype).scatter_add_(1, idx, W * w.repeat(1, 4))
    field = torch.fft.irfft2(torch.fft.rfft2(rho.view(M, 1, G, G)) * _mesh_kernel(G, h, sigma),
                             s=(G, G)).view(M, 2, G * G)
    read = torch.gather(field, 2, idx[:, None, :].expand(M, 2, 4 * U)) * W[:, None, :]
    push_all = read.view(M, 2, 4, U).sum(2).transpose(1, 2)
    return push_all + _clustering(S, labels, w, sigmas)


def alignment_force(S, labels, *, weights=None, self_power: float = 0.0, other_power: float = 1.0) -> torch.Tensor:
    """Alignment: rotate each sum toward the *line* through the origin of its answer's sums.

    With ``theta_p`` the angle of ``s_p``, ``t_p = (-sin theta_p, cos theta_p)`` the unit
    vector perpendicular to it (counter-clockwise), and ``r_p = |s_p|``::

        f_p = r_p^self_power * sum_{q : y_q = y_p} w_q r_q^other_power (1/2) sin(2 (theta_q - theta_p)) t_p

    * **Axial** (doubled angle): ``sin 2(theta_q - theta_p)`` vanishes when ``s_q`` points
      along ``s_p`` *or opposite to it*. In a Pizza circle the same-answer sums lie on one
      line through the centre, on both sides (``E_a + E_b`` has the direction of the mean
      angle of a and b, up to a sign), so alignment must act on lines, not directions.
      ``(1/2) sin 2(theta_q - theta_p) = d/dtheta_p [(1/4) cos 2(theta_q - theta_p)]``:
      the rotation that most increases the axial agreement ``cos 2(theta_q - theta_p)``.
    * ``self_power = 0`` (default): the push has the same size at every radius. For a
      network without biases the logits are positively homogeneous,
      ``logits_y(s) = |s| phi_y(theta)``; the gradient of ``|s| phi(theta)`` has the
      component ``phi'(theta)`` along ``t``, with no factor ``|s|``, and so has the
      cross-entropy's (through the softmax it still depends on ``|s|``).
      (``self_power = 1`` turns every sum by the same *angle*; ``-1`` is the gradient of
      an angle-only potential.)
    * ``other_power = 1`` (default): a sum's vote on the direction is weighted by its
      length. A sum near the origin has an ill-defined direction; with the weight ``r_q``
      the force is continuous as ``s_q`` passes through 0.

    Measured on trained runs (see the chapter), ``self_power = 0`` explains more of the
    gradient than 1 or -1, axial clearly more than directional; ``other_power`` matters
    little. A sum at the origin feels and exerts no alignment. Computed answer by answer,
    like :func:`clustering_force`: O(L G^2) per model.

    Args:
        S: (M, U, 2). labels: (U,). weights: (U,) or (M, U) ``w_q``, default 1.
    Returns:
        (M, U, 2), perpendicular to every ``s_p``.
    """
    S = _check_sums(S)
    labels = _check_labels(labels, S.shape[1])
    w = _check_weights(weights, S.shape[0], S.shape[1], S.dtype)
    for name, v in (("self_power", self_power), ("other_power", other_power)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {name}={v!r}")
    return _alignment(S, labels, w, self_power, other_power)


def _alignment(S, labels, w, self_power: float = 0.0, other_power: float = 1.0) -> torch.Tensor:
    """:func:`alignment_force` on checked arguments (w (M, U))."""

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

    return _within_answers(S, labels, w, pairwise)


FORCES = {
    "clustering": lambda S, labels, sigma, w: clustering_force(S, labels, sigma, weights=w),
    "alignment": lambda S, labels, sigma, w: alignment_force(S, labels, weights=w),
    "repulsion": lambda S, labels, sigma, w: repulsion_force(S, labels, sigma, weights=w),
}


def _check_force_names(forces) -> tuple[str, ...]:
    if isinstance(forces, str):
        forces = (forces,)
    forces = tuple(forces)
    bad = [f for f in forces if f not in FORCES]
    if bad or not forces or len(set(forces)) != len(forces):
        raise ValueError(f"forces must be distinct names from {tuple(FORCES)}, got {forces!r}")
    return forces


def embedding_forces(E, pairs: torch.Tensor, labels, forces=FORCE_NAMES, *, sigma="auto",
                     weights=None) -> dict[str, torch.Tensor]:
    """Each named force model, computed on the sums of ``E`` and moved onto the embeddings.

    E (M, n, 2), pairs (U, 2), labels (U,); weights (U,) or (M, U) act both as ``w_q``
    (who pulls) and as ``w_p`` in :func:`to_embeddings` (who is pulled). sigma is shared
    by the windowed forces (clustering, repulsion); "auto" is :func:`window_scale` of
    these sums and labels. Returns {name: (M, n, 2)}.
    """
    E = _as_tensor("E", E, (3,))
    forces = _check_force_names(forces)
    S = sum_vectors(E, pairs)
    labels = _check_labels(labels, S.shape[1])
    w = _check_weights(weights, S.shape[0], S.shape[1], S.dtype)
    sig = _check_sigma(sigma, S, labels, w)
    return {name: to_embeddings(FORCES[name](S, labels, sig, w), pairs, E.shape[1], w) for name in forces}


def shuffled_labels(labels, seed: int) -> torch.Tensor:
    """A random permutation of the answers over the pairs (deterministic in ``seed``).

    Every answer keeps its number of pairs, but which pairs share an answer is destroyed:
    the same force formulas with these labels are the baseline that any "explained
    fraction" must beat.
    """
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"labels must be a 1-D integer tensor, got {labels!r:.60}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got seed={seed!r}")
    g = torch.Generator().manual_seed(int(seed))
    return labels[torch.randperm(len(labels), generator=g)]


# ---------------------------------------------------------------------------- affine part and fit


def _affine_design(E) -> torch.Tensor:
    """(M, 2n, 6): columns span the fields F_a = A E_a + t, flattened as (a, coordinate)."""
    M, n, _ = E.shape
    X = torch.zeros(M, n, 2, 6, dtype=E.dtype)
    X[:, :, 0, 0], X[:, :, 0, 1] = E[..., 0], E[..., 1]
    X[:, :, 1, 2], X[:, :, 1, 3] = E[..., 0], E[..., 1]
    X[:, :, 0, 4] = 1.0
    X[:, :, 1, 5] = 1.0
    return X.reshape(M, 2 * n, 6)


def _broadcast_field(name, F, M, n) -> torch.Tensor:
    F = _as_tensor(name, F, (2, 3))
    if F.ndim == 2:
        F = F.unsqueeze(0)
    if F.shape[1] != n or F.shape[0] not in (1, M):
        raise ValueError(f"{name} must have shape (n, 2) or (M, n, 2) = ({M}, {n}, 2), got {tuple(F.shape)}")
    return F.double().expand(M, n, 2)


def affine_part(F, E) -> torch.Tensor:
    """The least-squares affine part ``A E_a + t`` of a field F on the embeddings, per model.

    F (n, 2) or (M, n, 2), E (n, 2) or (M, n, 2) -> (M, n, 2), float64. ``A`` (2x2) and
    ``t`` (2,) minimise ``sum_a |F_a - A E_a - t|^2``; the 6 fields span everything a
    first layer can absorb (a global linear map plus a shift of all embeddings).
    """
    E = _as_tensor("E", E, (2, 3)).double()
    E = E.unsqueeze(0) if E.ndim == 2 else E
    F = _as_tensor("F", F, (2, 3))
    M, n = max(E.shape[0], F.shape[0] if F.ndim == 3 else 1), E.shape[1]
    E = _broadcast_field("E", E, M, n)
    F = _broadcast_field("F", F, M, n)
    X = _affine_design(E)
    coef = torch.linalg.pinv(X) @ F.reshape(M, -1, 1)
    return (X @ coef).reshape(M, n, 2)


@dataclass(frozen=True)
class ForceFit:
    """Least-squares fit of a target field (usually ``-dL/dE``) by named force fields.

    Attributes:
        names: the force names, in fit order.
        coefficients: {name: (M,)} fitted strength of each force.
        r2: (M,) uncentred ``1 - |target - fit|^2 / |target|^2`` (after affine removal when
            asked); 0 where the target is zero.
        cosine: (M,) cosine between target and fit over all embeddings. For a least-squares
            fit with no intercept this is ``sqrt(r2)``; kept for fits made elsewhere.
        cosine_per_embedding: (M, n) cosine between ``target_a`` and ``fit_a`` (0 where
            either is zero): which embeddings the forces get right.
        target, fit: (M, n, 2) the (affine-free, if asked) target and its fitted field.
        affine_removed: whether the affine parts were projected out first.
    """

    names: tuple[str, ...]
    coefficients: dict
    r2: np.ndarray
    cosine: np.ndarray
    cosine_per_embedding: np.ndarray
    target: np.ndarray
    fit: np.ndarray
    affine_removed: bool


def _cos(a, b, dim):
    na, nb = a.norm(dim=dim), b.norm(dim=dim)
    ok = (na > 0) & (nb > 0)
    return torch.where(ok, (a * b).sum(dim) / torch.where(ok, na * nb, 1.0), 0.0)


def fit_forces(target, basis: dict, E, remove_affine: bool = True) -> ForceFit:
    """Fit ``target ~ sum_k c_k basis[k]`` by least squares, per model, with no intercept.

    Args:
        target: (n, 2) or (M, n, 2), e.g. the negative gradient ``-dL/dE``.
        basis: {name: (n, 2) or (M, n, 2)} force fields on the embeddings
            (:func:`embedding_forces`).
        E: (n, 2) or (M, n, 2) the embeddings (defines the affine fields).
        remove_affine: first project the target and every basis field onto the orthogonal
            complement of the affine fields ``A E_a + t`` (per model), so that only the
            change of *shape* is compared.

    Returns:
        :class:`ForceFit`. With ``X`` the stacked (projected) basis and ``y`` the
        (projected) target, ``c = pinv(X) y``, ``r2 = 1 - |y - X c|^2 / |y|^2``.
        A basis field that vanishes (e.g. an affine one after removal) gets coefficient 0.
    """
    if not isinstance(basis, dict) or not basis:
        raise ValueError(f"basis must be a non-empty dict name -> (M, n, 2) field, got {type(basis).__name__}")
    if not isinstance(remove_affine, bool):
        raise ValueError(f"remove_affine must be True or False, got {remove_affine!r}")
    E = _as_tensor("E", E, (2, 3)).double()
    target = _as_tensor("target", target, (2, 3)).double()
    shapes = [E, target] + [_as_tensor(f"basis[{k!r}]", v, (2, 3)) for k, v in basis.items()]
    M = max(x.shape[0] if x.ndim == 3 else 1 for x in shapes)
    n = E.shape[-2]
    E = _broadcast_field("E", E, M, n)
    y = _broadcast_field("target", target, M, n)
    Xs = [_broadcast_field(f"basis[{k!r}]", v, M, n) for k, v in basis.items()]
    y_norm_raw = y.reshape(M, -1).norm(dim=-1)
    col_raw = torch.stack([x.reshape(M, -1).norm(dim=-1) for x in Xs], -1)   # (M, K)
    if remove_affine:
        y = y - affine_part(y, E)
        Xs = [x - affine_part(x, E) for x in Xs]
    yf = y.reshape(M, -1, 1)
    X = torch.stack([x.reshape(M, -1) for x in Xs], -1)               # (M, 2n, K)
    # Unit columns, so that forces of very different sizes are treated alike; columns that
    # are zero up to rounding (e.g. an affine field after removal) carry nothing.
    col = X.norm(dim=1)                                                # (M, K)
    live = col > 1e-10 * col_raw
    unit = torch.where(live, col, 1.0)
    X = torch.where(live[:, None, :], X / unit[:, None, :], 0.0)
    c = torch.linalg.pinv(X, rtol=1e-10) @ yf                         # (M, K, 1)
    fit = (X @ c).reshape(M, n, 2)
    c = torch.where(live[..., None], c / unit[..., None], 0.0)
    yy = yf.squeeze(-1).square().sum(-1)
    nothing = yy <= (1e-10 * y_norm_raw) ** 2                           # zero target: nothing to explain
    res = (y - fit).reshape(M, -1).square().sum(-1)
    r2 = torch.where(nothing, 0.0, 1 - res / torch.where(nothing, 1.0, yy))
    cosine = torch.where(nothing, 0.0, _cos(y.reshape(M, -1), fit.reshape(M, -1), -1))
    per = _cos(y, fit, -1)
    per = torch.where(nothing[:, None], 0.0, per)
    coefs = {k: c[:, i, 0].numpy() for i, k in enumerate(basis)}
    return ForceFit(names=tuple(basis), coefficients=coefs, r2=r2.numpy(), cosine=cosine.numpy(),
                    cosine_per_embedding=per.numpy(), target=y.numpy(), fit=fit.numpy(),
                    affine_removed=remove_affine)


# ---------------------------------------------------------------------------- along a run


def explained_over_history(history, run: int, forces=FORCE_NAMES, remove_affine: bool = True,
                           shuffle_seed: int = 0, sigma="auto"):
    """How much of the true embedding gradient the force models explain, at every recorded step.

    At each recorded step t of run ``run``: the target is ``-dL/dE`` (the training loss of
    that run, :func:`pair_gradients`), the basis is :func:`embedding_forces` with the
    run's training weights, fitted by :func:`fit_forces`. The baseline repeats the fit
    with the same positions, weights and window but labels from
    :func:`shuffled_labels` (``shuffle_seed``). All steps are one batched computation.

    Args:
        history: a :class:`modadd.train.History` recorded with ``record_params=True``.
        run: index of the run in the history.
        forces: names from ``FORCE_NAMES``.
        remove_affine: compare shapes only (see :func:`fit_forces`).
        shuffle_seed: seed of the label permutation for the baseline.
        sigma: window of clustering and repulsion: "auto" (:func:`window_scale` with the
            true labels, per step), None, or a number > 0.

    Returns:
        pandas DataFrame, one row per recorded step: ``step, sigma, r2, cosine,
        r2_shuffled, cosine_shuffled`` and ``coef_<name>``, ``coef_<name>_shuffled`` per force.
    """
    import pandas as pd
    from .train import History, pair_weights
    if not isinstance(history, History):
        raise ValueError(f"history must be a modadd.train.History, got {type(history).__name__}")
    M = len(history.configs)
    if isinstance(run, bool) or not isinstance(run, numbers.Integral) or not 0 <= run < M:
        raise ValueError(f"run must be an integer in [0, {M}), got run={run!r}")
    forces = _check_force_names(forces)
    if isinstance(shuffle_seed, bool) or not isinstance(shuffle_seed, numbers.Integral) or shuffle_seed < 0:
        raise ValueError(f"shuffle_seed must be a non-negative integer, got shuffle_seed={shuffle_seed!r}")
    history.params_at(run, 0)          # raises if the history kept only the embeddings
    cfg = history.configs[run]
    p = Params(*(x[run].double() for x in history.params.tensors()))   # T recorded steps as T models
    T = p.E.shape[0]
    pairs, labels, w_train, _, _ = pair_weights(cfg)
    w = w_train.double().expand(T, -1)
    target = -loss_and_grads(p, pairs, labels, w).grads.E
    S = sum_vectors(p.E, pairs)
    sig = _check_sigma(sigma, S, labels, w)
    rows = {"step": history.steps.astype(int),
            "sigma": np.full(T, np.nan) if sig is None else sig.numpy()}
    for suffix, lab in (("", labels), ("_shuffled", shuffled_labels(labels, shuffle_seed))):
        basis = {name: to_embeddings(FORCES[name](S, lab, sig, w), pairs, p.E.shape[1], w) for name in forces}
        fit = fit_forces(target, basis, p.E, remove_affine=remove_affine)
        rows[f"r2{suffix}"] = fit.r2
        rows[f"cosine{suffix}"] = fit.cosine
        for name in forces:
            rows[f"coef_{name}{suffix}"] = fit.coefficients[name]
    order = ["step", "sigma", "r2", "cosine", "r2_shuffled", "cosine_shuffled"]
    order += [k for k in rows if k.startswith("coef_")]
    return pd.DataFrame({k: rows[k] for k in order})
