"""Every figure of the book, in one colour language.

* One cyclic colour scale for residues mod n (:func:`residue_colors`): a loop through
  CIELAB, so neighbours on the clock have neighbouring colours, in every figure, told apart
  with red-green colour blindness too.
* The demo's two panels (:func:`model_view`): embeddings on the left; on the right the sum
  vectors ``E_a + E_b`` coloured by their answer, over the plane coloured by the class the
  network predicts at each point.
* Dynamics as plotly animations (:func:`training_animation`): frames, a play button and a
  slider, which work on the static site with no kernel.

Figures have a white background so they stay readable in the site's dark mode.
:func:`use_book_renderer` makes the book's renderer (:class:`BookRenderer`) plotly's default:
beside plotly's JSON it emits an HTML ``<div>`` that uses the site's one local copy of
plotly.js. The book build calls it in every chapter's kernel (an IPython startup file that
scripts/book.sh installs). Elsewhere importing this module changes one thing only: in a
Jupyter kernel, plotly's own default (``plotly_mimetype+notebook``), which since plotly 6
embeds all of plotly.js (4.6 MB) in every figure's output, becomes :class:`NotebookRenderer`
(``"modadd_notebook"``): each figure a ``<div>`` and its data, drawn with the page's
plotly.js, which the first figure on a page loads once from plotly's CDN. An executed
chapter stays small enough to hand in (chapter 2: under 2 MB, not 26 MB). Every other
renderer (set by the reader, ``PLOTLY_RENDERER``, Colab's) is left alone.
"""
from __future__ import annotations

import math
import hashlib
import json
import os

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from plotly.io._base_renderers import MimetypeRenderer
from plotly.offline import get_plotlyjs_version
from plotly.subplots import make_subplots

from .analysis.structure import CLASSES
from .core.data import check_n, unordered_pairs
from .core.model import Params, mlp
from .core.train import History

FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13, color="#222")
CONFIG = {"displaylogo": False, "responsive": True}


# ---------------------------------------------------------------- the renderer
class BookRenderer(MimetypeRenderer):
    """Plotly JSON plus an HTML div without plotly.js (the site serves it once)."""

    def to_mimebundle(self, fig_dict):
        body = pio.to_json(fig_dict, validate=False)
        div_id = "fig-" + hashlib.sha1(body.encode()).hexdigest()[:12]   # same figure, same id
        html = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False, div_id=div_id, auto_play=False,
                           config=CONFIG, validate=False)
        return {"application/vnd.plotly.v1+json": json.loads(body), "text/html": html}


class NotebookRenderer(MimetypeRenderer):
    """A figure as an HTML ``<div>`` and its data, without plotly.js: the page's plotly.js
    draws it, loaded once per page from plotly's CDN (the first figure adds the script, the
    others wait for it). Offline, the figure says how to embed plotly.js instead."""

    def to_mimebundle(self, fig_dict):
        body = pio.to_json(fig_dict, validate=False)
        div_id = "fig-" + hashlib.sha1(body.encode()).hexdigest()[:12]
        height = fig_dict.get("layout", {}).get("height") or 525
        script = (
            "(function () {\n"
            f"  var fig = {body}, id = {div_id!r};\n"
            f"  fig.config = {json.dumps(CONFIG)};\n"
            "  function draw() { window.Plotly.newPlot(id, fig); }\n"
            "  if (window.Plotly) { draw(); return; }\n"
            "  var s = document.getElementById('modadd-plotly-js');\n"
            "  if (!s) {\n"
            "    s = document.createElement('script'); s.id = 'modadd-plotly-js';\n"
            f"    s.src = 'https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js';\n"
            "    document.head.appendChild(s);\n"
            "  }\n"
            "  s.addEventListener('load', draw);\n"
            "  s.addEventListener('error', function () { document.getElementById(id).textContent =\n"
            f"    {OFFLINE_MESSAGE!r}; }});\n"
            "})();")
        html = (f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>\n'
                f'<script type="text/javascript">\n{script}\n</script>')
        return {"text/html": html}


#: What a figure says when plotly.js cannot be loaded (no internet).
OFFLINE_MESSAGE = ("This figure needs plotly.js, loaded from cdn.plot.ly. Offline, run "
                   "import plotly.io as pio; pio.renderers.default = 'notebook' "
                   "first: it embeds plotly.js (4.6 MB) in every figure.")


def _lighter_notebook_default() -> None:
    """In a Jupyter kernel, replace plotly's own default renderer (which embeds plotly.js in
    every figure) by :class:`NotebookRenderer`; any other choice stays."""
    pio.renderers["modadd_notebook"] = NotebookRenderer()
    if pio.renderers.default == "plotly_mimetype+notebook" and not os.environ.get("PLOTLY_RENDERER"):
        pio.renderers.default = "modadd_notebook"


_lighter_notebook_default()


def use_book_renderer() -> None:
    """Register :class:`BookRenderer` as plotly's renderer ``"modadd"`` and make it the default.

    The book build's kernels call it (scripts/book_kernel_startup.py); nothing else does.
    """
    pio.renderers["modadd"] = BookRenderer()
    pio.renderers.default = "modadd"


# ---------------------------------------------------------------- colours
#: The residue colours' loop in CIELAB (D65): residue r of n sits at angle t = 2πr/n and gets
#: L*, a*, b* = C0 + C1 cos t + S1 sin t + C2 cos 2t + S2 sin 2t (rows below, in that order).
#: Its lightness goes up and down twice around the loop and its yellow-blue axis once, so
#: residues stay apart for readers with red-green colour blindness too: at N = 17 every two
#: residues differ by CIEDE2000 >= 9 with normal vision and with simulated deuteranopia and
#: protanopia (tests/unit/test_plots.py measures it; the old hue wheel gave 2.6 and 0.2).
#: view.js's residueRGB is the same formula (tests/js/view.test.mjs compares them).
RESIDUE_LOOP = ((57.2, 4.0, -0.1), (-1.0, -9.0, 26.2), (-5.3, 0.2, 2.6),
                (-19.4, 25.8, 6.6), (-2.8, 6.1, -36.2))
_XYZ_TO_SRGB = ((3.2404542, -1.5371385, -0.4985314), (-0.9692660, 1.8760108, 0.0415560),
                (0.0556434, -0.2040259, 1.0572252))
_D65 = (0.95047, 1.0, 1.08883)


def _lab_to_srgb8(L: float, a: float, b: float) -> tuple:
    """CIELAB (D65) to 8-bit sRGB, each linear channel clipped to [0, 1]."""
    fy = (L + 16) / 116
    f = (fy + a / 500, fy, fy - b / 200)
    d = 6 / 29
    xyz = [w * (t ** 3 if t > d else 3 * d * d * (t - 4 / 29)) for w, t in zip(_D65, f)]
    out = []
    for row in _XYZ_TO_SRGB:
        v = min(1.0, max(0.0, row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]))
        v = 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
        out.append(round(v * 255))
    return tuple(out)


