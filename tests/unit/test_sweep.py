import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
import torch

from modadd.cache import store
from modadd.runs import sweep
from modadd.runs.cluster import DaskExecutor
from modadd.core.model import ModelConfig
from modadd.core.train import GRID_RECIPE, sweep_configs, train

SMALL = replace(GRID_RECIPE, model=ModelConfig(n=7, hidden=8))


def configs(k=6):
    return sweep_configs(SMALL, seeds=range(k))


def test_results_match_training_and_are_cached(tmp_path):
    cs = configs(3)
    res = sweep.run_sweep(cs, steps=40, cache_dir=tmp_path, batch_size=2, progress=False)
    assert len(list((tmp_path / "runs").glob("*.pt"))) == 3
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
    assert len(list((tmp_path / "runs").glob("*.pt"))) == 4
    # a process killed while writing leaves at most a temporary file, which is ignored
    (tmp_path / "runs" / f"{sweep.run_key(cs[5], 30)}.tmp123").write_bytes(b"partial")
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
    monkeypatch.setattr(store, "code_hash", lambda fn: "changed")
    assert a != sweep.run_key(SMALL, 100)


def test_mixed_shapes_are_batched_separately(tmp_path):
    cs = [SMALL, replace(SMALL, model=ModelConfig(n=5, hidden=8)), replace(SMALL, seed=1)]
    res = sweep.run_sweep(cs, steps=10, cache_dir=tmp_path, progress=False)
    assert [r.embeddings.shape for r in res] == [(7, 2), (5, 2), (7, 2)]


def test_a_process_pool_gives_the_in_process_runs(tmp_path):
    cs = configs(3)
    here = sweep.run_sweep(cs, steps=20, cache_dir=tmp_path / "here", batch_size=2, progress=False)
    done = []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = sweep.run_sweep(cs, steps=20, cache_dir=tmp_path / "there", batch_size=2, progress=False,
                                executor=pool, on_batch=done.append)
    assert done == [2, 3] and not any(r.cached for r in there)
    for a, b in zip(here, there):
        assert all(torch.equal(x, y) for x, y in zip(a.final.tensors(), b.final.tensors()))
        assert (a.train_loss, a.val_acc) == (b.train_loss, b.val_acc)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got batch_size=0"):
        sweep.run_sweep(configs(1), steps=5, cache_dir=tmp_path, batch_size=0)
    with pytest.raises(ValueError, match="list of RunConfig"):
        sweep.run_sweep(["x"], steps=5, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="executor must be a concurrent.futures.Executor or None, got 'local'"):
        sweep.run_sweep(configs(1), steps=5, cache_dir=tmp_path, executor="local")
    for bad, allowed in ((0, "> 0.0"), (-1.0, "> 0.0"), (float("nan"), "a finite number"), ("10", "a finite number"),
                         (True, "a finite number")):
        with pytest.raises(ValueError, match=rf"connect_timeout must be {allowed}, got connect_timeout={re.escape(repr(bad))}"):
            DaskExecutor("tcp://127.0.0.1:8786", connect_timeout=bad)
    for bad in (0, -1, True):
        with pytest.raises(ValueError, match="a local cluster needs at least one worker"):
            DaskExecutor(bad)
    with pytest.raises(ValueError, match="cluster must be a scheduler address"):
        DaskExecutor(" ")
    with pytest.raises(ValueError, match="threads must be a positive integer or None, got threads=0"):
        DaskExecutor(2, threads=0)


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
    assert r.stdout.splitlines()[0] == "trained 4 runs, loaded 0 from cache"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "trained 0 runs, loaded 4 from cache"
    assert pd.read_csv(out).equals(t)
    bad = subprocess.run(cmd[:4] + ["--vary", "wd=1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown sweep key 'wd'" in bad.stderr


@pytest.mark.parametrize("args, message", [
    (["--seeds", "-3"], "argument --seeds: --seeds takes an integer >= 1, got -3"),
    (["--seeds", "x"], "argument --seeds: --seeds takes an integer >= 1, got 'x'"),
    (["--steps", "0"], "argument --steps: --steps takes an integer >= 1, got 0"),
    (["--batch-size", "0"], "argument --batch-size: --batch-size takes an integer >= 1, got 0"),
    (["--workers", "0"], "argument --workers: --workers takes an integer >= 1, got 0"),
    (["--scheduler", "nowhere"], "--scheduler takes a Dask scheduler address like tcp://HOST:PORT, got 'nowhere'"),
    (["--scheduler", "tcp://127.0.0.1:0"], "got 'tcp://127.0.0.1:0'"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "argument --workers: not allowed with argument --scheduler"),
    (["--connect-timeout", "0"], "argument --connect-timeout: --connect-timeout takes a number of seconds > 0, got '0'"),
    (["--connect-timeout", "soon"], "--connect-timeout takes a number of seconds > 0, got 'soon'"),
    (["--connect-timeout", "inf"], "--connect-timeout takes a number of seconds > 0, got 'inf'"),
    (["--recipe", "nope"], "argument --recipe: invalid choice: 'nope'"),
    (["--vary", "lr"], "--vary takes KEY=V1,V2,..., got 'lr'"),
    (["--vary", "lr="], "--vary lr= needs at least one value"),
    (["--vary", "lr=0.1,1e-1"], "--vary lr lists a value twice (0.1)"),
    (["--vary", "lr=0.1", "--vary", "lr=0.2"], "--vary gives lr more than once"),
    (["--vary", "seed=1"], "--vary cannot set seed"),
    (["--vary", "wd=1"], "--vary: unknown sweep key 'wd'"),
    (["--vary", "lr=-1"], "--vary: lr must be > 0.0, got lr=-1"),
    (["--vary", "n=x"], "--vary: n must be an integer >= 2 (the modulus), got 'x'"),
    (["--out", "/nonexistent-folder/t.csv"], "--out must be a file in an existing folder, got '/nonexistent-folder/t.csv'"),
])
def test_bad_command_line_arguments_are_named(tmp_path, capsys, args, message):
    from modadd.__main__ import main
    try:
        rc = main(["sweep", "--steps", "5", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "t.csv"), *args])
    except SystemExit as e:                  # argparse's own errors
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "c").exists() and not (tmp_path / "t.csv").exists(), "nothing ran"


