"""Trainer throughput on this machine. Run: .venv/bin/python benchmarks/bench.py

Prints, and writes to benchmarks/results/trainer.json:
  * one N=17 model, 10,000 full-batch steps, with the book's trainer (a batch of one);
  * the same with a plain nn.Module + autograd + torch.optim.AdamW loop (the baseline);
  * the batched trainer with M=64 models vs 64 sequential single runs (model-steps/s);
  * batch sizes M = 32 ... 512 (1,000 steps each): model-steps/s, and the best of them
    against the plain loop.
The scan and the plain loop take turns, ROUNDS times, and each reports its best (the plain
loop's shortest time, each batch size's most model-steps/s): on these shared machines one
measurement moves by 20-50% from one minute to the next, and, as Python's timeit advises, the
slower measurements are other processes' interference, not the code's speed. Every
measurement is kept in the result (``..._each``).
Run it alone: a second torch process on 2 cores slows both several-fold.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from modadd.core.reference import plain_loop  # noqa: F401  (u; bench_widget.py imports it from here)
from modadd.core.train import GRID_RECIPE, train
import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository: its tools/
from tools.provenance import machine, stamp  # noqa: E402


BATCH_SIZES = (32, 64, 128, 256, 512)
ROUNDS = 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-steps", type=int, default=1000, help="steps of each of the 64 sequential runs")
    args = ap.parse_args()
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": f"{machine()}, {torch.get_num_threads()} torch threads", "torch": torch.__version__}

    train(GRID_RECIPE, steps=200, progress=False)                      # warm-up
    h = train(GRID_RECIPE, steps=10_000, record_every=100, progress=False)
    res["single_10k_steps_s"] = h.seconds
    res["single_steps_per_s"] = 10_000 / h.seconds

    cfgs = [replace(GRID_RECIPE, seed=s) for s in range(64)]
    S = args.seq_steps
    t0 = time.perf_counter()
    for c in cfgs:
        train(c, steps=S, record_every=100, progress=False)
    seq = time.perf_counter() - t0
    res["sequential_64x_model_steps_per_s"] = 64 * S / seq
    hb = train(cfgs, steps=S, record_every=100, progress=False)
    res["batched_64_model_steps_per_s"] = 64 * S / hb.seconds
    hb10 = train(cfgs, steps=10_000, record_every=100, progress=False, record_params=False)
    res["batched_64_10k_steps_s"] = hb10.seconds
    res["batched_64_10k_model_steps_per_s"] = 640_000 / hb10.seconds
    res["speedup_batched_vs_sequential"] = res["batched_64_model_steps_per_s"] / res["sequential_64x_model_steps_per_s"]
    plain, scan = [], {str(M): [] for M in BATCH_SIZES}
    for _ in range(ROUNDS):                  # the plain loop and the scan take turns
        plain.append(plain_loop(10_000))
        for M in BATCH_SIZES:
            h = train([replace(GRID_RECIPE, seed=s) for s in range(M)], steps=1000, record_every=100,
                      progress=False, record_params=False)
            scan[str(M)].append(M * 1000 / h.seconds)
    res["rounds"] = ROUNDS
    res["plain_nn_module_10k_steps_s_each"] = plain
    res["plain_nn_module_10k_steps_s"] = min(plain)
    res["plain_steps_per_s"] = 10_000 / res["plain_nn_module_10k_steps_s"]
    res["speedup_batched_vs_plain_loop"] = res["batched_64_10k_model_steps_per_s"] / res["plain_steps_per_s"]
    res["batch_scan_model_steps_per_s_each"] = scan
    scan = {M: max(v) for M, v in scan.items()}
    res["batch_scan_model_steps_per_s"] = scan
    res["best_batch"] = int(max(scan, key=scan.get))
    res["best_batch_model_steps_per_s"] = max(scan.values())
    res["speedup_best_batch_vs_plain_loop"] = res["best_batch_model_steps_per_s"] / res["plain_steps_per_s"]

    for k, v in res.items():
        print(f"{k:>40}: {v:,.2f}" if isinstance(v, float) else f"{k:>40}: {v}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "trainer.json").write_text(json.dumps(stamp("trainer.json", res), indent=2))


if __name__ == "__main__":
    main()
