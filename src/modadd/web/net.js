// The network's start: the task's unordered pairs split into training and held-out, and
// the initial parameters from the families of modadd.core.model.init_params (drawn from
// rng.js's generator, so the same numbers as modadd.widget.widget_start, not torch's).
// The recipes (modadd.core.train.CIRCLE_RECIPE, GRID_RECIPE) are not copied here: the
// widget gets them from Python (modadd.widget.recipe_presets, in its settings).

import { coreBool, coreChoice, coreInt, coreNumber, coreObject } from "./checks.js";
import { makeRng } from "./rng.js";

// ------------------------------------------------------------------ task, split, init

export const INITS = Object.freeze(["torch", "glorot"]);
export const EMBED_INITS = Object.freeze(["normal", "uniform"]);

/** Defaults of a training run (those of modadd.core.model.ModelConfig and modadd.core.train.RunConfig). */
export const TRAIN_DEFAULTS = Object.freeze({
  n: 17, hidden: 64, bias: true, init: "torch", embed_init: "normal", embed_scale: 0.05,
  seed: 0, val_fraction: 0.2, lr: 1e-2, weight_decay: 1.0,
  wd_embed: null, wd_weights: null, wd_bias: null, betas: Object.freeze([0.9, 0.999]), eps: 1e-8,
});
function coreRoundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/**
 * Split the n(n+1)/2 unordered pairs a <= b into training and validation, like
 * modadd.core.data.validation_mask: round(valFraction * U) pairs (round half to even, at most
 * U - 1) are held out, drawn without replacement from this file's generator (seed, stream 2),
 * so the same arguments always give the same split (not numpy's split for that seed).
 * Returns {train, val}: lists of [a, b] with a <= b, each in row-major order.
 */
export function splitPairs(n, valFraction, seed) {
  coreInt("n", n, 2);
  coreNumber("val_fraction", valFraction, { min: 0, max: 1, maxOpen: true });
  coreInt("seed", seed, 0);
  const U = (n * (n + 1)) / 2;
  const k = Math.min(coreRoundHalfEven(valFraction * U), U - 1);
  const idx = new Int32Array(U);
  for (let i = 0; i < U; i++) idx[i] = i;
  const rng = makeRng(seed, 2);
  for (let i = 0; i < k; i++) {                      // partial Fisher-Yates
    const j = i + Math.floor(rng.uniform() * (U - i));
    const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
  }
  const held = new Uint8Array(U);
  for (let i = 0; i < k; i++) held[idx[i]] = 1;
  const train = [], val = [];
  let u = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++, u++) (held[u] ? val : train).push([a, b]);
  }
  return { train, val };
}

/**
 * Initial parameters from a seed, from the families of modadd.core.model.init_params (drawn in
 * the same order E, W1, b1, W2, b2, from this file's generator, seed stream 1):
 * init "torch": weights and biases U(+-1/sqrt(fan_in)); "glorot": weights
 * U(+-sqrt(6/(fan_in+fan_out))), biases 0; embed_init "normal": E ~ N(0, embed_scale^2),
 * "uniform": U(+-embed_scale). Without biases, no b1/b2 keys.
 * cfg: {n, hidden, bias, init, embed_init, embed_scale, seed} (defaults TRAIN_DEFAULTS).
 * Returns nested arrays {E (n x 2), W1 (2 x H), b1 (H)?, W2 (H x n), b2 (n)?}.
 */
export function initParams(cfg = {}) {
  coreObject("cfg", cfg);
  const c = { ...TRAIN_DEFAULTS, ...cfg };
  const n = coreInt("n", c.n, 2), H = coreInt("hidden", c.hidden, 1), bias = coreBool("bias", c.bias);
  coreChoice("init", c.init, INITS);
  coreChoice("embed_init", c.embed_init, EMBED_INITS);
  const s = coreNumber("embed_scale", c.embed_scale, { min: 0, minOpen: true });
  const rng = makeRng(coreInt("seed", c.seed, 0), 1);
  const d = 2;
  const mat = (rows, cols, draw) => Array.from({ length: rows }, () => Array.from({ length: cols }, draw));
  const vec = (len, draw) => Array.from({ length: len }, draw);
  const unif = (bound) => () => (rng.uniform() * 2 - 1) * bound;
  const E = mat(n, d, c.embed_init === "normal" ? () => rng.normal() * s : unif(s));
  let W1, b1, W2, b2;
  if (c.init === "torch") {
    W1 = mat(d, H, unif(1 / Math.sqrt(d))); b1 = vec(H, unif(1 / Math.sqrt(d)));
    W2 = mat(H, n, unif(1 / Math.sqrt(H))); b2 = vec(n, unif(1 / Math.sqrt(H)));
  } else {
    W1 = mat(d, H, unif(Math.sqrt(6 / (d + H)))); b1 = vec(H, () => 0);
    W2 = mat(H, n, unif(Math.sqrt(6 / (H + n)))); b2 = vec(n, () => 0);
  }
  return bias ? { E, W1, b1, W2, b2 } : { E, W1, W2 };
}
