"""Live controls for Jupyter and Binder: train a model with the sliders' settings.

On the static site a widget without a kernel does nothing, so the book shows
pre-computed animations there and these controls only in a running notebook.
"""
from __future__ import annotations

from dataclasses import replace

import ipywidgets as widgets
from IPython.display import clear_output, display  # module-level names: tests replace them

from . import plots
from .particles import ParticleBlowUp, simulate
from .train import CIRCLE_RECIPE, DivergenceError, RunConfig, train


def training_controls(base: RunConfig = CIRCLE_RECIPE, steps: int = 3000) -> widgets.VBox:
    """Sliders for weight decay, learning rate and validation fraction (as in the paper's
    demo), plus seed and biases; "Train" trains one model and shows its animation and curves.

    The returned box has a ``train()`` method that does what the button does.
    """
    style = {"description_width": "130px"}
    wd = widgets.FloatSlider(value=base.weight_decay, min=0.0, max=3.0, step=0.1,
                             description="weight decay", style=style)
    lr = widgets.FloatLogSlider(value=base.lr, base=10, min=-4, max=-1, step=0.1,
                                description="learning rate", readout_format=".1e", style=style)
    vf = widgets.FloatSlider(value=base.val_fraction, min=0.0, max=0.9, step=0.05,
                             description="validation fraction", style=style)
    seed = widgets.BoundedIntText(value=base.seed, min=0, max=10**6, description="seed", style=style)
    bias = widgets.Checkbox(value=base.model.bias, description="biases")
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    out = widgets.Output()

    def run(_=None):
        cfg = replace(base, weight_decay=wd.value, lr=lr.value, val_fraction=vf.value,
                      seed=int(seed.value), model=replace(base.model, bias=bias.value))
        with out:
            clear_output(wait=True)
            try:
                h = train(cfg, steps=steps, record_every=max(1, steps // 60), progress=False)
            except (ValueError, DivergenceError) as e:
                print(f"Training stopped: {e}")
                return None
            title = f"{cfg.describe()}: train acc {h.train_acc[0, -1]:.0%}"
            if h.val_acc[0, -1] == h.val_acc[0, -1]:
                title += f", validation acc {h.val_acc[0, -1]:.0%}"
            display(plots.training_animation(h, title=title))
            display(plots.curves(h))
        return h

    button.on_click(run)
    box = widgets.VBox([widgets.HBox([widgets.VBox([wd, lr, vf]), widgets.VBox([seed, bias, button])]), out])
    box.train = run
    box.output = out
    return box


def particle_controls(n: int = 17, steps: int = 1000) -> widgets.VBox:
    """Sliders for the particle simulation's alignment strength and step size (the two
    controls of the paper's demo), plus seed; "Simulate" runs one system from a random
    start and shows its animation and the class :func:`modadd.structure.classify` gives.

    The returned box has a ``simulate()`` method that does what the button does.
    """
    from .structure import scores
    style = {"description_width": "130px"}
    ali = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.05, description="alignment strength",
                              style=style)
    eta = widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=1, step=0.1, description="step size",
                                 readout_format=".3f", style=style)
    seed = widgets.BoundedIntText(value=0, min=0, max=10**6, description="seed", style=style)
    button = widgets.Button(description="Simulate", button_style="primary", icon="play")
    out = widgets.Output()

    def run(_=None):
        with out:
            clear_output(wait=True)
            try:
                sim = simulate(n, clustering=1.0, alignment=ali.value, step_size=eta.value, steps=steps,
                               seed=int(seed.value))
            except (ValueError, ParticleBlowUp) as e:
                print(f"Simulation stopped: {e}")
                return None
            sc = scores(sim.final[0])
            title = (f"alignment {ali.value:g}, step size {eta.value:.3g}, seed {seed.value}: "
                     f"{sc['class']} (circle score {sc['circle_score']:.2f}, grid score {sc['grid_score']:.2f})")
            display(plots.embedding_animation([("particles", sim.steps, sim.E[:, 0])], title=title))
        return sim

    button.on_click(run)
    box = widgets.VBox([widgets.HBox([widgets.VBox([ali, eta]), widgets.VBox([seed, button])]), out])
    box.simulate = run
    box.output = out
    return box
