"""Reference runs of the Python package for tests/js/core.test.mjs (JSON on stdout).

Uses only public names: ``modadd.core.model.init_params``, ``modadd.core.train.pair_weights``,
``modadd.core.train.train(..., init=<float64 Params>)`` and ``modadd.particles.simulate(...,
start=E0, record_every=1)``, plus the recipes and defaults the JavaScript core mirrors.
Every run is float64, so the JavaScript core (float64) must agree to rounding.

Run from the repository root: ``.venv/bin/python tests/js/reference.py > ref.json``.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import math
import sys

import numpy as np
import torch

from modadd import particles as particles_mod
from modadd.core import train as train_mod
from modadd.widget import recipe_presets
from modadd.core.model import ModelConfig, Params, init_params

STEPS = 300
PARTICLE_STEPS = 200

# (name, RunConfig keyword arguments): with and without biases, every weight decay group
# different, n != 17, validation pairs, non-default betas and eps.
# Not every setting can be compared to 1e-6 after 300 steps, by any implementation: some
# stretches of training amplify rounding. Measured (Python against itself, the start
# perturbed by 1e-16 relative): GRID_RECIPE's init at n = 17 with lr 1e-2 or 5e-3 ends 300
# steps ~6e-6 apart. The cases below are not in such a stretch; each records that same
# self-sensitivity ("sensitivity") so that a failure can be told apart from a bug.
TRAINING_CASES = [
    ("n17_bias_wd_groups", dict(model=ModelConfig(n=17, bias=True, init="torch", embed_init="normal", embed_scale=0.05),
                                seed=1, val_fraction=0.0, lr=3e-3, wd_embed=0.3, wd_weights=1.0, wd_bias=0.05)),
    ("n11_nobias_val", dict(model=ModelConfig(n=11, bias=False, init="glorot", embed_init="uniform", embed_scale=0.2),
                            seed=2, val_fraction=0.3, lr=3e-3, wd_embed=2.0, wd_weights=0.5, wd_bias=0.7)),
    ("n23_bias_val", dict(model=ModelConfig(n=23, bias=True, init="glorot", embed_init="normal", embed_scale=0.1),
                          seed=3, val_fraction=0.2, lr=5e-3, wd_embed=0.1, wd_weights=0.4, wd_bias=1.5)),
    ("n17_nobias_betas", dict(model=ModelConfig(n=17, hidden=32, bias=False, init="torch", embed_init="uniform", embed_scale=0.3),
                              seed=4, val_fraction=0.25, lr=1e-2, weight_decay=0.8, betas=(0.8, 0.99), eps=1e-7)),
]

# (name, n, start seed, simulate keyword arguments)
PARTICLE_CASES = [
    ("n11_clustering", 11, 0, dict(clustering=1.0, alignment=0.0, repulsion=0.0)),
    ("n17_alignment", 17, 1, dict(clustering=0.0, alignment=1.0, repulsion=0.0)),
    ("n17_mixed", 17, 2, dict(clustering=1.0, alignment=0.5, repulsion=0.0, step_size=0.05)),
    ("n11_repulsion", 11, 3, dict(clustering=1.0, alignment=0.3, repulsion=0.3)),
    ("n17_window_widths", 17, 4, dict(clustering=0.7, alignment=0.2, repulsion=0.5, clustering_width=1.2, repulsion_width=0.9)),
    ("n11_gauge_scale", 11, 5, dict(clustering=1.0, alignment=0.5, repulsion=0.3, gauge="scale")),
    ("n11_gauge_none", 11, 6, dict(clustering=1.0, alignment=0.2, repulsion=0.3, gauge="none")),
]


def clean(x):
    """JSON-safe: numpy/torch to lists, NaN to None."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def split_of(cfg):
    """(train pairs, validation pairs), unordered a <= b, from the trainer's own weights."""
    if hasattr(train_mod, "pair_weights"):
        out = train_mod.pair_weights(cfg)
    else:       # issue #14 may leave the split to modadd.core.data alone
        from modadd.core.data import pair_split
        out = pair_split(cfg.model.n, [cfg.seed], [cfg.val_fraction])
    if isinstance(out, tuple):
        pairs, _, w_train, w_val = out[:4]
    else:       # modadd.core.data.PairSplit, with named fields
        pairs, w_train, w_val = out.pairs, out.train_weights, out.val_weights
    w_train, w_val = torch.as_tensor(w_train).reshape(-1, len(pairs))[0], torch.as_tensor(w_val).reshape(-1, len(pairs))[0]
    return pairs[w_train > 0].tolist(), pairs[w_val > 0].tolist()


def params_dict(p, bias, index):
    names = ("E", "W1", "b1", "W2", "b2") if bias else ("E", "W1", "W2")
    return {k: getattr(p, k)[index] for k in names}