def residue_rgb(r: int, n: int) -> tuple:
    """Residue r's colour among n as 8-bit (red, green, blue): the loop :data:`RESIDUE_LOOP`."""
    t = 2 * math.pi * r / n
    w = (1.0, math.cos(t), math.sin(t), math.cos(2 * t), math.sin(2 * t))
    lab = [sum(wk * row[i] for wk, row in zip(w, RESIDUE_LOOP)) for i in range(3)]
    return _lab_to_srgb8(*lab)


def residue_colors(n: int) -> list[str]:
    """The book's colour for each residue 0..n-1 (:func:`residue_rgb`), as ``#rrggbb``."""
    n = check_n(n)
    return ["#%02x%02x%02x" % residue_rgb(r, n) for r in range(n)]


def residue_colorscale(n: int, lighten: float = 0.0) -> list:
    """A discrete plotly colourscale mapping the integers 0..n-1 to :func:`residue_colors`.

    ``lighten`` in [0, 1) mixes each colour with white (for backgrounds).
    """
    cols = []
    for c in residue_colors(n):
        rgb = np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
        rgb = rgb + (255 - rgb) * lighten
        cols.append("rgb(%d,%d,%d)" % tuple(np.round(rgb)))
    scale = []
    for r, c in enumerate(cols):
        scale += [[r / n, c], [(r + 1) / n, c]]
    return scale


def _style(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(template="plotly_white", paper_bgcolor="white", plot_bgcolor="white",
                      font=FONT, height=height, margin=dict(l=50, r=20, t=60 if title else 30, b=40),
                      title=dict(text=title, x=0.5) if title else None)
    return fig


# ---------------------------------------------------------------- chapter 1
def addition_table(n: int, val_mask: torch.Tensor | None = None) -> go.Figure:
    """Heatmap of ``(a + b) mod n``; with a (n*n,) validation mask, held-out cells are marked."""
    n = check_n(n)
    a = np.arange(n)
    z = (a[:, None] + a[None, :]) % n
    text = z.astype(str)
    if val_mask is not None:
        held = np.asarray(val_mask).reshape(n, n)
        text = np.where(held, "?", text)
    fig = go.Figure(go.Heatmap(
        z=z, x=a, y=a, text=text, texttemplate="%{text}", colorscale=residue_colorscale(n, 0.35),
        zmin=-0.5, zmax=n - 0.5, showscale=False, xgap=1, ygap=1,
        hovertemplate="a=%{y}, b=%{x}: (a+b) mod " + str(n) + " = %{z}<extra></extra>"))
    if val_mask is not None:
        held = np.asarray(val_mask).reshape(n, n)
        ys, xs = np.nonzero(held)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="square-open", size=18, color="#222", line=dict(width=2))))
    fig.update_yaxes(range=[n - 0.5, -0.5], title="a", dtick=1 if n <= 24 else None, scaleanchor="x",
                     constrain="domain", showgrid=False, zeroline=False)
    fig.update_xaxes(range=[-0.5, n - 0.5], title="b", dtick=1 if n <= 24 else None, side="top",
                     constrain="domain",
                     showgrid=False, zeroline=False)
    return _style(fig, 560)


# ---------------------------------------------------------------- the demo's two panels
def decision_grid(p: Params, extent: float | np.ndarray, res: int = 61):
    """Predicted class at a res×res grid of points in [-extent, extent]², for each model.

    p: Params of M models (only W1, b1, W2, b2 are used); extent: a number or one per model.
    Returns (xs (M, res), classes (M, res, res)) with classes[m, i, j] at (xs[j], xs[i]).
    """
    M = p.W1.shape[0]
    ext = torch.as_tensor(np.broadcast_to(np.asarray(extent, dtype=np.float32), (M,)).copy())
    u = torch.linspace(-1, 1, res)
    xs = ext[:, None] * u[None, :]                                      # (M, res)
    X = torch.stack([xs[:, None, :].expand(M, res, res), xs[:, :, None].expand(M, res, res)], -1)
    with torch.no_grad():
        cls = mlp(p, X.reshape(M, res * res, 2)).argmax(-1).reshape(M, res, res)
    return xs.numpy(), cls.numpy()


def _extent(E: np.ndarray) -> float:
    """Half-width of a square view around the origin that holds all points of E (…, 2)."""
    return float(np.abs(E).max()) * 1.15 + 1e-6


def _embedding_trace(E: np.ndarray, colors: list[str], size: int = 10) -> go.Scatter:
    """One embedding (n, 2) as labelled points coloured by residue (markers ``size`` px)."""
    n = len(E)
    return go.Scatter(x=E[:, 0], y=E[:, 1], mode="markers+text", text=[str(r) for r in range(n)],
                      textposition="top center", textfont=dict(size=size, color="#222"), showlegend=False,
                      marker=dict(size=size, color=colors, line=dict(width=size / 10, color="#222")),
                      hovertemplate="E_%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>")


def _panel_traces(E: np.ndarray, xs: np.ndarray, cls: np.ndarray, n: int) -> list:
    """Traces of the two panels for one model: embeddings, region heatmap, sum vectors."""
    cols = residue_colors(n)
    pairs, _ = unordered_pairs(n)
    a, b = pairs[:, 0].numpy(), pairs[:, 1].numpy()
    S = E[a] + E[b]
    ans = (a + b) % n
    emb = _embedding_trace(E, cols, size=11)
    bg = go.Heatmap(x=xs, y=xs, z=cls, colorscale=residue_colorscale(n, 0.55), zmin=-0.5, zmax=n - 0.5,
                    showscale=False, hovertemplate="predicts %{z}<extra></extra>")
    sums = go.Scatter(
        x=S[:, 0], y=S[:, 1], mode="markers",
        marker=dict(size=7, color=[cols[k] for k in ans], line=dict(width=0.8, color="#222")),
        customdata=np.stack([a, b, ans], 1),
        hovertemplate="E_%{customdata[0]} + E_%{customdata[1]}<br>answer %{customdata[2]}<extra></extra>",
        showlegend=False)
    return [emb, bg, sums]


def _two_panels(title: str | None, height: int = 470) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("embeddings E_a", "sums E_a + E_b, predicted class"))
    fig.update_xaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_yaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    return _style(fig, height, title)


def _ranges(E: np.ndarray) -> dict:
    e = _extent(E)
    return {"xaxis": {"range": [-e, e]}, "yaxis": {"range": [-e, e]},
            "xaxis2": {"range": [-2 * e, 2 * e]}, "yaxis2": {"range": [-2 * e, 2 * e]}}


def model_view(p: Params, title: str | None = None, res: int = 81) -> go.Figure:
    """The demo's view of one model (a batch of one): embeddings | sums over decision regions."""
    E = p.E[0].detach().numpy()
    n = E.shape[0]
    xs, cls = decision_grid(p, 2 * _extent(E), res)
    fig = _two_panels(title)
    for tr, col in zip(_panel_traces(E, xs[0], cls[0], n), (1, 2, 2)):
        fig.add_trace(tr, row=1, col=col)
    fig.update_layout(_ranges(E))
    return fig


