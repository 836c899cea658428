"""Training over time: a run's curves, and the dynamics as plotly animations (frames, a play
button and a slider, which work on the static site with no kernel)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core.model import Params
from ..core.train import History
from .embeddings import decision_grid, embedding_trace, extent, panel_ranges, panel_traces, two_panels
from .theme import residue_colors, themed


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
    return themed(fig, 360, title)



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
    ext = np.array([2 * extent(e) for e in E])
    xs, cls = decision_grid(P, ext, res)
    fig = two_panels(title, height=520)
    names = [str(int(h.steps[i])) for i in idx]
    frame_list = []
    for k in range(len(idx)):
        traces = panel_traces(E[k], xs[k], cls[k], n)
        frame_list.append(go.Frame(name=names[k], data=traces, traces=[0, 1, 2],
                                   layout=panel_ranges(E[k])))
    for tr, col in zip(frame_list[-1].data, (1, 2, 2)):
        fig.add_trace(tr, row=1, col=col)
    fig.update_layout(panel_ranges(E[-1]))
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
            traces.append(embedding_trace(E[i], colors))
            e = extent(E[i] - E[i].mean(0)) * 1.1
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
    themed(fig, 470 if nrow == 1 else 60 + 330 * nrow, title)
    return _animate(fig, names, prefix="steps " if any(" · " in nm for nm in names) else "step ")
