"""The live widget's Python side: settings checked at the door and the module it ships
(its state round-tripping through a real kernel: tests/integration/test_widget_kernel.py)."""
from __future__ import annotations

import json
import re

import pytest

import numpy as np

from modadd.analysis import structure
from modadd import widget
from modadd.core.train import CIRCLE_RECIPE, GRID_RECIPE


def test_module_is_the_web_files_in_dependency_order_with_the_worker():
    src = widget.bundle()
    files = widget.sources()
    assert files[-1] == "view.js" and files[-2] == "engine.js" and set(widget.sources("engine.js")) == set(files) - {"view.js"}
    texts = {f: (widget.WEB / f).read_text() for f in files}
    # every file comes after the files it imports
    for i, f in enumerate(files):
        for dep in re.findall(r'^import \{[^}]*\} from "\./([\w-]+\.js)";', texts[f], re.M):
            assert files.index(dep) < i, (f, dep)
    worker = widget.worker_source()
    drop = lambda t: re.sub(r'^import \{[^}]*\} from "\./[\w-]+\.js";\n', "", t, flags=re.M)
    assert src == "\n".join(drop(texts[f]) for f in files) + "\nconst WORKER_SOURCE = " + json.dumps(worker) + ";\n"
    assert "export function trainSteps" in texts["trainer.js"] and "export function structureReadout" in texts["structure.js"]
    assert "export class EngineLocal" in texts["engine.js"] and "export default" in texts["view.js"]
    # one module, as the page loads it from a blob URL: it cannot import a sibling file, and
    # the view is its one default export
    assert not re.search(r"^\s*import\b", src, re.M)
    assert len(re.findall(r"^export default", src, re.M)) == 1
    # what a widget sends to the page is that module as the files hold it now
    assert widget.training_widget()._esm == src and widget.particle_widget()._esm == src
    # the worker: engine.js and what it imports as a classic script, exports dropped, then its main
    assert "\nexport " not in worker and worker.endswith("engineWorkerMain(self);\n")
    assert "function trainSteps" in worker and "class EngineLocal" in worker and "export default" not in worker
    assert "KERNELS_WASM_BASE64" in worker and "class _Square" not in worker


def test_a_widget_sends_the_module_as_the_files_hold_it_when_it_is_made(tmp_path, monkeypatch):
    """An edit to the JavaScript reaches the next widget made in the same kernel (not the
    module as it was when modadd.widget was imported)."""
    for f in widget.sources():
        (tmp_path / f).write_text((widget.WEB / f).read_text())
    before = widget.training_widget()._esm
    monkeypatch.setattr(widget, "WEB", tmp_path)
    (tmp_path / "view.js").write_text((tmp_path / "view.js").read_text() + "// edited view\n")
    (tmp_path / "engine.js").write_text((tmp_path / "engine.js").read_text() + "// edited engine\n")
    for w in (widget.training_widget(), widget.particle_widget()):
        assert w._esm != before and w._esm == widget.bundle()
        assert "// edited view" in w._esm and w._esm.count("// edited engine") == 2     # module and worker


def test_bundle_refuses_another_import_and_a_cycle(tmp_path, monkeypatch):
    for f in widget.sources():
        (tmp_path / f).write_text((widget.WEB / f).read_text())
    monkeypatch.setattr(widget, "WEB", tmp_path)
    engine = (tmp_path / "engine.js").read_text()
    (tmp_path / "engine.js").write_text('import x from "./y.js";\n' + engine)
    with pytest.raises(ValueError, match="import nothing else"):
        widget.worker_source()
    (tmp_path / "engine.js").write_text(engine)
    (tmp_path / "checks.js").write_text('import { EngineLocal } from "./engine.js";\n' + (tmp_path / "checks.js").read_text())
    with pytest.raises(ValueError, match="cycle"):
        widget.bundle()


def test_default_seeds_and_the_same_start_run_reach_the_view():
    for name in widget.RECIPES:
        s = widget.training_widget(name).settings
        assert s["seed"] == widget.DEFAULT_SEEDS[name] == s["presets"][name]["seed"]
        assert s["n_range"] == list(widget.TRAINING_N)
    assert widget.training_widget(seed=5).settings["seed"] == 5
    p = widget.particle_widget(same_start=True).settings
    assert p["seed"] == widget.DEFAULT_PARTICLE_SEED and p["same_start_run"] == widget.SAME_START_RUN


def test_widget_start_is_the_widgets_generator():
    """widget_start follows rng.js's stream numbers and families (tests/js compares the numbers
    with net.js itself): circle recipe uniform within its bounds, no biases; a split of the
    rounded share; the same seed the same start, another seed another."""
    import torch
    cfg = widget.recipe_config("circle", n=17, seed=1)
    p, held = widget.widget_start(cfg)
    assert p.E.dtype == torch.float64 and p.E.shape == (1, 17, 2) and p.E.abs().max() <= 0.2
    assert p.W1.abs().max() <= (6 / 66) ** 0.5 and not p.b1.any() and not p.b2.any()
    assert int(held.sum()) == round(0.2 * 153)
    q, held2 = widget.widget_start(cfg)
    assert all(torch.equal(a, b) for a, b in zip(p.tensors(), q.tensors())) and torch.equal(held, held2)
    r, held3 = widget.widget_start(widget.recipe_config("circle", n=17, seed=2))
    assert not torch.equal(p.E, r.E) and not torch.equal(held, held3)
    E = widget.widget_particle_start(17, 1)
    assert E.shape == (17, 2) and abs(E).max() <= 1 and (E == widget.widget_particle_start(17, 1)).all()


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
    (lambda: widget.training_widget(n=7), r"n must be an integer in \[11, 59\], got n=7"),
    (lambda: widget.training_widget(n=97), r"n must be an integer in \[11, 59\], got n=97"),
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


def test_readout_names_the_class_with_its_order_or_rule():
    """widget.readout: "circle k=K" with circle_order's k, "grid p,q" with lattice_rule's
    rule, "other" otherwise (the live widget's readout; web/structure.js, tests/js)."""
    n = 17
    a = np.arange(n)
    circle = np.stack([np.cos(2 * np.pi * 3 * a / n), np.sin(2 * np.pi * 3 * a / n)], 1)
    circle += 0.01 * np.random.default_rng(0).standard_normal(circle.shape)
    assert widget.readout(circle) == f"circle k={structure.circle_order(circle)}" == "circle k=3"
    z = np.array([(i, j) for i in range(5) for j in range(4)][:n])
    grid = np.zeros((n, 2))
    for z1, z2 in z:
        grid[(z1 + 4 * z2) % n] = [z1, z2]
    grid += 0.01 * np.random.default_rng(1).standard_normal(grid.shape)
    p, q = structure.lattice_rule(grid)
    assert widget.readout(grid) == f"grid {p},{q}"
    cloud = np.random.default_rng(2).standard_normal((n, 2))
    assert structure.classify(cloud) == "other" and widget.readout(cloud) == "other"
