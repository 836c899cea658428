import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from modadd.core.data import make_dataset
from modadd.core.model import ModelConfig, Params, forward, init_params
from modadd.core.data import held_out_split
from modadd.core.train import (CIRCLE_RECIPE, GRID_RECIPE, DivergenceError, RunConfig, pair_weights,
                               sweep_configs, train)


def reference_adamw(cfg: RunConfig, steps: int) -> Params:
    """The same run, written the plain way: autograd, ordered pairs, torch.optim.AdamW."""
    p = init_params([cfg.model], [cfg.seed])
    q = {k: t[0].clone().requires_grad_(True) for k, t in zip(Params.NAMES, p.tensors())}
    ds = make_dataset(cfg.model.n, cfg.val_fraction, cfg.seed)
    d = cfg.decays()
    groups = [{"params": [q["E"]], "weight_decay": d["E"]},
              {"params": [q["W1"], q["W2"]], "weight_decay": d["W1"]}]
    if cfg.model.bias:
        groups.append({"params": [q["b1"], q["b2"]], "weight_decay": d["b1"]})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    for _ in range(steps):
        opt.zero_grad()
        x = q["E"][ds.train_pairs[:, 0]] + q["E"][ds.train_pairs[:, 1]]
        logits = torch.relu(x @ q["W1"] + q["b1"]) @ q["W2"] + q["b2"]
        torch.nn.functional.cross_entropy(logits, ds.train_labels).backward()
        opt.step()
    return Params(*(q[k].detach().unsqueeze(0) for k in Params.NAMES))


@pytest.mark.parametrize("cfg", [
    GRID_RECIPE,
    CIRCLE_RECIPE,
    replace(GRID_RECIPE, wd_embed=0.0, wd_weights=0.3, wd_bias=2.0, seed=4, val_fraction=0.3),
])
def test_trainer_matches_torch_adamw(cfg):
    cfg = replace(cfg, model=replace(cfg.model, n=11, hidden=16))
    h = train(cfg, steps=60, record_every=60, progress=False)
    ref = reference_adamw(cfg, 60)
    for name, a, b in zip(Params.NAMES, h.final.tensors(), ref.tensors()):
        assert torch.allclose(a, b, atol=2e-5, rtol=1e-4), (name, (a - b).abs().max())


def test_a_run_does_not_depend_on_its_batch():
    small = replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=11))
    a = train(replace(small, seed=3), steps=100, progress=False)
    others = [replace(small, seed=0, lr=0.05), replace(small, seed=3), replace(small, seed=7, weight_decay=0.0)]
    b = train(others, steps=100, progress=False)
    assert np.allclose(a.embeddings[0], b.embeddings[1], atol=1e-5)
    assert np.allclose(a.train_loss[0], b.train_loss[1], atol=1e-5)


def test_the_chunking_of_a_batch_changes_no_bit(monkeypatch):
    import modadd.core.train as train_module
    small = replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=11))
    runs = [replace(small, seed=s, weight_decay=w) for s, w in ((0, 1.0), (1, 0.0), (2, 3.0))]
    whole = train(runs, steps=200, progress=False)
    monkeypatch.setattr(train_module, "MODELS_PER_THREAD", 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)           # chunks of 2 and 1
    cut = train(runs, steps=200, progress=False)
    for name, a, b in zip(Params.NAMES, whole.params.tensors(), cut.params.tensors()):
        assert torch.equal(a, b), name
    assert np.array_equal(whole.train_loss, cut.train_loss)


def test_history_and_metrics():
    h = train([replace(CIRCLE_RECIPE, seed=2), replace(CIRCLE_RECIPE, val_fraction=0.0)],
              steps=3000, record_every=500, progress=False)
    assert list(h.steps) == [0, 500, 1000, 1500, 2000, 2500, 3000]
    assert h.embeddings.shape == (2, 7, 17, 2)
    assert h.params.W1.shape == (2, 7, 2, 64)
    assert np.allclose(h.embeddings[:, -1], h.final.E.numpy())
    assert h.train_acc[0, -1] > 0.95           # this recipe and seed learn the training set
    assert np.isnan(h.val_acc[1]).all() and np.isnan(h.val_loss[1]).all()
    assert not np.isnan(h.val_acc[0]).any()
    # the recorded training accuracy is the accuracy of the recorded parameters
    p = h.params_at(0, -1)
    ds = make_dataset(17, 0.2, 2)
    acc = (forward(p, ds.train_pairs)[0].argmax(-1) == ds.train_labels).float().mean()
    assert abs(acc.item() - h.train_acc[0, -1]) < 1e-6


