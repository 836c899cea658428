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
  impossible; it commutes with rotations and reflections, so it favours no direction. It
  does favour round shapes (an ellipse becomes a circle); chapter 5 measures what that
  changes by scoring trained networks through the same gauge. ``gauge="scale"`` only fixes the mean and the overall size and
  ``gauge="none"`` only the mean; the chapter uses them to show what the full gauge
  prevents. Without biases a shift of the embeddings is *not* a symmetry of the network
  (its first layer cannot undo it), so ``gauge="linear"`` keeps the origin where it is and
  fixes only the linear part: the second moment about the origin becomes the identity;
* the **repulsion** between sums with *different* answers (chapter 4's third force, with
  its own, narrower window, of width ``repulsion_width``). The gauge alone still allows "thin"
  shapes, most points on one line and one or two off it (a covariance of the identity
  does not need more); the repulsion spreads the sums, and with them the particles, over
  the plane. On all pairs of sums it costs O(n^4) per step, so for n > 23 it is computed
  by the particle-mesh method (``method="mesh"`` of
  :func:`modadd.forces.repulsion_force`, within 1% of the exact field, O(n^2) plus a mesh
  of about n cells); for n <= 23 exactly. The choice depends on n only, never on how many
  systems are simulated together, so a seed gives the same system alone or in a batch (on
  the mesh a batch shares one mesh size, which moves positions only by rounding, ~1e-15).

**Windows.** Clustering and repulsion are local: each weighs a pair of sums by a Gaussian
window ``exp(-d^2 / (2 sigma^2))`` of their distance d (:mod:`modadd.forces`). The
clustering window's width is ``clustering_sigma = clustering_width * spacing(n)``, where
``spacing(n) = sqrt(4 pi / n)`` is the spacing of n points spread evenly over a disc with
unit variance per coordinate (radius 2), the size of the normalised embedding; the repulsion's is ``repulsion_sigma =
repulsion_width * spacing(n)``. So ``*_width`` is a width in units of the spacing (what
:func:`simulate` takes) and ``*_sigma`` the same width in the plane's units.

**At rest.** With ``rest=`` a system that has stopped changing (over ``REST_WINDOW`` steps
no particle moved farther than ``rest`` times its RMS radius, a turn of the whole system not
counted) stops and leaves the batch; the others move on. Chapter 5 states the rule and
checks on seeds it was not chosen on that it changes no class.

Cost per step: clustering acts only within each answer (n answers of ``(n + 1) / 2``
pairs for odd n), ``n (n + 1)^2 / 4`` same-answer pairs of sums (a sum with itself
included), on one table of distances shared with the repulsion's same-answer part;
alignment needs one sum per answer, O(n^2); the repulsion from all sums is exact over all
``n^2 (n + 1)^2 / 4`` pairs (n <= 23) or about n^2 on the mesh. The formulas are this book's own (see
:mod:`modadd.forces`), not the paper's.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from .analysis import structure
from .core.data import answers, unordered_pairs
from .core.model import sum_vectors
from .core.numerics import flush_subnormals
from .core.validate import (check_choice, check_finite, check_int, check_n, check_number, check_per_system, check_positions,
                       check_seeds)
from .forces import (FAMILY_HAS_BIASES, MESH_CELLS_PER_SIGMA, ForceLaw, HonestFit, MeshTooLarge, affine_part, auto_sigma,
                     Variant, fit_along, repulsion_mesh_all)
from .forces.kernels import alignment, binned_law, clustering, repulsion_all, spread_to_embeddings, windows

GAUGES = ("affine", "scale", "none", "linear")
_RUNAWAY = 1e6      # a particle farther than this from the centre (in start units) is a blow-up
_CHECK_EVERY = 50   # steps between blow-up checks (and always at the end)
REST_WINDOW = 10    # steps over which ``simulate(rest=...)`` measures whether a system still moves