def embedding_gallery(E: np.ndarray, titles: list[str], cols: int = 4) -> go.Figure:
    """Final embeddings of several runs, E (R, n, 2), one small panel each.

    With more than 3 columns the panels are thumbnails: their points carry no residue
    numbers (too small to read at any width; hovering a point shows its residue) and their
    titles keep a size readable on a phone."""
    R, n, _ = E.shape
    rows = -(-R // cols)
    thumbs = cols > 3
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.03 if thumbs else 0.04,
                        vertical_spacing=(0.25 / rows) if thumbs else 0.08)
    colors = residue_colors(n)
    for k in range(R):
        r, c = divmod(k, cols)
        trace = _embedding_trace(E[k], colors, size=8)
        if thumbs:
            trace.update(mode="markers", marker_size=7, hovertemplate="residue %{text}<extra></extra>")
        fig.add_trace(trace, row=r + 1, col=c + 1)
        e = _extent(E[k])
        ax = "" if k == 0 else str(k + 1)
        fig.update_layout({f"xaxis{ax}": {"range": [-e, e]},
                           f"yaxis{ax}": {"range": [-e, e], "scaleanchor": f"x{ax}"}})
    fig.update_xaxes(showticklabels=False, showgrid=False, zerolinecolor="#ccc")
    fig.update_yaxes(showticklabels=False, showgrid=False, zerolinecolor="#ccc")
    fig.update_annotations(font_size=13)
    return _style(fig, (250 if cols <= 3 else 190) * rows + 40)


# ---------------------------------------------------------------- curves
def curves(h: History, run: int = 0, title: str | None = None) -> go.Figure:
    """Loss and accuracy of one run over training, train and validation."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cross-entropy loss", "accuracy"))
    for name, loss, acc, dash in (("train", h.train_loss, h.train_acc, None),
                                  ("validation", h.val_loss, h.val_acc, "dash")):
        if np.all(np.isnan(loss[run])):
            continue
        color = "#1f5fbf" if name == "train" else "#d9541e"
        fig.add_trace(go.Scatter(x=h.steps, y=loss[run], name=name, legendgroup=name,
                                 line=dict(color=color, dash=dash)), row=1, col=1)
        fig.add_trace(go.Scatter(x=h.steps, y=acc[run], name=name, legendgroup=name, showlegend=False,
                                 line=dict(color=color, dash=dash)), row=1, col=2)
    fig.update_yaxes(range=[0, 1.03], row=1, col=2)
    fig.update_xaxes(title="step")
    return _style(fig, 360, title)


# ---------------------------------------------------------------- animation
def log_ticks(values) -> dict:
    """Tick marks of a logarithmic axis over ``values`` (the positive ones), labelled as powers
    of ten (10⁰, 10¹, ...), as plotly axis settings: plotly's own labels on a log axis mix
    1, 2 and 5 at every decade ("10 2 5 100 2 5"), which reads as a jumble. Over less than
    two decades the marks at 2 and 5 times a power of ten are labelled too (2×10³)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return dict(type="log")
    lo, hi = int(np.floor(np.log10(v.min()))), int(np.ceil(np.log10(v.max())))
    mults = (1,) if hi - lo >= 2 else (1, 2, 5)
    vals, text = [], []
    for k in range(lo, hi + 1):
        for m in mults:
            vals.append(m * 10.0 ** k)
            text.append(f"10<sup>{k}</sup>" if m == 1 else f"{m}×10<sup>{k}</sup>")
    return dict(type="log", tickvals=vals, ticktext=text)


#: Milliseconds per frame of the recorded animations: 30 frames in 12 s, slow enough to follow
#: one frame to the next (at 120 ms they ran by in about 2.5 s).
FRAME_MS = 400


def _animate(fig: go.Figure, names: list[str], duration: int = FRAME_MS, prefix: str = "step ") -> go.Figure:
    """Add a play/pause button and a slider over ``fig.frames`` (named by ``names``)."""
    play = dict(frame=dict(duration=duration, redraw=True), transition=dict(duration=0),
                fromcurrent=True, mode="immediate")
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.08, xanchor="left", yanchor="top",
                          pad=dict(t=0, r=10), showactive=False, buttons=[
                              dict(label="▶ play", method="animate", args=[None, play]),
                              dict(label="❚❚ pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=len(names) - 1, x=0.3, len=0.7, y=-0.04, yanchor="top", pad=dict(t=0),
                      currentvalue=dict(prefix=prefix, xanchor="right", font=dict(size=13)),
                      steps=[dict(label=nm, method="animate",
                                  args=[[nm], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                   transition=dict(duration=0))]) for nm in names])])
    fig.update_layout(margin=dict(b=110))
    return fig


def frame_indices(h: History, frames: int) -> list[int]:
    """About ``frames`` recorded indices, denser early on (where most change happens)."""
    T = len(h.steps)
    idx = np.unique(np.round(np.geomspace(1, T, frames)).astype(int) - 1)
    return [int(i) for i in idx]


def training_animation(h: History, run: int = 0, frames: int = 40, title: str | None = None,
                       res: int = 61) -> go.Figure:
    """The demo's two panels for one run, animated over its recorded history.

    The figure opens on the last frame; play replays training from the start.
    """
    if h.params.W1 is None:
        raise ValueError("training_animation needs a history recorded with record_params=True")
    idx = frame_indices(h, frames)
    P = Params(*(x[run, idx] for x in h.params.tensors()))          # the frames as a batch
    E = P.E.numpy()
    n = E.shape[1]
    ext = np.array([2 * _extent(e) for e in E])
    xs, cls = decision_grid(P, ext, res)
    fig = _two_panels(title, height=520)
    names = [str(int(h.steps[i])) for i in idx]
    frame_list = []
    for k in range(len(idx)):
        traces = _panel_traces(E[k], xs[k], cls[k], n)
        frame_list.append(go.Frame(name=names[k], data=traces, traces=[0, 1, 2],
                                   layout=_ranges(E[k])))
    for tr, col in zip(frame_list[-1].data, (1, 2, 2)):
        fig.add_trace(tr, row=1, col=col)
    fig.update_layout(_ranges(E[-1]))
    fig.frames = frame_list
    return _animate(fig, names)


