"""Forces between sum vectors: the exact gradient, three force models, and how much they explain.

The network sees a pair ``(a, b)`` only through its sum vector ``s_ab = E_a + E_b``, so the
exact gradient on an embedding is a sum over its pairs::

    dL/dE_a = sum over training pairs p containing a of  g_p,      g_p = dL/ds_p

(a pair ``(a, a)`` contains ``a`` twice). :func:`pair_gradients` returns every ``g_p``.
The force models below replace ``-g_p`` by a simple interaction between sum vectors, named
after the two tendencies of Musat (2024, arXiv:2408.09414), *clustering* and *alignment*,
plus a *repulsion* between different answers. **The formulas are this book's own
derivations**: the paper's exact force laws are not available to us, and nothing here
should be quoted as the paper's formula.

Notation, for M models (the leading axis everywhere), U unordered pairs ``a <= b``:

* ``S`` (M, U, 2): the sum vectors ``s_p``; ``y_p = (a + b) mod n`` the answers (U,);
* ``w_q`` (M, U): a weight per pair; the trainer's training weights
  (:func:`modadd.core.train.pair_weights`, ``train_weights``: ``mult * (1 - val)``, normalised
  to sum 1, with ``mult`` = 2 for ``a != b``) make held-out pairs exert and feel nothing, and make an
  unordered pair count like its two ordered pairs. ``None`` means ``w_q = 1``;
* a force on every sum vector is an (M, U, 2) tensor ``f``; :func:`to_embeddings` moves it
  onto the embeddings by the same chain rule as the gradient:
  ``F_a = sum_{p containing a} w_p f_p`` (twice for ``(a, a)``);
* ``K_sigma(d) = exp(-d^2 / (2 sigma^2))``, a Gaussian window of width sigma (None: no window,
  ``K = 1``).

Comparing a force model with the gradient (:func:`fit_forces`) removes first the *affine*
part of every field, ``F_a = A E_a + t``: a first layer with biases can absorb a global
affine change of all embeddings (``E -> A E + t`` with ``W1 -> A^-T W1`` and ``b1`` adjusted
computes the same function), so that part of the gradient says nothing about the *shape* of
the embedding. Without biases only the linear part ``A E_a`` can be absorbed, and the
chapter's fits remove only that (``shift=False``). Every measured fraction must be read beside the same fit with shuffled answers
(:func:`shuffled_labels`), which keeps all positions and group sizes but destroys which
pairs share an answer.

The package, one job per module:

* :mod:`~modadd.forces.fields`: the public force functions, which check their arguments
  once (``clustering_force``, ``alignment_force``, ``repulsion_force``,
  ``embedding_forces``, ``to_embeddings``, ``auto_sigma``, ``pair_gradients``);
* :mod:`~modadd.forces.kernels`: the same maths unchecked (``clustering``, ``alignment``,
  ``repulsion``, ``spread_to_embeddings``; ``windows``, ``repulsion_all``), which the
  particle simulation calls on every step, by that module's name; not exported here, so
  ``forces.x`` is always the checked function;
* :mod:`~modadd.forces.mesh`: the particle-mesh solver for the repulsion;
* :mod:`~modadd.forces.fit`: the affine part, least-squares fits and how much of the
  gradient the forces explain along a run (``fit_at``, ``explained_by_force_set``,
  ``explained_by_phase``: the tables chapter 4 shows), and the honest fit: force-law
  variants (``Variant``, ``variant_grid``) chosen on some runs and reported on others,
  one coefficient per force per run (``candidate_fields``, ``honest_fit``; the book's own
  fit is :func:`modadd.book.formation_fit`);
* :mod:`~modadd.forces.alone`: same-answer sums under one force alone, and where they
  come to rest in closed form (``resting_state``, ``flow_alone``: chapter 4's opening);
* :mod:`~modadd.forces.law`: what the architecture implies for the pair gradient
  (``sum_jacobian``, ``polar_parts``, ``weight_kernel``, ``switched_units``,
  ``hinge_switching``) and the force law measured in training without an assumed form
  (``force_law``).
"""
from .fields import (FORCE_NAMES, FORCES, alignment_force, check_force_names, clustering_force,
                     embedding_forces, pair_gradients, repulsion_force, resolve_sigma, shuffled_labels,
                     to_embeddings, auto_sigma)
from .fit import (FAMILY_HAS_BIASES, PARSIMONY_MARGIN, SIGMA_RULES, ForceFit, HonestFit, RunFields, Variant, affine_part,
                  candidate_fields, explained_by_force_set, fit_along, force_balance, explained_by_phase, explained_over_history, family, fit_at,
                  fit_forces,
                  honest_fit, variant_grid)
from .law import (FULL_ANGLE_BINS, ForceLaw, active_units, axial_angle, directed_angle, force_law, hinge_switching, polar_parts, sum_jacobian,
                  switched_units, weight_kernel)
from .mesh import MESH_CELLS_PER_SIGMA, MeshTooLarge, repulsion_mesh, repulsion_mesh_all
from .alone import FORCES_ALONE, flow_alone, resting_axis, resting_state

__all__ = ["FORCES_ALONE", "flow_alone", "resting_axis", "resting_state", "FORCE_NAMES", "FORCES", "MESH_CELLS_PER_SIGMA", "MeshTooLarge", "ForceFit",
           "alignment_force", "clustering_force", "repulsion_force", "embedding_forces",
           "to_embeddings", "auto_sigma", "pair_gradients", "shuffled_labels", "resolve_sigma",
           "check_force_names", "affine_part", "fit_forces", "explained_over_history",
           "explained_by_force_set", "fit_along", "force_balance", "explained_by_phase", "family", "FAMILY_HAS_BIASES", "fit_at",
           "SIGMA_RULES", "PARSIMONY_MARGIN", "Variant", "variant_grid", "RunFields", "candidate_fields", "HonestFit", "honest_fit",
          
           "ForceLaw", "FULL_ANGLE_BINS", "active_units", "axial_angle", "directed_angle", "force_law", "hinge_switching", "polar_parts",
           "sum_jacobian", "switched_units", "weight_kernel",
           "repulsion_mesh", "repulsion_mesh_all"]