class ParticleBlowUp(RuntimeError):
    """The simulation produced NaN/inf or a runaway radius."""


def spacing(n: int) -> float:
    """Spacing of n points spread evenly over a disc with unit variance per coordinate."""
    return math.sqrt(4 * math.pi / n)


def fix_gauge(E: torch.Tensor, gauge: str = "affine") -> torch.Tensor:
    """The gauge step on (M, n, 2) positions (see the module docstring).

    "affine": mean 0, covariance the identity; "scale": mean 0, mean squared coordinate 1;
    "none": mean 0; "linear": no shift, the second moment about the origin the identity.
    """
    if gauge == "linear":
        M = E.transpose(1, 2) @ E / E.shape[1]
        ev, V = torch.linalg.eigh(M)
        return E @ (V @ torch.diag_embed(ev.clamp_min(1e-300).rsqrt()) @ V.transpose(1, 2))
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
        clustering_width, repulsion_width: the widths of the two windows in units of
        :func:`spacing`; clustering_sigma and repulsion_sigma the same in the plane's units. repulsion_method: "exact" or "mesh".
        gauge: see :func:`fix_gauge`.
        rest: the rule that stopped systems at rest (see :func:`simulate`), or None.
        moved: (M,) steps each system moved: ``steps[-1]``, or fewer for one stopped at rest
            (its later frames repeat its last positions).
        steps: (T,) recorded steps (0 = the gauge-fixed start). E: (M, T, n, 2) positions,
        model (system) first, then time, as :attr:`modadd.core.train.History.embeddings`.
        law: None for the assumed forces; for :func:`simulate_law`, which measured law moved
            the particles ("true" or "shuffled" answers), and the strengths and widths are NaN.
    """

    n: int
    seeds: np.ndarray
    clustering: np.ndarray
    alignment: np.ndarray
    repulsion: float
    step_size: float
    clustering_width: float
    repulsion_width: float
    repulsion_method: str
    gauge: str
    clustering_sigma: float
    repulsion_sigma: float
    rest: float | None
    moved: np.ndarray
    steps: np.ndarray
    E: np.ndarray
    law: str | None = None

    @property
    def final(self) -> np.ndarray:
        """(M, n, 2) the last positions."""
        return self.E[:, -1]

    def take(self, rows) -> "Simulation":
        """The systems at ``rows`` (positions in this batch), as a simulation of their own:
        one run can serve several experiments that share its settings and starts."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(self.seeds)):
            raise ValueError(f"rows must be positions 0..{len(self.seeds) - 1} of this simulation's "
                             f"{len(self.seeds)} systems, got {rows.min()}..{rows.max()}")
        return replace(self, seeds=self.seeds[rows], clustering=self.clustering[rows],
                       alignment=self.alignment[rows], moved=self.moved[rows], E=self.E[rows])

    def table(self):
        """One row per system: seed, strengths, both structure scores and the class
        (:func:`modadd.analysis.structure.scores`, the yardstick used for trained networks)."""
        rows = []
        for m, scored in enumerate(structure.scores_many(self.final)):
            row = dict(seed=int(self.seeds[m]), n=self.n, clustering=float(self.clustering[m]),
                       alignment=float(self.alignment[m]), repulsion=self.repulsion,
                       step_size=self.step_size, gauge=self.gauge)
            row.update(scored)
            rows.append(row)
        return pd.DataFrame(rows)


def random_start(n: int, seeds) -> torch.Tensor:
    """(M, n, 2) float64 start positions, uniform in the square [-1, 1]^2, one seed per system."""
    return torch.stack([torch.rand(n, 2, generator=torch.Generator().manual_seed(int(s)),
                                   dtype=torch.float64) * 2 - 1 for s in seeds])


REPULSION = 0.3          # default repulsion strength (chapter 5 measures why)
CLUSTERING_WIDTH = 1.5   # default width of the clustering window, in units of spacing(n)
REPULSION_WIDTH = 0.7    # default width of the repulsion window, in units of spacing(n)
EXACT_UP_TO = 23         # the repulsion is summed exactly up to this n, on a mesh above


