"""A sweep on a local 2-worker Dask cluster against the same sweep in-process, and the
cost of one task on the cluster. Run alone: .venv/bin/python benchmarks/bench_dask.py

* 128 runs (N = 17, 64 seeds x 2 weight decays), 5,000 steps each, into an empty cache:
  in-process (2 torch threads; batches of 64, the default, and of 32), and on a
  LocalCluster of 2 worker processes with 1 torch thread each (batches of 32, so each
  worker gets two), timed without and with starting and stopping the cluster;
* per-task overhead: a task that trains one run for one step, sent 30 times one after
  the other (round trip minus the same call in-process), and 200 such tasks at once.
Writes benchmarks/results/dask.json.
"""
from __future__ import annotations

import json
import logging
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

import distributed
from distributed import Client, LocalCluster
from modadd.runs import cluster, sweep
from modadd.core.train import GRID_RECIPE, sweep_configs
import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository: its tools/
from tools.provenance import stamp  # noqa: E402

STEPS = 5_000


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def main():
    torch.set_num_threads(2)
    configs = sweep_configs(GRID_RECIPE, seeds=range(64), weight_decay=[0.3, 1.0])
    res = {"date": date.today().isoformat(), "cores": cluster.local_cores(),
           "machine": platform.machine(), "distributed": distributed.__version__,
           "runs": len(configs), "n": GRID_RECIPE.model.n, "steps": STEPS}
    tables = {}
    for batch in (64, 32):
        with tempfile.TemporaryDirectory() as d:
            res[f"inproc_batch{batch}_s"], r = timed(
                lambda: sweep.run_sweep(configs, STEPS, cache_dir=d, batch_size=batch, progress=False))
            tables[batch] = sweep.results_table(r)

    res["cluster_start_s"], lc = timed(lambda: LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.ERROR))
    client = Client(lc, set_as_default=False)
    with tempfile.TemporaryDirectory() as d:
        res["cluster_batch32_s"], r = timed(lambda: sweep.run_sweep(
            configs, STEPS, cache_dir=d, batch_size=32, progress=False, executor=cluster.DaskExecutor(client, threads=1)))
    # same batches, same numbers: the cluster changes where runs train, not what they give
    assert sweep.results_table(r).equals(tables[32])

    one = configs[:1]
    local = [timed(lambda: sweep.train_batch(one, 1))[0] for _ in range(30)]
    remote = [timed(lambda: client.submit(cluster.worker_task, sweep.train_batch, (one, 1, None), 1, pure=False).result())[0]
              for _ in range(30)]
    res["task_inproc_s"] = statistics.median(local)
    res["task_round_trip_s"] = statistics.median(remote)
    res["task_overhead_s"] = res["task_round_trip_s"] - res["task_inproc_s"]
    t, _ = timed(lambda: client.gather([client.submit(cluster.worker_task, sweep.train_batch, (one, 1, None), 1, pure=False)
                                        for _ in range(200)]))
    res["tasks_200_at_once_s_per_task"] = t / 200
    t0 = time.perf_counter()
    client.close()
    lc.close()
    res["cluster_stop_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as d:        # what `sweep --workers 2` costs end to end
        def whole():
            with cluster.DaskExecutor(2) as ex:
                return sweep.run_sweep(configs, STEPS, cache_dir=d, batch_size=32, progress=False, executor=ex)
        res["cluster_total_batch32_s"], _ = timed(whole)
    res["speedup_cluster_vs_inproc"] = res["inproc_batch64_s"] / res["cluster_batch32_s"]
    for k, v in res.items():
        print(f"{k:>30}: {v:,.3f}" if isinstance(v, float) else f"{k:>30}: {v}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dask.json").write_text(json.dumps(stamp("dask.json", res), indent=2))
    assert np.isfinite([v for v in res.values() if isinstance(v, float)]).all()


if __name__ == "__main__":
    main()
