"""The one trainer: full-batch AdamW on a batch of M independent models.

Each model has its own seed (initialisation *and* train/validation split), learning rate
and weight decays; they share only the shapes (n, dim, hidden), the number of steps and
the Adam betas. A single run is a batch of one::

    from modadd.train import RunConfig, train
    hist = train(RunConfig(seed=0), steps=3000)

Two implementation choices make it fast, and neither changes the maths:

* ``(a, b)`` and ``(b, a)`` are the same input ``E_a + E_b`` and are always on the same
  side of the split, so the loss is computed on the ``n (n + 1) / 2`` unordered pairs,
  with weight 2 for ``a != b``: exactly the ordered-pair loss, at half the cost.
* All parameters of all models live in one flat vector, so an AdamW step is a handful of
  vector operations; per-model learning rates, per-group weight decays and frozen
  (bias-free) parameters are per-element vectors of that same length.
"""
from __future__ import annotations

import math
import numbers
import sys
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from tqdm import tqdm

from .data import check_seed, check_val_fraction, validation_mask
from .model import ModelConfig, Params, init_params, loss_and_grads


CHUNK = 32


class DivergenceError(RuntimeError):
    """A run produced a non-finite loss."""


def _check_number(name, value, lo=0.0, allow_lo=True, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {name}={value!r}")
    if value < lo or (value == lo and not allow_lo):
        op = ">=" if allow_lo else ">"
        raise ValueError(f"{name} must be {op} {lo}, got {name}={value!r}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run.

    Args:
        model: the architecture and initialisation (:class:`modadd.model.ModelConfig`).
        seed: seeds both the initialisation and the train/validation split.
        val_fraction: share of unordered pairs held out for validation, in [0, 1).
        lr: AdamW learning rate.
        weight_decay: AdamW (decoupled) weight decay for every parameter group, unless
            overridden by one of the next three.
        wd_embed: weight decay on the embeddings E.
        wd_weights: weight decay on the matrices W1, W2.
        wd_bias: weight decay on the biases b1, b2.
        betas: Adam's (beta1, beta2); shared by all runs in a batch.
        eps: Adam's epsilon; shared by all runs in a batch.
        bias_free_steps: for a model with biases, hold b1 and b2 at zero (untrained) for
            this many first steps, then train them (0: train them from the start).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    val_fraction: float = 0.2
    lr: float = 1e-2
    weight_decay: float = 1.0
    wd_embed: float | None = None
    wd_weights: float | None = None
    wd_bias: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    bias_free_steps: int = 0

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model must be a ModelConfig, got {self.model!r}")
        check_seed(self.seed)
        check_val_fraction(self.val_fraction)
        _check_number("lr", self.lr, 0.0, allow_lo=False)
        _check_number("weight_decay", self.weight_decay)
        for name in ("wd_embed", "wd_weights", "wd_bias"):
            _check_number(name, getattr(self, name), allow_none=True)
        if len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got betas={self.betas!r}")
        for b in self.betas:
            _check_number("betas", b)
            if not b < 1:
                raise ValueError(f"betas must lie in [0, 1), got betas={self.betas!r}")
        _check_number("eps", self.eps, 0.0, allow_lo=False)
        k = self.bias_free_steps
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"bias_free_steps must be a non-negative integer, got bias_free_steps={k!r}")

    def decays(self) -> dict[str, float]:
        """Effective weight decay of each parameter tensor."""
        e = self.weight_decay if self.wd_embed is None else self.wd_embed
        w = self.weight_decay if self.wd_weights is None else self.wd_weights
        b = self.weight_decay if self.wd_bias is None else self.wd_bias
        return {"E": e, "W1": w, "b1": b, "W2": w, "b2": b}

    def row(self) -> dict:
        """A flat dict (model fields first) for tables and cache keys."""
        d = {f.name: getattr(self.model, f.name) for f in fields(self.model)}
        d.update({f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"})
        d.update({f"effective_wd_{k}": v for k, v in self.decays().items() if k in ("E", "W1", "b1")})
        return d

    def describe(self) -> str:
        m = self.model
        return (f"seed={self.seed}, lr={self.lr:g}, weight_decay={self.weight_decay:g}, "
                f"bias={m.bias}, init={m.init}, embed_scale={m.embed_scale:g}")


#: Settings that, in exploratory runs (PAPER.md), mostly grew circles: no biases,
#: Glorot-uniform weights, embeddings uniform in ±0.2, lr 3e-3, weight decay 1.
CIRCLE_RECIPE = RunConfig(
    model=ModelConfig(bias=False, init="glorot", embed_init="uniform", embed_scale=0.2),
    lr=3e-3, weight_decay=1.0)
#: Settings that, in exploratory runs, mostly grew grids: PyTorch's default init,
#: embeddings N(0, 0.05²), lr 1e-2, weight decay 1.
GRID_RECIPE = RunConfig(
    model=ModelConfig(bias=True, init="torch", embed_init="normal", embed_scale=0.05),
    lr=1e-2, weight_decay=1.0)


@dataclass
class History:
    """What :func:`train` records, for M runs at T recorded steps.

    Attributes:
        configs: the M run configurations.
        steps: (T,) the recorded steps; 0 is the initialisation, the last is the end.
        params: parameters at each recorded step, each tensor with axes (M, T, ...);
            only ``params.E`` is kept when ``record_params=False``.
        train_loss, val_loss, train_acc, val_acc: (M, T) numpy arrays (NaN for the
            validation columns of a run with no validation pairs).
        final: the parameters after the last step, axes (M, ...).
        seconds: wall time of the training loop.
    """

    configs: list[RunConfig]
    steps: np.ndarray
    params: Params
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    final: Params
    seconds: float

    @property
    def embeddings(self) -> np.ndarray:
        """(M, T, n, d) embeddings at each recorded step."""
        return self.params.E.numpy()

    def params_at(self, run: int, t: int = -1) -> Params:
        """Parameters of one run at recorded index t, as a batch of one."""
        if self.params.W1 is None:
            raise ValueError("this history was recorded with record_params=False; only embeddings are kept")
        return Params(*(x[run, t].unsqueeze(0) for x in self.params.tensors()))


def _record_steps(steps: int, record_every) -> list[int]:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got steps={steps!r}")
    if isinstance(record_every, numbers.Integral) and not isinstance(record_every, bool):
        if record_every < 1:
            raise ValueError(f"record_every must be a positive integer or a list of steps, got {record_every!r}")
        rec = set(range(0, steps + 1, int(record_every)))
    else:
        rec = set(int(s) for s in record_every)
        bad = [s for s in rec if not 0 <= s <= steps]
        if bad:
            raise ValueError(f"recorded steps must lie in [0, steps={steps}], got {sorted(bad)}")
    rec |= {0, int(steps)}
    return sorted(rec)


def unordered_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs a <= b, shape (U, 2), and how many ordered pairs each stands for (1 or 2)."""
    ii, jj = torch.triu_indices(n, n)
    return torch.stack([ii, jj], 1), torch.where(ii == jj, 1.0, 2.0)


def pair_weights(configs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The unordered pairs and each run's training and validation weights on them.

    Args:
        configs: a :class:`RunConfig` or a list of M of them, all with the same n.

    Returns:
        ``(pairs, labels, w_train, w_val, has_val)``: pairs (U, 2) with a <= b, labels (U,)
        ``(a + b) mod n``, w_train (M, U) = ``mult * (1 - val)`` normalised to sum 1 per run
        (``mult`` is 2 for a != b, 1 for a == b, so the loss equals the mean over ordered
        training pairs), w_val (M, U) likewise on the held-out pairs (all zero for a run
        with no validation pairs), has_val (M,) bool.
    """
    if isinstance(configs, RunConfig):
        configs = [configs]
    configs = list(configs)
    if not configs or not all(isinstance(c, RunConfig) for c in configs):
        raise ValueError("configs must be a RunConfig or a non-empty list of RunConfig")
    ns = sorted({c.model.n for c in configs})
    if len(ns) != 1:
        raise ValueError(f"all runs must share n, got n in {ns}")
    n = ns[0]
    pairs, mult = unordered_pairs(n)
    iu = pairs[:, 0] * n + pairs[:, 1]     # positions in the ordered (n*n) layout
    val = torch.stack([validation_mask(n, c.val_fraction, c.seed)[iu] for c in configs]).float()
    w_train = mult * (1 - val)
    w_train = w_train / w_train.sum(1, keepdim=True)
    w_val = mult * val
    has_val = w_val.sum(1) > 0
    w_val = w_val / w_val.sum(1, keepdim=True).clamp_min(1)
    labels = pairs.sum(1) % n
    return pairs, labels, w_train, w_val, has_val


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(configs, steps: int = 10_000, record_every=100, *, record_params: bool = True,
          progress: bool | None = None, device=None, init: Params | None = None) -> History:
    """Train M models with full-batch AdamW, one step for all of them at a time.

    Args:
        configs: a :class:`RunConfig`, or a list of them (one per model).
        steps: number of optimisation steps.
        record_every: record every k steps, or an explicit list of steps (0 and ``steps``
            are always recorded).
        record_params: keep all parameters at recorded steps (needed for decision-region
            animations); otherwise only embeddings are kept.
        progress: True/False forces the progress bar on/off; None shows it only on runs
            that last more than a few seconds.
        device: torch device; default CUDA if available, else CPU.
        init: start from these parameters (M models, any float dtype: the run keeps it,
            e.g. float64 to compare with another float64 implementation) instead of the
            seeded initialisation; the seeds still choose the train/validation split.

    Raises:
        ValueError: bad arguments, or runs in one batch that disagree on shapes or betas.
        DivergenceError: a run's loss became NaN or infinite (names the run and step).
    """
    if isinstance(configs, RunConfig):
        configs = [configs]
    configs = list(configs)
    if not configs or not all(isinstance(c, RunConfig) for c in configs):
        raise ValueError("configs must be a RunConfig or a non-empty list of RunConfig")
    for key in ("betas", "eps"):
        vals = {getattr(c, key) for c in configs}
        if len(vals) > 1:
            raise ValueError(f"all runs in a batch must share {key}, got {sorted(vals)}")
    record = _record_steps(steps, record_every)
    device = torch.device(device) if device is not None else default_device()
    M = len(configs)

    params = init_params([c.model for c in configs], [c.seed for c in configs])
    if init is not None:
        if not isinstance(init, Params) or [t.shape for t in init.tensors()] != [t.shape for t in params.tensors()]:
            raise ValueError("init must be a Params with the shapes the configs give: "
                             + ", ".join(f"{k} {tuple(t.shape)}" for k, t in zip(Params.NAMES, params.tensors())))
        params = Params(*(t.detach().clone() for t in init.tensors()))
    dtype = params.E.dtype
    pairs, labels, w_train, w_val, has_val = pair_weights(configs)
    free_until = [c.bias_free_steps if c.model.bias else 0 for c in configs]
    for m, k in enumerate(free_until):
        if k:                                   # biases start at zero and stay there until step k
            params.b1[m] = 0.0
            params.b2[m] = 0.0

    # One flat vector holds every parameter of every model; Params fields are views into it.
    tensors = params.tensors()
    sizes = [t.numel() for t in tensors]
    flat = torch.cat([t.reshape(-1) for t in tensors]).to(device)
    views = Params(*(v.view(t.shape) for v, t in zip(flat.split(sizes), tensors)))
    grad = torch.zeros_like(flat)
    gviews = Params(*(v.view(t.shape) for v, t in zip(grad.split(sizes), tensors)))
    lr, decay = [], []
    for name, t in zip(Params.NAMES, tensors):
        per_model = t.numel() // M
        frozen = name in ("b1", "b2")
        lrs = torch.tensor([0.0 if (frozen and not c.model.bias) else c.lr for c in configs], dtype=dtype)
        wds = torch.tensor([c.decays()[name] for c in configs], dtype=dtype)
        lr.append(lrs.repeat_interleave(per_model))
        decay.append((1 - lrs * wds).repeat_interleave(per_model))
    lr = torch.cat(lr).to(device)
    decay = torch.cat(decay).to(device)   # AdamW's decoupled decay: p <- p * (1 - lr * wd)
    m1, m2 = torch.zeros_like(flat), torch.zeros_like(flat)

    def bias_gate(step):
        """1 everywhere but on the biases of models still bias-free at this step (None: all 1)."""
        held = [m for m, k in enumerate(free_until) if step < k]
        if not held:
            return None
        gate = Params(*(torch.ones_like(t) for t in tensors))
        gate.b1[held] = 0.0
        gate.b2[held] = 0.0
        return torch.cat([t.reshape(-1) for t in gate.tensors()]).to(device)

    gate_changes = {0} | set(free_until)
    gate = None
    beta1, beta2 = configs[0].betas
    eps = configs[0].eps
    pairs, labels = pairs.to(device), labels.to(device)
    w_train, w_val = w_train.to(device, dtype), w_val.to(device, dtype)

    T = len(record)
    keep = Params.NAMES if record_params else ("E",)
    hist = {k: torch.empty((M, T) + getattr(params, k).shape[1:], dtype=dtype) for k in keep}
    metrics = torch.empty((4, M, T), dtype=dtype)
    first_bad = torch.full((M,), -1, dtype=torch.long, device=device)
    rec_index = {s: i for i, s in enumerate(record)}
    # Large batches run in chunks of CHUNK models: the activations of a chunk stay in
    # cache, which on a 2-core CPU is faster than one huge batched product.
    chunks = [slice(i, min(i + CHUNK, M)) for i in range(0, M, CHUNK)]
    loss = torch.empty(M, device=device, dtype=dtype)

    def check(upto):
        bad = (first_bad >= 0).nonzero().flatten().tolist()
        if bad:
            i = bad[0]
            raise DivergenceError(
                f"run {i} ({configs[i].describe()}) has a non-finite loss from step "
                f"{int(first_bad[i])} (checked up to step {upto}); "
                f"try a smaller learning rate (lr={configs[i].lr:g})")

    bar = tqdm(total=steps, disable=(progress is False) or steps == 0, delay=0 if progress else 3,
               file=sys.stderr, unit="step", desc=f"training {M} model{'s' * (M > 1)}")
    t0 = time.perf_counter()
    def loop():
        nonlocal first_bad, gate
        for step in range(steps + 1):
            recording = step in rec_index
            for c in chunks:
                out = loss_and_grads(views[c], pairs, labels, w_train[c])
                loss[c] = out.loss
                if recording:
                    right = (out.logits.argmax(-1) == labels).float()
                    i = rec_index[step]
                    metrics[:, c, i] = torch.stack([
                        out.loss, (w_val[c] * out.per_pair_loss).sum(1),
                        (w_train[c] * right).sum(1), (w_val[c] * right).sum(1)]).cpu()
                for g, src in zip(gviews[c].tensors(), out.grads.tensors()):
                    g.copy_(src)
            first_bad = torch.where(~torch.isfinite(loss) & (first_bad < 0), step, first_bad)
            if recording:
                check(step)
                for k in keep:
                    hist[k][:, rec_index[step]] = getattr(views, k).detach().cpu()
            if step == steps:
                break
            if step in gate_changes:
                gate = bias_gate(step)
            if gate is not None:
                grad.mul_(gate)               # zero gradient: Adam leaves held biases at zero
            t = step + 1
            m1.mul_(beta1).add_(grad, alpha=1 - beta1)
            m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            flat.mul_(decay)
            denom = m2.sqrt().div_(math.sqrt(1 - beta2 ** t)).add_(eps)
            flat.sub_(denom.reciprocal_().mul_(m1).mul_(lr), alpha=1 / (1 - beta1 ** t))
            if t % 200 == 0:
                bar.update(200)

    # Weight decay drives many activations toward 0, and CPU arithmetic on subnormal floats
    # is ~100x slower: flush them to zero while training (values below 1e-38 change
    # nothing here), and restore the default afterwards (numpy warns under it).
    torch.set_flush_denormal(True)
    try:
        loop()
        bar.update(steps - bar.n)
    finally:
        torch.set_flush_denormal(False)
        bar.close()
    seconds = time.perf_counter() - t0
    check(steps)

    metrics = metrics.numpy()
    nan_val = ~has_val.cpu().numpy()
    for j in (1, 3):
        metrics[j][nan_val] = np.nan
    full = {k: hist.get(k) for k in Params.NAMES}
    return History(
        configs=configs, steps=np.array(record), params=Params(**full),
        train_loss=metrics[0], val_loss=metrics[1], train_acc=metrics[2], val_acc=metrics[3],
        final=Params(*(v.detach().cpu().clone() for v in views.tensors())), seconds=seconds)


def sweep_configs(base: RunConfig, seeds=range(1), **grid) -> list[RunConfig]:
    """Every combination of the given values, times every seed.

    Keys are RunConfig fields or ModelConfig fields, e.g.
    ``sweep_configs(GRID_RECIPE, seeds=range(8), weight_decay=[0, 1], bias=[True, False])``.
    """
    model_keys = {f.name for f in fields(ModelConfig)}
    run_keys = {f.name for f in fields(RunConfig)} - {"model"}
    for k in grid:
        if k not in model_keys | run_keys:
            raise ValueError(f"unknown sweep key {k!r}; allowed: {sorted(model_keys | run_keys)}")
    out = [base]
    for k, values in grid.items():
        nxt = []
        for c in out:
            for v in values:
                if k in model_keys:
                    nxt.append(replace(c, model=replace(c.model, **{k: v})))
                else:
                    nxt.append(replace(c, **{k: v}))
        out = nxt
    return [replace(c, seed=int(s)) for c in out for s in seeds]
