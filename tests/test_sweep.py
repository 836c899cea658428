from dataclasses import replace

import numpy as np
import pytest

from modadd import sweep
from modadd.model import ModelConfig
from modadd.train import GRID_RECIPE, sweep_configs, train

SMALL = replace(GRID_RECIPE, model=ModelConfig(n=7, hidden=8))


def configs(k=6):
    return sweep_configs(SMALL, seeds=range(k))


def test_results_match_training_and_are_cached(tmp_path):
    cs = configs(3)
    res = sweep.run_sweep(cs, steps=40, cache_dir=tmp_path, batch_size=2, progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 3
    direct = train(cs[1], steps=40, progress=False)
    assert np.allclose(res[1].embeddings, direct.final.E[0].numpy(), atol=1e-5)
    assert abs(res[1].train_acc - direct.train_acc[0, -1]) < 1e-6
    trained = []
    again = sweep.run_sweep(cs, steps=40, cache_dir=tmp_path, on_batch=trained.append, progress=False)
    assert trained == [], "a finished run is never trained again"
    assert np.array_equal(again[2].embeddings, res[2].embeddings)


def test_an_interrupted_sweep_loses_no_finished_run(tmp_path):
    cs = configs(6)

    def interrupt(done):
        if done == 4:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(cs, steps=30, cache_dir=tmp_path, batch_size=2, on_batch=interrupt, progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 4
    # a process killed while writing leaves at most a temporary file, which is ignored
    (tmp_path / "junk.tmp123.npz").write_bytes(b"partial")
    trained = []
    res = sweep.run_sweep(cs, steps=30, cache_dir=tmp_path, batch_size=2, on_batch=trained.append,
                          progress=False)
    assert trained == [2], "only the two unfinished runs are trained"
    assert len(res) == 6


def test_key_depends_on_config_steps_and_code(monkeypatch):
    a = sweep.run_key(SMALL, 100)
    assert a == sweep.run_key(replace(SMALL), 100)
    assert a != sweep.run_key(SMALL, 101)
    assert a != sweep.run_key(replace(SMALL, seed=1), 100)
    assert a != sweep.run_key(replace(SMALL, wd_bias=0.0), 100)
    monkeypatch.setattr(sweep, "code_hash", lambda: "changed")
    assert a != sweep.run_key(SMALL, 100)


def test_mixed_shapes_are_batched_separately(tmp_path):
    cs = [SMALL, replace(SMALL, model=ModelConfig(n=5, hidden=8)), replace(SMALL, seed=1)]
    res = sweep.run_sweep(cs, steps=10, cache_dir=tmp_path, progress=False)
    assert [r.embeddings.shape for r in res] == [(7, 2), (5, 2), (7, 2)]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got batch_size=0"):
        sweep.run_sweep(configs(1), steps=5, cache_dir=tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="list of RunConfig"):
        sweep.run_sweep(["x"], steps=5, cache_dir=tmp_path)


def test_wilson_interval():
    lo, hi = sweep.wilson_interval(8, 16)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-12
    lo, hi = sweep.wilson_interval(16, 16)
    assert hi == pytest.approx(1.0) and 0.75 < lo < 0.85     # 16/16 is no proof of 100%
    lo, hi = sweep.wilson_interval(0, 16)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi < 0.25


def test_class_fractions():
    import pandas as pd
    t = pd.DataFrame({"wd": [0, 0, 0, 1, 1], "class": ["circle", "grid", "circle", "other", "other"]})
    f = sweep.class_fractions(t, ["wd"])
    row = f[(f.wd == 0) & (f["class"] == "circle")].iloc[0]
    assert row["count"] == 2 and row["runs"] == 3 and row["fraction"] == pytest.approx(2 / 3)
    assert f.groupby("wd")["fraction"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_command_line_sweep_writes_a_table(tmp_path):
    import subprocess
    import sys

    import pandas as pd
    out = tmp_path / "t.csv"
    cmd = [sys.executable, "-m", "modadd", "sweep", "--recipe", "circle", "--seeds", "2",
           "--vary", "weight_decay=0,1", "--steps", "30", "--cache", str(tmp_path / "c"), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(out)
    assert len(t) == 4 and set(t["weight_decay"]) == {0, 1} and set(t["seed"]) == {0, 1}
    assert {"class", "circle_score", "grid_score", "val_acc", "train_loss"} <= set(t.columns)
    assert "4 runs" in r.stdout
    bad = subprocess.run(cmd[:4] + ["--vary", "wd=1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown sweep key 'wd'" in bad.stderr
