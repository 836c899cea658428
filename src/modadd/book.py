"""The chapters' own recipes: the calls that two chapters (or a chapter and its exercises)
share, each made once and kept in the run cache, so that a chapter reads
``book.formation_fit()`` instead of repeating the calls whose arguments must match to find
the same cached result. The science they call lives in the rooms below; this module only
fixes which seeds, steps and variants the book uses.

* Chapter 4's honest fit, which chapter 5 reads too: :func:`formation_runs` (both recipes'
  first 600 steps), :func:`formation_variants` (the 48 candidate laws) and
  :func:`formation_fit` (chosen on seeds 0-7, reported on seeds 8-31).
* Chapter 4's measured force law, which chapter 5's particles are moved by too:
  :func:`formation_law` and :func:`law_particles`.
* Chapter 5's networks, which its optimiser check and its particle twins both read:
  :func:`network_runs`.
"""
from __future__ import annotations

from dataclasses import replace

from .cache.memo import memo
from .core.train import CIRCLE_RECIPE, GRID_RECIPE, History, sweep_configs, train
from .core.validate import check_choice
from .forces import (FAMILY_HAS_BIASES, SIGMA_RULES, ForceLaw, HonestFit, Variant, candidate_fields, family, force_law,
                     honest_fit, variant_grid)
from .particles import Simulation, simulate_law


def formation_runs(seeds) -> History:
    """Both recipes' first 600 steps, every 20th step recorded: the runs chapter 4 fits.

    The circle recipe's runs of ``seeds``, then the grid recipe's, trained once and kept in
    the run cache (:func:`modadd.cache.memo.memo`), so chapters 4 and 5 share them."""
    seeds = [int(s) for s in seeds]
    return memo(train, [replace(CIRCLE_RECIPE, seed=s) for s in seeds]
                + [replace(GRID_RECIPE, seed=s) for s in seeds], steps=600, record_every=20, progress=False)


def formation_law(family_name: str, full_angle: bool = False) -> ForceLaw:
    """Chapter 4's force law of one family ("no biases" or "biases"), measured without an
    assumed form (:func:`modadd.forces.force_law`) on the family's runs of
    :func:`formation_runs` of seeds 0-15; folded to lines, or over the full angle."""
    check_choice("family", family_name, tuple(FAMILY_HAS_BIASES))
    history = formation_runs(range(16))
    runs = [i for i, c in enumerate(history.configs) if family(c) == family_name]
    return memo(force_law, history, runs=runs, full_angle=full_angle)


def law_particles(family_name: str, start, step_size: float, steps: int, labels: str = "true") -> Simulation:
    """Particles from ``start`` moved by a family's :func:`formation_law` over the full
    angle (:func:`modadd.particles.simulate_law`; ``labels`` "shuffled": the law measured
    with shuffled answers), the start and the last step recorded. Kept in the run cache."""
    return memo(_law_particles, family_name, start, step_size, steps, labels)


def _law_particles(family_name, start, step_size, steps, labels):
    return simulate_law(formation_law(family_name, full_angle=True), start, step_size, steps, labels=labels,
                        record_every=steps)


#: The seeds of :func:`network_runs`, per family.
NETWORK_SEEDS = {"no biases": range(144), "biases": range(80)}


def network_runs() -> History:
    """Chapter 5's networks: the circle recipe on seeds 0-143, then the grid recipe on seeds
    0-79 (:data:`NETWORK_SEEDS`), 2,000 AdamW steps, embeddings kept at steps 0, 10, 25
    and every 50th. Kept in the run cache: whichever cell asks first trains them."""
    configs = [c for rec, fam in ((CIRCLE_RECIPE, "no biases"), (GRID_RECIPE, "biases"))
               for c in sweep_configs(rec, seeds=NETWORK_SEEDS[fam])]
    return memo(train, configs, steps=2000, record_every=sorted({0, 10, 25, *range(0, 2001, 50)}),
                record_params=False, progress=False)


def formation_variants() -> list[Variant]:
    """The 48 candidate laws of chapter 4's honest fit: clustering and alignment, with and
    without repulsion, every window rule at 1 and 2 times its width, alignment's powers
    of the own radius -1, 0, 1 and of the other's 0, 1."""
    ca = ("clustering", "alignment")
    return variant_grid([ca, ca + ("repulsion",)], sigma_rules=SIGMA_RULES, sigma_scales=(1.0, 2.0),
                        self_powers=(-1.0, 0.0, 1.0), other_powers=(0.0, 1.0))


def formation_fit() -> HonestFit:
    """Chapter 4's honest fit, the one chapters 4 and 5 read: :func:`formation_variants`
    chosen on seeds 0-7 and reported on seeds 8-31 of :func:`formation_runs` (seeds 0-15,
    then 16-31), beside the plain forms (``Variant()``). Kept in the run cache: whichever
    chapter asks first computes it."""
    variants = formation_variants()
    fields = (memo(candidate_fields, formation_runs(range(16)), variants)
              + memo(candidate_fields, formation_runs(range(16, 32)), variants))
    return memo(honest_fit, [f for f in fields if f.seed < 8], [f for f in fields if f.seed >= 8],
                variants, compare=[Variant()])
