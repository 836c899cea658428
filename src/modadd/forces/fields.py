"""The force fields, checked at the door: the public functions chapters and tests call.

Each checks its arguments once (:mod:`modadd.core.validate`) and calls the unchecked kernels of
:mod:`modadd.forces.kernels` and :mod:`modadd.forces.mesh`. See :mod:`modadd.forces` for
the notation.
"""
from __future__ import annotations

import math

import torch

from ..core.model import Params, loss_and_grads, sum_vectors
from ..core.train import RunConfig, pair_weights
from ..core.validate import (check_finite, check_label_vector, check_labels, check_non_negative_int,
                        check_pair_weights, check_pairs, check_scales, check_tensor, is_real)
from .kernels import alignment, clustering, distances, repulsion, spread_to_embeddings, window_width
from .mesh import MESH_CELLS_PER_SIGMA, repulsion_mesh

FORCE_NAMES = ("clustering", "alignment", "repulsion")


def resolve_sigma(sigma, S, labels, weights) -> torch.Tensor | None:
    """The window width as the kernels want it: None, or an (M,) tensor of widths > 0.

    ``sigma`` is None (no window), "auto" (:func:`auto_sigma` of these sums, answers and
    weights), a number > 0, or one per model."""
    if sigma is None:
        return None
    if isinstance(sigma, str) and sigma == "auto":
        return auto_sigma(S, labels, weights=weights)
    return check_scales("sigma", sigma, S.shape[0], S.dtype)


def configs_for(config, M: int) -> list[RunConfig]:
    """``config`` for M models: a :class:`modadd.core.train.RunConfig` used by all, or a
    list of M of them."""
    if isinstance(config, RunConfig):
        return [config] * M
    configs = list(config)
    if len(configs) != M:
        raise ValueError(f"need one RunConfig or one per model (M={M}), got {len(configs)}")
    return configs


def pair_gradients(params: Params, config) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact gradient of the training loss with respect to every sum vector.

    Args:
        params: parameters of M models (:class:`modadd.core.model.Params`).
        config: a :class:`modadd.core.train.RunConfig` (used for all M models, e.g. M recorded
            steps of one run) or a list of M of them; it fixes the training pairs and their
            weights exactly as :func:`modadd.core.train.train` does.

    Returns:
        ``(pairs, labels, g)``: pairs (U, 2) with a <= b, labels (U,), and g (M, U, 2) with
        ``g[m, p] = dL_m/ds_p`` for the training loss ``L_m`` (zero for held-out pairs).
        Then ``dL/dE_a = sum_{p containing a} g_p`` with ``(a, a)`` counted twice, i.e.
        ``to_embeddings(g, pairs, n)`` equals the gradient on the embeddings.
    """
    if not isinstance(params, Params):
        raise ValueError(f"params must be a modadd.core.model.Params, got {type(params).__name__}")
    M, n = params.E.shape[:2]
    configs = configs_for(config, M)
    if configs[0].model.n != n:
        raise ValueError(f"config has n={configs[0].model.n} but the embeddings have n={n}")
    split = pair_weights(configs)
    out = loss_and_grads(params, split.pairs, split.labels, split.train_weights.to(params.E.dtype))
    return split.pairs, split.labels, out.sum_grad


def to_embeddings(f, pairs: torch.Tensor, n: int, weights=None) -> torch.Tensor:
    """Distribute a force on each sum vector onto its two embeddings: (M, U, 2) -> (M, n, 2).

    ``F_a = sum_{p = (a, b)} w_p f_p + sum_{p = (b, a)} w_p f_p``: ``s_ab = E_a + E_b``, so
    by the chain rule the same vector acts on ``E_a`` and on ``E_b`` (and twice on ``E_a``
    for the pair ``(a, a)``). ``weights`` (U,) or (M, U), default 1.
    """
    f = check_tensor("f", f, (3,))
    M, U, _ = f.shape
    n = check_pairs(pairs, U, n)
    return spread_to_embeddings(f, pairs, n, check_pair_weights(weights, M, U, f.dtype))


def auto_sigma(S, labels=None, *, weights=None) -> torch.Tensor:
    """The window width ``sigma="auto"`` stands for, per model (M,): the median distance
    from a sum to its nearest
    neighbouring sum, over the pairs with weight > 0 (for an even count, the lower of the
    two middle values, as ``torch.median``).

    With ``labels`` (what ``sigma="auto"`` uses everywhere in this module), the neighbour
    must have a *different* answer: in a grid many same-answer sums coincide (distance 0),
    and the distance to the nearest other answer is the scale on which the network must
    tell answers apart. Without labels, the nearest *distinct* sum (distance above 1e-9
    of the largest distance) is used; on trained grids that window explains less of the
    gradient. Raises ValueError when the sums of a model all coincide.
    """
    S = check_tensor("S", S, (3,))
    M, U, _ = S.shape
    w = check_pair_weights(weights, M, U, S.dtype)
    labels = None if labels is None else check_labels(labels, U)
    scale = window_width(distances(S), labels, w)
    bad = ~(torch.isfinite(scale) & (scale > 0))
    if bad.any():
        raise ValueError(f"cannot set a window width for model(s) {bad.nonzero().flatten().tolist()[:10]}: "
                         "their sum vectors coincide (no sum has a distinct neighbour"
                         f"{' with a different answer' if labels is not None else ''})")
    return scale


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
    (exactly n (n + 1)^2 / 4 same-answer pairs, a sum with itself included, for all pairs of
    an odd n: :func:`modadd.forces.kernels.answer_groups`). ``sigma="auto"`` costs O(U^2) on top
    (:func:`auto_sigma`); pass a number to avoid it.

    Args:
        S: (M, U, 2) sum vectors. labels: (U,) answers.
        sigma: None (no window), "auto" (:func:`auto_sigma`), a number > 0, or (M,).
        weights: (U,) or (M, U) weights ``w_q`` of the pulling sums; default 1.
    Returns:
        (M, U, 2) the force on every sum vector.
    """
    S, labels, w, sigma = _field_args(S, labels, sigma, weights)
    return clustering(S, labels, w, sigma)


