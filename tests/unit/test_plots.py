import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import colour_vision

from modadd import plots
from modadd.core.train import CIRCLE_RECIPE, train


@pytest.fixture(scope="module")
def hist():
    return train(replace(CIRCLE_RECIPE, seed=2), steps=400, record_every=20, progress=False)


def test_residue_colours_are_distinct_and_cyclic():
    cols = plots.residue_colors(17)
    assert len(set(cols)) == 17 and all(c.startswith("#") and len(c) == 7 for c in cols)
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in cols], float)
    step = np.linalg.norm(np.diff(np.vstack([rgb, rgb[:1]]), axis=0), axis=1)
    assert step.max() < 2.5 * step.mean(), "neighbours on the clock get neighbouring colours, 16 -> 0 too"
    with pytest.raises(ValueError, match="n=1"):
        plots.residue_colors(1)


def test_ciede2000_matches_sharma_pairs():
    for lab1, lab2, want in colour_vision.SHARMA:
        assert abs(colour_vision.ciede2000(np.array(lab1, float), np.array(lab2, float)) - want) < 1e-4


#: The palette's CIEDE2000 floors: every two residues at N = 17, and neighbours at every N
#: (at least NEIGHBOUR_FLOOR / N: a loop of fixed length shared by N steps), for normal
#: vision and simulated deuteranopia and protanopia. Measured: 10.0 / 9.8 / 9.8 at N = 17
#: (the old hue wheel: 2.6 / 0.2 / 0.3).
ALL_PAIRS_FLOOR_17 = 9.5
NEIGHBOUR_FLOOR = 140


@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_residue_colours_stay_apart_with_colour_blindness(vision):
    neighbours, pairs = colour_vision.palette_floors(plots.residue_colors(17), vision)
    assert pairs >= ALL_PAIRS_FLOOR_17, f"{vision}: two residues of 17 only {pairs:.2f} apart (CIEDE2000)"
    for n in (7, 11, 17, 23, 31, 41, 59, 97):
        neighbours, _ = colour_vision.palette_floors(plots.residue_colors(n), vision)
        assert neighbours >= NEIGHBOUR_FLOOR / n, f"{vision}, N={n}: neighbours {neighbours:.2f} apart"


def test_the_old_hue_wheel_fails_the_floor():
    """The floor can fail: the hue wheel the book used before does, under deuteranopia."""
    import colorsys
    old = ["#%02x%02x%02x" % tuple(round(v * 255) for v in colorsys.hls_to_rgb(r / 17, 0.47, 0.80)) for r in range(17)]
    assert colour_vision.palette_floors(old, "deuteranopia")[1] < 1


def test_decision_grid(hist):
    xs, cls = plots.decision_grid(hist.params_at(0), 2.0, res=21)
    assert xs.shape == (1, 21) and cls.shape == (1, 21, 21)
    assert cls.min() >= 0 and cls.max() < 17
    assert np.isclose(xs[0, 0], -2.0) and np.isclose(xs[0, -1], 2.0)


def test_model_view_and_curves(hist):
    fig = plots.model_view(hist.params_at(0), title="t")
    assert [t.type for t in fig.data] == ["scatter", "heatmap", "scatter"]
    assert len(fig.data[0].x) == 17 and len(fig.data[2].x) == 17 * 18 // 2
    curves = plots.curves(hist)
    assert {t.name for t in curves.data} == {"train", "validation"}


def test_training_animation_has_frames_and_a_slider(hist):
    fig = plots.training_animation(hist, frames=10)
    names = [f.name for f in fig.frames]
    assert len(names) >= 5 and names[-1] == "400" and names[0] == "0"
    steps = fig.layout.sliders[0].steps
    assert [s.args[0][0] for s in steps] == names
    assert fig.layout.sliders[0].active == len(names) - 1
    assert fig.layout.updatemenus[0].buttons[0].label.endswith("play")
    # frames differ: the embeddings move during training
    assert not np.allclose(np.asarray(fig.frames[0].data[0].x), np.asarray(fig.frames[-1].data[0].x))


def test_animation_needs_parameters():
    h = train(CIRCLE_RECIPE, steps=10, record_params=False, progress=False)
    with pytest.raises(ValueError, match="record_params=True"):
        plots.training_animation(h)