def simulate(n: int, clustering=1.0, alignment=0.0, step_size: float = 0.1, steps: int = 1000,
             seed=0, *, repulsion: float = REPULSION,
             clustering_width: float = CLUSTERING_WIDTH, repulsion_width: float = REPULSION_WIDTH, gauge: str = "affine",
             start=None, record_every: int | None = None, rest: float | None = None) -> Simulation:
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
        clustering_width: width of the clustering window, in units of :func:`spacing`.
        repulsion_width: width of the repulsion window, in units of :func:`spacing`.
        gauge: "affine" (default), "scale", "none" or "linear"; see :func:`fix_gauge`.
        start: optional (n, 2) or (M, n, 2) start positions (e.g. a network's initial
            embeddings) instead of the seeded random start.
        record_every: record positions every this many steps (default: about 100 frames).
        rest: None (default: every system moves all ``steps``), or a number > 0: a system
            stops moving once, over the last ``REST_WINDOW`` (10) steps, none of its
            particles moved farther than ``rest`` times the system's RMS radius, a turn of
            the whole system not counted (it changes no shape); it keeps its
            positions to the end, and ``Simulation.moved`` says how many steps it moved. The
            others move on, simulated without it (a smaller batch: the same system up to
            rounding, see the module docstring).

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
    seeds = check_seeds(seed)
    M = len(seeds)
    forces = ParticleForces(
        n, clustering=check_per_system("clustering", clustering, M),
        alignment=check_per_system("alignment", alignment, M),
        repulsion=check_number("repulsion", repulsion),
        clustering_sigma=spacing(n) * check_number("clustering_width", clustering_width, strict=True),
        repulsion_sigma=spacing(n) * check_number("repulsion_width", repulsion_width, strict=True))
    eta, steps, record_every, rest = _settings(step_size, steps, gauge, record_every, rest)
    E = _gauged_start(random_start(n, seeds) if start is None else check_positions("start", start, n, M), gauge)
    rec_steps, rec, moved = _run(E, forces, eta, steps, record_every, gauge, rest)
    return Simulation(n=n, seeds=np.array(seeds), clustering=forces.clustering.numpy(),
                      alignment=forces.alignment.numpy(), repulsion=forces.repulsion, step_size=eta,
                      clustering_width=float(clustering_width), repulsion_width=float(repulsion_width),
                      repulsion_method=forces.method if forces.repulsion > 0 else "off", gauge=gauge,
                      clustering_sigma=forces.clustering_sigma, repulsion_sigma=forces.repulsion_sigma,
                      rest=rest, moved=moved, steps=np.array(rec_steps), E=torch.stack(rec, 1).numpy())


