"""The one trainer: full-batch AdamW (or plain gradient descent) on a batch of M
independent models.

Each model has its own seed (initialisation *and* train/validation split), learning rate
and weight decays; they share only the shapes (n, dim, hidden), the number of steps, the
optimiser and the Adam betas. A single run is a batch of one::

    from modadd.core.train import RunConfig, train
    hist = train(RunConfig(seed=0), steps=3000)

Two implementation choices make it fast, and neither changes the maths:

* ``(a, b)`` and ``(b, a)`` are the same input ``E_a + E_b`` and are always on the same
  side of the split, so the loss is computed on the ``n (n + 1) / 2`` unordered pairs,
  with weight 2 for ``a != b``: exactly the ordered-pair loss, at half the cost.
* All parameters of all models live in one flat vector, so an AdamW step is a handful of
  vector operations; per-model learning rates, per-group weight decays and frozen
  (bias-free) parameters are per-element vectors of that same length
  (:mod:`modadd.core.optim`).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from tqdm import tqdm

from .data import PairSplit, pair_split
from .model import ModelConfig, Params, init_params, loss_and_grads
from .numerics import flush_subnormals
from .optim import GROUPS, OPTIMIZERS, bias_mask, make_optimizer, param_groups
from .validate import (check_betas, check_bool, check_choice, check_instances, check_non_negative_int, check_number,
                       check_record_steps, check_same, check_seed, check_val_fraction)

__all__ = ["MODELS_PER_THREAD", "DivergenceError", "RunConfig", "CIRCLE_RECIPE", "GRID_RECIPE",
           "History", "pair_weights", "default_device", "train",
           "sweep_configs"]


#: Large batches are trained in chunks of this many models per torch thread: the
#: activations of a chunk stay in cache, which on a 2-core CPU is faster than one huge
#: batched product (measured: with one thread, chunks of 64 ran 9% slower than chunks of
#: 32; with two threads, 9% faster). A run's numbers do not depend on the chunks.
MODELS_PER_THREAD = 32


class DivergenceError(RuntimeError):
    """A run produced a non-finite loss."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run.

    Args:
        model: the architecture and initialisation (:class:`modadd.core.model.ModelConfig`).
        seed: seeds both the initialisation and the train/validation split.
        val_fraction: share of unordered pairs held out for validation, in [0, 1).
        lr: the learning rate.
        weight_decay: decoupled weight decay (each step multiplies a parameter by
            ``1 - lr * weight_decay``) for every parameter group, unless overridden by
            one of the next three.
        wd_embed: weight decay on the embeddings E.
        wd_weights: weight decay on the matrices W1, W2.
        wd_bias: weight decay on the biases b1, b2.
        optimizer: "adamw", or "gd" for plain gradient descent (``p <- p (1 - lr wd) -
            lr dL/dp``, :func:`modadd.core.optim.gd_step`); shared by all runs in a batch.
        betas: Adam's (beta1, beta2); shared by all runs in a batch (unused by "gd").
        eps: Adam's epsilon; shared by all runs in a batch (unused by "gd").
        bias_free_steps: for a model with biases, hold b1 and b2 at zero (untrained) for
            this many first steps, then train them (0: train them from the start). A held
            run starts its biases at zero whatever ``zero_bias_init`` says.
        zero_bias_init: for a model with biases, start b1 and b2 at zero instead of the
            model's initialisation, and train them from step 0 (unless held): chapter 6's
            control that separates "started at zero" from "held at zero".
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    val_fraction: float = 0.2
    lr: float = 1e-2
    weight_decay: float = 1.0
    wd_embed: float | None = None
    wd_weights: float | None = None
    wd_bias: float | None = None
    optimizer: str = "adamw"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    bias_free_steps: int = 0
    zero_bias_init: bool = False

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model must be a ModelConfig, got {self.model!r}")
        check_seed(self.seed)
        check_val_fraction(self.val_fraction)
        check_number("lr", self.lr, strict=True)
        check_number("weight_decay", self.weight_decay)
        for name in ("wd_embed", "wd_weights", "wd_bias"):
            check_number(name, getattr(self, name), allow_none=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_betas(self.betas)
        check_number("eps", self.eps, strict=True)
        check_non_negative_int("bias_free_steps", self.bias_free_steps)
        check_bool("zero_bias_init", self.zero_bias_init)

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
                f"bias={m.bias}, init={m.init}, embed_scale={m.embed_scale:g}"
                + (f", optimizer={self.optimizer}" if self.optimizer != "adamw" else ""))


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


def pair_weights(configs) -> PairSplit:
    """The unordered pairs and each run's training and validation weights on them.

    Args:
        configs: a :class:`RunConfig` or a list of M of them, all with the same n.

    Returns:
        :func:`modadd.core.data.pair_split` of the runs' seeds and validation fractions: a
        :class:`modadd.core.data.PairSplit` with fields ``pairs`` (U, 2), ``labels`` (U,),
        ``multiplicity`` (U,), ``train_weights`` and ``val_weights`` (M, U) and
        ``has_val`` (M,).
    """
    configs = check_instances("configs", configs, RunConfig)
    check_same("n", (c.model.n for c in configs))
    return pair_split(configs[0].model.n, [c.seed for c in configs], [c.val_fraction for c in configs])


