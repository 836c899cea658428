// The decision regions: the network's predicted class on a pixel grid of the plane of sum
// vectors, by sweeping each pixel row across the hidden units' hinges. No DOM.

import { coreFail, coreMatrix, coreObject, coreShow } from "./checks.js";
import { Trainer } from "./trainer.js";

// ------------------------------------------------------------------ decision regions

function coreNet(params) {
  if (params instanceof Trainer) {
    return { n: params.n, H: params.H, W1: params.W1, b1: params.b1, W2: params.W2, b2: params.b2 };
  }
  coreObject("params", params);
  const W1n = params.W1, W2n = params.W2;
  if (!W1n || !W2n || !W1n[0] || !W2n[0] || typeof W1n[0].length !== "number" || typeof W2n[0].length !== "number") {
    coreFail("params must be a Trainer or nested arrays {W1 (2 x H), b1 (H)?, W2 (H x n), b2 (n)?}");
  }
  const H = W1n[0].length, n = W2n[0].length;
  const W1 = new Float64Array(2 * H), W2 = new Float64Array(H * n);
  coreMatrix("params.W1", W1n, 2, H, W1, 0);
  coreMatrix("params.W2", W2n, H, n, W2, 0);
  let b1 = null, b2 = null;
  if (params.b1 != null) { b1 = new Float64Array(H); coreMatrix("params.b1", params.b1, H, 0, b1, 0); }
  if (params.b2 != null) { b2 = new Float64Array(n); coreMatrix("params.b2", params.b2, n, 0, b2, 0); }
  return { n, H, W1, b1, W2, b2 };
}

function coreIncreasing(name, v) {
  if (v == null || typeof v.length !== "number" || v.length < 1) coreFail(`${name} must be a non-empty increasing list of finite numbers, got ${name}=${coreShow(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "number" || !Number.isFinite(v[i]) || (i > 0 && !(v[i] > v[i - 1]))) {
      coreFail(`${name} must be a non-empty increasing list of finite numbers; ${name}[${i}]=${coreShow(v[i])}`);
    }
  }
}

// Scratch buffers of predictGrid, reused between calls of the same shape.
let coreGridScratch = null;

/**
 * The network's predicted class (argmax of the logits, first on ties) at every pixel
 * (xs[ix], ys[iy]) of the plane of sum vectors: out[iy * xs.length + ix].
 * params: a Trainer (no copy) or nested arrays {W1, b1?, W2, b2?} (E is not needed).
 * xs, ys: increasing coordinates (arrays or Float64Arrays). out: optional Int32Array (or
 * any typed array holding n - 1) of length xs.length * ys.length; allocated if omitted.
 *
 * Along a pixel row the logits are piecewise linear in x, with a kink where a hidden unit
 * switches on or off; the row is swept left to right updating the logits' intercept and
 * slope at each kink, so a row costs O(H n + W n) rather than O(W H n).
 */
export function predictGrid(params, xs, ys, out) {
  const net = coreNet(params);
  coreIncreasing("xs", xs);
  coreIncreasing("ys", ys);
  const { n, H, W1, b1, W2, b2 } = net;
  const W = xs.length, R = ys.length;
  if (out === undefined) out = new Int32Array(W * R);
  else if (out == null || out.length !== W * R) coreFail(`out must have length xs.length * ys.length = ${W * R}, got ${out == null ? out : out.length}`);
  let sc = coreGridScratch;
  if (!sc || sc.n !== n || sc.H !== H) {
    sc = coreGridScratch = { n, H, A: new Float64Array(n), B: new Float64Array(n), on: new Uint8Array(H),
                             kink: new Float64Array(H), order: new Int32Array(H) };
  }
  const { A, B, on, kink, order } = sc;
  const x0 = xs[0];
  for (let iy = 0; iy < R; iy++) {
    const y = ys[iy];
    // intercept A and slope B of the logits in x, with the units active at x0
    for (let c = 0; c < n; c++) { A[c] = b2 ? b2[c] : 0; B[c] = 0; }
    let nk = 0;
    for (let j = 0; j < H; j++) {
      const s = W1[j], c0 = y * W1[H + j] + (b1 ? b1[j] : 0);
      on[j] = s * x0 + c0 > 0 ? 1 : 0;
      if (on[j]) {
        const row = j * n;
        for (let c = 0; c < n; c++) { A[c] += c0 * W2[row + c]; B[c] += s * W2[row + c]; }
      }
      if (s !== 0) {
        const xk = -c0 / s;
        if (xk > x0) {                              // insertion sort of the kinks
          let m = nk++;
          while (m > 0 && kink[m - 1] > xk) { kink[m] = kink[m - 1]; order[m] = order[m - 1]; m--; }
          kink[m] = xk; order[m] = j;
        }
      }
    }
    let next = 0;
    const base = iy * W;
    for (let ix = 0; ix < W; ix++) {
      const x = xs[ix];
      while (next < nk && kink[next] <= x) {
        const j = order[next++];
        const s = W1[j], c0 = y * W1[H + j] + (b1 ? b1[j] : 0);
        const now = s * x + c0 > 0 ? 1 : 0;
        if (now !== on[j]) {
          const sign = now ? 1 : -1, row = j * n;
          for (let c = 0; c < n; c++) { A[c] += sign * c0 * W2[row + c]; B[c] += sign * s * W2[row + c]; }
          on[j] = now;
        }
      }
      let best = A[0] + x * B[0], arg = 0;
      for (let c = 1; c < n; c++) {
        const v = A[c] + x * B[c];
        if (v > best) { best = v; arg = c; }
      }
      out[base + ix] = arg;
    }
  }
  return out;
}
