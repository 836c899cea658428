import numpy as np
import pandas as pd
import pytest

from modadd.studies.decay import decay_factor, settings_table, setting_summary, survival
from modadd.analysis.stats import wilson_interval


def table(classes, setting, val=None, seeds=None, scores=None):
    n = len(classes)
    return pd.DataFrame({"setting": [setting] * n, "class": list(classes),
                         "seed": list(seeds if seeds is not None else range(n)),
                         "val_acc": list(val if val is not None else np.linspace(0, 1, n)),
                         "circle_score": list(scores if scores is not None else np.zeros(n))})


def test_decay_factor():
    assert decay_factor(1e-2, 100) == pytest.approx(0.0)
    assert decay_factor(1e-2, 30) == pytest.approx(0.7)
    assert decay_factor(3e-3, 0) == 1.0
    with pytest.raises(ValueError, match="wd"):
        decay_factor(1e-2, -1)
    with pytest.raises(ValueError, match="lr"):
        decay_factor(0, 1)


def test_setting_summary_counts_shares_intervals_and_order():
    t = pd.concat([table("ccgo", "b", val=[0.1, 0.2, 0.3, 0.9]), table("ggg", "a", val=[0.5, 0.6, 0.7])])
    t["class"] = t["class"].map({"c": "circle", "g": "grid", "o": "other"})
    s = setting_summary(t)
    assert list(s.index) == ["b", "a"], "settings keep their order of appearance"
    assert s.loc["b", "runs"] == 4 and s.loc["b", "circle"] == 2 and s.loc["b", "grid"] == 1
    assert s.loc["a", "circle"] == 0 and s.loc["a", "grid share"] == 1.0
    lo, hi = wilson_interval(2, 4)
    assert s.loc["b", "circle lo"] == pytest.approx(lo) and s.loc["b", "circle hi"] == pytest.approx(hi)
    assert s.loc["b", "median val acc"] == pytest.approx(0.25) and s.loc["a", "median val acc"] == pytest.approx(0.6)


def test_setting_summary_counts_diverged_runs_in_no_class():
    t = table(["circle", "diverged"], "x")
    s = setting_summary(t)
    assert s.loc["x", "runs"] == 2 and s.loc["x", "circle share"] == 0.5 and s.loc["x", "other"] == 0


def test_survival_follows_each_run():
    early = pd.concat([table(["circle", "circle", "grid", "other"], "held", scores=[0.9, 0.8, 0.1, 0.2]),
                       table(["grid", "grid"], "default")])
    late = pd.concat([table(["circle", "grid", "grid", "circle"], "held", scores=[0.95, 0.1, 0.1, 0.9]),
                      table(["grid", "grid"], "default")])
    s = survival(early, late)
    assert s.loc["held", "circle early"] == 2 and s.loc["held", "circle late"] == 2
    assert s.loc["held", "kept"] == 1 and s.loc["held", "kept share"] == 0.5
    assert s.loc["held", "same class"] == 0.5          # runs 0 and 2 kept their class
    assert s.loc["held", "circle score early"] == pytest.approx(0.5)
    assert s.loc["held", "circle score late"] == pytest.approx(0.5)
    assert np.isnan(s.loc["default", "kept share"]) and s.loc["default", "same class"] == 1.0


def test_survival_rejects_tables_of_different_runs():
    a, b = table(["circle", "grid"], "x"), table(["circle", "grid"], "x", seeds=[0, 5])
    with pytest.raises(ValueError, match="same runs"):
        survival(a, b)
    with pytest.raises(ValueError, match="missing"):
        survival(a.drop(columns="seed"), a)
    with pytest.raises(ValueError, match="cls must be one of"):
        survival(a, a, cls="square")


def test_settings_table_names_each_run(tmp_path):
    from dataclasses import replace

    from modadd.core.train import GRID_RECIPE
    settings = {"decay": GRID_RECIPE, "no decay": replace(GRID_RECIPE, weight_decay=0.0)}
    t = settings_table(settings, steps=3, seeds=[4, 5], cache_dir=tmp_path, progress=False)
    assert list(t["setting"]) == ["decay", "decay", "no decay", "no decay"]
    assert list(t["seed"]) == [4, 5, 4, 5] and list(t["weight_decay"]) == [1.0, 1.0, 0.0, 0.0]
    assert set(t["class"]) <= {"circle", "grid", "other"}
    with pytest.raises(ValueError, match="settings must be a non-empty dict"):
        settings_table({}, steps=3)
    with pytest.raises(ValueError, match="seeds must not be empty"):
        settings_table(settings, steps=3, seeds=[])