def simulate_law(law: ForceLaw, start, step_size: float, steps: int, *, labels: str = "true",
                 gauge: str = "affine", record_every: int | None = None, rest: float | None = None) -> Simulation:
    """Move particles by a force law measured in training, with no assumed form.

    The force on the sums is :meth:`modadd.forces.ForceLaw.field`: the binned pull by
    distance and turn by angle that chapter 4 measured (``labels``: "true", or "shuffled"
    for the law measured with shuffled answers, the task-independent part only), including
    its short-range push between any two sums, computed in float32. Every unordered pair is weighted by its
    multiplicity, as in :func:`simulate`; the force moves onto the particles the same way,
    with the same Euler step, gauge and rest rule. The law's overall size is the fit's
    (unit mean-square gradient per step), so ``step_size`` is a free choice. The law jumps
    at its bin edges, so a system alone and in a batch agree only until rounding first puts
    a sum in the next bin (the same arguments still give the same result, bit for bit). Our
    model, not the paper's.

    Args:
        law: a :class:`modadd.forces.ForceLaw` (e.g. ``force_law(history, full_angle=True)``).
        start: (n, 2) or (M, n, 2) start positions (e.g. networks' initial embeddings),
            taken through the affine gauge first as in :func:`simulate`.
        step_size, steps, gauge, record_every, rest: as in :func:`simulate`.
    Returns:
        :class:`Simulation` with ``law`` set and seeds 0 to M - 1 (the systems' indices).
    """
    if not isinstance(law, ForceLaw):
        raise ValueError(f"law must be a modadd.forces.ForceLaw, got {type(law).__name__}")
    check_choice("labels", labels, ("true", "shuffled"))
    shape = tuple(getattr(start, "shape", ()))
    if len(shape) not in (2, 3) or shape[-1] != 2 or shape[-2] < 3:
        raise ValueError(f"start must be an (n, 2) or (M, n, 2) array of positions with n >= 3, got shape {shape}")
    n, M = shape[-2], (shape[0] if len(shape) == 3 else 1)
    eta, steps, record_every, rest = _settings(step_size, steps, gauge, record_every, rest)
    E = _gauged_start(check_positions("start", start, n, M), gauge)
    forces = LawForces(n, M, law.tables(labels, torch.float32))
    rec_steps, rec, moved = _run(E, forces, eta, steps, record_every, gauge, rest)
    nan = np.full(M, np.nan)
    return Simulation(n=n, seeds=np.arange(M), clustering=nan, alignment=nan, repulsion=math.nan, step_size=eta,
                      clustering_width=math.nan, repulsion_width=math.nan, repulsion_method="law", gauge=gauge,
                      clustering_sigma=math.nan, repulsion_sigma=math.nan, rest=rest, moved=moved,
                      steps=np.array(rec_steps), E=torch.stack(rec, 1).numpy(), law=labels)


