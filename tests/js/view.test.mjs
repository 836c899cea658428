// The live widget's pure view helpers (no DOM): the decision-region sweep and the colours.
// Run: node --test tests/js/   (scripts/test.sh does)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { decisionRegions, residueHex } from "../../src/modadd/web/view.js";

const PYTHON = process.env.MODADD_PYTHON || ".venv/bin/python";

function rng(seed) {          // small deterministic generator for test data
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function bruteForce(W1, b1, W2, b2, n, H, x0, y0, dx, dy, W, Hpx) {
  const out = new Uint16Array(W * Hpx), h = new Float64Array(H);
  for (let k = 0; k < Hpx; k++) for (let i = 0; i < W; i++) {
    const x = x0 + (i + 0.5) * dx, y = y0 - (k + 0.5) * dy;
    for (let j = 0; j < H; j++) h[j] = Math.max(0, x * W1[j] + y * W1[H + j] + (b1 ? b1[j] : 0));
    let best = 0, bv = -Infinity;
    for (let c = 0; c < n; c++) {
      let v = b2 ? b2[c] : 0;
      for (let j = 0; j < H; j++) v += h[j] * W2[j * n + c];
      if (v > bv) { bv = v; best = c; }
    }
    out[k * W + i] = best;
  }
  return out;
}

for (const [bias, n, H, seed] of [[true, 17, 64, 1], [false, 17, 64, 2], [true, 11, 8, 3], [false, 97, 64, 4]]) {
  test(`decisionRegions equals the per-pixel argmax (bias=${bias}, n=${n}, H=${H})`, () => {
    const r = rng(seed), u = () => 2 * r() - 1;
    const W1 = Float64Array.from({ length: 2 * H }, u), W2 = Float64Array.from({ length: H * n }, u);
    const b1 = bias ? Float64Array.from({ length: H }, u) : null, b2 = bias ? Float64Array.from({ length: n }, u) : null;
    const W = 73, Hpx = 61, args = [W1, b1, W2, b2, n, H, -2, 2, 4 / W, 4 / Hpx, W, Hpx];
    const fast = decisionRegions(...args, new Uint16Array(W * Hpx));
    const slow = bruteForce(...args);
    let differ = 0;
    for (let i = 0; i < fast.length; i++) differ += fast[i] !== slow[i];
    assert.equal(differ, 0, `${differ} of ${fast.length} pixels differ`);
    assert.ok(new Set(slow).size > 1, "the test image shows more than one class");
  });
}

test("residue colours are modadd.plots.residue_colors", () => {
  const ns = [7, 17, 97];
  const py = JSON.parse(execFileSync(PYTHON, ["-c",
    `import json; from modadd.plots import residue_colors; print(json.dumps({n: residue_colors(n) for n in ${JSON.stringify(ns)}}))`],
    { encoding: "utf8" }));
  for (const n of ns) {
    const js = Array.from({ length: n }, (_, r) => residueHex(r, n));
    assert.deepEqual(js, py[String(n)].map((c) => c.toLowerCase()));
  }
});
