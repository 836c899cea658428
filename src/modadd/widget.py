"""The live widget: train the network, or move the particles, in the reader's browser.

One anywidget, the same in Jupyter and on the static site. Its JavaScript is small ES
modules in ``web/``, one role each (no DOM but the view's; tested against this package in
Node): ``checks.js`` (argument checks), ``rng.js`` (the widget's random numbers), ``net.js``
(the split and the initial parameters), ``kernels.js`` (the WebAssembly kernels from
``kernels.wat``, shipped as ``kernels_wasm.js``: the training pass and the particles'
repulsion), ``trainer.js`` (the hand-written backward pass and AdamW), ``regions.js`` (the
decision regions), ``particles.js`` (the particle forces), ``structure.js`` (the structure
readout), ``engine.js`` (the arithmetic behind one message protocol, run in a Web Worker)
and ``view.js`` (canvases and controls). They import
each other by name; :func:`bundle` concatenates them in dependency order into one ES module,
their imports dropped (an anywidget's module is loaded from a blob URL and cannot import
sibling files). The worker's script is engine.js and what it imports again, carried in the
module as a string (:func:`worker_source`).

* In Jupyter, the widget's state flows back to Python while it runs: ``w.step`` and
  ``w.embeddings`` (the current E, n x 2), so ``modadd.analysis.structure.scores(w.E)`` scores what
  the reader trained.
* On the site there is no kernel: the page carries the widget's state and module, and
  ``@jupyter-widgets/html-manager`` (served by the site itself, see
  ``book/_ext/offline_assets.py``) renders it; everything runs in the page.

Testing contract (the site tests drive it): the root element has class ``modadd-live``,
``data-kind`` = "training" or "particles", ``data-step`` = the steps done so far,
``data-structure`` = the live readout (``"circle k=K"``, ``"grid p,q"`` or ``"other"``, as
:func:`modadd.analysis.structure.readout`; empty before the first reading; in same-start mode the
particles', with ``data-structure-network`` and ``data-agree`` = "yes"/"no") and
``data-rate`` = steps per second; the button ``data-action="play"`` toggles play and pause,
and so does Space on the focused widget; every control carries ``data-control`` = its
settings key, and a range input applies on its ``input`` and ``change`` events.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import anywidget
import numpy as np
import torch
import traitlets

from .analysis import structure
from .core.data import held_out_split, unordered_pairs
from .core.model import Params
from .core.train import CIRCLE_RECIPE, GRID_RECIPE, train
from .core.validate import check_bool, check_choice, check_range
from .particles import CLUSTERING_WIDTH, REPULSION, REPULSION_WIDTH

WEB = Path(__file__).resolve().parent / "web"
#: The view's file: the widget's module is it and every file it imports, in dependency order.
MODULE_ENTRY = "view.js"
#: The worker's file: the worker's script is it and every file it imports (no view).
WORKER_ENTRY = "engine.js"
#: The one form of import the bundler resolves: named imports from a sibling file, one a line.
_IMPORT = re.compile(r'^import \{[\w\s,]*\} from "\./([\w-]+\.js)";\n', re.M)
_EXPORT = re.compile(r"^export (?=(?:async )?(?:class|function|const|let) )", re.M)


def sources(entry: str = MODULE_ENTRY) -> tuple[str, ...]:
    """The web files ``entry`` needs, each after the files it imports (depth first, in the
    order of its import lines): the order in which :func:`bundle` concatenates them."""
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in stack:
            raise ValueError(f"the web files import each other in a cycle: {' -> '.join(stack + (name,))}")
        if name in order:
            return
        for dep in _IMPORT.findall((WEB / name).read_text()):
            visit(dep, stack + (name,))
        order.append(name)

    visit(entry, ())
    return tuple(order)


def _concatenate(entry: str) -> str:
    """The files of :func:`sources` as one text, their sibling imports dropped; refuses any
    other import (the page loads the module from a blob URL, where no import resolves)."""
    parts = []
    for f in sources(entry):
        text = _IMPORT.sub("", (WEB / f).read_text())
        if re.search(r"^\s*import\b", text, re.M):
            raise ValueError(f"web/{f}: the widget's files may only import named values from a sibling file, "
                             'one line each (import { a, b } from "./x.js";), and import nothing else')
        parts.append(text)
    return "\n".join(parts)


def worker_source() -> str:
    """The widget's worker script: engine.js and the files it imports as a classic script
    (their ``export`` keywords dropped), then ``engineWorkerMain(self)``. A classic worker from
    a Blob URL starts over http and from ``file://`` alike (a module worker fails on file://)."""
    src = _EXPORT.sub("", _concatenate(WORKER_ENTRY))
    if re.search(r"^\s*export\b", src, re.M):
        raise ValueError("the worker's files must export only classes, functions and constants")
    return src + "\nengineWorkerMain(self);\n"


