"""Forces and particles: force arrows, explained fractions, the force law, fitted
coefficients, and how networks and particles from one start agree."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .embeddings import embedding_trace, extent
from .theme import CLASS_COLORS, log_ticks, residue_colors, themed


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
    e0 = extent(np.concatenate([S, *(np.reshape(q, (-1, 2)) for q in paths.values())]))
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
        e = extent(S_n) * 1.1
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
    return themed(fig, 820, title)


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
    scale = 0.35 * extent(E) / longest
    fig = go.Figure()
    for F, name, color, width in ((true_force, names[0], "#222222", 2.5), (predicted, names[1], "#d9641e", 2)):
        xs, ys = _arrow_segments(E, F, scale)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=color, width=width),
                                 hoverinfo="skip"))
        tips = E + F * scale
        fig.add_trace(go.Scatter(x=tips[:, 0], y=tips[:, 1], mode="markers", showlegend=False,
                                 marker=dict(size=5, color=color), hoverinfo="skip"))
    fig.add_trace(embedding_trace(E, residue_colors(n)))
    e = extent(E) * 1.3
    fig.update_xaxes(range=[-e, e], zeroline=True, zerolinecolor="#ccc", showgrid=False, constrain="domain")
    fig.update_yaxes(range=[-e, e], zeroline=True, zerolinecolor="#ccc", showgrid=False, scaleanchor="x",
                     constrain="domain")
    fig.update_layout(legend=dict(orientation="h", y=-0.08))
    return themed(fig, 460, title)


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
    return themed(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


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
    return themed(fig, 380 * len(fams) + 60, title).update_layout(margin=dict(t=60 if title else 40))


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
    return themed(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


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
    return themed(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))


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
    return themed(fig, 400, title).update_layout(margin=dict(b=110))


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
    return themed(fig, 380, title).update_layout(margin=dict(t=60 if title else 40))
