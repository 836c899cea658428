"""Reference scores of modadd.analysis.structure for tests/js/structure.test.mjs (JSON on stdout).

Embeddings of every kind the live readout meets: exact and noisy circles of several orders,
exact and noisy consistent lattices (2-D and a line), shuffled lattices, random clouds,
particle runs (modadd.particles.simulate: grids and circles as the widget grows them), at
n from 7 to 97. For each: the embedding, ``structure.scores`` (both scores, k, class), the
grid fit's canonical rule (``reduced_rule``) and ``modadd.widget.readout``.

Run from the repository root: ``.venv/bin/python tests/js/structure_reference.py``.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from modadd.analysis import structure
from modadd import widget
from modadd.particles import simulate


def circle(n, k, noise, rng):
    a = np.arange(n)
    r = 1 + noise * rng.standard_normal(n)
    t = 2 * np.pi * k * a / n + noise * rng.standard_normal(n)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1) * 3.7 + [0.4, -1.1]


def lattice(n, p, q, noise, rng, line=False):
    """Residue a at z with a = p z1 + q z2 (mod n), on a skewed basis."""
    B = np.array([[1.0, 0.2], [0.3, 1.1]])
    side = int(np.ceil(np.sqrt(n)))
    sites = [(i, 0) for i in range(n)] if line else [(i, j) for i in range(side) for j in range(side)][:n]
    E = np.zeros((n, 2))
    for z1, z2 in sites:
        E[(p * z1 + q * z2) % n] = np.array([z1, z2]) @ B
    return E + noise * rng.standard_normal((n, 2))


def cases():
    rng = np.random.default_rng(35)
    for n in (7, 11, 17, 31, 59, 97):
        yield f"circle n{n}", circle(n, 3 if n % 3 else 2, 0.005, rng)   # not exact: exact chords tie
        yield f"noisy circle n{n}", circle(n, 1, 0.06, rng)
        yield f"rough circle n{n}", circle(n, 5 if n > 10 else 2, 0.2, rng)
        yield f"cloud n{n}", rng.standard_normal((n, 2))
    for n, p, q in ((17, 1, 4), (31, 1, 6), (59, 1, 8), (97, 1, 10), (16, 1, 4), (23, 2, 5)):
        yield f"lattice n{n}", lattice(n, p, q, 0.002, rng)
        yield f"noisy lattice n{n}", lattice(n, p, q, 0.06, rng)
        yield f"rough lattice n{n}", lattice(n, p, q, 0.2, rng)
        yield f"shuffled lattice n{n}", rng.permutation(lattice(n, p, q, 0.002, rng))
    yield "line n13", lattice(13, 3, 0, 0.03, rng, line=True)
    for n, seed, kw in ((17, 0, dict(alignment=0.0)), (17, 1, dict(alignment=3.0)), (23, 2, dict(alignment=1.0)),
                        (17, 3, dict(alignment=1.0, clustering=2.0)), (31, 4, dict(alignment=0.5))):
        sim = simulate(n, steps=400, seed=seed, record_every=400, **kw)
        E = np.asarray(sim.E)[0, -1]
        yield f"particles n{n} seed{seed} {kw}", E + 1e-3 * E.std() * rng.standard_normal(E.shape)


def main():
    out = []
    for name, E in cases():
        s = structure.scores(E)
        rule = structure.reduced_rule(structure.grid_score(E))
        out.append(dict(name=name, E=E.tolist(), circle_score=s["circle_score"], circle_k=s["circle_k"],
                        grid_score=s["grid_score"], cls=s["class"], rule=list(rule), readout=widget.readout(E)))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