def test_softmax_confidence_by_hand():
    from dataclasses import replace

    import torch

    from modadd.studies.decay import softmax_confidence
    from modadd.core.model import forward, init_params
    from modadd.core.train import GRID_RECIPE, pair_weights
    cfg = replace(GRID_RECIPE, seed=3)
    p = init_params([cfg.model], [3])
    split = pair_weights(cfg)
    top = torch.softmax(forward(p, split.pairs), -1).amax(-1)[0]
    w = split.train_weights[0]
    assert softmax_confidence(p, cfg)[0] == pytest.approx(float((w * top).sum() / w.sum()), rel=1e-6)
    # a network whose logits are all equal is unsure of every pair: 1/n
    flat = init_params([cfg.model], [3])
    flat.W2.zero_(), flat.b2.zero_()
    assert softmax_confidence(flat, cfg)[0] == pytest.approx(1 / 17)
    # scaling the last layer up makes it confident
    big = init_params([cfg.model], [3])
    big.W2.mul_(1e3), big.b2.mul_(1e3)
    assert softmax_confidence(big, cfg)[0] > 0.95 > softmax_confidence(p, cfg)[0]
    with pytest.raises(ValueError, match="params must be a modadd.core.model.Params"):
        softmax_confidence(p.E, cfg)


def test_short_sum_share_is_chapter_4s_measure():
    from dataclasses import replace

    import torch

    from modadd.studies.decay import short_sum_share
    from modadd.forces import pair_gradients
    from modadd.core.model import init_params
    from modadd.core.train import GRID_RECIPE
    cfgs = [replace(GRID_RECIPE, seed=s) for s in (0, 1)]
    p = init_params([c.model for c in cfgs], [0, 1])
    share = short_sum_share(p, cfgs)
    for m in range(2):                                  # chapter 4's cell, model by model
        pairs, _, g = pair_gradients(p[m], cfgs[m])
        S = (p.E[m, pairs[:, 0]] + p.E[m, pairs[:, 1]]).norm(dim=-1)
        short = S <= torch.quantile(S, 0.1)
        assert share[m] == pytest.approx((g[0, short].pow(2).sum() / g[0].pow(2).sum()).item(), rel=1e-5)
    assert short_sum_share(p, cfgs, fraction=1.0) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="fraction must be"):
        short_sum_share(p, cfgs, fraction=1.5)


def test_training_measures_one_row_per_run_and_step():
    from dataclasses import replace

    from modadd.studies.decay import softmax_confidence, training_measures
    from modadd.core.train import GRID_RECIPE, train
    cfgs = [replace(GRID_RECIPE, seed=0), replace(GRID_RECIPE, seed=1, weight_decay=0.0)]
    h = train(cfgs, steps=20, record_every=[10], progress=False)
    t = training_measures(h)
    assert len(t) == 6 and list(t["step"]) == [0, 10, 20] * 2 and list(t["seed"]) == [0] * 3 + [1] * 3
    row = t.iloc[4]                                     # run 1 at step 10
    p = h.params_at(1, 1)
    assert row["W1 norm"] == pytest.approx(float(p.W1.norm()), rel=1e-6)
    assert row["b1 norm"] == pytest.approx(float(p.b1.norm()), rel=1e-6)
    assert row["confidence"] == pytest.approx(softmax_confidence(p, cfgs[1])[0], rel=1e-6)
    assert row["train loss"] == pytest.approx(h.train_loss[1, 1])
    assert t["short share"].between(0, 1).all()
    with pytest.raises(ValueError, match="record_params=True"):
        training_measures(train(cfgs, steps=2, record_params=False, progress=False))


def test_gradient_spread_is_a_participation_ratio():
    from dataclasses import replace

    from modadd.studies.decay import gradient_spread
    from modadd.forces import pair_gradients
    from modadd.core.model import init_params
    from modadd.core.train import GRID_RECIPE, pair_weights
    cfg = replace(GRID_RECIPE, seed=2)
    p = init_params([cfg.model], [2])
    _, _, g = pair_gradients(p, cfg)
    q = g[0].pow(2).sum(-1).numpy()
    P = int((pair_weights(cfg).train_weights[0] > 0).sum())
    assert gradient_spread(p, cfg)[0] == pytest.approx(q.sum() ** 2 / (P * (q ** 2).sum()), rel=1e-5)
    assert 0 < gradient_spread(p, cfg)[0] <= 1
    # held-out pairs carry no gradient: they are not counted as pairs it could act on
    assert (q[(pair_weights(cfg).train_weights[0] == 0).numpy()] == 0).all()
