"""The small networks the force tests train: both chapter recipes at N = 11, hidden width 16,
so a test trains in a second."""
from dataclasses import replace

from modadd.core.train import CIRCLE_RECIPE, GRID_RECIPE, train

N, H = 11, 16
CIRC = replace(CIRCLE_RECIPE, model=replace(CIRCLE_RECIPE.model, n=N, hidden=H))
GRID = replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=N, hidden=H))


def short_runs(seeds: int, steps: int):
    """Seeds 0 .. seeds-1 of each family (no biases first, then biases), every parameter
    recorded every 20 steps."""
    return train([replace(CIRC, seed=s) for s in range(seeds)] + [replace(GRID, seed=s) for s in range(seeds)],
                 steps=steps, record_every=20, progress=False)
