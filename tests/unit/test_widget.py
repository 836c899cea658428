"""The live widget's Python side: settings checked at the door and the module it ships
(its state round-tripping through a real kernel: tests/integration/test_widget_kernel.py)."""
from __future__ import annotations

import pytest

from modadd import widget
from modadd.train import CIRCLE_RECIPE, GRID_RECIPE


def test_module_is_core_then_view():
    src = widget.bundle()
    core, view = ((widget.WEB / f).read_text() for f in widget.SOURCES)
    assert src == core + "\n" + view and "export function trainSteps" in core and "export default" in view
    assert widget.LiveWidget._esm == src


def test_presets_are_the_trainer_recipes():
    for name, cfg in (("circle", CIRCLE_RECIPE), ("grid", GRID_RECIPE)):
        s = widget.training_widget(name).settings
        assert (s["bias"], s["init"], s["embed_init"], s["embed_scale"], s["lr"], s["weight_decay"], s["hidden"]) == (
            cfg.model.bias, cfg.model.init, cfg.model.embed_init, cfg.model.embed_scale, cfg.lr, cfg.weight_decay,
            cfg.model.hidden)
        assert s["presets"] == widget.recipe_presets()
    s = widget.training_widget("grid", bias=False, lr=3e-3, weight_decay=0.5, n=31, seed=7, val_fraction=0.3)
    assert (s.settings["bias"], s.settings["lr"], s.settings["weight_decay"], s.settings["n"]) == (False, 3e-3, 0.5, 31)
    p = widget.particle_widget(11, same_start=True, recipe="grid").settings
    assert p["same_start"] and p["preset"] == "grid" and p["n"] == 11


@pytest.mark.parametrize("call,match", [
    (lambda: widget.training_widget(n=5), r"n must be an integer in \[7, 97\], got n=5"),
    (lambda: widget.training_widget(n=17.5), r"n must be an integer"),
    (lambda: widget.training_widget(recipe="pizza"), r"recipe must be one of \('circle', 'grid'\), got recipe='pizza'"),
    (lambda: widget.training_widget(lr=float("nan")), r"lr must be a number in \[0.0001, 0.1\], got lr=nan"),
    (lambda: widget.training_widget(bias="yes"), r"bias must be True or False, got bias='yes'"),
    (lambda: widget.particle_widget(alignment=-1), r"alignment must be a number in \[0.0, 5.0\], got alignment=-1"),
    (lambda: widget.particle_widget(step_size=0), r"step_size must be a number in \[0.001, 1.0\], got step_size=0"),
    (lambda: widget.particle_widget(60, same_start=True), r"n must be an integer in \[7, 59\], got n=60"),
])
def test_bad_settings_are_refused_with_the_value_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