def _check_split(split, configs: list[RunConfig]) -> PairSplit:
    """``split`` as :func:`train` takes it: a :class:`PairSplit` of the configs' n, M runs."""
    n, M = configs[0].model.n, len(configs)
    if not isinstance(split, PairSplit):
        raise ValueError(f"split must be a modadd.core.data.PairSplit, got {type(split).__name__}")
    check_same("n", (c.model.n for c in configs))
    U = n * (n + 1) // 2
    if split.n != n or split.train_weights.shape != (M, U) or split.val_weights.shape != (M, U):
        raise ValueError(f"split must hold {M} runs of n={n} (weights of shape ({M}, {U})), got n={split.n} "
                         f"and weights of shape {tuple(split.train_weights.shape)}")
    return split


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _start(configs: list[RunConfig], init: Params | None) -> Params:
    """The seeded initialisation, or a copy of ``init``; held or zero-initialised biases set to zero."""
    params = init_params([c.model for c in configs], [c.seed for c in configs])
    if init is not None:
        if not isinstance(init, Params) or [t.shape for t in init.tensors()] != [t.shape for t in params.tensors()]:
            raise ValueError("init must be a Params with the shapes the configs give: "
                             + ", ".join(f"{k} {tuple(t.shape)}" for k, t in zip(Params.NAMES, params.tensors())))
        params = Params(*(t.detach().clone() for t in init.tensors()))
    for m, c in enumerate(configs):
        if c.model.bias and (c.bias_free_steps or c.zero_bias_init):   # biases start at zero
            params.b1[m] = 0.0
            params.b2[m] = 0.0
    return params


class _Recorder:
    """What :func:`train` keeps: parameters and metrics at the recorded steps, and the first
    step at which each run's loss was not finite."""

    def __init__(self, configs, record: list[int], like: Params, record_params: bool, device):
        M, T, dtype = len(configs), len(record), like.E.dtype
        self.configs = configs
        self.steps = record
        self.index = {s: i for i, s in enumerate(record)}
        self.keep = Params.NAMES if record_params else ("E",)
        self.params = {k: torch.empty((M, T) + getattr(like, k).shape[1:], dtype=dtype) for k in self.keep}
        self.metrics = torch.empty((4, M, T), dtype=dtype)   # train/val loss, train/val accuracy
        self.first_bad = torch.full((M,), -1, dtype=torch.long, device=device)

    def measure(self, c: slice, step: int, out, split: PairSplit) -> None:
        """The four metrics of the models in chunk ``c`` from their pass ``out``."""
        right = (out.logits.argmax(-1) == split.labels).float()
        self.metrics[:, c, self.index[step]] = torch.stack([
            out.loss, (split.val_weights[c] * out.per_pair_loss).sum(1),
            (split.train_weights[c] * right).sum(1), (split.val_weights[c] * right).sum(1)]).cpu()

    def watch(self, loss: torch.Tensor, step: int) -> None:
        self.first_bad = torch.where(~torch.isfinite(loss) & (self.first_bad < 0), step, self.first_bad)

    def check(self, upto: int) -> None:
        bad = (self.first_bad >= 0).nonzero().flatten().tolist()
        if bad:
            i, c = bad[0], self.configs[bad[0]]
            raise DivergenceError(
                f"run {i} ({c.describe()}) has a non-finite loss from step "
                f"{int(self.first_bad[i])} (checked up to step {upto}); "
                f"try a smaller learning rate (lr={c.lr:g})")

    def keep_params(self, views: Params, step: int) -> None:
        for k in self.keep:
            self.params[k][:, self.index[step]] = getattr(views, k).detach().cpu()

    def history(self, has_val: torch.Tensor, final: Params, seconds: float) -> "History":
        metrics = self.metrics.numpy()
        nan_val = ~has_val.cpu().numpy()
        for j in (1, 3):
            metrics[j][nan_val] = np.nan
        return History(
            configs=self.configs, steps=np.array(self.steps),
            params=Params(**{k: self.params.get(k) for k in Params.NAMES}),
            train_loss=metrics[0], val_loss=metrics[1], train_acc=metrics[2], val_acc=metrics[3],
            final=final, seconds=seconds)


def _on_device(split: PairSplit, device, dtype) -> PairSplit:
    return replace(split, pairs=split.pairs.to(device), labels=split.labels.to(device),
                   train_weights=split.train_weights.to(device, dtype),
                   val_weights=split.val_weights.to(device, dtype))


