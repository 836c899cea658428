from dataclasses import replace

import plotly.graph_objects as go

from modadd import live
from modadd.train import CIRCLE_RECIPE, DivergenceError


def test_controls_train_and_show_figures(monkeypatch):
    shown = []
    monkeypatch.setattr(live, "display", shown.append)
    box = live.training_controls(replace(CIRCLE_RECIPE, seed=2), steps=200)
    wd, lr, vf = box.children[0].children[0].children
    wd.value, vf.value = 0.5, 0.3
    h = box.train()
    assert h.steps[-1] == 200
    assert h.configs[0].weight_decay == 0.5 and h.configs[0].val_fraction == 0.3
    assert len(shown) == 2 and all(isinstance(f, go.Figure) for f in shown)
    assert len(shown[0].frames) > 1                      # the animation


def test_controls_report_a_diverging_run_without_a_traceback(monkeypatch, capsys):
    def boom(*a, **k):
        raise DivergenceError("run 0 (seed=0) has a non-finite loss from step 7")
    monkeypatch.setattr(live, "train", boom)
    box = live.training_controls(steps=10)
    assert box.train() is None
    out = capsys.readouterr().out
    assert "Training stopped: run 0 (seed=0) has a non-finite loss from step 7" in out
