"""Plain gradient descent in the one trainer (RunConfig(optimizer="gd")): its step by hand,
against torch.optim.SGD, and its argument checks."""
from dataclasses import replace

import pytest
import torch

from modadd.core.data import make_dataset
from modadd.core.model import Params, init_params, loss_and_grads
from modadd.core.train import CIRCLE_RECIPE, GRID_RECIPE, RunConfig, pair_weights, train
from modadd.runs.sweep import run_key

SMALL = dict(n=7, hidden=8)
RUNS = [replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, **SMALL), optimizer="gd", lr=0.4,
                wd_embed=0.1, wd_weights=0.3, wd_bias=0.5, seed=2),
        replace(CIRCLE_RECIPE, model=replace(CIRCLE_RECIPE.model, **SMALL), optimizer="gd", lr=0.2,
                weight_decay=0.2, seed=5)]


def test_a_gd_step_is_decay_times_p_minus_lr_times_the_gradient():
    h = train(RUNS, steps=3, record_every=1, progress=False)
    split = pair_weights(RUNS)
    for t in range(3):
        p = Params(*(x[:, t].contiguous() for x in h.params.tensors()))
        grads = loss_and_grads(p, split.pairs, split.labels, split.train_weights.to(p.E.dtype)).grads
        for m, c in enumerate(RUNS):
            for name in Params.NAMES:
                lr = c.lr if (c.model.bias or name not in ("b1", "b2")) else 0.0
                want = getattr(p, name)[m] * (1 - lr * c.decays()[name]) - lr * getattr(grads, name)[m]
                got = getattr(h.params, name)[m, t + 1]
                assert torch.allclose(got, want, atol=1e-6, rtol=1e-5), (m, name, t, (got - want).abs().max())
    assert torch.equal(h.final.b1[1], torch.zeros_like(h.final.b1[1]))      # no biases: they stay at 0


def test_gd_matches_torch_sgd():
    """torch.optim.SGD (no momentum) adds wd * p to the gradient: p - lr (g + wd p) is the same step."""
    cfg = RUNS[0]
    h = train(cfg, steps=20, record_every=20, progress=False)
    p = init_params([cfg.model], [cfg.seed])
    q = {k: t[0].clone().requires_grad_(True) for k, t in zip(Params.NAMES, p.tensors())}
    d, ds = cfg.decays(), make_dataset(cfg.model.n, cfg.val_fraction, cfg.seed)
    opt = torch.optim.SGD([{"params": [q["E"]], "weight_decay": d["E"]},
                           {"params": [q["W1"], q["W2"]], "weight_decay": d["W1"]},
                           {"params": [q["b1"], q["b2"]], "weight_decay": d["b1"]}], lr=cfg.lr)
    for _ in range(20):
        opt.zero_grad()
        x = q["E"][ds.train_pairs[:, 0]] + q["E"][ds.train_pairs[:, 1]]
        logits = torch.relu(x @ q["W1"] + q["b1"]) @ q["W2"] + q["b2"]
        torch.nn.functional.cross_entropy(logits, ds.train_labels).backward()
        opt.step()
    for name, a in zip(Params.NAMES, h.final.tensors()):
        assert torch.allclose(a[0], q[name].detach(), atol=2e-5, rtol=1e-4), name


def test_gd_and_adamw_differ_and_key_differently():
    adam = replace(RUNS[0], optimizer="adamw")
    assert not torch.equal(train(adam, steps=2, progress=False).final.E,
                           train(RUNS[0], steps=2, progress=False).final.E)
    assert RUNS[0].row()["optimizer"] == "gd" and adam.row()["optimizer"] == "adamw"
    assert run_key(adam, 10) != run_key(RUNS[0], 10)
    assert "optimizer=gd" in RUNS[0].describe() and "optimizer" not in adam.describe()


@pytest.mark.parametrize("bad", ["sgd", "GD", None, 1])
def test_an_unknown_optimizer_is_named_with_the_allowed_ones(bad):
    with pytest.raises(ValueError, match=rf"optimizer must be one of \('adamw', 'gd'\), got optimizer={bad!r}"):
        RunConfig(optimizer=bad)


def test_a_batch_that_mixes_optimizers_is_refused():
    with pytest.raises(ValueError, match=r"all runs in a batch must share optimizer, got \['adamw', 'gd'\]"):
        train([RUNS[0], replace(RUNS[0], optimizer="adamw", seed=3)], steps=1, progress=False)


def test_a_sweep_batches_gd_and_adamw_runs_apart():
    from modadd.runs.sweep import _batches
    runs = [RUNS[0], replace(RUNS[0], optimizer="adamw"), replace(RUNS[0], seed=9)]
    assert sorted(_batches(runs, [0, 1, 2], 64)) == [[0, 2], [1]]