def test_addition_table_marks_held_out_pairs():
    from modadd.core.data import make_dataset
    ds = make_dataset(7, 0.3, 0)
    fig = plots.addition_table(7, val_mask=ds.val_mask)
    z = np.asarray(fig.data[0].z)
    assert (z == (np.arange(7)[:, None] + np.arange(7)) % 7).all()
    assert len(fig.data[1].x) == int(ds.val_mask.sum())


def test_book_renderer_is_offline_and_deterministic(hist):
    fig = plots.training_animation(hist, frames=6)
    r = plots.BookRenderer()
    a = r.to_mimebundle(fig.to_dict())
    b = r.to_mimebundle(fig.to_dict())
    html = a["text/html"]
    assert html == b["text/html"], "same figure, same HTML (no random div ids)"
    assert "<script src" not in html and "cdn" not in html.lower()
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html
    assert "Plotly.animate" not in html.split("addFrames")[-1], "animations must not autoplay"
    json.dumps(a["application/vnd.plotly.v1+json"])


def test_importing_plots_leaves_plotlys_renderer_alone():
    code = ("import plotly.io as pio; before = pio.renderers.default; import modadd.plots; "
            "assert pio.renderers.default == before, (before, pio.renderers.default); "
            "assert 'modadd' not in pio.renderers; "
            "modadd.plots.use_book_renderer(); print(pio.renderers.default)")
    env = dict(os.environ, MODADD_BOOK_BUILD="1")      # even in the book build: only the call
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "modadd"