def bundle() -> str:
    """The widget's ES module: view.js and the files it imports, in dependency order, as one
    file, with the worker's script (:func:`worker_source`) as the constant ``WORKER_SOURCE``."""
    return _concatenate(MODULE_ENTRY) + "\nconst WORKER_SOURCE = " + json.dumps(worker_source()) + ";\n"


def bundle_hash() -> str:
    """sha256 of :func:`bundle` (the site test compares the shipped module with it)."""
    return hashlib.sha256(bundle().encode()).hexdigest()


class LiveWidget(anywidget.AnyWidget):
    """The live widget; build it with :func:`training_widget` or :func:`particle_widget`."""

    _esm = bundle()
    kind = traitlets.Unicode("training").tag(sync=True)
    settings = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    embeddings = traitlets.List().tag(sync=True)

    @property
    def E(self) -> np.ndarray:
        """The current embeddings (or particle positions), (n, 2); empty before the first sync."""
        return np.asarray(self.embeddings, dtype=float).reshape(-1, 2)


RECIPES = ("circle", "grid")


#: Each recipe's default seed in the widget: one that grows the recipe's structure at the
#: widget's default settings (chapter 2 measures the share of seeds that do, on other seeds,
#: and checks these with the Python trainer from the widget's own start, :func:`widget_train`).
DEFAULT_SEEDS = {"circle": 1, "grid": 0}

#: Same-start mode trains the network as chapter 5's seed-by-seed comparison does: this many
#: AdamW steps with this share of the pairs held out, so many network steps per particle step.
SAME_START_RUN = dict(network_steps=2000, val_fraction=0.2, network_steps_per_step=4)


#: The training widget's N slider: the moduli chapter 2 measured the recipes at (11, 31 and
#: 59: both form their structure in most seeds). Below 11 neither recipe generalises and the
#: classifier is weak (chapter 3); above 59 nothing was measured, so the slider stops there.
TRAINING_N = (11, 59)


def training_settings(recipe: str = "circle", n: int = 17, seed: int | None = None, val_fraction: float = 0.2,
                      weight_decay: float | None = None, lr: float | None = None,
                      bias: bool | None = None, hinges: bool = False) -> dict:
    """The training widget's settings, checked (see :func:`training_widget`)."""
    recipe = check_choice("recipe", recipe, RECIPES)
    s = dict(preset=recipe, n=check_range("n", n, *TRAINING_N, integer=True), n_range=list(TRAINING_N),
             seed=check_range("seed", DEFAULT_SEEDS[recipe] if seed is None else seed, 0, 999_999, integer=True),
             val_fraction=check_range("val_fraction", val_fraction, 0.0, 0.9), hinges=check_bool("hinges", hinges))
    if weight_decay is not None:
        s["weight_decay"] = check_range("weight_decay", weight_decay, 0.0, 3.0)
    if lr is not None:
        s["lr"] = check_range("lr", lr, 1e-4, 1e-1)
    if bias is not None:
        s["bias"] = check_bool("bias", bias)
    presets = recipe_presets()
    return {**presets[recipe], **s, "presets": presets}


def training_widget(*args, **kwargs) -> LiveWidget:
    """The demo's training view, live: embeddings, sums over the decision regions, curves.

    ``recipe`` picks the start: "circle" (no biases, Glorot-uniform weights, embeddings
    U(±0.2), lr 3e-3, weight decay 1) or "grid" (biases, PyTorch's default init,
    embeddings N(0, 0.05²), lr 1e-2, weight decay 1), the trainer's ``CIRCLE_RECIPE`` and
    ``GRID_RECIPE``, each with its seed in :data:`DEFAULT_SEEDS`; ``n``, ``seed``, ``val_fraction``, ``weight_decay``, ``lr``, ``bias``
    and ``hinges`` override it, within the ranges of the widget's own controls.
    """
    return LiveWidget(kind="training", settings=training_settings(*args, **kwargs), _esm=bundle())