def _field_args(S, labels, sigma, weights):
    S = check_tensor("S", S, (3,))
    labels = check_labels(labels, S.shape[1])
    w = check_pair_weights(weights, S.shape[0], S.shape[1], S.dtype)
    return S, labels, w, resolve_sigma(sigma, S, labels, w)


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
    * ``method="mesh"`` (needs one window width for all models): the push from *all* sums is
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
    S, labels, w, sigma = _field_args(S, labels, sigma, weights)
    if method == "exact":
        return repulsion(S, labels, w, sigma)
    if method != "mesh":
        raise ValueError(f"method must be 'exact' or 'mesh', got method={method!r}")
    if sigma is None or not bool((sigma == sigma[0]).all()):
        raise ValueError("method='mesh' needs one window width sigma > 0 shared by all models")
    if not is_real(cells_per_sigma) or not math.isfinite(cells_per_sigma) or cells_per_sigma < 1:
        raise ValueError(f"cells_per_sigma must be a number >= 1, got cells_per_sigma={cells_per_sigma!r}")
    return repulsion_mesh(S, labels, w, sigma, float(cells_per_sigma))


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

    Chosen in chapter 4 (*An honest fit*) on seeds 0-7 and reported on seeds 8-31: for
    runs without biases ``self_power = 0`` leads the shuffled baseline by more than 1 or -1
    do; ``other_power`` matters little (:func:`modadd.forces.honest_fit`). A sum at the origin feels and exerts no alignment. Computed answer by answer,
    like :func:`clustering_force`: O(L G^2) per model.

    Args:
        S: (M, U, 2). labels: (U,). weights: (U,) or (M, U) ``w_q``, default 1.
    Returns:
        (M, U, 2), perpendicular to every ``s_p``.
    """
    S = check_tensor("S", S, (3,))
    labels = check_labels(labels, S.shape[1])
    w = check_pair_weights(weights, S.shape[0], S.shape[1], S.dtype)
    self_power = check_finite("self_power", self_power)
    other_power = check_finite("other_power", other_power)
    return alignment(S, labels, w, self_power, other_power)


#: Each force model's kernel with one signature, ``(S, labels, sigma, w)`` (checked
#: arguments, as :func:`resolve_sigma` and :func:`modadd.core.validate.check_pair_weights` give).
FORCES = {
    "clustering": lambda S, labels, sigma, w: clustering(S, labels, w, sigma),
    "alignment": lambda S, labels, sigma, w: alignment(S, labels, w),
    "repulsion": lambda S, labels, sigma, w: repulsion(S, labels, w, sigma),
}


def check_force_names(forces) -> tuple[str, ...]:
    """Distinct names from :data:`FORCES` (one name or several), as a tuple."""
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
    by the windowed forces (clustering, repulsion); "auto" is :func:`auto_sigma` of
    these sums and labels. Returns {name: (M, n, 2)}.
    """
    E = check_tensor("E", E, (3,))
    forces = check_force_names(forces)
    S = sum_vectors(E, pairs)
    labels = check_labels(labels, S.shape[1])
    w = check_pair_weights(weights, S.shape[0], S.shape[1], S.dtype)
    sig = resolve_sigma(sigma, S, labels, w)
    n = check_pairs(pairs, S.shape[1], E.shape[1])
    return {name: spread_to_embeddings(FORCES[name](S, labels, sig, w), pairs, n, w) for name in forces}


def shuffled_labels(labels, seed: int) -> torch.Tensor:
    """A random permutation of the answers over the pairs (deterministic in ``seed``).

    Every answer keeps its number of pairs, but which pairs share an answer is destroyed:
    the same force formulas with these labels are the baseline that any "explained
    fraction" must beat.
    """
    labels = check_label_vector(labels)
    g = torch.Generator().manual_seed(check_non_negative_int("seed", seed))
    return labels[torch.randperm(len(labels), generator=g)]