def test_biases_stay_zero_when_absent():
    h = train(CIRCLE_RECIPE, steps=50, progress=False)
    assert (h.final.b1 == 0).all() and (h.final.b2 == 0).all()


def test_record_params_false_keeps_only_embeddings():
    h = train(GRID_RECIPE, steps=20, record_every=10, record_params=False, progress=False)
    assert h.params.W1 is None and h.embeddings.shape == (1, 3, 17, 2)
    with pytest.raises(ValueError, match="record_params=False"):
        h.params_at(0)


def test_divergence_names_run_and_step():
    runs = [GRID_RECIPE, replace(GRID_RECIPE, lr=1e6, seed=1)]
    with pytest.raises(DivergenceError, match=r"run 1 \(seed=1, lr=1e\+06.*non-finite loss from step \d+") as e:
        train(runs, steps=300, record_every=1000, progress=False)
    assert "smaller learning rate" in str(e.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=math.nan), "lr must be a finite number, got lr=nan"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(lr=-1e-3), "lr=-0.001"),
    (dict(weight_decay=-1), "weight_decay must be >= 0"),
    (dict(wd_bias=math.inf), "wd_bias must be a finite number"),
    (dict(val_fraction=1.5), "val_fraction=1.5"),
    (dict(seed=-2), "seed"),
    (dict(betas=(0.9, 1.0)), r"betas must lie in \[0, 1\)"),
    (dict(eps=0), "eps must be > 0"),
    (dict(model="big"), "model must be a ModelConfig"),
])
def test_run_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(**kwargs)


@pytest.mark.parametrize("args, match", [
    (dict(configs=[]), "non-empty list"),
    (dict(configs=["x"]), "RunConfig"),
    (dict(configs=RunConfig(), steps=-5), "steps must be a non-negative integer, got steps=-5"),
    (dict(configs=RunConfig(), record_every=0), "record_every"),
    (dict(configs=RunConfig(), steps=10, record_every=[5, 20]), r"recorded steps must lie in \[0, steps=10\], got \[20\]"),
    (dict(configs=[RunConfig(), replace(RunConfig(), betas=(0.8, 0.99))]), "share betas"),
    (dict(configs=[RunConfig(), RunConfig(model=ModelConfig(n=5))]), "share"),
])
def test_train_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        train(progress=False, **args)


def test_sweep_configs():
    cs = sweep_configs(GRID_RECIPE, seeds=range(3), weight_decay=[0.0, 1.0], bias=[True, False])
    assert len(cs) == 12
    assert {(c.weight_decay, c.model.bias, c.seed) for c in cs} == {
        (w, b, s) for w in (0.0, 1.0) for b in (True, False) for s in range(3)}
    with pytest.raises(ValueError, match="unknown sweep key 'wd'"):
        sweep_configs(GRID_RECIPE, wd=[1])


def test_run_config_row_is_flat():
    row = replace(GRID_RECIPE, wd_bias=0.0).row()
    assert row["n"] == 17 and row["lr"] == GRID_RECIPE.lr and row["effective_wd_b1"] == 0.0


def test_bias_free_steps_hold_biases_at_zero_then_release_them():
    runs = [replace(GRID_RECIPE, bias_free_steps=50), replace(GRID_RECIPE, seed=1),
            replace(CIRCLE_RECIPE, bias_free_steps=50)]
    # in float64, so that "unaffected" can be checked to 1e-10: in float32 the batch's other
    # shapes change the last bits, and this run amplifies them past 1e-3 by step 120
    p = init_params([c.model for c in runs], [c.seed for c in runs])
    p64 = Params(*(t.double() for t in p.tensors()))
    h = train(runs, steps=120, record_every=10, progress=False, init=p64)
    steps = list(h.steps)
    held, after = steps.index(50), steps.index(60)
    b1 = h.params.b1
    assert (b1[0, :held + 1] == 0).all(), "zero from the start up to and including step 50"
    assert (b1[0, after] != 0).any(), "trained after step 50"
    assert (b1[1, 0] != 0).any(), "a run without bias_free_steps keeps its initial biases"
    assert (b1[2] == 0).all(), "a model without biases never gets any"
    alone = train(runs[1], steps=120, record_every=10, progress=False, init=Params(*(t[1:2] for t in p64.tensors())))
    assert np.allclose(alone.embeddings[0], h.embeddings[1], atol=1e-10), "others are unaffected"
    with pytest.raises(ValueError, match="bias_free_steps must be a non-negative integer, got bias_free_steps=-1"):
        RunConfig(bias_free_steps=-1)


