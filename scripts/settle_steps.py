"""How many steps chapter 6 trains: when do its settings' structures settle?

Seeds 32-47 (chapter 6 reports on seeds 0-31) of seven of its settings, trained to 10,000
steps. For each of 1,000, 2,000, 3,000 and 5,000 steps (the run cache keeps these states of
the 10,000-step runs, modadd.runs.sweep.PREFIX_STEPS) it prints, per setting, the share of runs
whose class is the one they have at 10,000 steps, and how far each class count moved.
Chapter 6 chose 3,000 steps from this table. Its own check (same class for at least 90% of
the runs, at least 80% in each setting, circle counts within 2) first holds here at 2,000
steps (1,000: 75% in one setting); 3,000 is one length of margin.

    python scripts/settle_steps.py        # about 1.1M model-steps: 1-2 minutes on 2 cores
"""
from dataclasses import replace

import numpy as np
import pandas as pd

from modadd.studies import decay
from modadd.core.train import GRID_RECIPE

B = GRID_RECIPE
NO_B = replace(B, model=replace(B.model, bias=False))
SETTINGS = {
    "biases: no decay": replace(B, weight_decay=0.0),
    "biases: decay 1 on all": B,
    "biases: decay 3 on all": replace(B, weight_decay=3.0),
    "zero init, held 100 steps": replace(B, bias_free_steps=100),
    "zero init, trained from step 0": replace(B, zero_bias_init=True),
    "no biases: no decay": replace(NO_B, weight_decay=0.0),
    "bias decay 30": replace(B, wd_bias=30.0),
}
SEEDS = range(32, 48)


def main():
    end = decay.settings_table(SETTINGS, 10_000, seeds=SEEDS)
    rows = []
    for k in (1_000, 2_000, 3_000, 5_000):
        t = decay.settings_table(SETTINGS, k, seeds=SEEDS)
        for s in SETTINGS:
            a = t[t.setting == s]["class"].to_numpy()
            b = end[end.setting == s]["class"].to_numpy()
            rows.append(dict(steps=k, setting=s, same=(a == b).mean(),
                             **{f"moved {c}": int((a == c).sum() - (b == c).sum()) for c in ("circle", "grid", "other")}))
    r = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(r.to_string(index=False))
    summary = r.groupby("steps").agg(same_mean=("same", "mean"), same_min=("same", "min"),
                                     **{f"max |moved {c}|": (f"moved {c}", lambda x: int(np.abs(x).max()))
                                        for c in ("circle", "grid", "other")})
    print(summary.to_string())


if __name__ == "__main__":
    main()
