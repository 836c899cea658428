// The live widget's view helpers that need no DOM: the residue colours.
// Run: node --test tests/js/   (scripts/test.sh does)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { residueHex, residueRGB } from "../../src/modadd/web/view.js";

const PYTHON = process.env.MODADD_PYTHON || ".venv/bin/python";

test("residue colours are modadd.plots.residue_colors, at every N the widgets offer", () => {
  const ns = Array.from({ length: 91 }, (_, i) => i + 7);
  const py = JSON.parse(execFileSync(PYTHON, ["-c",
    `import json; from modadd.plots import residue_colors; print(json.dumps({n: residue_colors(n) for n in ${JSON.stringify(ns)}}))`],
    { encoding: "utf8" }));
  for (const n of ns) {
    const js = Array.from({ length: n }, (_, r) => residueHex(r, n));
    assert.deepEqual(js, py[String(n)].map((c) => c.toLowerCase()), `N=${n}`);
  }
});

// ---- colour difference (CIEDE2000, Sharma, Wu and Dalal 2005) and colour-blindness
// simulation (Machado, Oliveira and Fernandes 2009, severity 1, on linear sRGB); the same as
// tests/unit/colour_vision.py.
const MACHADO = {
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
};
const lin = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const gam = (c) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const clip = (v) => Math.min(1, Math.max(0, v));
function simulate(rgb, vision) {                       // rgb in [0, 1]
  if (vision === "normal") return rgb;
  const l = rgb.map(lin);
  return MACHADO[vision].map((row) => clip(gam(clip(row[0] * l[0] + row[1] * l[1] + row[2] * l[2]))));
}
function lab(rgb) {
  const M = [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]];
  const W = [0.95047, 1.0, 1.08883], l = rgb.map(lin), d = 6 / 29;
  const f = M.map((row, i) => { const t = (row[0] * l[0] + row[1] * l[1] + row[2] * l[2]) / W[i]; return t > d ** 3 ? Math.cbrt(t) : t / (3 * d * d) + 4 / 29; });
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}
const rad = (x) => (x * Math.PI) / 180, deg = (x) => (x * 180) / Math.PI;
function ciede2000([L1, a1, b1], [L2, a2, b2]) {
  const Cb = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2, G = 0.5 * (1 - Math.sqrt(Cb ** 7 / (Cb ** 7 + 25 ** 7)));
  const a1p = (1 + G) * a1, a2p = (1 + G) * a2, C1p = Math.hypot(a1p, b1), C2p = Math.hypot(a2p, b2);
  const h1p = (deg(Math.atan2(b1, a1p)) + 360) % 360, h2p = (deg(Math.atan2(b2, a2p)) + 360) % 360, zero = C1p * C2p === 0;
  let dh = h2p - h1p; dh = dh > 180 ? dh - 360 : dh < -180 ? dh + 360 : dh; if (zero) dh = 0;
  const dHp = 2 * Math.sqrt(C1p * C2p) * Math.sin(rad(dh / 2)), Lbp = (L1 + L2) / 2, Cbp = (C1p + C2p) / 2, hs = h1p + h2p;
  let hbp = Math.abs(h1p - h2p) > 180 ? (hs < 360 ? (hs + 360) / 2 : (hs - 360) / 2) : hs / 2; if (zero) hbp = hs;
  const T = 1 - 0.17 * Math.cos(rad(hbp - 30)) + 0.24 * Math.cos(rad(2 * hbp)) + 0.32 * Math.cos(rad(3 * hbp + 6)) - 0.20 * Math.cos(rad(4 * hbp - 63));
  const dth = 30 * Math.exp(-(((hbp - 275) / 25) ** 2)), RC = 2 * Math.sqrt(Cbp ** 7 / (Cbp ** 7 + 25 ** 7));
  const SL = 1 + (0.015 * (Lbp - 50) ** 2) / Math.sqrt(20 + (Lbp - 50) ** 2), SC = 1 + 0.045 * Cbp, SH = 1 + 0.015 * Cbp * T;
  const RT = -Math.sin(rad(2 * dth)) * RC, dL = (L2 - L1) / SL, dC = (C2p - C1p) / SC, dH = dHp / SH;
  return Math.sqrt(dL ** 2 + dC ** 2 + dH ** 2 + RT * dC * dH);
}
/** [smallest CIEDE2000 between neighbours (n-1 and 0 too), smallest between any two]. */
function floors(rgbs, vision) {
  const L = rgbs.map((c) => lab(simulate(c.map((v) => v / 255), vision)));
  let nb = Infinity, all = Infinity;
  for (let i = 0; i < L.length; i++) {
    nb = Math.min(nb, ciede2000(L[i], L[(i + 1) % L.length]));
    for (let j = i + 1; j < L.length; j++) all = Math.min(all, ciede2000(L[i], L[j]));
  }
  return [nb, all];
}

test("CIEDE2000 matches Sharma et al.'s test pairs", () => {
  for (const [a, b, want] of [[[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425], [[50, 0, 0], [50, -1, 2], 2.3669],
                              [[50, 2.5, 0], [73, 25, -18], 27.1492], [[50, 2.5, 0], [56, -27, -3], 31.9030]]) {
    assert.ok(Math.abs(ciede2000(a, b) - want) < 1e-4, `${a} vs ${b}: ${ciede2000(a, b)} != ${want}`);
  }
});

// Floors as tests/unit/test_plots.py: every two residues at N = 17 >= 9.5 (measured 10.0,
// 9.8, 9.8), neighbours at every N >= 140 / N, normal vision, deuteranopia and protanopia.
for (const vision of ["normal", "deuteranopia", "protanopia"]) {
  test(`the widget's residue colours stay apart (CIEDE2000), ${vision}`, () => {
    const at = (n) => Array.from({ length: n }, (_, r) => residueRGB(r, n));
    assert.ok(floors(at(17), vision)[1] >= 9.5, `N=17, ${vision}: ${floors(at(17), vision)[1]}`);
    for (const n of [7, 11, 17, 23, 31, 41, 59, 97]) {
      const [nb] = floors(at(n), vision);
      assert.ok(nb >= 140 / n, `N=${n}, ${vision}: neighbours ${nb.toFixed(2)} apart`);
    }
  });
}

test("the floor can fail: the old hue wheel fails it under deuteranopia", () => {
  const hls = (h, l, s) => {                          // colorsys.hls_to_rgb
    const m2 = l <= 0.5 ? l * (1 + s) : l + s - l * s, m1 = 2 * l - m2;
    const v = (x) => { x = ((x % 1) + 1) % 1; return x < 1 / 6 ? m1 + (m2 - m1) * x * 6 : x < 0.5 ? m2 : x < 2 / 3 ? m1 + (m2 - m1) * (2 / 3 - x) * 6 : m1; };
    return [v(h + 1 / 3), v(h), v(h - 1 / 3)].map((c) => Math.round(c * 255));
  };
  const old = Array.from({ length: 17 }, (_, r) => hls(r / 17, 0.47, 0.8));
  assert.ok(floors(old, "deuteranopia")[1] < 1);
});