def _chunks(views: Params, grads: Params, split: PairSplit) -> list[tuple]:
    """The models cut into chunks (:data:`MODELS_PER_THREAD` per torch thread): for each, its
    slice, its parameters, the views its gradients go into, and its training weights."""
    M, k = views.E.shape[0], MODELS_PER_THREAD * torch.get_num_threads()
    return [(c, views[c], grads[c], split.train_weights[c])
            for c in (slice(i, min(i + k, M)) for i in range(0, M, k))]


def _forward_backward(chunks: list[tuple], split: PairSplit, one_hot: torch.Tensor,
                      loss: torch.Tensor, rec: _Recorder | None, step: int) -> None:
    """Loss and gradients of every model, chunk by chunk (:func:`_chunks`), into ``loss``
    and the gradient views; the metrics too when ``rec`` is given (a recorded step)."""
    for c, params, grads, weights in chunks:
        out = loss_and_grads(params, split.pairs, split.labels, weights, grads, one_hot)
        loss[c] = out.loss
        if rec is not None:
            rec.measure(c, step, out, split)


def _bias_gate(free_until: list[int], step: int, like: Params, device) -> torch.Tensor | None:
    """The gradient mask at ``step``: 0 on the biases of runs still bias-free (None: none are)."""
    held = [m for m, k in enumerate(free_until) if step < k]
    return bias_mask(like, held, device) if held else None


def _check_frozen(frozen) -> tuple[str, ...]:
    """``frozen`` as a tuple of parameter-group names (see :data:`modadd.core.optim.GROUPS`)."""
    if isinstance(frozen, str) or not isinstance(frozen, (tuple, list)) or any(g not in GROUPS for g in frozen):
        raise ValueError(f"frozen must be a tuple of parameter groups from {tuple(GROUPS)}, got frozen={frozen!r}")
    return tuple(frozen)


def train(configs, steps: int = 10_000, record_every=100, *, record_params: bool = True,
          progress: bool | None = None, device=None, init: Params | None = None,
          frozen: tuple[str, ...] = (), split: PairSplit | None = None) -> History:
    """Train M models with full-batch AdamW (or plain gradient descent: ``optimizer="gd"``),
    one step for all of them at a time.

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
        frozen: parameter groups ("embeddings", "weights", "biases") that do not train in
            any run: they stay exactly at their start (e.g. ``("weights", "biases")``: only
            the embeddings move, under a fixed head).
        split: the runs' training and validation weights (a :class:`PairSplit` of the
            configs' n with M runs, e.g. from :func:`modadd.core.data.held_out_split`)
            instead of the seeds' (:func:`pair_weights`).

    Raises:
        ValueError: bad arguments, or runs in one batch that disagree on shapes, the
            optimiser or betas.
        DivergenceError: a run's loss became NaN or infinite (names the run and step).
    """
    configs = check_instances("configs", configs, RunConfig)
    for key in ("optimizer", "betas", "eps"):
        check_same(key, (getattr(c, key) for c in configs))
    record = check_record_steps(steps, record_every)
    device = torch.device(device) if device is not None else default_device()
    params = _start(configs, init)
    dtype = params.E.dtype
    split = _on_device(pair_weights(configs) if split is None else _check_split(split, configs), device, dtype)
    one_hot = torch.nn.functional.one_hot(split.labels, split.n).to(dtype)
    opt = make_optimizer(configs[0].optimizer, params, param_groups(configs, dtype, _check_frozen(frozen)),
                         configs[0].betas, configs[0].eps, device)
    chunks = _chunks(opt.params, opt.grads, split)
    free_until = [c.bias_free_steps if c.model.bias else 0 for c in configs]
    gate_changes, gate = {0} | set(free_until), None
    rec = _Recorder(configs, record, params, record_params, device)
    loss = torch.empty(len(configs), device=device, dtype=dtype)
    bar = tqdm(total=steps, disable=(progress is False) or steps == 0, delay=0 if progress else 3,
               file=sys.stderr, unit="step", desc=f"training {len(configs)} model{'s' * (len(configs) > 1)}")
    t0 = time.perf_counter()
    # Weight decay drives many values toward 0, and CPU arithmetic on subnormal floats is
    # ~100x slower: flush them to zero while training, on every thread (values below 1e-38
    # change nothing here; see modadd.core.numerics).
    try:
        with flush_subnormals():
            for step in range(steps + 1):
                recording = step in rec.index
                _forward_backward(chunks, split, one_hot, loss, rec if recording else None, step)
                rec.watch(loss, step)
                if recording:
                    rec.check(step)
                    rec.keep_params(opt.params, step)
                if step == steps:
                    break
                if step in gate_changes:
                    gate = _bias_gate(free_until, step, params, device)
                opt.step(gate)                    # gate: held biases get no gradient, stay at zero
                if (step + 1) % 200 == 0:
                    bar.update(200)
        bar.update(steps - bar.n)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    rec.check(steps)
    return rec.history(split.has_val, Params(*(v.detach().cpu().clone() for v in opt.params.tensors())), seconds)


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
