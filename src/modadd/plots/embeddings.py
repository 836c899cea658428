"""Embeddings on the page: chapter 1's addition table, the demo's two panels (embeddings |
sums over the decision regions, :func:`model_view`) and a gallery of final embeddings."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..core.data import check_n, unordered_pairs
from ..core.model import Params, mlp
from .theme import residue_colors, residue_colorscale, themed


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
    return themed(fig, 560)


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


def extent(E: np.ndarray) -> float:
    """Half-width of a square view around the origin that holds all points of E (…, 2)."""
    return float(np.abs(E).max()) * 1.15 + 1e-6


def embedding_trace(E: np.ndarray, colors: list[str], size: int = 10) -> go.Scatter:
    """One embedding (n, 2) as labelled points coloured by residue (markers ``size`` px)."""
    n = len(E)
    return go.Scatter(x=E[:, 0], y=E[:, 1], mode="markers+text", text=[str(r) for r in range(n)],
                      textposition="top center", textfont=dict(size=size, color="#222"), showlegend=False,
                      marker=dict(size=size, color=colors, line=dict(width=size / 10, color="#222")),
                      hovertemplate="E_%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>")


def panel_traces(E: np.ndarray, xs: np.ndarray, cls: np.ndarray, n: int) -> list:
    """Traces of the two panels for one model: embeddings, region heatmap, sum vectors."""
    cols = residue_colors(n)
    pairs, _ = unordered_pairs(n)
    a, b = pairs[:, 0].numpy(), pairs[:, 1].numpy()
    S = E[a] + E[b]
    ans = (a + b) % n
    emb = embedding_trace(E, cols, size=11)
    bg = go.Heatmap(x=xs, y=xs, z=cls, colorscale=residue_colorscale(n, 0.55), zmin=-0.5, zmax=n - 0.5,
                    showscale=False, hovertemplate="predicts %{z}<extra></extra>")
    sums = go.Scatter(
        x=S[:, 0], y=S[:, 1], mode="markers",
        marker=dict(size=7, color=[cols[k] for k in ans], line=dict(width=0.8, color="#222")),
        customdata=np.stack([a, b, ans], 1),
        hovertemplate="E_%{customdata[0]} + E_%{customdata[1]}<br>answer %{customdata[2]}<extra></extra>",
        showlegend=False)
    return [emb, bg, sums]


def two_panels(title: str | None, height: int = 470) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("embeddings E_a", "sums E_a + E_b, predicted class"))
    fig.update_xaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_yaxes(zeroline=True, zerolinecolor="#bbb", showgrid=False, constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    return themed(fig, height, title)


def panel_ranges(E: np.ndarray) -> dict:
    e = extent(E)
    return {"xaxis": {"range": [-e, e]}, "yaxis": {"range": [-e, e]},
            "xaxis2": {"range": [-2 * e, 2 * e]}, "yaxis2": {"range": [-2 * e, 2 * e]}}


def model_view(p: Params, title: str | None = None, res: int = 81) -> go.Figure:
    """The demo's view of one model (a batch of one): embeddings | sums over decision regions."""
    E = p.E[0].detach().numpy()
    n = E.shape[0]
    xs, cls = decision_grid(p, 2 * extent(E), res)
    fig = two_panels(title)
    for tr, col in zip(panel_traces(E, xs[0], cls[0], n), (1, 2, 2)):
        fig.add_trace(tr, row=1, col=col)
    fig.update_layout(panel_ranges(E))
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
        trace = embedding_trace(E[k], colors, size=8)
        if thumbs:
            trace.update(mode="markers", marker_size=7, hovertemplate="residue %{text}<extra></extra>")
        fig.add_trace(trace, row=r + 1, col=c + 1)
        e = extent(E[k])
        ax = "" if k == 0 else str(k + 1)
        fig.update_layout({f"xaxis{ax}": {"range": [-e, e]},
                           f"yaxis{ax}": {"range": [-e, e], "scaleanchor": f"x{ax}"}})
    fig.update_xaxes(showticklabels=False, showgrid=False, zerolinecolor="#ccc")
    fig.update_yaxes(showticklabels=False, showgrid=False, zerolinecolor="#ccc")
    fig.update_annotations(font_size=13)
    return themed(fig, (250 if cols <= 3 else 190) * rows + 40)
