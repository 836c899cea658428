"""The book's look, shared by every figure: one cyclic colour scale for residues mod n
(:func:`residue_colors`), the class colours, a white background that stays readable in the
site's dark mode (:func:`themed`), and logarithmic axes labelled in powers of ten."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..analysis.structure import CLASSES
from ..core.data import check_n

FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13, color="#222")
CONFIG = {"displaylogo": False, "responsive": True}


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


def themed(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(template="plotly_white", paper_bgcolor="white", plot_bgcolor="white",
                      font=FONT, height=height, margin=dict(l=50, r=20, t=60 if title else 30, b=40),
                      title=dict(text=title, x=0.5) if title else None)
    return fig


CLASS_COLORS = dict(zip(CLASSES, ("#2a6fdb", "#d9641e", "#8a8a8a")))  # circle, grid, other




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