def embedding_animation(panels: list, frames: int = 40, title: str | None = None,
                        cols: int | None = None) -> go.Figure:
    """Several point clouds side by side, animated together.

    ``panels`` is a list of ``(title, steps, E)`` with ``steps`` (T,) and ``E`` (T, n, 2),
    e.g. a trained network's embeddings (``History.steps``, ``History.embeddings[run]``) and a
    particle system (``Simulation.steps``, ``Simulation.E[m]``). Frame k shows every
    panel at the same *fraction* of its run (spaced geometrically, denser early, where
    most change happens), so runs of different lengths play together; each panel keeps
    its own axes. The figure opens on the last frame. ``cols``: panels per row (default:
    all in one row); more panels fill further rows.
    """
    if not panels:
        raise ValueError("panels must hold at least one (title, steps, E) triple")
    data = []
    for i, (name, steps, E) in enumerate(panels):
        steps, E = np.asarray(steps), np.asarray(E, dtype=float)
        if E.ndim != 3 or E.shape[-1] != 2 or len(steps) != len(E):
            raise ValueError(f"panel {i} ({name!r}): need steps (T,) and E (T, n, 2), got "
                             f"{steps.shape} and {E.shape}")
        data.append((name, steps, E))
    n = data[0][2].shape[1]
    colors = residue_colors(n)
    if cols is not None and (isinstance(cols, bool) or not isinstance(cols, int) or cols < 1):
        raise ValueError(f"cols must be a positive integer or None, got {cols!r}")
    ncol = len(data) if cols is None else min(cols, len(data))
    nrow = -(-len(data) // ncol)
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=[d[0] for d in data], horizontal_spacing=0.06,
                        vertical_spacing=0.08)
    for j in range(len(data)):
        ax = "" if j == 0 else str(j + 1)
        fig.update_yaxes(scaleanchor=f"x{ax}", row=j // ncol + 1, col=j % ncol + 1)
    fig.update_xaxes(showgrid=False, zeroline=True, zerolinecolor="#ccc", constrain="domain")
    fig.update_yaxes(showgrid=False, zeroline=True, zerolinecolor="#ccc", constrain="domain")
    fracs = np.unique(np.concatenate([[0.0], np.geomspace(1e-2, 1, frames - 1)]))
    names, frame_list = [], []
    for f in fracs:
        traces, layout, label = [], {}, []
        for j, (name, steps, E) in enumerate(data):
            i = int(np.argmin(np.abs(steps - f * steps[-1])))
            traces.append(_embedding_trace(E[i], colors))
            e = _extent(E[i] - E[i].mean(0)) * 1.1
            c = E[i].mean(0)
            ax = "" if j == 0 else str(j + 1)
            layout[f"xaxis{ax}"] = {"range": [c[0] - e, c[0] + e]}
            layout[f"yaxis{ax}"] = {"range": [c[1] - e, c[1] + e]}
            label.append(str(int(steps[i])))
        nm = " · ".join(dict.fromkeys(label))        # panels of equal length: their step once
        if nm in names:
            continue
        names.append(nm)
        frame_list.append(go.Frame(name=nm, data=traces, traces=list(range(len(data))), layout=layout))
    for j, tr in enumerate(frame_list[-1].data):
        fig.add_trace(tr, row=j // ncol + 1, col=j % ncol + 1)
    fig.update_layout(frame_list[-1].layout)
    fig.frames = frame_list
    if ncol >= 3:                                     # narrow panels: titles that fit them
        fig.update_annotations(font_size=12)
    _style(fig, 470 if nrow == 1 else 60 + 330 * nrow, title)
    return _animate(fig, names, prefix="steps " if any(" · " in nm for nm in names) else "step ")


# ---------------------------------------------------------------- sweeps
CLASS_COLORS = dict(zip(CLASSES, ("#2a6fdb", "#d9641e", "#8a8a8a")))  # circle, grid, other


def _facet(name: str, value) -> str:
    """A panel title in words: "biases" / "no biases" for ``bias``, else "embed scale 0.05"."""
    if name == "bias" and isinstance(value, (bool, np.bool_)):
        return "biases" if value else "no biases"
    return f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else f"{name.replace('_', ' ')} {value}"


def class_fraction_figure(fr, x: str, col: str | None = None, row: str | None = None,
                          title: str | None = None, x_title: str | None = None,
                          categories: list | None = None) -> go.Figure:
    """Share of circle / grid / other runs (with 95% intervals) against ``x``.

    ``fr`` is :func:`modadd.analysis.stats.class_fractions` output; ``col`` and ``row`` facet it.
    ``x`` is a scale (sorted values joined by lines), unless ``categories`` lists its values:
    then they are named settings, shown in that order as markers only, labels slanted.
    """
    cols = sorted(fr[col].unique()) if col else [None]
    rows = sorted(fr[row].unique()) if row else [None]
    titles = [", ".join(s for s in (_facet(row, r) if row else "", _facet(col, c) if col else "") if s)
              for r in rows for c in cols]
    fig = make_subplots(rows=len(rows), cols=len(cols), subplot_titles=titles, shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.12)
    xs = list(categories) if categories is not None else sorted(fr[x].unique())
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            sub = fr
            if row:
                sub = sub[sub[row] == r]
            if col:
                sub = sub[sub[col] == c]
            for cls in CLASS_COLORS:
                s = sub[sub["class"] == cls].set_index(x).reindex(xs)
                fig.add_trace(go.Scatter(
                    x=[str(v) for v in xs], y=s["fraction"], name=cls,
                    mode="markers" if categories is not None else "lines+markers",
                    legendgroup=cls, showlegend=(i == 0 and j == 0),
                    line=dict(color=CLASS_COLORS[cls], width=2), marker=dict(size=7),
                    error_y=dict(type="data", symmetric=False, array=s["hi"] - s["fraction"],
                                 arrayminus=s["fraction"] - s["lo"], thickness=1.2, width=3),
                    customdata=np.stack([s["count"], s["runs"]], 1),
                    hovertemplate=cls + ": %{customdata[0]} of %{customdata[1]} runs<extra></extra>"),
                    row=i + 1, col=j + 1)
    fig.update_yaxes(range=[-0.03, 1.03], title_text="share of runs", col=1)
    fig.update_xaxes(title_text=x_title if x_title is not None else x, type="category")
    if categories is None:
        return _style(fig, 300 * len(rows) + 90, title)
    longest = max(len(str(v)) for v in xs)                 # room for the slanted names
    fig.update_xaxes(tickangle=-35)
    _style(fig, 300 * len(rows) + 90 + 4 * longest + 45, title)
    return fig.update_layout(margin=dict(b=4 * longest + 85))


def setting_curves_figure(panels: dict, classes=None, log_y=(), title: str | None = None) -> go.Figure:
    """Quantities over training side by side: one panel per quantity, one line per setting.

    ``panels``: panel title (the quantity) -> a pandas table, one row per setting (its name
    the index), one column per recorded step (e.g. a median over seeds); every table lists
    the same settings. ``classes``: optional mapping from a setting to the structure class
    most of its runs end in; its lines then take that class's colour (:data:`CLASS_COLORS`),
    and dashes and marker shapes tell settings of one class apart. ``log_y``: the panel titles whose y axis is
    logarithmic. The step axis is logarithmic, so step 0 is left out.
    """
    if not panels:
        raise ValueError("setting_curves_figure needs at least one panel")
    names = list(panels)
    fig = make_subplots(rows=1, cols=len(names), horizontal_spacing=0.09 if len(names) > 1 else 0.0)
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    symbols = ("circle", "square", "diamond", "triangle-up", "x", "star")   # not by dash alone
    for j, panel in enumerate(names):
        table = panels[panel]
        steps = np.asarray(table.columns, dtype=float)
        keep = steps > 0
        seen: dict = {}                                # lines drawn so far in each colour
        for name, values in table.iterrows():
            color = CLASS_COLORS.get(None if classes is None else classes[name], "#222222")
            k = seen[color] = seen.get(color, -1) + 1
            fig.add_trace(go.Scatter(x=steps[keep], y=np.asarray(values, dtype=float)[keep], mode="lines+markers",
                                     name=str(name), legendgroup=str(name), showlegend=(j == 0),
                                     line=dict(color=color, width=2, dash=dashes[k % len(dashes)]),
                                     marker=dict(color=color, size=7, symbol=symbols[k % len(symbols)])),
                          row=1, col=j + 1)
        fig.update_xaxes(title_text="step", **log_ticks(steps[keep]), row=1, col=j + 1)
        if panel in log_y:
            fig.update_yaxes(title_text=panel, **log_ticks(table.to_numpy(dtype=float)[:, keep]), row=1, col=j + 1)
        else:
            fig.update_yaxes(title_text=panel, type="linear", row=1, col=j + 1)
    fig.update_layout(legend=dict(orientation="h", y=-0.3))
    _style(fig, 400, title)
    return fig.update_layout(margin=dict(b=120))


def relative_bias_figure(rho, classes=None, title: str | None = None) -> go.Figure:
    """How much the biases weigh in the first layer over training: one line per setting.

    ``rho``: a pandas table, one row per setting (its name the index), one column per
    recorded step, of :func:`modadd.studies.biases.relative_bias` (e.g. its mean over seeds).
    ``classes``: as in :func:`setting_curves_figure`, whose one-panel case this is. Both
    axes are logarithmic, so step 0 is left out.
    """
    label = "ρ = RMS(b₁) / RMS(s W₁)"
    fig = setting_curves_figure({label: rho}, classes, log_y=(label,), title=title)
    return fig.update_yaxes(dtick=1)          # rho spans decades: one labelled tick per decade


def rho_outcome_figure(table, columns: dict, threshold: dict | None = None,
                       title: str | None = None) -> go.Figure:
    """Each run as a dot: its relative bias size (log x) against its final circle score,
    coloured by the class it ends in; one panel per column of rho.

    ``table``: one row per run with the columns named in ``columns``, ``circle_score`` and
    ``class`` (and optionally ``cell``, shown on hover). ``columns``: column -> axis title.
    ``threshold``: optional column -> a fitted cut (:func:`modadd.studies.biases.fit_threshold`),
    drawn as a dashed vertical line. Runs with rho = 0 cannot sit on a log axis: leave
    them out.
    """
    names = list(columns)
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.05)
    hover = table["cell"].astype(str) if "cell" in table else None
    for j, col in enumerate(names):
        x = np.asarray(table[col], float)
        if (x <= 0).any():
            raise ValueError(f"rho_outcome_figure: column {col!r} has values <= 0, which a log axis cannot show")
        for cls, color in CLASS_COLORS.items():
            keep = (table["class"] == cls).to_numpy()
            fig.add_trace(go.Scatter(
                x=x[keep], y=table["circle_score"].to_numpy()[keep], mode="markers", name=cls,
                legendgroup=cls, showlegend=(j == 0), marker=dict(color=color, size=6, opacity=0.75),
                text=None if hover is None else hover[keep],
                hovertemplate=cls + (" · %{text}" if hover is not None else "") +
                "<br>ρ %{x:.3g}, circle score %{y:.2f}<extra></extra>"), row=1, col=j + 1)
        if threshold and col in threshold and np.isfinite(threshold[col]) and threshold[col] > 0:
            fig.add_vline(x=threshold[col], line=dict(color="#222", width=1, dash="dash"), row=1, col=j + 1)
        fig.update_xaxes(title_text=columns[col], **log_ticks(x), row=1, col=j + 1)
    fig.update_yaxes(title_text="circle score at the end", col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return _style(fig, 420, title)


def beside(figs: list, widths: list[float] | None = None, title: str | None = None) -> go.Figure:
    """Single-panel figures side by side in one figure (their traces, axis titles and ranges).

    A legend entry is kept once per name, so figures that share trace names (like two
    :func:`class_fraction_figure` panels) share one legend.
    """
    if not figs:
        raise ValueError("beside needs at least one figure")
    fig = make_subplots(rows=1, cols=len(figs), column_widths=widths, shared_yaxes=True,
                        horizontal_spacing=0.04)
    seen = set()
    for j, f in enumerate(figs):
        for tr in f.data:
            tr = go.Figure(tr).data[0]
            if tr.name in seen:
                tr.showlegend = False
            elif tr.showlegend is not False:
                seen.add(tr.name)
            fig.add_trace(tr, row=1, col=j + 1)
        fig.update_xaxes(title_text=f.layout.xaxis.title.text, type=f.layout.xaxis.type, row=1, col=j + 1)
        fig.update_yaxes(range=f.layout.yaxis.range, row=1, col=j + 1)
    fig.update_yaxes(title_text=figs[0].layout.yaxis.title.text, row=1, col=1)
    return _style(fig, max(f.layout.height or 400 for f in figs), title)


def metric_by_class_figure(table, metric: str = "val_acc", by: str | None = None,
                           title: str | None = None, y_title: str | None = None) -> go.Figure:
    """Every run as a dot: ``metric`` for each structure class (optionally split by ``by``)."""
    fig = go.Figure()
    for cls, color in CLASS_COLORS.items():
        sub = table[table["class"] == cls]
        if not len(sub):
            continue
        xs = [f"{cls} ({by}={v})" for v in sub[by]] if by else [cls] * len(sub)
        fig.add_trace(go.Box(x=xs, y=sub[metric], name=cls, marker_color=color, boxpoints="all",
                             jitter=0.5, pointpos=0, line=dict(width=1), fillcolor="rgba(0,0,0,0)",
                             marker=dict(size=4, opacity=0.6)))
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title_text=y_title or metric)
    return _style(fig, 380, title)


def predicted_vs_measured(predictions: dict, measured, hover=None, title: str | None = None,
                          x_title: str = "predicted", y_title: str = "measured") -> go.Figure:
    """Each run as a dot at (predicted, measured), one series per predictor, with the
    diagonal where a prediction is exact.

    ``predictions``: name -> (R,) predicted values (at most two series: the first drawn as
    grey rings, the second in the grid colour); ``measured``: (R,); ``hover``: (R,) text.
    """
    if not predictions or len(predictions) > 2:
        raise ValueError(f"predictions must hold one or two named series, got {len(predictions)}")
    y = np.asarray(measured, float)
    styles = [dict(color="rgba(0,0,0,0)", size=8, line=dict(color=CLASS_COLORS["other"], width=1.5)),
              dict(color=CLASS_COLORS["grid"], size=7, line=dict(color="#222", width=0.6))]
    if len(predictions) == 1:
        styles = styles[1:]
    fig = go.Figure()
    lo, hi = 0.0, 1.0
    for (name, x), style in zip(predictions.items(), styles):
        x = np.asarray(x, float)
        if x.shape != y.shape:
            raise ValueError(f"predictions[{name!r}] has shape {x.shape}, measured has {y.shape}")
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
        fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name=name, marker=style,
                                 text=hover, hovertemplate="%{text}<br>predicted %{x:.2f}, measured %{y:.2f}"
                                 "<extra></extra>" if hover is not None else None))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="prediction = measurement",
                             line=dict(color="#222", width=1, dash="dot"), hoverinfo="skip"))
    fig.update_xaxes(title_text=x_title, range=[lo - 0.03, hi + 0.03], constrain="domain")
    fig.update_yaxes(title_text=y_title, range=[lo - 0.03, hi + 0.03], scaleanchor="x")
    fig.update_layout(legend=dict(orientation="h", y=-0.18))
    return _style(fig, 480, title)