def recipe_presets() -> dict:
    """The trainer's two recipes as the view's presets (the view has no copy of its own)."""
    return {name: dict(bias=cfg.model.bias, init=cfg.model.init, embed_init=cfg.model.embed_init,
                       embed_scale=cfg.model.embed_scale, lr=cfg.lr, weight_decay=cfg.weight_decay,
                       hidden=cfg.model.hidden, seed=DEFAULT_SEEDS[name])
            for name, cfg in (("circle", CIRCLE_RECIPE), ("grid", GRID_RECIPE))}


#: The particle widget's default seed: at the default forces it grows a circle, and at
#: alignment 0 a grid (chapter 5 checks both and measures the shares on other seeds).
DEFAULT_PARTICLE_SEED = 1


def particle_settings(n: int = 17, seed: int = DEFAULT_PARTICLE_SEED, alignment: float = 1.0, clustering: float = 1.0,
                      repulsion: float | None = None, step_size: float = 0.1, *,
                      same_start: bool = False, recipe: str = "circle") -> dict:
    """The particle widget's settings, checked (see :func:`particle_widget`)."""
    same_start = check_bool("same_start", same_start)
    return dict(n=check_range("n", n, 7, 59 if same_start else 41, integer=True),
                seed=check_range("seed", seed, 0, 999_999, integer=True),
                alignment=check_range("alignment", alignment, 0.0, 5.0),
                clustering=check_range("clustering", clustering, 0.0, 3.0),
                repulsion=check_range("repulsion", REPULSION if repulsion is None else repulsion, 0.0, 1.0),
                step_size=check_range("step_size", step_size, 1e-3, 1.0),
                clustering_width=CLUSTERING_WIDTH, repulsion_width=REPULSION_WIDTH, same_start=same_start,
                preset=check_choice("recipe", recipe, RECIPES), presets=recipe_presets(),
                same_start_run=dict(SAME_START_RUN))


def particle_widget(*args, **kwargs) -> LiveWidget:
    """The particle simulation, live (exact forces, the affine gauge, as
    :func:`modadd.particles.simulate`), with the arguments of :func:`particle_settings`.
    With ``same_start`` it also trains a network (the ``recipe``) and starts the particles
    from that network's initial embeddings, side by side.
    """
    return LiveWidget(kind="particles", settings=particle_settings(*args, **kwargs), _esm=bundle())


# ------------------------------------------------------------------ the widget's start, in Python
# The widget draws its own random numbers (web/rng.js's makeRng: mulberry32 on a hashed seed and stream),
# not torch's or numpy's. To measure what the reader sees when pressing Play, the book
# trains the widget's own start and split with the Python trainer: these functions are
# rng.js's makeRng and net.js's initParams and splitPairs, number for number (tests/js checks them).

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


def _mix32(x: int) -> int:
    x &= _M32
    x = _imul(x ^ (x >> 16), 0x85EBCA6B)
    x = _imul(x ^ (x >> 13), 0xC2B2AE35)
    return x ^ (x >> 16)


class WidgetRng:
    """rng.js's ``makeRng(seed, stream)``: ``uint32()``, ``uniform()`` (53 bits), ``normal()``."""

    def __init__(self, seed: int, stream: int = 0):
        lo, hi = seed % 2**32, seed // 2**32
        self.a = _mix32(_mix32(lo ^ 0x9E3779B9) ^ _mix32(hi + 0x632BE5AB) ^ _mix32(stream ^ 0x85157AF5))

    def uint32(self) -> int:
        a = self.a = (self.a + 0x6D2B79F5) & _M32
        t = _imul(a ^ (a >> 15), 1 | a)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & _M32) ^ t
        return t ^ (t >> 14)

    def uniform(self) -> float:
        hi = self.uint32() >> 5
        return (hi * 67108864 + (self.uint32() >> 6)) / 9007199254740992

    def normal(self) -> float:
        u1 = 1 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def widget_start(config) -> tuple:
    """The widget's start for a :class:`modadd.core.train.RunConfig`: ``(params, held)``, net.js's
    ``initParams`` (float64 :class:`modadd.core.model.Params` of one model, zero biases when
    the model has none) and ``splitPairs`` (``held``: (U,) bool over
    :func:`modadd.core.data.unordered_pairs`), from the config's seed with rng.js's generator."""
    m, n, H = config.model, config.model.n, config.model.hidden
    rng = WidgetRng(config.seed, 1)
    unif = lambda bound: (rng.uniform() * 2 - 1) * bound           # noqa: E731
    draw = (lambda: rng.normal() * m.embed_scale) if m.embed_init == "normal" else (lambda: unif(m.embed_scale))
    E = [draw() for _ in range(2 * n)]
    if m.init == "torch":
        W1 = [unif(1 / math.sqrt(2)) for _ in range(2 * H)]
        b1 = [unif(1 / math.sqrt(2)) for _ in range(H)]
        W2 = [unif(1 / math.sqrt(H)) for _ in range(H * n)]
        b2 = [unif(1 / math.sqrt(H)) for _ in range(n)]
    else:
        W1 = [unif(math.sqrt(6 / (2 + H))) for _ in range(2 * H)]
        W2 = [unif(math.sqrt(6 / (H + n))) for _ in range(H * n)]
        b1, b2 = [0.0] * H, [0.0] * n
    if not m.bias:
        b1, b2 = [0.0] * H, [0.0] * n
    t = lambda v, *shape: torch.tensor(v, dtype=torch.float64).reshape(1, *shape)   # noqa: E731
    params = Params(t(E, n, 2), t(W1, 2, H), t(b1, H), t(W2, H, n), t(b2, n))
    U = n * (n + 1) // 2
    k = min(round(config.val_fraction * U), U - 1)                  # round half to even, as net.js
    idx = list(range(U))
    rng = WidgetRng(config.seed, 2)
    for i in range(k):                                              # partial Fisher-Yates
        j = i + math.floor(rng.uniform() * (U - i))
        idx[i], idx[j] = idx[j], idx[i]
    held = torch.zeros(U, dtype=torch.bool)
    held[idx[:k]] = True
    return params, held


