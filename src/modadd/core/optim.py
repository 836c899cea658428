"""The optimiser: AdamW (or plain gradient descent) on one flat vector holding every
parameter of M models.

Two ideas, each in one visible place:

* **Parameter groups** (:func:`param_groups`), as in nanoGPT's ``configure_optimizers``:
  the embeddings, the weight matrices and the biases, each with its own weight decay per
  model (chapter 6 is about them). A model without biases keeps its biases frozen at zero
  (learning rate 0).
* **One AdamW step** (:func:`adamw_step`), PyTorch's ``torch.optim.AdamW`` update written
  out on flat vectors, so that per-model learning rates and per-group decays are just
  per-element vectors (:func:`per_element`).

Plain full-batch gradient descent (:func:`gd_step`, :class:`FlatGD`) shares the groups and
the decoupled decay; it only drops Adam's moments: chapter 5 asks what the structures owe
to Adam.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .model import Params

#: The tensors of each parameter group, in :attr:`Params.NAMES` order within a group.
GROUPS = {"embeddings": ("E",), "weights": ("W1", "W2"), "biases": ("b1", "b2")}


@dataclass(frozen=True)
class ParamGroup:
    """One parameter group of M models.

    Attributes:
        name: "embeddings", "weights" or "biases".
        tensors: the :class:`~modadd.core.model.Params` fields in the group.
        lr: (M,) each model's learning rate on the group (0: frozen).
        weight_decay: (M,) each model's decoupled weight decay on the group.
    """

    name: str
    tensors: tuple[str, ...]
    lr: torch.Tensor
    weight_decay: torch.Tensor


def param_groups(configs, dtype=torch.float32, frozen: tuple[str, ...] = ()) -> list[ParamGroup]:
    """The embeddings, weights and biases of M runs, with each run's lr and weight decay.

    ``configs`` are M :class:`modadd.core.train.RunConfig`; a run whose model has no biases gets
    learning rate 0 on them (they stay at zero). The groups named in ``frozen`` get
    learning rate 0 in every run: AdamW then leaves them exactly where they start (no step,
    and no decay, since the decay factor is ``1 - lr * weight_decay``).
    """
    groups = []
    for name, tensors in GROUPS.items():
        if name in frozen:
            lr = torch.zeros(len(configs), dtype=dtype)
        else:
            lr = torch.tensor([0.0 if (name == "biases" and not c.model.bias) else c.lr for c in configs],
                              dtype=dtype)
        wd = torch.tensor([c.decays()[tensors[0]] for c in configs], dtype=dtype)
        groups.append(ParamGroup(name, tensors, lr, wd))
    return groups


def per_element(groups: list[ParamGroup], params: Params) -> tuple[torch.Tensor, torch.Tensor]:
    """The groups' settings as two vectors as long as :func:`flatten` ``(params)``:
    the learning rate, and AdamW's decay factor ``1 - lr * weight_decay``."""
    of = {t: g for g in groups for t in g.tensors}
    lr, decay = [], []
    for name, t in zip(Params.NAMES, params.tensors()):
        g = of[name]
        per_model = t.numel() // t.shape[0]
        lr.append(g.lr.repeat_interleave(per_model))
        decay.append((1 - g.lr * g.weight_decay).repeat_interleave(per_model))
    return torch.cat(lr), torch.cat(decay)


def flatten(params: Params, device=None) -> tuple[torch.Tensor, Params]:
    """One flat vector (a copy, on ``device``) holding every tensor of ``params``, and a
    :class:`Params` of views into it: writing through the views writes into the vector."""
    tensors = params.tensors()
    flat = torch.cat([t.reshape(-1) for t in tensors]).to(device)
    return flat, views_of(flat, params)


def views_of(flat: torch.Tensor, like: Params) -> Params:
    """Views into ``flat`` with the shapes of ``like`` (laid out as :func:`flatten`)."""
    tensors = like.tensors()
    parts = flat.split([t.numel() for t in tensors])
    return Params(*(v.view(t.shape) for v, t in zip(parts, tensors)))


def bias_mask(like: Params, held: list[int], device=None) -> torch.Tensor:
    """A flat 0/1 vector laid out as :func:`flatten` ``(like)``: 0 on the biases of the
    models in ``held``, 1 elsewhere."""
    mask = Params(*(torch.ones_like(t) for t in like.tensors()))
    mask.b1[held] = 0.0
    mask.b2[held] = 0.0
    return torch.cat([t.reshape(-1) for t in mask.tensors()]).to(device)