# ---------------------------------------------------------------- forces
def _line_in_box(w: np.ndarray, b: float, e: float):
    """The part of the line ``x . w + b = 0`` inside the square [-e, e]^2: two end points
    ((x0, x1), (y0, y1)), or None when the line misses the square."""
    norm = float(np.hypot(*w))
    if norm == 0:
        return None
    p0, d = -b * w / norm ** 2, np.array([-w[1], w[0]]) / norm
    lo, hi = -np.inf, np.inf
    for k in range(2):                                   # clip t along d to each slab |x_k| <= e
        if abs(d[k]) < 1e-15:
            if abs(p0[k]) > e:
                return None
            continue
        t1, t2 = sorted(((-e - p0[k]) / d[k], (e - p0[k]) / d[k]))
        lo, hi = max(lo, t1), min(hi, t2)
    if lo >= hi:
        return None
    a, z = p0 + lo * d, p0 + hi * d
    return (a[0], z[0]), (a[1], z[1])


def forces_alone_figure(S: np.ndarray, paths: dict, rests: dict, axis: float, nets: dict,
                        title: str | None = None) -> go.Figure:
    """Chapter 4's opening picture, four panels. Top: same-answer sums S (U, 2) under one force
    alone, for "clustering" and "alignment": each sum's path (``paths[force]`` (T, U, 2)) and
    its resting state worked out in closed form (``rests[force]`` (U, 2)), with alignment's
    line through the origin at angle ``axis``. Bottom: two trained networks, ``nets`` =
    {panel title: (S (U, 2) training sums, answers (U,), W1 (2, H), b1 (H,), n)}, their sums
    coloured by answer and every hidden unit's hinge line ``s W1_j + b1_j = 0`` in view."""
    titles = ["clustering alone", "alignment alone", *nets]
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, vertical_spacing=0.1, horizontal_spacing=0.08)
    e0 = _extent(np.concatenate([S, *(np.reshape(q, (-1, 2)) for q in paths.values())]))
    for j, force in enumerate(("clustering", "alignment"), 1):
        path = paths[force]
        for u in range(S.shape[0]):
            fig.add_trace(go.Scatter(x=path[:, u, 0], y=path[:, u, 1], mode="lines", hoverinfo="skip",
                                     line=dict(color="#8a8a8a", width=1.5), showlegend=False), row=1, col=j)
        fig.add_trace(go.Scatter(x=S[:, 0], y=S[:, 1], mode="markers", name="start",
                                 marker=dict(size=10, color="#2a6fdb", line=dict(width=1, color="#222")),
                                 showlegend=j == 1, hovertemplate="start (%{x:.2f}, %{y:.2f})<extra></extra>"),
                      row=1, col=j)
        rest = rests[force]
        fig.add_trace(go.Scatter(x=rest[:, 0], y=rest[:, 1], mode="markers", name="rest (closed form)",
                                 marker=dict(size=14, symbol="circle-open", color="#d9641e", line=dict(width=2.5)),
                                 showlegend=j == 1, hovertemplate="rest (%{x:.2f}, %{y:.2f})<extra></extra>"),
                      row=1, col=j)
    c, s_ = math.cos(axis), math.sin(axis)
    fig.add_trace(go.Scatter(x=[-e0 * c, e0 * c], y=[-e0 * s_, e0 * s_], mode="lines", hoverinfo="skip",
                             line=dict(color="#d9641e", width=1.2, dash="dash"), showlegend=False), row=1, col=2)
    for j, (S_n, answers, W1, b1, n) in enumerate(nets.values(), 1):
        e = _extent(S_n) * 1.1
        xs, ys = [], []
        for k in range(W1.shape[1]):
            seg = _line_in_box(W1[:, k], float(b1[k]), e)
            if seg:
                xs += [*seg[0], None]
                ys += [*seg[1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="hinge lines", hoverinfo="skip",
                                 line=dict(color="#8a8a8a", width=0.8), showlegend=j == 1), row=2, col=j)
        cols = residue_colors(n)
        fig.add_trace(go.Scatter(x=S_n[:, 0], y=S_n[:, 1], mode="markers", showlegend=False,
                                 marker=dict(size=6, color=[cols[a] for a in answers], line=dict(width=0.6, color="#222")),
                                 customdata=answers, hovertemplate="answer %{customdata}<extra></extra>"),
                      row=2, col=j)
        fig.update_xaxes(range=[-e, e], row=2, col=j)
        fig.update_yaxes(range=[-e, e], row=2, col=j)
    for j in (1, 2):
        fig.update_xaxes(range=[-e0, e0], row=1, col=j)
        fig.update_yaxes(range=[-e0, e0], row=1, col=j)
    for r in (1, 2):
        for j in (1, 2):
            fig.update_yaxes(scaleanchor=f"x{'' if (r, j) == (1, 1) else 2 * (r - 1) + j}", row=r, col=j)
    fig.update_xaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_yaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_layout(legend=dict(orientation="h", y=-0.06, x=0.5, xanchor="center"))
    return _style(fig, 820, title)


