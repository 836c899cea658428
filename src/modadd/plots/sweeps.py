"""Sweeps: how often each class forms across settings, and measures set against class."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import CLASS_COLORS, log_ticks, themed


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
        return themed(fig, 300 * len(rows) + 90, title)
    longest = max(len(str(v)) for v in xs)                 # room for the slanted names
    fig.update_xaxes(tickangle=-35)
    themed(fig, 300 * len(rows) + 90 + 4 * longest + 45, title)
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
    themed(fig, 400, title)
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
    return themed(fig, 420, title)


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
    return themed(fig, max(f.layout.height or 400 for f in figs), title)


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
    return themed(fig, 380, title)


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
    return themed(fig, 480, title)