def adamw_step(p: torch.Tensor, grad: torch.Tensor, m1: torch.Tensor, m2: torch.Tensor, t: int,
               lr: torch.Tensor, decay: torch.Tensor, betas: tuple[float, float], eps: float) -> None:
    """One AdamW step, in place, as ``torch.optim.AdamW`` computes it.

    ``p``, ``grad`` and the moments ``m1``, ``m2`` are flat vectors; ``t`` counts steps
    from 1; ``lr`` and ``decay`` (``1 - lr * weight_decay``) are per-element vectors
    (:func:`per_element`)::

        m1 <- beta1 m1 + (1 - beta1) g            m2 <- beta2 m2 + (1 - beta2) g^2
        p  <- decay * p - lr / (1 - beta1^t) * m1 / (sqrt(m2 / (1 - beta2^t)) + eps)
    """
    beta1, beta2 = betas
    m1.mul_(beta1).add_(grad, alpha=1 - beta1)
    m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    p.mul_(decay)
    denom = m2.sqrt().div_(math.sqrt(1 - beta2 ** t)).add_(eps)
    p.sub_(denom.reciprocal_().mul_(m1).mul_(lr), alpha=1 / (1 - beta1 ** t))


def gd_step(p: torch.Tensor, grad: torch.Tensor, lr: torch.Tensor, decay: torch.Tensor) -> None:
    """One step of plain gradient descent with decoupled weight decay, in place::

        p <- decay * p - lr * g        (decay = 1 - lr * weight_decay, as in AdamW)
    """
    p.mul_(decay).sub_(grad * lr)


class FlatAdamW:
    """AdamW on every parameter of M models held in one flat vector.

    Attributes:
        flat, grad: the parameters and their gradient, flat; ``params`` and ``grads`` are
            :class:`Params` views into them (write gradients through ``grads``).
        lr, decay: per-element vectors (:func:`per_element` of the groups).
        m1, m2: Adam's moments. t: steps taken.
    """

    def __init__(self, params: Params, groups: list[ParamGroup], betas: tuple[float, float],
                 eps: float, device=None):
        self.flat, self.params = flatten(params, device)
        self.grad = torch.zeros_like(self.flat)
        self.grads = views_of(self.grad, params)
        self.lr, self.decay = (v.to(device) for v in per_element(groups, params))
        self.m1, self.m2 = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.betas, self.eps, self.t = betas, eps, 0

    def step(self, mask: torch.Tensor | None = None) -> None:
        """One :func:`adamw_step`; ``mask`` (flat, 0/1) first zeroes some gradients, so
        that Adam leaves those parameters where they are."""
        if mask is not None:
            self.grad.mul_(mask)
        self.t += 1
        adamw_step(self.flat, self.grad, self.m1, self.m2, self.t, self.lr, self.decay, self.betas, self.eps)


class FlatGD:
    """Plain gradient descent (:func:`gd_step`) on every parameter of M models, held in one
    flat vector as :class:`FlatAdamW` holds them, with the same groups and decay; no moments.

    Attributes:
        flat, grad, params, grads, lr, decay, t: as in :class:`FlatAdamW`.
    """

    def __init__(self, params: Params, groups: list[ParamGroup], device=None):
        self.flat, self.params = flatten(params, device)
        self.grad = torch.zeros_like(self.flat)
        self.grads = views_of(self.grad, params)
        self.lr, self.decay = (v.to(device) for v in per_element(groups, params))
        self.t = 0

    def step(self, mask: torch.Tensor | None = None) -> None:
        """One :func:`gd_step`; ``mask`` as in :meth:`FlatAdamW.step`."""
        if mask is not None:
            self.grad.mul_(mask)
        self.t += 1
        gd_step(self.flat, self.grad, self.lr, self.decay)


#: The optimisers :func:`modadd.core.train.train` knows, by :attr:`RunConfig.optimizer` name.
OPTIMIZERS = ("adamw", "gd")


def make_optimizer(name: str, params: Params, groups: list[ParamGroup], betas: tuple[float, float],
                   eps: float, device=None) -> FlatAdamW | FlatGD:
    """:class:`FlatAdamW` (``"adamw"``) or :class:`FlatGD` (``"gd"``, which ignores betas and eps)."""
    if name == "adamw":
        return FlatAdamW(params, groups, betas, eps, device)
    if name == "gd":
        return FlatGD(params, groups, device)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got optimizer={name!r}")
