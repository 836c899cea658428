"""The demo's tiny network, written for a batch of M independent models.

For one model, with embeddings ``E`` of shape ``(n, d)``::

    x      = E[a] + E[b]              # "constant attention": the two tokens, summed   (d,)
    h      = relu(x @ W1 + b1)        # W1: (d, H), b1: (H,)                            (H,)
    logits = h @ W2 + b2              # W2: (H, n), b2: (n,)                            (n,)

Every tensor here carries a leading model axis ``M``, so M models with their own
initialisations (and, in :mod:`modadd.core.train`, their own hyperparameters) run as one
tensor program. A single model is a batch of one. Weights are stored input-major
(``x @ W1``), i.e. the transpose of ``nn.Linear.weight``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from .validate import check_bool, check_choice, check_n, check_number, check_positive_int

INITS = ("torch", "glorot")
EMBED_INITS = ("normal", "uniform")


@dataclass(frozen=True)
class ModelConfig:
    """Shape and initialisation of one model.

    Args:
        n: the modulus: number of tokens and of output classes.
        dim: embedding dimension d (2 in this book, so embeddings can be drawn).
        hidden: width H of the hidden layer (64 in the paper's demo).
        bias: whether the two linear layers have (trainable) biases; False fixes them at 0.
        init: "torch" is PyTorch's ``nn.Linear`` default, U(±1/sqrt(fan_in)) for weights
            and biases; "glorot" is Glorot-uniform weights, U(±sqrt(6/(fan_in+fan_out))),
            with zero biases.
        embed_init: "normal" draws embeddings from N(0, embed_scale²); "uniform" from
            U(-embed_scale, embed_scale).
        embed_scale: the embeddings' initial scale.
    """

    n: int = 17
    dim: int = 2
    hidden: int = 64
    bias: bool = True
    init: str = "torch"
    embed_init: str = "normal"
    embed_scale: float = 0.05

    def __post_init__(self):
        check_n(self.n)
        check_positive_int("dim", self.dim)
        check_positive_int("hidden", self.hidden)
        check_bool("bias", self.bias)
        check_choice("init", self.init, INITS)
        check_choice("embed_init", self.embed_init, EMBED_INITS)
        check_number("embed_scale", self.embed_scale, strict=True)


@dataclass
class Params:
    """Parameters of M models: E (M, n, d), W1 (M, d, H), b1 (M, H), W2 (M, H, n), b2 (M, n)."""

    E: torch.Tensor
    W1: torch.Tensor
    b1: torch.Tensor
    W2: torch.Tensor
    b2: torch.Tensor

    NAMES = ("E", "W1", "b1", "W2", "b2")

    def tensors(self) -> list[torch.Tensor]:
        return [getattr(self, f.name) for f in fields(self)]

    def __getitem__(self, i) -> "Params":
        """Select models, keeping the model axis: an int gives a batch of one; a slice
        gives views (no copy), so writing into them writes into this Params."""
        idx = slice(i, i + 1) if isinstance(i, int) else i
        return Params(*(t[idx] for t in self.tensors()))


def init_params(configs: list[ModelConfig], seeds: list[int]) -> Params:
    """Initialise one model per (config, seed); all configs must share n, dim, hidden.

    Each model draws from its own ``torch.Generator`` seeded with its seed, in the fixed
    order E, W1, b1, W2, b2, so a model's start does not depend on the rest of the batch.
    """
    if len(configs) != len(seeds) or not configs:
        raise ValueError(f"need one seed per config and at least one config, got {len(configs)} configs and {len(seeds)} seeds")
    shape = {(c.n, c.dim, c.hidden) for c in configs}
    if len(shape) != 1:
        raise ValueError(f"all models in a batch must share (n, dim, hidden), got {sorted(shape)}")
    out = {k: [] for k in Params.NAMES}
    for c, seed in zip(configs, seeds):
        g = torch.Generator().manual_seed(int(seed))
        n, d, H = c.n, c.dim, c.hidden

        def uniform(shape, bound):
            return (torch.rand(shape, generator=g) * 2 - 1) * bound

        if c.embed_init == "normal":
            E = torch.randn((n, d), generator=g) * c.embed_scale
        else:
            E = uniform((n, d), c.embed_scale)
        if c.init == "torch":
            W1, b1 = uniform((d, H), 1 / math.sqrt(d)), uniform((H,), 1 / math.sqrt(d))
            W2, b2 = uniform((H, n), 1 / math.sqrt(H)), uniform((n,), 1 / math.sqrt(H))
        else:
            W1, b1 = uniform((d, H), math.sqrt(6 / (d + H))), torch.zeros(H)
            W2, b2 = uniform((H, n), math.sqrt(6 / (H + n))), torch.zeros(n)
        if not c.bias:
            b1, b2 = torch.zeros(H), torch.zeros(n)
        for k, t in zip(Params.NAMES, (E, W1, b1, W2, b2)):
            out[k].append(t)
    return Params(*(torch.stack(out[k]) for k in Params.NAMES))


def sum_vectors(E: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """``E_a + E_b`` for every pair: E (M, n, d), pairs (P, 2) -> (M, P, d)."""
    return E.index_select(1, pairs[:, 0]) + E.index_select(1, pairs[:, 1])


def mlp(p: Params, x: torch.Tensor) -> torch.Tensor:
    """The two linear layers applied to points x (M, P, d) of the plane -> logits (M, P, n)."""
    h = torch.relu(torch.baddbmm(p.b1.unsqueeze(1), x, p.W1))
    return torch.baddbmm(p.b2.unsqueeze(1), h, p.W2)


def forward(p: Params, pairs: torch.Tensor) -> torch.Tensor:
    """Logits (M, P, n) for pairs (P, 2) of token ids."""
    return mlp(p, sum_vectors(p.E, pairs))


@dataclass
class Pass:
    """What one forward/backward pass returns.

    ``loss``: (M,) weighted cross-entropy. ``per_pair_loss``: (M, P). ``logits``: (M, P, n).
    ``grads``: gradients of ``loss`` with the same fields as :class:`Params`.
    ``sum_grad``: (M, P, d), the gradient with respect to each pair's sum vector
    ``x = E_a + E_b``; summing it into rows a and b gives ``grads.E``.
    """

    loss: torch.Tensor
    per_pair_loss: torch.Tensor
    logits: torch.Tensor
    grads: Params
    sum_grad: torch.Tensor


def loss_and_grads(p: Params, pairs: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                   out: Params | None = None, one_hot: torch.Tensor | None = None) -> Pass:
    """Loss ``sum_p weights[m, p] * CE(logits[m, p], labels[p])`` and its exact gradients.

    Written out by hand (no autograd) so that a whole batch of models takes one short
    sequence of batched matrix products; ``tests/unit/test_model.py`` checks it against autograd.
    pairs (P, 2), labels (P,), weights (M, P). A caller that steps many times may pass
    ``out``, tensors shaped as ``p`` that the gradients are written into (the trainer's
    views into its flat gradient vector), and ``one_hot``, ``labels`` one-hot (P, n) in
    the logits' dtype; either way the numbers are the same.
    """
    M, n, d = p.E.shape
    x = sum_vectors(p.E, pairs)                                   # (M, P, d)
    h = torch.baddbmm(p.b1.unsqueeze(1), x, p.W1).clamp_min_(0.0)   # (M, P, H), ReLU in place
    logits = torch.baddbmm(p.b2.unsqueeze(1), h, p.W2)            # (M, P, n)
    logp = torch.log_softmax(logits, dim=-1)
    per_pair = -logp.gather(-1, labels.expand(M, -1).unsqueeze(-1)).squeeze(-1)   # (M, P)
    loss = (weights * per_pair).sum(1)

    if out is None:
        out = Params(*(torch.empty_like(t) for t in p.tensors()))
    if one_hot is None:
        one_hot = torch.nn.functional.one_hot(labels, n).to(logits.dtype)
    dlogits = logp.exp_()                                          # softmax, in place
    dlogits.sub_(one_hot)
    dlogits.mul_(weights.unsqueeze(-1))
    torch.bmm(h.transpose(1, 2), dlogits, out=out.W2)
    torch.sum(dlogits, 1, out=out.b2)
    # ReLU's backward (the fused op is much faster on CPU than multiplying by a bool mask)
    dz = torch.ops.aten.threshold_backward(torch.bmm(dlogits, p.W2.transpose(1, 2)), h, 0.0)
    torch.bmm(x.transpose(1, 2), dz, out=out.W1)
    torch.sum(dz, 1, out=out.b1)
    dx = torch.bmm(dz, p.W1.transpose(1, 2))                       # (M, P, d)
    out.E.zero_().index_add_(1, pairs[:, 0], dx).index_add_(1, pairs[:, 1], dx)
    return Pass(loss, per_pair, logits, out, dx)
