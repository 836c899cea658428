"""Particle simulation speed. Run alone: .venv/bin/python benchmarks/bench_particles.py

* one system, N = 17, 1,000 steps (clustering + alignment): wall time (median of 5);
* steps per second for one system at N = 17, 31, 59, 97, 113 (median of 3 timings);
* a batch of 32 systems at N = 17: system-steps per second;
* u, the book's time unit (modadd.core.reference.plain_loop, 10,000 steps), in the same run.
Writes benchmarks/results/particles.json.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
import statistics
import time
from pathlib import Path

from modadd.particles import simulate
from modadd.core.reference import plain_loop
import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the repository: its tools/
from tools.provenance import machine, stamp  # noqa: E402

NS = (17, 31, 59, 97, 113)


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    res["u_seconds"] = plain_loop(10_000)
    simulate(17, 1.0, 1.0, steps=20)                       # warm-up
    res["n17_1000_steps_s"] = timed(lambda: simulate(17, 1.0, 1.0, steps=1000), 5)
    for n in NS:
        steps = 1000 if n <= 31 else 200
        simulate(n, 1.0, 1.0, steps=5)
        res[f"N{n}_steps_per_s"] = steps / timed(lambda: simulate(n, 1.0, 1.0, steps=steps), 3)
    res["batch32_n17_system_steps_per_s"] = 32 * 1000 / timed(
        lambda: simulate(17, 1.0, 1.0, steps=1000, seed=range(32)), 3)
    for k, v in res.items():
        print(f"{k:>40}: {v:,.2f}" if isinstance(v, float) else f"{k:>40}: {v}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "particles.json").write_text(json.dumps(stamp("particles.json", res), indent=2) + "\n")


if __name__ == "__main__":
    main()
