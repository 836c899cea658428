"""Particles moved only by clustering and alignment: grids and circles without a network.

n particles ``E_a`` in the plane stand for the embeddings. Each step:

1. form every sum vector ``s_ab = E_a + E_b`` (all unordered pairs; answer ``(a + b) mod n``);
2. compute chapter 4's three forces on the sums (:func:`modadd.forces.clustering_force`,
   :func:`modadd.forces.alignment_force`, :func:`modadd.forces.repulsion_force`; called,
   not re-implemented), with the weights ``w_ab`` = the number of ordered pairs (1 or 2)
   over n, so that each answer's weights sum to 1, and move them onto the particles with
   :func:`modadd.forces.to_embeddings`;
3. move: ``E <- E + step_size * (clustering * F_clu + alignment * F_ali + repulsion * F_rep)``;
4. fix the *gauge* (see below).

**What stops a collapse: the gauge and the repulsion.** Clustering and alignment only ever
pull sums together; on their own they shrink everything to a point (clustering) or flatten
it onto a line (alignment). What stops a trained network's embeddings from doing that is
the rest of the loss: sums of different answers must stay apart. This module has two
stand-ins for it, each documented and measured in chapter 5:

* the **gauge**, a step, not a force: with a first layer (and biases) a network can undo
  any invertible affine map of its embeddings (chapter 4), so only the shape *modulo
  affine maps* carries information, and we choose the representative with mean 0 and
  identity covariance (``gauge="affine"``, the default: subtract the mean, multiply by the
  inverse square root of the 2x2 covariance). That makes a collapse to a point or a line
  impossible, and does nothing else: it commutes with rotations and reflections, so it
  favours no direction. ``gauge="scale"`` only fixes the mean and the overall size and
  ``gauge="none"`` only the mean; the chapter uses them to show what the full gauge
  prevents;
* the **repulsion** between sums with *different* answers (chapter 4's third force, with
  its own, narrower window ``repulsion_window``). The gauge alone still allows "thin"
  shapes, most points on one line and one or two off it (a covariance of the identity
  does not need more); the repulsion spreads the sums, and with them the particles, over
  the plane. On all pairs of sums it costs O(n^4) per step, so for n > 23 it is computed
  by the particle-mesh method (``method="mesh"`` of
  :func:`modadd.forces.repulsion_force`, within 1% of the exact field, O(n^2) plus a mesh
  of about n cells); for n <= 23 exactly. The choice depends on n only, never on how many
  systems are simulated together, so a seed gives the same system alone or in a batch (on
  the mesh a batch shares one mesh size, which moves positions only by rounding, ~1e-15).

The clustering window is ``sigma = window * sqrt(4 pi / n)``: ``sqrt(4 pi / n)`` is the
spacing of n points spread evenly over a disc with unit variance per coordinate (radius 2),
the size of the normalised embedding. The repulsion's is ``repulsion_window`` times that.

Cost per step: clustering and alignment act only within each answer (n answers of
``(n + 1) / 2`` pairs for odd n), about ``n^3 / 2`` interactions; the repulsion is n^4 / 4
exact (n <= 23) or about n^2 on the mesh. The formulas are this book's own (see
:mod:`modadd.forces`), not the paper's.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from .data import check_n
from .forces import (MESH_CELLS_PER_SIGMA, _alignment, _clustering, _repulsion, _repulsion_mesh,
                     _to_embeddings)
from .model import sum_vectors
from .train import _check_number, unordered_pairs

GAUGES = ("affine", "scale", "none")
_RUNAWAY = 1e6      # a particle farther than this from the centre (in start units) is a blow-up
_CHECK_EVERY = 50   # steps between blow-up checks (and always at the end)


class ParticleBlowUp(RuntimeError):
    """The simulation produced NaN/inf or a runaway radius."""


def _real(name, value, lo=0.0, positive=False) -> float:
    """``value`` as a float, checked by the trainer's rule (finite, >= lo, or > lo)."""
    _check_number(name, value, lo, allow_lo=not positive)
    return float(value)


def _int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {name}={value!r}")
    return int(value)