def _arrow_segments(E: np.ndarray, F: np.ndarray, scale: float):
    """x, y arrays drawing a segment from each point of E along F*scale (None-separated)."""
    xs, ys = [], []
    for (x, y), (u, v) in zip(E, F * scale):
        xs += [x, x + u, None]
        ys += [y, y + v, None]
    return xs, ys


def force_arrows(E: np.ndarray, true_force: np.ndarray, predicted: np.ndarray,
                 title: str | None = None, names=("−gradient (true)", "predicted force")) -> go.Figure:
    """Embeddings E (n, 2) with two arrows each: the true negative gradient and a model's
    force, both scaled by one common factor so their lengths compare."""
    n = len(E)
    longest = max(np.linalg.norm(true_force, axis=1).max(), np.linalg.norm(predicted, axis=1).max(), 1e-12)
    scale = 0.35 * _extent(E) / longest
    fig = go.Figure()
    for F, name, color, width in ((true_force, names[0], "#222222", 2.5), (predicted, names[1], "#d9641e", 2)):
        xs, ys = _arrow_segments(E, F, scale)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=color, width=width),
                                 hoverinfo="skip"))
        tips = E + F * scale
        fig.add_trace(go.Scatter(x=tips[:, 0], y=tips[:, 1], mode="markers", showlegend=False,
                                 marker=dict(size=5, color=color), hoverinfo="skip"))
    fig.add_trace(_embedding_trace(E, residue_colors(n)))
    e = _extent(E) * 1.3
    fig.update_xaxes(range=[-e, e], zeroline=True, zerolinecolor="#ccc", showgrid=False, constrain="domain")
    fig.update_yaxes(range=[-e, e], zeroline=True, zerolinecolor="#ccc", showgrid=False, scaleanchor="x",
                     constrain="domain")
    fig.update_layout(legend=dict(orientation="h", y=-0.08))
    return _style(fig, 460, title)