def _settings(step_size, steps, gauge, record_every, rest) -> tuple[float, int, int, float | None]:
    """The run settings of :func:`simulate` and :func:`simulate_law`, checked: (step size,
    steps, record_every, rest), record_every defaulting to about 100 frames."""
    eta = check_number("step_size", step_size, strict=True)
    steps = check_int("steps", steps, 1)
    check_choice("gauge", gauge, GAUGES)
    record_every = check_int("record_every", max(1, steps // 100) if record_every is None else record_every, 1)
    return eta, steps, record_every, check_number("rest", rest, strict=True, allow_none=True)


def _gauged_start(E: torch.Tensor, gauge: str) -> torch.Tensor:
    """The start (M, n, 2) through the gauge step before the first move; "none" (which fixes
    only the mean) takes the affine one there, so that every gauge starts at a common scale."""
    return fix_gauge(E, "affine" if gauge == "none" else gauge)


class LawForces:
    """The force of a measured law (:func:`modadd.forces.kernels.binned_law`) on n particles
    of M systems, every unordered pair of sums weighted by its multiplicity over n. The
    field is computed in the dtype of ``tables`` (float32 in :func:`simulate_law`: the law is
    measured to about two digits, and float32 is 1.6 times faster here), the positions and
    the step in float64. ``w`` (float64) spreads the force onto the particles, ``field_w``
    (the same weights in the tables' dtype, cast once, not every step) weighs the partners."""

    def __init__(self, n: int, M: int, tables):
        self.n, self.tables = n, tables
        self.pairs, mult = unordered_pairs(n)
        self.labels = answers(self.pairs, n)
        self.w = (mult / n).to(torch.float64).expand(M, -1)
        self.field_w = self.w.to(tables[0].dtype)

    def take(self, idx: torch.Tensor) -> "LawForces":
        """The same law on the systems ``idx`` only."""
        new = copy.copy(self)
        new.w = self.w[:1].expand(len(idx), -1)
        new.field_w = new.w.to(self.field_w.dtype)
        return new

    def __call__(self, E: torch.Tensor) -> torch.Tensor:
        S = sum_vectors(E, self.pairs).to(self.field_w.dtype)
        f = binned_law(S, self.labels, self.field_w, None, self.tables).to(E.dtype)
        return spread_to_embeddings(f, self.pairs, self.n, self.w)


class ParticleForces:
    """The force on n particles of M systems: chapter 4's kernels on all their sums.

    ``clustering``, ``alignment``: (M,) strengths; ``repulsion``: one strength;
    ``clustering_sigma``, ``repulsion_sigma``: the windows' widths in the plane's units. The weight of a pair is the number
    of ordered pairs it stands for over n, so each answer's weights sum to 1.
    """

    def __init__(self, n: int, clustering, alignment, repulsion: float, clustering_sigma: float,
                 repulsion_sigma: float):
        self.n, self.repulsion = n, repulsion
        self.clustering_sigma, self.repulsion_sigma = clustering_sigma, repulsion_sigma
        self.clustering, self.alignment = clustering, alignment
        M = len(clustering)
        self.pairs, mult = unordered_pairs(n)
        self.labels = answers(self.pairs, n)
        self.w = (mult / n).to(torch.float64).expand(M, -1)
        self._sigma = torch.full((M,), clustering_sigma, dtype=torch.float64)
        self._rsigma = torch.full((M,), repulsion_sigma, dtype=torch.float64)
        self.method = "exact" if n <= EXACT_UP_TO else "mesh"
        # the same-answer windows (clustering, and the repulsion's same-answer part) share
        # one table of distances; the repulsion from all sums is added on top
        self._windows = [(clustering, self._sigma)] if bool((clustering > 0).any()) else []
        if repulsion > 0:
            self._windows.append((torch.full((M,), float(repulsion), dtype=torch.float64), self._rsigma))
        self._aligns = bool((alignment > 0).any())

    def take(self, idx: torch.Tensor) -> "ParticleForces":
        """The same forces on the systems ``idx`` only (the strengths and widths of those)."""
        new = copy.copy(self)
        new.clustering, new.alignment = self.clustering[idx], self.alignment[idx]
        new.w = self.w[:1].expand(len(idx), -1)              # the same row for every system
        new._sigma, new._rsigma = self._sigma[idx], self._rsigma[idx]
        new._windows = [(strength[idx], sigma[idx]) for strength, sigma in self._windows]
        return new

    def __call__(self, E: torch.Tensor) -> torch.Tensor:
        """(M, n, 2) the force on every particle at positions E (M, n, 2).

        Raises :class:`modadd.forces.MeshTooLarge` when the sums spread too far for a mesh."""
        S = sum_vectors(E, self.pairs)
        labels, w = self.labels, self.w
        f = windows(S, labels, w, self._windows) if self._windows else torch.zeros_like(S)
        if self._aligns:
            f += self.alignment[:, None, None] * alignment(S, labels, w)
        if self.repulsion > 0 and self.method == "exact":
            f += self.repulsion * repulsion_all(S, w, self._rsigma)
        elif self.repulsion > 0:
            f += self.repulsion * repulsion_mesh_all(S, w, self._rsigma, MESH_CELLS_PER_SIGMA)
        return spread_to_embeddings(f, self.pairs, self.n, w)


def _run(E: torch.Tensor, forces: ParticleForces, eta: float, steps: int, record_every: int,
         gauge: str, rest: float | None) -> tuple[list[int], list[torch.Tensor], np.ndarray]:
    """Euler steps plus the gauge; the recorded steps and positions, and the steps each
    system moved (with ``rest``, systems at rest drop out of the batch)."""
    limit = _RUNAWAY * float(E.abs().max())
    rec_steps, rec = [0], [E.clone()]
    moved = np.full(E.shape[0], steps)
    active = torch.arange(E.shape[0])         # the systems still moving, and their positions X
    X, f, before = E, forces, E
    # Far-apart sums give window values exp(-d^2 / 2 sigma^2) below 1e-308: subnormal
    # floats, on which CPU arithmetic is ~100x slower. Flush them to zero while simulating.
    with flush_subnormals():
        for t in range(1, steps + 1):
            if len(active):
                try:
                    X = X + eta * f(X)
                except MeshTooLarge as exc:      # the sums spread too far for a mesh
                    raise ParticleBlowUp(f"the particle simulation blew up by step {t} ({exc}); "
                                         f"try a smaller step_size than {eta:g}") from None
                if t % _CHECK_EVERY == 0 or t == steps:
                    _check_blow_up(X, active, t, eta, limit)
                X = fix_gauge(X, gauge)
                if rest is not None and t % REST_WINDOW == 0 and t < steps:
                    radius = X.square().sum(-1).mean(-1).sqrt()
                    still = change_up_to_a_turn(before, X) <= rest * radius
                    if still.any():
                        E = E.index_copy(0, active, X)
                        moved[active[still].numpy()] = t
                        active, X = active[~still], X[~still]
                        f = forces.take(active)
                    before = X
            if t % record_every == 0 or t == steps:
                E = X if len(active) == E.shape[0] else E.index_copy(0, active, X)
                rec_steps.append(t)
                rec.append(E.clone())
    return rec_steps, rec, moved


def change_up_to_a_turn(A, B) -> torch.Tensor:
    """(M,) how far the farthest particle moved from A to B (M, n, 2, both centred; arrays
    or tensors), once A is turned by the rotation that matches B best (least squares): a
    steady turn changes no shape (on the mesh a settled system can keep turning slowly, the
    mesh's grid favouring some directions). ``simulate(rest=...)`` measures with it."""
    A, B = torch.as_tensor(A, dtype=torch.float64), torch.as_tensor(B, dtype=torch.float64)
    cross = (A[..., 0] * B[..., 1] - A[..., 1] * B[..., 0]).sum(-1)
    angle = torch.atan2(cross, (A * B).sum((1, 2)))
    c, s = angle.cos()[:, None], angle.sin()[:, None]
    turned = torch.stack([c * A[..., 0] - s * A[..., 1], s * A[..., 0] + c * A[..., 1]], -1)
    return (turned - B).norm(dim=-1).amax(-1)


def _check_blow_up(E, ids, t, eta, limit):
    """Raise ParticleBlowUp if a system of E (M', n, 2), systems ``ids``, blew up."""
    finite = torch.isfinite(E).all((1, 2))
    radius = torch.where(finite, E.norm(dim=-1).amax(-1), torch.inf)
    bad = (~finite) | (radius > limit)
    if bad.any():
        i = int(bad.nonzero()[0])
        m = int(ids[i])
        what = "NaN or inf positions" if not bool(finite[i]) else f"a radius of {float(radius[i]):.3g}"
        raise ParticleBlowUp(f"the particle simulation blew up by step {t} (system {m}: {what}); "
                             f"try a smaller step_size than {eta:g}")


@dataclass(frozen=True)
class Calibration:
    """Particle settings read off chapter 4's honest fit for one family (:func:`calibrate`).

    Attributes:
        family: "no biases" or "biases". variant: the label of the family's chosen law.
        clustering_coef, alignment_coef: the fit's strengths (mean over its choosing runs).
        field_ratio: median over the configurations of |F_clu| / |F_ali| (root mean square
            of each symmetry-free field).
        alignment: the alignment strength for :func:`simulate`, clustering strength 1.
        clustering_width: the chosen law's window (median over the configurations), in
            units of :func:`spacing`, for :func:`simulate`'s ``clustering_width``.
    """

    family: str
    variant: str
    clustering_coef: float
    alignment_coef: float
    field_ratio: float
    alignment: float
    clustering_width: float


def calibrate(honest: HonestFit, family: str, E) -> Calibration:
    """The particles' alignment strength and clustering window, from a family's honest fit.

    This is our model, not a derivation and not the paper's. The fit's coefficients are
    dimensionless: each step's gradient and each force were scaled to unit size, so a
    coefficient is the part of the unit gradient that the unit force carries. The particles
    move by ``F_clu + alignment * F_ali`` in the fields' own units, so the same mix needs::

        alignment = max(0, beta_ali / beta_clu) * |F_clu| / |F_ali|

    with |F| the root mean square of the symmetry-free field (what the first layer absorbs
    removed: a linear map, and a shift for a family with biases, as in the fit) on the
    configurations ``E`` (M, n, 2), taken through the affine gauge first, as the particles
    are; the median over them. A negative ratio of strengths gives 0 (alignment would push
    the wrong way; the fit reports signs). The window is the chosen law's (its rule and
    scale) on the same configurations, in units of :func:`spacing`. The repulsion is left
    as it is: the fit chose it in neither family.

    Raises:
        ValueError: ``family`` not in the fit, its law without both clustering and
            alignment, a clustering strength <= 0, or bad positions.
    """
    if not isinstance(honest, HonestFit):
        raise ValueError(f"honest must be a forces.HonestFit, got {type(honest).__name__}")
    check_choice("family", family, tuple(honest.chosen))
    law = honest.chosen[family]
    if not {"clustering", "alignment"} <= set(law.forces):
        raise ValueError(f"the chosen law of {family!r} ({law.label}) needs both clustering and alignment "
                         "to calibrate their ratio")
    beta = honest.strengths[family]
    if not beta["clustering"] > 0:
        raise ValueError(f"the fitted clustering strength of {family!r} is {beta['clustering']:.3g}; "
                         "calibrating needs it > 0")
    shape = tuple(getattr(E, "shape", ()))
    if len(shape) != 3 or shape[2] != 2 or shape[1] < 3:
        raise ValueError(f"E must be an (M, n, 2) array of positions with n >= 3, got shape {shape}")
    E = fix_gauge(check_positions("E", E, shape[1], shape[0]))
    n = E.shape[1]
    pairs, mult = unordered_pairs(n)
    labels = answers(pairs, n)
    w = (mult / n).to(torch.float64).expand(E.shape[0], -1)
    S = sum_vectors(E, pairs)
    sigma = law.sigma_scale * auto_sigma(S, labels if law.sigma_rule == "auto" else None, weights=w)
    shift = FAMILY_HAS_BIASES[family]              # a first layer with biases absorbs a shift

    def size(f):
        F = spread_to_embeddings(f, pairs, n, w)
        return (F - affine_part(F, E, shift)).square().mean((1, 2)).sqrt()

    ratio = float(torch.median(size(clustering(S, labels, w, sigma))
                               / size(alignment(S, labels, w, law.self_power, law.other_power))))
    return Calibration(family=family, variant=law.label, clustering_coef=float(beta["clustering"]),
                       alignment_coef=float(beta["alignment"]), field_ratio=ratio,
                       alignment=max(0.0, beta["alignment"] / beta["clustering"]) * ratio,
                       clustering_width=float(torch.median(sigma)) / spacing(n))


#: The alignment strengths :func:`closure` tries: none, then 0.1 to 10, four to a decade.
CLOSURE_ALPHAS = (0.0,) + tuple(round(0.1 * 10 ** (k / 4), 4) for k in range(9))


@dataclass(frozen=True)
class Closure:
    """An alignment strength chosen by closure (:func:`closure`).

    Attributes:
        family: "no biases" or "biases". variant: the label of the family's chosen law.
        network_ratio: the networks' alignment / clustering coefficient (the honest fit's
            strengths, mean over its choosing runs).
        table: one row per alignment tried: ``alignment``, the particles' mean
            ``clustering_coef`` and ``alignment_coef`` (chapter 4's fit along their own
            trajectories), their ``ratio`` (NaN unless both are > 0) and ``gap``
            (|log(ratio / network_ratio)|, inf where undefined).
        alignment: the tried strength with the smallest gap, or None when no ratio is
            defined (no strength closes).
        steps, every: the particles' steps and the fit's stride.
    """

    family: str
    variant: str
    network_ratio: float
    table: object
    alignment: float | None
    steps: int
    every: int


def closure(law, network_ratio: float, family: str, starts, alphas=CLOSURE_ALPHAS, steps: int = 300,
            every: int = 5) -> Closure:
    """Choose the particles' alignment strength so that chapter 4's fit, applied along the
    particles' own trajectories, gives the networks' ratio of alignment to clustering.

    This is our model of a calibration, not the paper's. For each strength in ``alphas``
    the systems start from ``starts`` (M, n, 2) (e.g. networks' initial embeddings), move
    ``steps`` steps with clustering 1 and the default window and repulsion
    (:func:`simulate`), and :func:`modadd.forces.fit_along` fits ``law`` (a
    :class:`modadd.forces.Variant`, e.g. the family's chosen law in chapter 4's honest fit)
    to their displacements, symmetry-free as for the ``family`` ("no biases" or
    "biases"). The ratio of the mean coefficients is set beside ``network_ratio`` (the
    networks' alignment / clustering strengths in that fit). All strengths run in one
    batch. Unlike :func:`calibrate`, which converts the fitted ratio into a strength
    through the sizes of the two forces at the start, closure asks the particles to
    reproduce the fitted ratio along the way.

    Raises:
        ValueError: a law without clustering and alignment, a family not "no biases" or
            "biases", alphas not a non-empty list of numbers >= 0, or bad positions or steps.
    """
    if not isinstance(law, Variant):
        raise ValueError(f"law must be a forces.Variant, got {type(law).__name__}")
    if not {"clustering", "alignment"} <= set(law.forces):
        raise ValueError(f"law {law.label} needs both clustering and alignment")
    check_choice("family", family, tuple(FAMILY_HAS_BIASES))
    net = check_finite("network_ratio", network_ratio)
    if not isinstance(alphas, (list, tuple)) or not alphas:
        raise ValueError(f"alphas must be a non-empty list of strengths >= 0, got alphas={alphas!r}")
    alphas = [check_number(f"alphas[{i}]", a) for i, a in enumerate(alphas)]
    steps = check_int("steps", steps, 3)
    every = check_int("every", every, 1)
    shape = tuple(getattr(starts, "shape", ()))
    if len(shape) != 3 or shape[2] != 2 or shape[1] < 3:
        raise ValueError(f"starts must be an (M, n, 2) array of positions with n >= 3, got shape {shape}")
    M, n = shape[0], shape[1]
    start = np.tile(np.asarray(starts, dtype=np.float64), (len(alphas), 1, 1))
    sim = simulate(n, 1.0, np.repeat(alphas, M), seed=list(range(len(alphas) * M)), start=start, steps=steps,
                   record_every=1)
    coef = fit_along(sim.E, law, FAMILY_HAS_BIASES[family], every).reshape(len(alphas), M, -1).mean(1)
    i_c, i_a = law.forces.index("clustering"), law.forces.index("alignment")
    table = pd.DataFrame({"alignment": alphas, "clustering_coef": coef[:, i_c], "alignment_coef": coef[:, i_a]})
    ok = (table.clustering_coef > 0) & (table.alignment_coef > 0)
    table["ratio"] = np.where(ok, table.alignment_coef / table.clustering_coef.where(ok, 1.0), np.nan)
    table["gap"] = np.abs(np.log(table.ratio / net)) if net > 0 else np.inf
    table["gap"] = table.gap.fillna(np.inf)
    best = table.gap.idxmin()
    chosen = float(table.alignment[best]) if np.isfinite(table.gap[best]) else None
    return Closure(family=family, variant=law.label, network_ratio=net, table=table, alignment=chosen,
                   steps=steps, every=int(every))