def test_zero_bias_init_starts_biases_at_zero_and_trains_them_at_once():
    runs = [replace(GRID_RECIPE, zero_bias_init=True), GRID_RECIPE,
            replace(GRID_RECIPE, zero_bias_init=True, bias_free_steps=5)]
    h = train(runs, steps=10, record_every=1, progress=False)
    b1, b2 = h.params.b1, h.params.b2
    assert (b1[0, 0] == 0).all() and (b2[0, 0] == 0).all(), "zero at step 0"
    assert (b1[0, 1] != 0).all() and (b2[0, 1] != 0).all(), "trained from the first step"
    assert (b1[1, 0] != 0).any(), "the default run keeps its initial biases"
    assert (b1[2, :6] == 0).all() and (b1[2, 6] != 0).any(), "a held run is held, then released"
    for k in ("E", "W1", "W2"):   # only the biases' start differs from the default run's
        assert torch.equal(getattr(h.params, k)[0, 0], getattr(h.params, k)[1, 0])


def test_zero_bias_init_is_in_the_row_and_the_cache_key():
    from modadd.runs.sweep import run_key
    zero = replace(GRID_RECIPE, zero_bias_init=True)
    assert zero.row()["zero_bias_init"] is True and GRID_RECIPE.row()["zero_bias_init"] is False
    assert run_key(zero, 100) != run_key(GRID_RECIPE, 100)
    with pytest.raises(ValueError, match="zero_bias_init must be True or False, got zero_bias_init=1"):
        RunConfig(zero_bias_init=1)


def test_frozen_groups_stay_exactly_at_their_start_and_the_rest_trains():
    runs = [replace(GRID_RECIPE, seed=2), replace(CIRCLE_RECIPE, seed=3)]     # decay 1 on every group
    h = train(runs, steps=30, record_every=10, progress=False, frozen=("weights", "biases"))
    start = train(runs, steps=0, progress=False).final
    for name in ("W1", "b1", "W2", "b2"):
        assert torch.equal(getattr(h.final, name), getattr(start, name)), f"{name} moved (or decayed)"
    assert not torch.equal(h.final.E, start.E), "the embeddings train"
    free = train(runs, steps=30, record_every=10, progress=False)
    assert not torch.equal(free.final.W1, start.W1)
    with pytest.raises(ValueError, match=r"frozen must be a tuple of parameter groups from \('embeddings', 'weights', 'biases'\), got frozen='weights'"):
        train(runs, steps=1, progress=False, frozen="weights")
    with pytest.raises(ValueError, match="got frozen=\\('head',\\)"):
        train(runs, steps=1, progress=False, frozen=("head",))


def test_a_given_split_replaces_the_seeds_split():
    cfgs = [replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=7), seed=s) for s in (0, 1)]
    seeds = train(cfgs, steps=20, record_every=10, progress=False)
    same = train(cfgs, steps=20, record_every=10, progress=False, split=pair_weights(cfgs))
    assert all(torch.equal(a, b) for a, b in zip(seeds.final.tensors(), same.final.tensors()))
    assert np.array_equal(seeds.train_loss, same.train_loss)
    pw = pair_weights(cfgs)
    held = torch.zeros(2, 28, dtype=torch.float64)
    held[:, :5] = 1                                          # the first five unordered pairs held out
    other = held_out_split(7, pw.pairs, pw.multiplicity.to(torch.float64), held)
    h = train(cfgs, steps=20, record_every=10, progress=False, split=other)
    assert not torch.equal(h.final.E, seeds.final.E)          # another split, another run
    with pytest.raises(ValueError, match="split must be a modadd.core.data.PairSplit, got dict"):
        train(cfgs, steps=1, split={})
    with pytest.raises(ValueError, match=r"split must hold 1 runs of n=7 \(weights of shape \(1, 28\)\), got n=7"):
        train(cfgs[:1], steps=1, split=other)