def test_in_jupyter_figures_do_not_embed_plotlyjs(hist):
    """plotly's Jupyter default embeds plotly.js (4.6 MB) in every figure: importing
    modadd.plots replaces that default, and only that one, by a renderer whose output is the
    figure's data and a loader of plotly.js from its CDN, once per page."""
    def default_after_import(before, env=None):
        code = (f"import plotly.io as pio; pio.renderers.default = {before!r}; import modadd.plots; "
                "print(pio.renderers.default)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, **(env or {})))
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()
    assert default_after_import("plotly_mimetype+notebook") == "modadd_notebook"
    assert default_after_import("notebook") == "notebook" and default_after_import("colab") == "colab"
    assert default_after_import("plotly_mimetype+notebook", {"PLOTLY_RENDERER": "plotly_mimetype+notebook"}) == "plotly_mimetype+notebook"
    from plotly.offline import get_plotlyjs
    fig = plots.training_animation(hist, frames=6).to_dict()
    bundle = plots.NotebookRenderer().to_mimebundle(fig)
    html = bundle["text/html"]
    assert list(bundle) == ["text/html"] and html == plots.NotebookRenderer().to_mimebundle(fig)["text/html"]
    assert get_plotlyjs()[:2000] not in html and "plotly.js v" not in html
    assert len(html) < len(json.dumps(fig)) + 3000             # the figure's data, and a few lines
    assert html.count("https://cdn.plot.ly/plotly-") == 1 and "modadd-plotly-js" in html
    assert '"frames"' in html                                   # animations keep their frames


def test_class_fraction_figure_keeps_named_settings_in_order():
    import pandas as pd

    from modadd.analysis.stats import class_fractions
    t = pd.DataFrame({"setting": ["zeta", "zeta", "alpha"], "class": ["circle", "grid", "grid"]})
    order = ["zeta", "alpha"]
    fig = plots.class_fraction_figure(class_fractions(t, ["setting"]), x="setting", categories=order)
    assert [list(tr.x) for tr in fig.data] == [order] * 3 and {tr.mode for tr in fig.data} == {"markers"}
    assert [tr.name for tr in fig.data] == list(plots.CLASS_COLORS)
    scale = plots.class_fraction_figure(class_fractions(t, ["setting"]), x="setting")
    assert list(scale.data[0].x) == ["alpha", "zeta"] and scale.data[0].mode == "lines+markers"


def test_relative_bias_figure_colours_settings_by_class():
    import pandas as pd

    rho = pd.DataFrame([[0.0, 2.0, 1.0], [0.0, 0.5, 0.4], [0.0, 0.0, 0.3]],
                       index=["b", "strong b", "held"], columns=[0, 20, 40])
    fig = plots.relative_bias_figure(rho, classes={"b": "grid", "strong b": "grid", "held": "circle"})
    assert [tr.name for tr in fig.data] == ["b", "strong b", "held"]
    assert [tr.line.color for tr in fig.data] == [plots.CLASS_COLORS[c] for c in ("grid", "grid", "circle")]
    assert fig.data[0].line.dash != fig.data[1].line.dash            # same colour, told apart
    assert all(list(tr.x) == [20, 40] for tr in fig.data)            # log axes: no step 0
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"


def test_force_figures(hist):
    from modadd import forces
    curve = forces.explained_over_history(hist, 0, forces=("clustering", "alignment"))
    fig = plots.explained_curves({"a": curve, "b": curve})
    assert len(fig.data) == 4 and fig.data[0].line.color == plots.FIT_COLOR
    assert fig.data[1].line.color == plots.BASELINE_COLOR and 0 not in list(fig.data[0].x)
    law = forces.force_law(hist, bootstrap=10)
    fig = plots.force_law_figure({"no biases": law})
    assert {tr.marker.color for tr in fig.data if tr.mode == "markers"} == {plots.FAMILY_COLORS["no biases"]}
    measured = [tr for tr in fig.data if tr.mode == "markers"]
    assert len(measured) == 4 and list(measured[0].y) == list(law.kernel("distance").value)
    hinges = forces.hinge_switching(hist)
    fig = plots.hinge_switching_figure(hinges)
    assert len(fig.data) == 3 and fig.data[0].line.color == plots.FAMILY_COLORS["no biases"]
    import pandas as pd
    co = pd.DataFrame(dict(family=["biases"] * 4, force=["clustering", "alignment"] * 2, seed=[8, 8, 9, 9],
                           coef=[0.5, -0.1, 0.7, 0.2]))
    su = pd.DataFrame(dict(family=["biases"] * 2, force=["clustering", "alignment"], mean=[0.6, 0.05],
                           lo=[0.5, -0.1], hi=[0.7, 0.2], negative=[0, 1], runs=[2, 2]))
    fig = plots.coefficient_figure(co, su)
    assert len(fig.data) == 2 and list(fig.data[1].y) == [0.6, 0.05]
    assert fig.data[0].marker.color == plots.FAMILY_COLORS["biases"] and len(fig.data[0].y) == 4
    with pytest.raises(ValueError, match="columns"):
        plots.coefficient_figure(co.drop(columns="seed"), su)
    with pytest.raises(ValueError, match="curves"):
        plots.explained_curves({})
    with pytest.raises(ValueError, match="laws"):
        plots.force_law_figure({})


def test_predicted_vs_measured_draws_each_series_and_the_diagonal():
    pred = {"first": np.array([0.2, 0.5, 0.9]), "second": np.array([0.1, 0.45, 0.8])}
    fig = plots.predicted_vs_measured(pred, [0.1, 0.4, 0.8], hover=["a", "b", "c"], title="t")
    names = [tr.name for tr in fig.data]
    assert names == ["first", "second", "prediction = measurement"]
    assert list(fig.data[1].x) == [0.1, 0.45, 0.8] and list(fig.data[1].y) == [0.1, 0.4, 0.8]
    assert fig.data[1].marker.color == plots.CLASS_COLORS["grid"]
    with pytest.raises(ValueError, match="shape"):
        plots.predicted_vs_measured({"x": [0.1, 0.2]}, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="one or two"):
        plots.predicted_vs_measured({}, [0.1])


def test_agreement_figure_draws_each_family_and_start():
    import pandas as pd
    rows = []
    for fam in ("no biases", "biases"):
        for start in ("same start", "unrelated start"):
            for m, of in (("class", 64), ("circle order", 40 if fam == "no biases" else 0), ("lattice rule", 30)):
                rows.append(dict(family=fam, start=start, measure=m, agree=of // 2, of=of,
                                 share=0.5 if of else np.nan, lo=0.3 if of else np.nan, hi=0.7 if of else np.nan))
    fig = plots.agreement_figure(pd.DataFrame(rows))
    assert len(fig.data) == 4
    names = [tr.name for tr in fig.data]
    assert names == ["no biases, same start", "no biases, unrelated start", "biases, same start",
                     "biases, unrelated start"]
    assert len(fig.data[0].y) == 3 and len(fig.data[2].y) == 2          # no circle order where none applies
    assert fig.data[0].marker.symbol == "circle" and fig.data[1].marker.symbol == "circle-open"
    assert fig.data[0].marker.color == plots.FAMILY_COLORS["no biases"]
    with pytest.raises(ValueError, match="columns"):
        plots.agreement_figure(pd.DataFrame({"family": ["x"]}))


def test_score_race_figure_has_a_panel_per_family():
    import pandas as pd
    rows = [dict(family=fam, who=who, fraction=f, score=sc, median=f, lo=f / 2, hi=min(1, f * 1.5))
            for fam, sc in (("no biases", "circle score"), ("biases", "grid score"))
            for who in ("network", "particles") for f in (0.0, 0.5, 1.0)]
    fig = plots.score_race_figure(pd.DataFrame(rows))
    lines = [tr for tr in fig.data if tr.mode == "lines+markers"]
    assert len(lines) == 4 and [tr.name for tr in lines] == ["network", "particles"] * 2
    assert list(lines[1].y) == [0.0, 0.5, 1.0] and lines[1].line.dash == "dash"
    assert [a.text for a in fig.layout.annotations] == ["no biases: circle score", "biases: grid score"]
    with pytest.raises(ValueError, match="columns"):
        plots.score_race_figure(pd.DataFrame({"family": ["x"]}))


def test_embedding_animation_in_rows():
    rng = np.random.default_rng(0)
    steps = np.arange(5)
    panels = [(f"p{i}", steps, rng.standard_normal((5, 7, 2))) for i in range(6)]
    fig = plots.embedding_animation(panels, frames=4, cols=3)
    assert len(fig.data) == 6 and fig.data[5].xaxis == "x6" and fig.layout.height > 470
    assert fig.layout.yaxis4.domain[1] < fig.layout.yaxis1.domain[0]     # panel 4 starts row 2
    with pytest.raises(ValueError, match="cols"):
        plots.embedding_animation(panels, cols=0)


def test_setting_curves_figure_one_panel_per_quantity():
    import pandas as pd

    a = pd.DataFrame([[1.0, 2.0, 3.0], [1.0, 1.5, 1.2]], index=["no decay", "decay"], columns=[0, 100, 1000])
    b = a / 10
    fig = plots.setting_curves_figure({"norm": a, "share": b}, classes={"no decay": "other", "decay": "grid"},
                                      log_y=("share",))
    assert [tr.name for tr in fig.data] == ["no decay", "decay"] * 2
    assert [tr.showlegend for tr in fig.data] == [True, True, False, False]     # one legend entry each
    assert fig.data[1].line.color == plots.CLASS_COLORS["grid"] and list(fig.data[3].y) == [0.15, 0.12]
    assert fig.layout.yaxis.type == "linear" and fig.layout.yaxis2.type == "log"
    with pytest.raises(ValueError, match="at least one panel"):
        plots.setting_curves_figure({})


def test_rho_outcome_figure_colours_runs_by_class():
    import pandas as pd

    t = pd.DataFrame({"rho 0": [0.1, 1.0, 10.0], "rho 100": [0.2, 0.5, 3.0], "circle_score": [0.9, 0.5, 0.1],
                      "class": ["circle", "other", "grid"], "cell": ["a", "b", "c"]})
    fig = plots.rho_outcome_figure(t, {"rho 0": "ρ at step 0", "rho 100": "ρ at step 100"},
                                   threshold={"rho 0": 0.5})
    circles = [tr for tr in fig.data if tr.name == "circle"]
    assert len(circles) == 2 and list(circles[0].x) == [0.1] and circles[0].marker.color == plots.CLASS_COLORS["circle"]
    assert fig.layout.xaxis.type == "log" and len(fig.layout.shapes) == 1
    with pytest.raises(ValueError, match="values <= 0"):
        plots.rho_outcome_figure(t.assign(**{"rho 0": [0.0, 1.0, 2.0]}), {"rho 0": "x"})


def test_lines_of_one_colour_differ_in_marker_shape_too_and_panel_titles_are_words():
    """Issue 35: lines told apart by dash alone are hard to read (a marker shape helps), and
    panel titles read "biases, embed scale 0.05", not "bias=False · embed_scale=0.05"."""
    import pandas as pd

    from modadd.analysis.stats import class_fractions
    rho = pd.DataFrame([[0.0, 2.0, 1.0], [0.0, 0.5, 0.4]], index=["b", "strong b"], columns=[0, 20, 40])
    fig = plots.relative_bias_figure(rho, classes={"b": "grid", "strong b": "grid"})
    assert fig.data[0].marker.symbol != fig.data[1].marker.symbol and fig.data[0].mode == "lines+markers"
    t = pd.DataFrame({"bias": [True, False], "embed_scale": [0.05, 0.2], "wd": [1.0, 1.0], "class": ["grid", "circle"]})
    fig = plots.class_fraction_figure(class_fractions(t, ["bias", "embed_scale", "wd"]), x="wd", col="embed_scale", row="bias")
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["no biases, embed scale 0.05", "no biases, embed scale 0.2",
                      "biases, embed scale 0.05", "biases, embed scale 0.2"], titles


def test_log_ticks_label_powers_of_ten():
    t = plots.log_ticks([3, 50, 20_000])
    assert t["type"] == "log" and t["tickvals"] == [1, 10, 100, 1000, 10_000, 100_000]
    assert t["ticktext"][:3] == ["10<sup>0</sup>", "10<sup>1</sup>", "10<sup>2</sup>"]
    narrow = plots.log_ticks([200, 900])                   # under two decades: 1, 2 and 5 too
    assert narrow["tickvals"] == [100, 200, 500, 1000, 2000, 5000]
    assert narrow["ticktext"][1] == "2×10<sup>2</sup>"
    assert plots.log_ticks([0, -1, float("nan")]) == {"type": "log"}


def test_log_axes_carry_power_of_ten_labels():
    import pandas as pd
    table = pd.DataFrame([[0.5, 0.2, 0.1], [0.4, 0.3, 0.2]], index=["a", "b"], columns=[0, 100, 10_000])
    fig = plots.setting_curves_figure({"q": table}, log_y=("q",))
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.ticktext[0] == "10<sup>2</sup>"
    assert fig.layout.yaxis.type == "log" and "×" in fig.layout.yaxis.ticktext[1]


def test_gallery_thumbnails_have_readable_titles_and_hover_residues():
    E = np.random.default_rng(0).normal(size=(8, 17, 2))
    thumbs = plots.embedding_gallery(E, [f"s{k}" for k in range(8)], cols=4)
    assert all(t.mode == "markers" and "residue" in t.hovertemplate for t in thumbs.data)
    assert all(a.font.size >= 13 for a in thumbs.layout.annotations)
    big = plots.embedding_gallery(E[:3], ["a", "b", "c"], cols=3)
    assert all(t.mode == "markers+text" for t in big.data)       # large panels keep their numbers


def test_recorded_animations_play_slowly_enough_to_follow():
    fig = plots.training_animation(train(replace(CIRCLE_RECIPE, seed=2), steps=60, record_every=20, progress=False),
                                   frames=3)
    play = fig.layout.updatemenus[0].buttons[0].args[1]
    assert play["frame"]["duration"] == plots.FRAME_MS >= 400


def test_forces_alone_figure_draws_paths_rests_and_hinge_lines_in_view():
    from modadd.forces import alone
    S = np.array([[1.0, 0.35], [0.25, 1.05], [-0.85, -0.55]])
    paths = {f: alone.flow_alone(S, f, time=5, steps=50, sigma=1.0) for f in alone.FORCES_ALONE}
    rests = {f: alone.resting_state(S, f) for f in alone.FORCES_ALONE}
    W1 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])          # the third unit has no hinge
    nets = {"a": (S, np.array([0, 1, 2]), W1, np.array([0.5, 10.0, 1.0]), 3)}
    fig = plots.forces_alone_figure(S, paths, rests, alone.resting_axis(S), nets)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["clustering alone", "alignment alone", "a"]
    hinges = next(t for t in fig.data if t.name == "hinge lines")
    # x = -0.5 crosses the view; y = -10 lies outside it; the zero unit draws nothing
    xs = [x for x in hinges.x if x is not None]
    assert len(xs) == 2 and np.allclose(xs, -0.5)
    rest = [t for t in fig.data if t.name == "rest (closed form)"]
    assert len(rest) == 2 and np.allclose(rest[0].x, S.mean(0)[0])
    assert plots.forces._line_in_box(np.array([1.0, 1.0]), -10.0, 1.0) is None
