"""Sweep throughput. Run alone: .venv/bin/python benchmarks/bench_sweep.py

* a 256-run sweep (N=17, 10,000 full-batch steps each) into an empty cache: wall time
  and run-steps per second; then the same sweep again (all cached);
* how the cost of a step grows with N: M=64 models, 500 steps, N = 17, 31, 59, 97.
Writes benchmarks/results/sweep.json.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from modadd.core.model import ModelConfig
from modadd.runs.sweep import run_sweep
from modadd.core.train import GRID_RECIPE, sweep_configs, train
import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository: its tools/
from tools.provenance import machine, stamp  # noqa: E402


def main():
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    configs = sweep_configs(GRID_RECIPE, seeds=range(64), weight_decay=[0.0, 0.3, 1.0, 3.0])
    assert len(configs) == 256
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        run_sweep(configs, 10_000, cache_dir=cache, progress=False)
        res["sweep_256x10k_s"] = time.perf_counter() - t0
        res["sweep_run_steps_per_s"] = 256 * 10_000 / res["sweep_256x10k_s"]
        t0 = time.perf_counter()
        run_sweep(configs, 10_000, cache_dir=cache, progress=False)
        res["sweep_256_cached_s"] = time.perf_counter() - t0
    for n in (17, 31, 59, 97):
        cs = [replace(GRID_RECIPE, model=ModelConfig(n=n), seed=s) for s in range(64)]
        h = train(cs, steps=500, record_every=500, record_params=False, progress=False)
        res[f"N{n}_model_steps_per_s"] = 64 * 500 / h.seconds
    for k, v in res.items():
        print(f"{k:>28}: {v:,.2f}" if isinstance(v, float) else f"{k:>28}: {v}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(stamp("sweep.json", res), indent=2))


if __name__ == "__main__":
    main()