def training_case(name, kw):
    cfg = train_mod.RunConfig(**kw)
    init = init_params([cfg.model], [cfg.seed])
    init = Params(*(t.double() for t in init.tensors()))
    train_pairs, val_pairs = split_of(cfg)
    hist = train_mod.train(cfg, steps=STEPS, record_every=1, init=init, progress=False)
    g = torch.Generator().manual_seed(0)
    nudged = Params(*(t * (1 + 1e-16 * torch.randn(t.shape, generator=g)) for t in init.tensors()))
    other = train_mod.train(cfg, steps=STEPS, record_every=STEPS, init=nudged, progress=False).final
    sensitivity = max(float(((x - y).abs() / torch.maximum(y.abs(), y.square().mean().sqrt())).max())
                      for x, y in zip(other.tensors(), hist.final.tensors()) if y.abs().max() > 0)
    d = cfg.decays()
    m = cfg.model
    steps = list(np.asarray(hist.steps))
    assert steps == list(range(STEPS + 1)), steps
    i100 = steps.index(100)
    return dict(
        name=name, sensitivity=sensitivity,
        opts=dict(n=m.n, hidden=m.hidden, bias=m.bias, lr=cfg.lr, wd_embed=d["E"], wd_weights=d["W1"],
                  wd_bias=d["b1"], betas=list(cfg.betas), eps=cfg.eps, train=train_pairs),
        val=val_pairs,
        init=params_dict(init, m.bias, 0),
        train_loss=hist.train_loss[0], val_loss=hist.val_loss[0],
        train_acc=hist.train_acc[0], val_acc=hist.val_acc[0],
        params_100={k: v[i100] for k, v in params_dict(hist.params, m.bias, 0).items()},
        final=params_dict(hist.final, m.bias, 0),
    )


def frames_of(sim, n):
    """Positions (T, n, 2) of the only system, whatever the axis order of Simulation.E."""
    E = np.asarray(sim.E)
    T = len(sim.steps)
    if E.ndim == 4 and E.shape[0] == T and E.shape[1] == 1:
        return E[:, 0]
    if E.ndim == 4 and E.shape[0] == 1 and E.shape[1] == T:
        return E[0]
    raise AssertionError(f"unexpected Simulation.E shape {E.shape} for T={T}, n={n}")


def particle_case(name, n, seed, kw):
    E0 = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    sim = particles_mod.simulate(n, steps=PARTICLE_STEPS, seed=0, start=E0, record_every=1, **kw)
    assert list(np.asarray(sim.steps)) == list(range(PARTICLE_STEPS + 1))
    return dict(name=name, n=n, opts=dict(n=n, **kw), start=E0, frames=frames_of(sim, n))


def same_start_case():
    """Particles started from a network's initial embeddings (chapter 5's same-start mode)."""
    cfg = train_mod.GRID_RECIPE
    E0 = init_params([cfg.model], [7]).E[0].double().numpy()
    kw = dict(clustering=1.0, alignment=0.5, repulsion=0.3)
    sim = particles_mod.simulate(cfg.model.n, steps=PARTICLE_STEPS, seed=0, start=E0, record_every=1, **kw)
    return dict(name="n17_network_start", n=cfg.model.n, opts=dict(n=cfg.model.n, **kw), start=E0,
                frames=frames_of(sim, cfg.model.n))


def defaults():
    sig = inspect.signature(particles_mod.simulate).parameters
    part = {k: sig[k].default for k in ("clustering", "alignment", "repulsion", "step_size",
                                         "clustering_width", "repulsion_width", "gauge")}
    run = train_mod.RunConfig()
    model = {f.name: getattr(run.model, f.name) for f in dataclasses.fields(run.model) if f.name != "dim"}
    train = dict(model, seed=run.seed, val_fraction=run.val_fraction, lr=run.lr, weight_decay=run.weight_decay,
                 betas=list(run.betas), eps=run.eps)
    return dict(particles=part, train=train)


def widget_starts():
    """modadd.widget.widget_start (rng.js's generator, net.js's initParams and splitPairs in Python)
    for both recipes, several n, seeds and validation fractions; the JavaScript must agree."""
    from modadd.core.data import unordered_pairs
    from modadd.widget import recipe_config, widget_start
    out = []
    for preset, n, seed, val in (("circle", 17, 1, 0.2), ("grid", 17, 0, 0.2), ("circle", 31, 7, 0.3),
                                 ("grid", 11, 2**40 + 3, 0.0), ("circle", 59, 123, 0.5)):
        cfg = recipe_config(preset, n=n, seed=seed, val_fraction=val)
        params, held = widget_start(cfg)
        pairs, _ = unordered_pairs(n)
        m = cfg.model
        out.append(dict(cfg=dict(n=n, hidden=m.hidden, bias=m.bias, init=m.init, embed_init=m.embed_init,
                                 embed_scale=m.embed_scale, seed=seed), val_fraction=val,
                        init=params_dict(params, True, 0), val=pairs[held].tolist()))
    return out


def main():
    torch.set_num_threads(1)
    # float64 throughout: the package builds some constants (pair weights, multiplicities) in
    # torch's default dtype, float32, which alone would put ~3e-8 relative error in every
    # loss and let chaotic stretches of training amplify it.
    torch.set_default_dtype(torch.float64)
    out = dict(
        steps=STEPS, particle_steps=PARTICLE_STEPS,
        training=[training_case(*c) for c in TRAINING_CASES],
        particles=[particle_case(*c) for c in PARTICLE_CASES] + [same_start_case()],
        presets=recipe_presets(),
        defaults=defaults(),
        widget_starts=widget_starts(),
    )
    json.dump(clean(out), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