def _per_system(name, value, M, lo=None) -> torch.Tensor:
    """A number, or one number per system, as an (M,) float64 tensor."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.full((M,), _real(name, value, lo), dtype=torch.float64)
    vals = [_real(f"{name}[{i}]", v, lo) for i, v in enumerate(np.asarray(value, dtype=object).reshape(-1))]
    if M == 1 and len(vals) > 1:
        raise ValueError(f"{name} lists {len(vals)} values: give one seed per system, e.g. seed=range({len(vals)})")
    if len(vals) not in (1, M):
        raise ValueError(f"{name} must be a number or one per system (M={M}), got {len(vals)} values")
    return torch.tensor(vals * (M if len(vals) == 1 else 1), dtype=torch.float64)


def spacing(n: int) -> float:
    """Spacing of n points spread evenly over a disc with unit variance per coordinate."""
    return math.sqrt(4 * math.pi / n)


def fix_gauge(E: torch.Tensor, gauge: str = "affine") -> torch.Tensor:
    """The gauge step on (M, n, 2) positions (see the module docstring).

    "affine": mean 0, covariance the identity; "scale": mean 0, mean squared coordinate 1;
    "none": mean 0.
    """
    E = E - E.mean(1, keepdim=True)
    if gauge == "none":
        return E
    if gauge == "scale":
        return E / E.square().mean((1, 2), keepdim=True).sqrt().clamp_min(1e-300)
    C = E.transpose(1, 2) @ E / E.shape[1]
    ev, V = torch.linalg.eigh(C)
    inv_sqrt = V @ torch.diag_embed(ev.clamp_min(1e-300).rsqrt()) @ V.transpose(1, 2)
    return E @ inv_sqrt


@dataclass(frozen=True)
class Simulation:
    """The recorded history of M particle systems.

    Attributes:
        n: particles per system. seeds: (M,) seed of each system's random start.
        clustering, alignment: (M,) strengths. repulsion, step_size: shared settings.
        window, repulsion_window: the windows in units of :func:`spacing`; sigma and
        repulsion_sigma the same in absolute units. repulsion_method: "exact" or "mesh".
        gauge: see :func:`fix_gauge`.
        steps: (T,) recorded steps (0 = the gauge-fixed start). E: (T, M, n, 2) positions.
    """

    n: int
    seeds: np.ndarray
    clustering: np.ndarray
    alignment: np.ndarray
    repulsion: float
    step_size: float
    window: float
    repulsion_window: float
    repulsion_method: str
    gauge: str
    sigma: float
    repulsion_sigma: float
    steps: np.ndarray
    E: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """(M, n, 2) the last positions."""
        return self.E[-1]

    def table(self):
        """One row per system: seed, strengths, both structure scores and the class
        (:func:`modadd.structure.scores`, the yardstick used for trained networks)."""
        import pandas as pd

        from . import structure
        rows = []
        for m in range(len(self.seeds)):
            row = dict(seed=int(self.seeds[m]), n=self.n, clustering=float(self.clustering[m]),
                       alignment=float(self.alignment[m]), repulsion=self.repulsion,
                       step_size=self.step_size, gauge=self.gauge)
            row.update(structure.scores(self.final[m]))
            rows.append(row)
        return pd.DataFrame(rows)


def random_start(n: int, seeds) -> torch.Tensor:
    """(M, n, 2) float64 start positions, uniform in the square [-1, 1]^2, one seed per system."""
    return torch.stack([torch.rand(n, 2, generator=torch.Generator().manual_seed(int(s)),
                                   dtype=torch.float64) * 2 - 1 for s in seeds])


def _check_start(start, n, M) -> torch.Tensor:
    if isinstance(start, np.ndarray):
        start = torch.from_numpy(start)
    if not isinstance(start, torch.Tensor):
        raise ValueError(f"start must be an (n, 2) or (M, n, 2) array, got {type(start).__name__}")
    start = start.detach().to(torch.float64)
    if start.ndim == 2:
        start = start.unsqueeze(0)
    if start.ndim != 3 or start.shape[1:] != (n, 2) or start.shape[0] not in (1, M):
        raise ValueError(f"start must have shape (n, 2) or (M, n, 2) = ({M}, {n}, 2), got {tuple(start.shape)}")
    if not torch.isfinite(start).all():
        raise ValueError("start contains NaN or inf")
    start = start.expand(M, n, 2).clone()
    spread = (start - start.mean(1, keepdim=True)).abs().amax((1, 2))
    if (spread <= 1e-12 * start.abs().amax((1, 2)).clamp_min(1e-300)).any():
        raise ValueError("start has all particles at one point; there is no shape to evolve")
    return start


REPULSION = 0.3          # default repulsion strength (chapter 5 measures why)
REPULSION_WINDOW = 0.7   # default repulsion window, in units of spacing(n)
EXACT_UP_TO = 23         # the repulsion is summed exactly up to this n, on a mesh above


def simulate(n: int, clustering=1.0, alignment=0.0, step_size: float = 0.1, steps: int = 1000,
             seed=0, *, repulsion: float = REPULSION, window: float = 1.5,
             repulsion_window: float = REPULSION_WINDOW, gauge: str = "affine",
             start=None, record_every: int | None = None) -> Simulation:
    """Move n particles by clustering, alignment and repulsion alone (plus the gauge step).

    Args:
        n: number of particles (residues), >= 3.
        clustering, alignment: force strengths >= 0, a number or one per system.
        step_size: > 0, the step of the explicit Euler update.
        steps: number of steps, >= 1.
        seed: an integer, or a sequence of M integers: M independent systems, simulated
            together (numbers in ``clustering``/``alignment`` broadcast over them).
        repulsion: strength >= 0 of the repulsion between sums with different answers
            (0: off).
        window: clustering window in units of :func:`spacing`.
        repulsion_window: repulsion window in units of :func:`spacing`.
        gauge: "affine" (default), "scale" or "none"; see :func:`fix_gauge`.
        start: optional (n, 2) or (M, n, 2) start positions (e.g. a network's initial
            embeddings) instead of the seeded random start.
        record_every: record positions every this many steps (default: about 100 frames).

    Returns:
        :class:`Simulation`. The same arguments give the same result, bit for bit.

    Raises:
        ValueError: a bad argument, naming it and what is allowed.
        ParticleBlowUp: NaN/inf or a runaway radius, naming the step and suggesting a
            smaller step size.
    """
    n = check_n(n)
    if n < 3:
        raise ValueError(f"n must be at least 3 for a shape to form, got n={n}")
    seeds = [seed] if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else list(seed)
    if not seeds:
        raise ValueError("seed must be an integer or a non-empty sequence of integers, got an empty sequence")
    seeds = [_int(f"seed[{i}]" if len(seeds) > 1 else "seed", s, 0) for i, s in enumerate(seeds)]
    M = len(seeds)
    clu = _per_system("clustering", clustering, M, lo=0.0)
    ali = _per_system("alignment", alignment, M, lo=0.0)
    eta = _real("step_size", step_size, positive=True)
    steps = _int("steps", steps, 1)
    rep = _real("repulsion", repulsion, lo=0.0)
    window = _real("window", window, positive=True)
    repulsion_window = _real("repulsion_window", repulsion_window, positive=True)
    if gauge not in GAUGES:
        raise ValueError(f"gauge must be one of {GAUGES}, got gauge={gauge!r}")
    if record_every is None:
        record_every = max(1, steps // 100)
    record_every = _int("record_every", record_every, 1)

    E = random_start(n, seeds) if start is None else _check_start(start, n, M)
    E = fix_gauge(E, "affine" if gauge == "none" else gauge)   # a common scale for every gauge
    pairs, mult = unordered_pairs(n)
    labels = pairs.sum(1) % n
    w = (mult / n).to(torch.float64).expand(M, -1)
    sig, rsig = spacing(n) * window, spacing(n) * repulsion_window
    sigma = torch.full((M,), sig, dtype=torch.float64)
    rsigma = torch.full((M,), rsig, dtype=torch.float64)
    method = "exact" if n <= EXACT_UP_TO else "mesh"
    limit = _RUNAWAY * float(E.abs().max())
    use_clu, use_ali = bool((clu > 0).any()), bool((ali > 0).any())
    clu3, ali3 = clu[:, None, None], ali[:, None, None]

    rec_steps, rec = [0], [E.clone()]
    # Far-apart sums give window values exp(-d^2 / 2 sigma^2) below 1e-308: subnormal
    # floats, on which CPU arithmetic is ~100x slower. Flush them to zero while simulating.
    torch.set_flush_denormal(True)
    try:
        for t in range(1, steps + 1):
            S = sum_vectors(E, pairs)
            f = torch.zeros_like(S)
            if use_clu:
                f += clu3 * _clustering(S, labels, w, sigma)
            if use_ali:
                f += ali3 * _alignment(S, labels, w)
            if rep > 0 and method == "exact":
                f += rep * _repulsion(S, labels, w, rsigma)
            elif rep > 0:
                try:
                    f += rep * _repulsion_mesh(S, labels, w, rsigma, MESH_CELLS_PER_SIGMA)
                except ValueError as exc:      # the sums spread too far for a mesh
                    raise ParticleBlowUp(f"the particle simulation blew up by step {t} ({exc}); "
                                         f"try a smaller step_size than {eta:g}") from None
            E = E + eta * _to_embeddings(f, pairs, n, w)
            if t % _CHECK_EVERY == 0 or t == steps:
                _check_blow_up(E, t, eta, limit)
            E = fix_gauge(E, gauge)
            if t % record_every == 0 or t == steps:
                rec_steps.append(t)
                rec.append(E.clone())
    finally:
        torch.set_flush_denormal(False)
    return Simulation(n=n, seeds=np.array(seeds), clustering=clu.numpy(), alignment=ali.numpy(),
                      repulsion=rep, step_size=eta, window=window, repulsion_window=repulsion_window,
                      repulsion_method=method if rep > 0 else "off", gauge=gauge, sigma=sig,
                      repulsion_sigma=rsig, steps=np.array(rec_steps), E=torch.stack(rec).numpy())


def _check_blow_up(E, t, eta, limit):
    finite = torch.isfinite(E).all((1, 2))
    radius = torch.where(finite, E.norm(dim=-1).amax(-1), torch.inf)
    bad = (~finite) | (radius > limit)
    if bad.any():
        m = int(bad.nonzero()[0])
        what = "NaN or inf positions" if not bool(finite[m]) else f"a radius of {float(radius[m]):.3g}"
        raise ParticleBlowUp(f"the particle simulation blew up by step {t} (system {m}: {what}); "
                             f"try a smaller step_size than {eta:g}")