def test_a_diverging_run_is_recorded_and_does_not_stop_the_sweep(tmp_path):
    cs = configs(4)
    cs[1] = replace(cs[1], lr=1e30)          # far too large: its loss overflows at once
    res = sweep.run_sweep(cs, steps=20, cache_dir=tmp_path, batch_size=4, progress=False)
    bad = res[1]
    assert bad.final is None and "seed=1, lr=1e+30" in bad.error and "non-finite loss" in bad.error
    assert np.isnan([bad.train_loss, bad.val_loss, bad.train_acc, bad.val_acc]).all()
    assert np.isnan(bad.embeddings).all() and bad.embeddings.shape == (7, 2)
    for i in (0, 2, 3):                      # the others trained as usual (in smaller batches)
        assert res[i].error is None
        direct = train(cs[i], steps=20, progress=False)
        assert np.allclose(res[i].embeddings, direct.final.E[0].numpy(), atol=1e-5)
    t = sweep.results_table(res)
    assert t["class"].tolist()[1] == "diverged" and t["error"].tolist() == ["", bad.error, "", ""]
    assert t["class"].tolist().count("diverged") == 1 and np.isnan(t["circle_score"][1])
    trained = []                             # the failure is cached like a result
    again = sweep.run_sweep(cs, steps=20, cache_dir=tmp_path, on_batch=trained.append, progress=False)
    assert trained == [] and again[1].error == bad.error and all(r.cached for r in again)


def test_train_batch_splits_a_diverging_batch_until_each_failure_is_alone():
    cs = configs(5)
    cs[3] = replace(cs[3], lr=1e30)
    out = sweep.train_batch(cs, 10)
    assert ["error" in r for r in out] == [False, False, False, True, False]
    assert out[3]["error"].startswith("run (seed=3, lr=1e+30")
    assert set(out[0]) == {"E", "W1", "b1", "W2", "b2", "metrics", "prefixes"} and out[0]["E"].shape == (7, 2)
    assert out[0]["prefixes"] == {}                     # 10 steps pass no step of PREFIX_STEPS


def test_the_runs_a_process_trains_are_logged_when_asked(tmp_path, monkeypatch):
    """MODADD_RUN_LOG: each sweep that trains appends how many runs it trained (the book
    build counts them per chapter); a sweep that only loads writes nothing."""
    log = tmp_path / "runs.log"
    monkeypatch.setenv("MODADD_RUN_LOG", str(log))
    cs = configs(3)
    sweep.run_sweep(cs, steps=5, cache_dir=tmp_path / "c", batch_size=2, progress=False)
    sweep.run_sweep(cs + configs(4)[3:], steps=5, cache_dir=tmp_path / "c", progress=False)
    sweep.run_sweep(cs, steps=5, cache_dir=tmp_path / "c", progress=False)
    assert log.read_text().split() == ["3", "1"]


def test_a_longer_run_caches_its_prefixes_bit_for_bit(tmp_path, monkeypatch):
    """A run of 300 steps leaves its state at step 100 (a PREFIX_STEPS entry) in the cache,
    identical to a run trained for 100 steps: the shorter sweep then trains nothing."""
    monkeypatch.setattr(sweep, "PREFIX_STEPS", (100,))
    cs = configs(3) + [replace(c, bias_free_steps=150, seed=7) for c in configs(1)]
    long = sweep.run_sweep(cs, steps=300, cache_dir=tmp_path / "a", batch_size=2, progress=False)
    assert len(list((tmp_path / "a" / "runs").glob("*.pt"))) == 2 * len(cs)
    trained = []
    short = sweep.run_sweep(cs, steps=100, cache_dir=tmp_path / "a", on_batch=trained.append, progress=False)
    assert trained == [] and all(r.cached for r in short)
    fresh = sweep.run_sweep(cs, steps=100, cache_dir=tmp_path / "b", batch_size=3, progress=False)
    for a, b, c in zip(short, fresh, long):
        assert a.steps == b.steps == 100
        for x, y in zip(a.final.tensors(), b.final.tensors()):
            assert np.array_equal(x.numpy(), y.numpy())
        assert (a.train_loss, a.val_loss, a.train_acc, a.val_acc) == (b.train_loss, b.val_loss, b.train_acc, b.val_acc)
        assert not np.array_equal(a.embeddings, c.embeddings)          # and not the 300-step state