def widget_particle_start(n: int, seed: int) -> np.ndarray:
    """particles.js's ``randomStart(n, seed)``: the particle widget's start, (n, 2) uniform in
    [-1, 1]² from rng.js's generator (seed stream 3), for :func:`modadd.particles.simulate`'s
    ``start``."""
    rng = WidgetRng(check_range("seed", seed, 0, 2**53 - 1, integer=True), 3)
    return np.array([rng.uniform() * 2 - 1 for _ in range(2 * n)]).reshape(n, 2)


def _held_split(n: int, held: torch.Tensor):
    """The :class:`modadd.core.data.PairSplit` of M runs holding out the unordered pairs marked in
    ``held`` ((M, U) bool), weighted as :func:`modadd.core.data.pair_split` weighs its own split."""
    pairs, mult = unordered_pairs(n)
    return held_out_split(n, pairs, mult.to(torch.float64), held.to(torch.float64))


def widget_train(configs, steps: int, record_every=100):
    """:func:`modadd.core.train.train` of the widget's starts and splits (:func:`widget_start`),
    in float64, as trainer.js keeps its parameters: what the reader's browser computes for
    these settings, up to rounding (the browser rounds its output layer's products to float32;
    ``tests/js/core.test.mjs`` bounds that difference and checks that the default recipes
    reach the same readout). ``configs``: :class:`modadd.core.train.RunConfig` s of one n. The trainer is
    given the widget's parameters (``init``) and split (``split``) and nothing else of it
    changes (so no stored run of the book is invalidated)."""
    starts = [widget_start(c) for c in configs]
    init = Params(*(torch.cat(ts) for ts in zip(*(s[0].tensors() for s in starts))))
    split = _held_split(configs[0].model.n, torch.stack([s[1] for s in starts]))
    return train(configs, steps=steps, record_every=record_every, init=init, split=split, progress=False)


def readout(E) -> str:
    """The live readout of an embedding ``E`` (n, 2): ``"circle k=K"`` (the circle's order,
    :func:`modadd.analysis.structure.circle_order`), ``"grid p,q"`` (the canonical rule,
    :func:`modadd.analysis.structure.lattice_rule`) or ``"other"``, as :func:`modadd.analysis.structure.classify`
    decides. The widget computes the same string in the browser (``web/structure.js``,
    checked against this in tests/js)."""
    row = structure.scores(E)
    if row["class"] == "circle":
        return f"circle k={row['circle_k']}"
    if row["class"] == "grid":
        p, q = structure.reduced_rule(structure.grid_score(E))
        return f"grid {p},{q}"
    return "other"


def recipe_config(preset: str, n: int = 17, seed: int = 0, val_fraction: float = 0.2):
    """The :class:`modadd.core.train.RunConfig` the widget trains for a preset, n, seed and
    validation fraction (its other settings at their defaults)."""
    cfg = {"circle": CIRCLE_RECIPE, "grid": GRID_RECIPE}[check_choice("recipe", preset, RECIPES)]
    return replace(cfg, model=replace(cfg.model, n=n), seed=seed, val_fraction=val_fraction)
