"""Force-fit speed: chapter 4's explained_over_history on one run.

Run alone: .venv/bin/python benchmarks/bench_forces.py

* one grid run (GRID_RECIPE, seed 0, n = 17) recorded at 50 steps: the time of
  ``explained_over_history`` (true and shuffled fits at every step), median of 5, one thread.

This was a wall-clock assertion in the tests (< 2 s; ~0.4 s measured), which is flaky on a
shared machine; here it is measured, not asserted. Writes benchmarks/results/forces.json.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch

from modadd.forces import explained_over_history
from modadd.core.train import GRID_RECIPE, train


def main():
    torch.set_num_threads(1)
    h = train(replace(GRID_RECIPE, seed=0), steps=490, record_every=10, progress=False)
    explained_over_history(h, 0)                          # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        explained_over_history(h, 0)
        times.append(time.perf_counter() - t0)
    res = {"explained_over_history_n17_50_steps_s": statistics.median(times)}
    for k, v in res.items():
        print(f"{k:>40}: {v:.3f}")
    out = Path(__file__).parent / "results" / "forces.json"
    out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