#: The force figures' colours: what a model predicts in orange (as in :func:`force_arrows`),
#: its shuffled-answer baseline in grey; the two families in the colour of the structure
#: each mostly grows (:data:`CLASS_COLORS`): no biases, circles; biases, grids.
FIT_COLOR = "#d9641e"
BASELINE_COLOR = "#8a8a8a"
FAMILY_COLORS = {"no biases": CLASS_COLORS["circle"], "biases": CLASS_COLORS["grid"]}


def explained_curves(curves: dict, title: str | None = None) -> go.Figure:
    """Explained fraction over training, one panel per run, beside its shuffled baseline.

    ``curves`` maps a panel title to :func:`modadd.forces.explained_over_history` output
    (columns ``step, r2, r2_shuffled``); step 0 is left out (log axis)."""
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict title -> explained_over_history table")
    fig = make_subplots(rows=1, cols=len(curves), subplot_titles=list(curves), shared_yaxes=True)
    steps = []
    for j, c in enumerate(curves.values()):
        c = c[c.step > 0]
        steps.extend(c.step)
        for col, label, color, dash in (("r2", "clustering + alignment", FIT_COLOR, None),
                                        ("r2_shuffled", "same, answers shuffled", BASELINE_COLOR, "dash")):
            fig.add_trace(go.Scatter(x=c.step, y=c[col], name=label, legendgroup=label, showlegend=j == 0,
                                     line=dict(color=color, dash=dash)), row=1, col=j + 1)
    fig.update_xaxes(title_text="step", **log_ticks(steps))
    fig.update_yaxes(title_text="R² of the symmetry-free gradient", col=1, range=[0, 1])
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return _style(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


def force_law_figure(laws: dict, title: str | None = None) -> go.Figure:
    """The measured force law beside the assumed forms (:func:`modadd.forces.force_law`).

    ``laws`` maps a family name ("no biases", "biases") to its :class:`modadd.forces.ForceLaw`;
    one row of panels per family. Left: the pull toward a partner (> 0) against distance,
    in units of the window sigma, for partners with the same answer (filled markers) and
    with a different one (open markers), beside the assumed clustering (dashed) and
    repulsion (dotted) forms fitted to the same data; right: the turn toward a partner's
    line against the angle between the two lines, beside the fitted ``sin(2 dtheta) / 2``.
    Error bars: 95% bootstrap intervals over runs."""
    if not isinstance(laws, dict) or not laws:
        raise ValueError("laws must be a non-empty dict family -> ForceLaw")
    fams = list(laws)
    titles = [f"{fam}: {what}" for fam in fams for what in ("pull toward a partner", "turn toward its line")]
    fig = make_subplots(rows=len(fams), cols=2, horizontal_spacing=0.1, vertical_spacing=0.16,
                        subplot_titles=titles)
    for i, fam in enumerate(fams):
        law, color = laws[fam], FAMILY_COLORS.get(fam, "#222222")
        for j, kind in enumerate(("distance", "angle")):
            for pair, symbol in (("same answer", "circle"), ("different answer", "circle-open")):
                k = law.kernel(kind, pair)
                fig.add_trace(go.Scatter(
                    x=k.centre, y=k.value, mode="markers", name=pair, legendgroup=pair,
                    showlegend=i == 0 and j == 0, marker=dict(color=color, size=8, symbol=symbol),
                    error_y=dict(type="data", symmetric=False, array=k.ci_hi - k.value,
                                 arrayminus=k.value - k.ci_lo, color=color, thickness=1.2, width=3),
                    customdata=k["count"], hovertemplate="%{y:.3f} (%{customdata} interactions)<extra></extra>"),
                    row=i + 1, col=j + 1)
            x = np.linspace(0, law.kernel(kind).hi.max(), 100)
            curves = [("assumed form, same answer", "same answer", "dash")]
            if kind == "distance":
                curves.append(("assumed form, different answer", "different answer", "dot"))
            for name, pair, dash in curves:
                fig.add_trace(go.Scatter(x=x, y=law.assumed_curve(kind, x, pair), mode="lines", name=name,
                                         legendgroup=name, showlegend=i == 0 and (j == 0),
                                         line=dict(color=color, dash=dash), hoverinfo="skip"),
                              row=i + 1, col=j + 1)
        fig.update_xaxes(title_text="distance / σ", row=i + 1, col=1)
        fig.update_xaxes(title_text="angle between the two lines (rad)", row=i + 1, col=2)
        fig.update_yaxes(title_text="strength", row=i + 1, col=1)
    fig.add_hline(y=0, line=dict(color="#bbb", width=1))
    fig.update_layout(legend=dict(orientation="h", y=-0.12))
    return _style(fig, 380 * len(fams) + 60, title).update_layout(margin=dict(t=60 if title else 40))


def coefficient_figure(coefficients, summary, title: str | None = None) -> go.Figure:
    """Fitted force coefficients, one marker per run, with the mean and its 95% interval.

    ``coefficients``: one row per run and force (:attr:`modadd.forces.HonestFit.coefficients`,
    one ``symmetries`` and ``labels`` chosen by the caller), columns ``family, force, seed,
    coef``; ``summary``: the matching rows of :attr:`modadd.forces.HonestFit.summary`
    (``family, force, mean, lo, hi, negative, runs``). One panel per family, the forces
    along x; runs as small open markers, the mean as a large filled one with its interval,
    in the family's colour; the zero line marks the wrong sign (below)."""
    need_c, need_s = {"family", "force", "seed", "coef"}, {"family", "force", "mean", "lo", "hi", "negative", "runs"}
    if not need_c <= set(getattr(coefficients, "columns", [])) or not need_s <= set(getattr(summary, "columns", [])):
        raise ValueError(f"coefficients needs the columns {sorted(need_c)}, summary {sorted(need_s)}")
    fams = list(dict.fromkeys(coefficients["family"]))
    fig = make_subplots(rows=1, cols=len(fams), subplot_titles=fams, shared_yaxes=True, horizontal_spacing=0.06)
    for j, fam in enumerate(fams):
        color = FAMILY_COLORS.get(fam, "#222222")
        c = coefficients[coefficients.family == fam]
        names = list(dict.fromkeys(c["force"]))
        jitter = np.random.default_rng(0).uniform(-0.32, -0.08, len(c))      # runs left, mean right
        fig.add_trace(go.Scatter(x=[names.index(f) + d for f, d in zip(c["force"], jitter)], y=c["coef"],
                                 mode="markers", name="one run", legendgroup="run", showlegend=j == 0,
                                 marker=dict(color=color, size=6, symbol="circle-open"),
                                 customdata=c["seed"], hovertemplate="seed %{customdata}: %{y:.3f}<extra></extra>"),
                      row=1, col=j + 1)
        s = summary[summary.family == fam].set_index("force").reindex(names)
        fig.add_trace(go.Scatter(x=[i + 0.12 for i in range(len(names))], y=s["mean"], mode="markers",
                                 name="mean, 95% interval",
                                 legendgroup="mean", showlegend=j == 0, marker=dict(color=color, size=12),
                                 error_y=dict(type="data", symmetric=False, array=s["hi"] - s["mean"],
                                              arrayminus=s["mean"] - s["lo"], color=color, thickness=2, width=8),
                                 customdata=np.stack([s["negative"], s["runs"]], 1),
                                 hovertemplate="mean %{y:.3f}; %{customdata[0]} of %{customdata[1]} runs "
                                               "below 0<extra></extra>"), row=1, col=j + 1)
        fig.update_xaxes(tickvals=list(range(len(names))), ticktext=names, range=[-0.6, len(names) - 0.4],
                         row=1, col=j + 1)
    fig.add_hline(y=0, line=dict(color="#bbb", width=1))
    fig.update_yaxes(title_text="coefficient (unit force → unit gradient)", col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _style(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


def hinge_switching_figure(table, title: str | None = None) -> go.Figure:
    """Share of hidden units switched between two sums (:func:`modadd.forces.hinge_switching`),
    by distance (all pairs: solid; pairs pointing the same way: dotted) and by angle, per family."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, shared_yaxes=True,
                        subplot_titles=("by distance", "by angle between directions"))
    for fam, sub in table.groupby("family", sort=False):
        color = FAMILY_COLORS.get(fam, "#222222")
        for kind, col, dash in (("distance", 1, None), ("distance, same direction", 1, "dot"), ("angle", 2, None)):
            k = sub[sub.kind == kind].groupby("centre").switched.mean().reset_index()
            label = fam if kind != "distance, same direction" else f"{fam}, same direction"
            fig.add_trace(go.Scatter(x=k.centre, y=k.switched, mode="lines+markers", name=label,
                                     legendgroup=label, showlegend=kind != "angle",
                                     line=dict(color=color, dash=dash), marker=dict(size=6)), row=1, col=col)
    fig.update_xaxes(title_text="distance / σ", row=1, col=1)
    fig.update_xaxes(title_text="angle (rad)", row=1, col=2)
    fig.update_yaxes(title_text="share of hidden units switched", range=[0, 1], row=1, col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.22))
    return _style(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


#: Same start (filled) against unrelated start (open), in :func:`agreement_figure`.
START_SYMBOLS = {"same start": "circle", "unrelated start": "circle-open"}


def agreement_figure(table, title: str | None = None) -> go.Figure:
    """Share of seeds where network and particles agree, with 95% intervals, per family.

    ``table``: long, one row per family, start and measure, with columns ``family``,
    ``start`` ("same start" or "unrelated start"), ``measure`` (one of
    :data:`modadd.studies.agreement.MEASURES`), ``share``, ``lo``, ``hi``, ``agree``, ``of``
    (:func:`modadd.studies.agreement.agreement` rows). Families take the colour of the structure
    they mostly grow (:data:`FAMILY_COLORS`); the same start is filled, the unrelated one open.
    """
    need = {"family", "start", "measure", "share", "lo", "hi", "agree", "of"}
    if not need <= set(getattr(table, "columns", [])):
        raise ValueError(f"table needs the columns {sorted(need)}")
    measures = list(dict.fromkeys(table["measure"]))
    fig = go.Figure()
    fams = list(dict.fromkeys(table["family"]))
    for i, fam in enumerate(fams):
        for j, (start, symbol) in enumerate(START_SYMBOLS.items()):
            s = table[(table.family == fam) & (table.start == start)].set_index("measure").reindex(measures)
            keep = s["of"] > 0
            s = s[keep]
            off = (i - (len(fams) - 1) / 2) * 0.3 + (j - 0.5) * 0.12
            color = FAMILY_COLORS.get(fam, "#222222")
            fig.add_trace(go.Scatter(
                x=[measures.index(m) + off for m in s.index], y=s["share"], mode="markers",
                name=f"{fam}, {start}", marker=dict(color=color, size=10, symbol=symbol, line=dict(width=2, color=color)),
                error_y=dict(type="data", symmetric=False, array=s["hi"] - s["share"],
                             arrayminus=s["share"] - s["lo"], color=color, thickness=1.2, width=3),
                customdata=np.stack([s["agree"], s["of"]], 1),
                hovertemplate="%{customdata[0]} of %{customdata[1]} seeds<extra></extra>"))
    fig.update_xaxes(tickvals=list(range(len(measures))), ticktext=[f"same {m}" for m in measures],
                     range=[-0.6, len(measures) - 0.4])
    fig.update_yaxes(range=[-0.03, 1.03], title_text="share of seeds that agree")
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _style(fig, 400, title).update_layout(margin=dict(b=110))


def score_race_figure(table, title: str | None = None) -> go.Figure:
    """A structure score over each run, network against particles, one panel per family.

    ``table``: long, with columns ``family``, ``who`` ("network" or "particles"),
    ``fraction`` (of the run, 0 to 1), ``score`` (the name of the score drawn),
    ``median``, ``lo``, ``hi`` (e.g. the quartiles over seeds). The network is a solid line,
    the particles a dashed one, both in the family's colour; the band spans lo to hi.
    """
    need = {"family", "who", "fraction", "score", "median", "lo", "hi"}
    if not need <= set(getattr(table, "columns", [])):
        raise ValueError(f"table needs the columns {sorted(need)}")
    fams = list(dict.fromkeys(table["family"]))
    titles = [f"{fam}: {table[table.family == fam]['score'].iloc[0]}" for fam in fams]
    fig = make_subplots(rows=1, cols=len(fams), subplot_titles=titles, shared_yaxes=True,
                        horizontal_spacing=0.05)
    for j, fam in enumerate(fams):
        color = FAMILY_COLORS.get(fam, "#222222")
        for who, dash in (("network", None), ("particles", "dash")):
            s = table[(table.family == fam) & (table.who == who)].sort_values("fraction")
            x = list(s["fraction"])
            fig.add_trace(go.Scatter(x=x + x[::-1], y=list(s["hi"]) + list(s["lo"])[::-1], fill="toself",
                                     fillcolor=color, opacity=0.12 if who == "network" else 0.07,
                                     line=dict(width=0), hoverinfo="skip", showlegend=False), row=1, col=j + 1)
            fig.add_trace(go.Scatter(x=x, y=s["median"], mode="lines+markers", name=who, legendgroup=who,
                                     showlegend=j == 0, line=dict(color=color, dash=dash), marker=dict(size=5)),
                          row=1, col=j + 1)
    fig.update_xaxes(title_text="fraction of the run", range=[0, 1])
    fig.update_yaxes(range=[0, 1.03], title_text="score (median, band: quartiles)", col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return _style(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))
