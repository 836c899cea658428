"""Colour difference and colour-blindness simulation for the palette tests (numpy only).

* CIEDE2000 (Sharma, Wu and Dalal 2005), checked against their published test pairs;
* sRGB (D65) to CIELAB;
* colour-vision deficiency by Machado, Oliveira and Fernandes (2009), severity 1, applied to
  linear sRGB: protanopia, deuteranopia, tritanopia.
tests/js/view.test.mjs has the same in JavaScript for the widget's palette.
"""
from __future__ import annotations

import numpy as np

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])

#: Sharma et al.'s test pairs (Lab 1, Lab 2, CIEDE2000).
SHARMA = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
          ((50, 0, 0), (50, -1, 2), 2.3669), ((50, 2.5, 0), (73, 25, -18), 27.1492),
          ((50, 2.5, 0), (61, -5, 29), 22.8977), ((50, 2.5, 0), (56, -27, -3), 31.9030),
          ((50, 2.5, 0), (58, 24, 15), 19.4535)]


def hex_to_rgb(colors: list[str]) -> np.ndarray:
    """'#rrggbb' strings to an (n, 3) array in [0, 1]."""
    return np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in colors])


def _linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _gamma(c):
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.abs(c) ** (1 / 2.4) - 0.055)


def simulate(rgb: np.ndarray, vision: str) -> np.ndarray:
    """sRGB (n, 3) in [0, 1] as seen with ``vision`` ("normal" or a key of MACHADO)."""
    if vision == "normal":
        return rgb
    return np.clip(_gamma(np.clip(_linear(rgb) @ np.array(MACHADO[vision]).T, 0, 1)), 0, 1)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    xyz = _linear(rgb) @ _RGB_TO_XYZ.T / _D65
    d = 6 / 29
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between Lab colours (..., 3), broadcast."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    Cb = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    G = 0.5 * (1 - np.sqrt(Cb ** 7 / (Cb ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    zero = C1p * C2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lbp, Cbp, hs = (L1 + L2) / 2, (C1p + C2p) / 2, h1p + h2p
    hbp = np.where(np.abs(h1p - h2p) > 180, np.where(hs < 360, (hs + 360) / 2, (hs - 360) / 2), hs / 2)
    hbp = np.where(zero, hs, hbp)
    T = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))
    dth = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    RC = 2 * np.sqrt(Cbp ** 7 / (Cbp ** 7 + 25.0 ** 7))
    SL = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    SC, SH = 1 + 0.045 * Cbp, 1 + 0.015 * Cbp * T
    RT = -np.sin(np.radians(2 * dth)) * RC
    dL, dC, dH = (L2 - L1) / SL, (C2p - C1p) / SC, dHp / SH
    return np.sqrt(dL ** 2 + dC ** 2 + dH ** 2 + RT * dC * dH)


def palette_floors(colors: list[str], vision: str) -> tuple[float, float]:
    """(smallest CIEDE2000 between neighbouring residues, 0 and n-1 included; smallest between any two)."""
    lab = rgb_to_lab(simulate(hex_to_rgb(colors), vision))
    neighbours = ciede2000(lab, np.roll(lab, -1, axis=0)).min()
    d = ciede2000(lab[:, None], lab[None])
    d[np.eye(len(lab), dtype=bool)] = np.inf
    return float(neighbours), float(d.min())
