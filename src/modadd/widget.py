"""The live widget: train the network, or move the particles, in the reader's browser.

One anywidget, the same in Jupyter and on the static site. Its JavaScript is
``web/core.js`` (the network, its hand-written backward pass, AdamW, the particle forces;
no DOM, tested against this package in Node) followed by ``web/view.js`` (canvases and
controls), concatenated into one ES module: an anywidget's module is loaded from a blob
URL and cannot import sibling files.

* In Jupyter, the widget's state flows back to Python while it runs: ``w.step`` and
  ``w.embeddings`` (the current E, n x 2), so ``modadd.structure.scores(w.E)`` scores what
  the reader trained.
* On the site there is no kernel: the page carries the widget's state and module, and
  ``@jupyter-widgets/html-manager`` (served by the site itself, see
  ``book/_ext/offline_assets.py``) renders it; everything runs in the page.

Testing contract (the site tests drive it): the root element has class ``modadd-live``,
``data-kind`` = "training" or "particles", ``data-step`` = the steps done so far, and a
button with ``data-action="play"`` starts it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from .validate import check_bool, check_choice, check_range

WEB = Path(__file__).resolve().parent / "web"
SOURCES = ("core.js", "view.js")


def bundle() -> str:
    """The widget's ES module: core.js then view.js, as one file."""
    return "\n".join((WEB / f).read_text() for f in SOURCES)


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


def training_settings(recipe: str = "circle", n: int = 17, seed: int = 0, val_fraction: float = 0.2,
                      weight_decay: float | None = None, lr: float | None = None,
                      bias: bool | None = None, hinges: bool = False) -> dict:
    """The training widget's settings, checked (see :func:`training_widget`)."""
    s = dict(preset=check_choice("recipe", recipe, RECIPES), n=check_range("n", n, 7, 97, integer=True),
             seed=check_range("seed", seed, 0, 999_999, integer=True),
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
    ``GRID_RECIPE``; ``n``, ``seed``, ``val_fraction``, ``weight_decay``, ``lr``, ``bias``
    and ``hinges`` override it, within the ranges of the widget's own controls.
    """
    return LiveWidget(kind="training", settings=training_settings(*args, **kwargs))


def recipe_presets() -> dict:
    """The trainer's two recipes as the view's presets (the view has no copy of its own)."""
    from .train import CIRCLE_RECIPE, GRID_RECIPE
    return {name: dict(bias=cfg.model.bias, init=cfg.model.init, embed_init=cfg.model.embed_init,
                       embed_scale=cfg.model.embed_scale, lr=cfg.lr, weight_decay=cfg.weight_decay,
                       hidden=cfg.model.hidden)
            for name, cfg in (("circle", CIRCLE_RECIPE), ("grid", GRID_RECIPE))}


def particle_settings(n: int = 17, seed: int = 0, alignment: float = 1.0, clustering: float = 1.0,
                      repulsion: float | None = None, step_size: float = 0.1, *,
                      same_start: bool = False, recipe: str = "circle") -> dict:
    """The particle widget's settings, checked (see :func:`particle_widget`)."""
    from .particles import CLUSTERING_WIDTH, REPULSION, REPULSION_WIDTH
    same_start = check_bool("same_start", same_start)
    return dict(n=check_range("n", n, 7, 59 if same_start else 41, integer=True),
                seed=check_range("seed", seed, 0, 999_999, integer=True),
                alignment=check_range("alignment", alignment, 0.0, 5.0),
                clustering=check_range("clustering", clustering, 0.0, 3.0),
                repulsion=check_range("repulsion", REPULSION if repulsion is None else repulsion, 0.0, 1.0),
                step_size=check_range("step_size", step_size, 1e-3, 1.0),
                clustering_width=CLUSTERING_WIDTH, repulsion_width=REPULSION_WIDTH, same_start=same_start,
                preset=check_choice("recipe", recipe, RECIPES), presets=recipe_presets())


def particle_widget(*args, **kwargs) -> LiveWidget:
    """The particle simulation, live (exact forces, the affine gauge, as
    :func:`modadd.particles.simulate`), with the arguments of :func:`particle_settings`.
    With ``same_start`` it also trains a network (the ``recipe``) and starts the particles
    from that network's initial embeddings, side by side.
    """
    return LiveWidget(kind="particles", settings=particle_settings(*args, **kwargs))
