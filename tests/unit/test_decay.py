import numpy as np
import pandas as pd
import pytest

from modadd.decay import decay_factor, settings_table, setting_summary, survival
from modadd.stats import wilson_interval


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

    from modadd.train import GRID_RECIPE
    settings = {"decay": GRID_RECIPE, "no decay": replace(GRID_RECIPE, weight_decay=0.0)}
    t = settings_table(settings, steps=3, seeds=[4, 5], cache_dir=tmp_path, progress=False)
    assert list(t["setting"]) == ["decay", "decay", "no decay", "no decay"]
    assert list(t["seed"]) == [4, 5, 4, 5] and list(t["weight_decay"]) == [1.0, 1.0, 0.0, 0.0]
    assert set(t["class"]) <= {"circle", "grid", "other"}
    with pytest.raises(ValueError, match="settings must be a non-empty dict"):
        settings_table({}, steps=3)
    with pytest.raises(ValueError, match="seeds must not be empty"):
        settings_table(settings, steps=3, seeds=[])
