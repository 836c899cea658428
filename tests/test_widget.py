"""The live widget's Python side: settings checked at the door, the module it ships, and
its state round-tripping through a real Jupyter kernel (this test plays the front end,
speaking the widget protocol over the kernel's channels, as JupyterLab does)."""
from __future__ import annotations

import math

import numpy as np
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


def test_state_round_trips_through_a_kernel():
    """Display a widget in a real kernel, send it an update as the front end does while it
    runs, and read the step and embeddings back in Python, where structure.scores sees
    the circle the 'front end' grew."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        def run(code):
            msg_id = kc.execute(code)
            out, comms = [], []
            while True:
                msg = kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                t, c = msg["msg_type"], msg["content"]
                if t == "stream":
                    out.append(c["text"])
                elif t == "error":
                    raise AssertionError("\n".join(c["traceback"]))
                elif t == "comm_open":
                    comms.append(c)
                elif t == "status" and c["execution_state"] == "idle":
                    return "".join(out), comms

        _, comms = run("from modadd.widget import training_widget\nw = training_widget(n=17, seed=3)\ndisplay(w)")
        live = [c for c in comms if c["data"]["state"].get("_model_name") == "AnyModel"]
        assert len(live) == 1, comms
        assert live[0]["data"]["state"]["kind"] == "training" and live[0]["data"]["state"]["step"] == 0
        a = np.arange(17)
        circle = np.stack([np.cos(2 * math.pi * 3 * a / 17), np.sin(2 * math.pi * 3 * a / 17)], 1)
        kc.shell_channel.send(kc.session.msg("comm_msg", {
            "comm_id": live[0]["comm_id"],
            "data": {"method": "update", "state": {"step": 1234, "embeddings": circle.tolist()}, "buffer_paths": []}}))
        out, _ = run("from modadd.structure import scores\nprint(w.step, w.E.shape, scores(w.E)['class'])")
        assert out.split() == ["1234", "(17,", "2)", "circle"], out
    finally:
        try:
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
