// modadd web core: the book's network, its AdamW trainer and the particle simulation,
// in plain JavaScript with no DOM access, for the live widgets (issue #13).
//
// Runs unchanged in Node >= 20 and in browsers; computes in float64 (Float64Array).
// It is concatenated with the widget's view into one ES module, so it imports nothing
// and every top-level name that is not exported starts with `core` (no clash with the view).
//
// What it mirrors, and how closely (tests/js/core.test.mjs checks it against the Python
// package from the same initial parameters: relative error <= 1e-6 over 300 steps; the
// two differ by rounding only, which some stretches of training amplify, in Python alone
// too: see tests/js/reference.py):
//
// * The network of `modadd.model`: x = E_a + E_b, h = ReLU(x W1 + b1), logits = h W2 + b2,
//   W1 (2, H), W2 (H, n), stored input-major as there. Loss: mean cross-entropy over the
//   ordered training pairs, computed on unordered pairs with weight 2 for a != b (exactly
//   the trainer's loss). Backward pass written by hand.
// * The trainer of `modadd.train`: full-batch AdamW with decoupled weight decay per group
//   (E; W1 and W2; b1 and b2): p <- p (1 - lr wd), then Adam with both bias corrections and
//   eps added after dividing sqrt(v) by sqrt(1 - beta2^t), as torch.optim.AdamW. Without
//   biases b1 and b2 do not exist (Python keeps them at zero, untrained: the same network).
// * `modadd.particles.simulate` with the exact repulsion sum: clustering (Gaussian window of
//   width sigma = clustering_width * spacing(n)), alignment (self_power 0, other_power 1),
//   repulsion between sums of different answers (its own window, of width repulsion_width
//   * spacing(n)), weights mult / n, moved onto the particles
//   like `modadd.forces.to_embeddings`, an Euler step, then the gauge. The gauge is applied
//   once to the start, as `simulate` does. Python sums the repulsion on a mesh for n > 23;
//   this file always sums it exactly (O(n^4) per step, so large n is slow here).
//
// What is this file's own (the widget's needs, not the Python package's):
// * the pseudo-random numbers (`makeRng`: mulberry32 on a hashed seed and stream), so
//   `initParams` and `splitPairs` draw from the same families as Python (torch init,
//   Glorot, normal or uniform embeddings; unordered-pair split with round-half-even size)
//   but not the same numbers as torch/numpy for the same seed;
// * `predictGrid`, the decision regions on a pixel grid, by sweeping each pixel row
//   across the hidden units' hinges (piecewise-linear logits), O(W n + H n) per row;
// * the stateful `Trainer` and `Particles` classes (no allocation per step, hyperparameters
//   changeable between steps, divergence / blow-up stops the run with a message).
//
// Speed: the two hot loops of a training step (logits, and the gradient through W2) run as
// a tiny WebAssembly module with SIMD, assembled below from readable instructions, when the
// engine supports it (Node >= 16, current browsers), else as plain JavaScript; both are
// tested against Python. benchmarks/bench_web.mjs measures steps per second.
//
// Exports (all documented where defined):
//   trainSteps(params, opts, k) -> {params, losses}      (the tested, pure entry point)
//   Trainer (Trainer.useWasm = false forces plain JavaScript), DivergenceError, initParams,
//   splitPairs, makeRng, CIRCLE_RECIPE, GRID_RECIPE, TRAIN_DEFAULTS, predictGrid,
//   particleSteps(E, opts, k) -> {E, start}, Particles, ParticleBlowUp, randomStart,
//   spacing, PARTICLE_DEFAULTS, GAUGES, INITS, EMBED_INITS.

// ------------------------------------------------------------------ argument checks

function coreShow(v) {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v == null || typeof v === "bigint") return String(v);
  let s;
  try { s = JSON.stringify(v); } catch (e) { s = undefined; }
  if (s === undefined) s = Object.prototype.toString.call(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function coreFail(msg) {
  throw new RangeError(msg);
}

// A finite number with optional bounds; `open` makes a bound strict. Returns the number.
function coreNumber(name, v, { min = -Infinity, max = Infinity, minOpen = false, maxOpen = false } = {}) {
  const lo = min === -Infinity ? "" : (minOpen ? `> ${min}` : `>= ${min}`);
  const hi = max === Infinity ? "" : (maxOpen ? `< ${max}` : `<= ${max}`);
  const range = lo && hi ? ` in ${minOpen ? "(" : "["}${min}, ${max}${maxOpen ? ")" : "]"}` : (lo || hi ? ` ${lo || hi}` : "");
  if (typeof v !== "number" || !Number.isFinite(v)
      || v < min || (minOpen && v === min) || v > max || (maxOpen && v === max)) {
    coreFail(`${name} must be a finite number${range}, got ${name}=${coreShow(v)}`);
  }
  return v;
}

function coreInt(name, v, min, max = Number.MAX_SAFE_INTEGER) {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    coreFail(`${name} must be an integer ${range}, got ${name}=${coreShow(v)}`);
  }
  return v;
}

function coreBool(name, v) {
  if (typeof v !== "boolean") coreFail(`${name} must be true or false, got ${name}=${coreShow(v)}`);
  return v;
}

function coreChoice(name, v, allowed) {
  if (!allowed.includes(v)) coreFail(`${name} must be one of ${allowed.map(coreShow).join(", ")}, got ${name}=${coreShow(v)}`);
  return v;
}

function coreObject(name, v) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) coreFail(`${name} must be an object, got ${name}=${coreShow(v)}`);
  return v;
}

function coreUnknownKeys(name, obj, allowed) {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) coreFail(`${name} has an unknown key ${coreShow(k)}; allowed: ${allowed.join(", ")}`);
  }
}

// Copy a nested (rows x cols) array, a flat array or a typed array of rows*cols finite numbers into out.
function coreMatrix(name, v, rows, cols, out, offset) {
  const shape = cols === 0 ? `(${rows},)` : `(${rows}, ${cols})`;
  const bad = (why) => coreFail(`${name} must be ${cols === 0 ? "a list" : "a nested list"} of shape ${shape} of finite numbers; ${why}`);
  if (v == null || typeof v !== "object" || typeof v.length !== "number") bad(`got ${name}=${coreShow(v)}`);
  if (cols === 0 || (v.length === rows * cols && typeof v[0] === "number")) {
    const len = cols === 0 ? rows : rows * cols;
    if (v.length !== len) bad(`got length ${v.length}`);
    for (let i = 0; i < len; i++) {
      const x = v[i];
      if (typeof x !== "number" || !Number.isFinite(x)) bad(`got ${name}[${i}]=${coreShow(x)}`);
      out[offset + i] = x;
    }
    return;
  }
  if (v.length !== rows) bad(`got ${v.length} rows`);
  for (let r = 0; r < rows; r++) {
    const row = v[r];
    if (row == null || typeof row.length !== "number" || row.length !== cols) bad(`row ${r} is ${coreShow(row)}`);
    for (let c = 0; c < cols; c++) {
      const x = row[c];
      if (typeof x !== "number" || !Number.isFinite(x)) bad(`got ${name}[${r}][${c}]=${coreShow(x)}`);
      out[offset + r * cols + c] = x;
    }
  }
}

function coreNested(flat, offset, rows, cols) {
  if (cols === 0) return Array.from(flat.subarray(offset, offset + rows));
  const out = new Array(rows);
  for (let r = 0; r < rows; r++) out[r] = Array.from(flat.subarray(offset + r * cols, offset + (r + 1) * cols));
  return out;
}

// ------------------------------------------------------------------ random numbers

function coreMix32(x) {
  // a 32-bit integer hash (the finaliser of murmur3)
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random generator (mulberry32 on a hashed seed and stream).
 * `seed`: an integer in [0, 2^53); `stream`: an integer naming an independent stream
 * (this file uses 1 for initialisations, 2 for splits, 3 for particle starts).
 * Returns {uniform() in [0, 1) with 53 random bits, normal() standard normal (Box-Muller),
 * uint32()}. The same (seed, stream) always gives the same numbers, in Node and browsers.
 */
export function makeRng(seed, stream = 0) {
  coreInt("seed", seed, 0);
  coreInt("stream", stream, 0, 0xffffffff);
  const lo = seed % 4294967296, hi = Math.floor(seed / 4294967296);
  let a = coreMix32(coreMix32(lo ^ 0x9e3779b9) ^ coreMix32(hi + 0x632be5ab) ^ coreMix32(stream ^ 0x85157af5));
  const uint32 = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const uniform = () => ((uint32() >>> 5) * 67108864 + (uint32() >>> 6)) / 9007199254740992;
  const normal = () => {
    const u1 = 1 - uniform();                       // (0, 1]
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  return { uint32, uniform, normal };
}

// ------------------------------------------------------------------ task, split, init

export const INITS = Object.freeze(["torch", "glorot"]);
export const EMBED_INITS = Object.freeze(["normal", "uniform"]);

/** Defaults of a training run (those of modadd.model.ModelConfig and modadd.train.RunConfig). */
export const TRAIN_DEFAULTS = Object.freeze({
  n: 17, hidden: 64, bias: true, init: "torch", embed_init: "normal", embed_scale: 0.05,
  seed: 0, val_fraction: 0.2, lr: 1e-2, weight_decay: 1.0,
  wd_embed: null, wd_weights: null, wd_bias: null, betas: Object.freeze([0.9, 0.999]), eps: 1e-8,
});
/** modadd.train.CIRCLE_RECIPE: no biases, Glorot weights, embeddings U(+-0.2), lr 3e-3, wd 1. */
export const CIRCLE_RECIPE = Object.freeze({
  bias: false, init: "glorot", embed_init: "uniform", embed_scale: 0.2, lr: 3e-3, weight_decay: 1.0,
});
/** modadd.train.GRID_RECIPE: PyTorch's default init, embeddings N(0, 0.05^2), lr 1e-2, wd 1. */
export const GRID_RECIPE = Object.freeze({
  bias: true, init: "torch", embed_init: "normal", embed_scale: 0.05, lr: 1e-2, weight_decay: 1.0,
});

function coreRoundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/**
 * Split the n(n+1)/2 unordered pairs a <= b into training and validation, like
 * modadd.data.validation_mask: round(valFraction * U) pairs (round half to even, at most
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
 * Initial parameters from a seed, from the families of modadd.model.init_params (drawn in
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

// ------------------------------------------------------------------ WebAssembly kernels
//
// The two hot loops of the training step, over the classes of one pair, run as
// WebAssembly with 128-bit SIMD (two float64 lanes) when the engine has it, and as the
// plain JavaScript below otherwise (same maths, rounding aside; Trainer.useWasm = false
// forces JavaScript). The module is assembled here from readable instructions (no binary
// blob, nothing fetched):
//   logits(lg, h, rows, na, n):  lg[c] = sum_k h[k] W2[row_k][c]      (eight classes at a time)
//   back(dl, h, rows, dz, na, n, gdelta):  for each active unit k (two at a time):
//        dz[k] = sum_c dl[c] W2[row_k][c];  gW2[row_k][c] += h[k] dl[c]
// Arguments are byte addresses in the Trainer's memory; rows[k] is the byte address of
// unit k's row of W2, and that row's gradient lies gdelta bytes further.

function coreLeb(v) { const out = []; v >>>= 0; do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; out.push(b); } while (v); return out; }
function coreSleb(v) {
  const out = [];
  for (;;) {
    const b = v & 0x7f; v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && (b & 0x40))) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

/** The instruction encoders the two kernels are written with (WebAssembly opcodes). */
function coreWasmOps() {
  const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
  const get = (i) => [0x20, ...coreLeb(i)], set = (i) => [0x21, ...coreLeb(i)], tee = (i) => [0x22, ...coreLeb(i)];
  const i32c = (v) => [0x41, ...coreSleb(v)], f64zero = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
  const add = [0x6a], shl = [0x74], and = [0x71], ges = [0x4e], fadd = [0xa0], fmul = [0xa2];
  const f64load = [0x2b, 3, 0], f64store = [0x39, 3, 0], i32load = [0x28, 2, 0];
  const simd = (op) => [0xfd, ...coreLeb(op)];
  const vload = (off = 0) => [...simd(0x00), 4, ...coreLeb(off)], vstore = (off = 0) => [...simd(0x0b), 4, ...coreLeb(off)];
  const splat = simd(0x14), lane = (l) => [...simd(0x21), l], vadd = simd(0xf0), vmul = simd(0xf2);
  const vzero = [...simd(0x0c), ...new Array(16).fill(0)];
  const block = [0x02, 0x40], loop = [0x03, 0x40], end = [0x0b], iff = [0x04, 0x40];
  const br = (d) => [0x0c, d], brif = (d) => [0x0d, d];
  const at8 = (base, i) => [...get(base), ...get(i), ...i32c(3), ...shl, ...add];   // base + 8 i
  const at4 = (base, i) => [...get(base), ...get(i), ...i32c(2), ...shl, ...add];   // base + 4 i
  const inc = (i, by) => [...get(i), ...i32c(by), ...add, ...set(i)];
  // for (; i < limit; i += by) { body }
  const forLoop = (i, limit, by, body) => [...block, ...loop, ...get(i), ...get(limit), ...ges, ...brif(1),
                                           ...body, ...inc(i, by), ...br(0), ...end, ...end];
  return { I32, F64, V128, get, set, tee, i32c, f64zero, add, shl, and, fadd, fmul, f64load, f64store, i32load,
           vload, vstore, splat, lane, vadd, vmul, vzero, iff, end, at8, at4, forLoop };
}

/** logits(lg, h, rows, na, n): lg[c] = sum_k h[k] W2[row_k][c], eight classes at a time. */
function coreWasmLogits(op) {
  const { I32, F64, V128, get, set, tee, i32c, f64zero, add, shl, and, fadd, fmul, f64load, f64store, i32load,
          splat, vload, vstore, vmul, vadd, vzero, at8, at4, forLoop } = op;
  const [lg, h, rows, na, n, c, k, r, n8, a0, a1, a2, a3, hv, s] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const acc = (a, off) => [...get(a), ...get(hv), ...get(r), ...vload(off), ...vmul, ...vadd, ...set(a)];
  const body = [
    ...get(n), ...i32c(-8), ...and, ...set(n8), ...i32c(0), ...set(c),
    ...forLoop(c, n8, 8, [
      ...vzero, ...set(a0), ...vzero, ...set(a1), ...vzero, ...set(a2), ...vzero, ...set(a3), ...i32c(0), ...set(k),
      ...forLoop(k, na, 1, [
        ...at8(h, k), ...f64load, ...splat, ...set(hv),
        ...at4(rows, k), ...i32load, ...get(c), ...i32c(3), ...shl, ...add, ...set(r),
        ...acc(a0, 0), ...acc(a1, 16), ...acc(a2, 32), ...acc(a3, 48),
      ]),
      ...at8(lg, c), ...tee(r), ...get(a0), ...vstore(0), ...get(r), ...get(a1), ...vstore(16),
      ...get(r), ...get(a2), ...vstore(32), ...get(r), ...get(a3), ...vstore(48),
    ]),
    ...forLoop(c, n, 1, [                                   // the last n mod 8 classes
      ...i32c(0), ...set(k), ...f64zero, ...set(s),
      ...forLoop(k, na, 1, [
        ...get(s), ...at8(h, k), ...f64load, ...at4(rows, k), ...i32load, ...get(c), ...i32c(3), ...shl, ...add,
        ...f64load, ...fmul, ...fadd, ...set(s),
      ]),
      ...at8(lg, c), ...get(s), ...f64store,
    ]),
  ];
  return { params: 5, locals: [[4, I32], [5, V128], [1, F64]], body };
}

/** back(dl, h, rows, dz, na, n, gdelta): dz[k] = sum_c dl[c] W2[row_k][c] and
 *  gW2[row_k][c] += h[k] dl[c] for each active unit k, two units at a time. */
function coreWasmBack(op) {
  const { I32, F64, V128, get, set, tee, i32c, add, shl, and, fadd, fmul, f64load, f64store, splat, lane,
          vload, vstore, vmul, vadd, vzero, iff, end, at8, at4, forLoop } = op;
  const [dl, h, rows, dz, na, n, gd, k, cb, n2b, addr, lim] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const r = [12, 13], hv = [14, 15], z = [16, 17], d = 18, hs = [19, 20], zs = [21, 22], d1 = 23;
  const f64at = (off) => [0x2b, 3, ...coreLeb(off)], i32at = (off) => [0x28, 2, ...coreLeb(off)];
  const units = (U) => {                                     // U active units at a time, sharing dl
    const us = [...Array(U).keys()];
    return [
      ...us.flatMap((u) => [...at8(h, k), ...f64at(8 * u), ...tee(hs[u]), ...splat, ...set(hv[u]),
                            ...at4(rows, k), ...i32at(4 * u), ...set(r[u]), ...vzero, ...set(z[u])]),
      ...i32c(0), ...set(cb),
      ...forLoop(cb, n2b, 16, [                              // two classes at a time (cb in bytes)
        ...get(dl), ...get(cb), ...add, ...vload(), ...set(d),
        ...us.flatMap((u) => [...get(z[u]), ...get(d), ...get(r[u]), ...get(cb), ...add, ...vload(), ...vmul, ...vadd, ...set(z[u])]),
        ...us.flatMap((u) => [...get(r[u]), ...get(gd), ...add, ...get(cb), ...add, ...tee(addr),
                              ...get(addr), ...vload(), ...get(hv[u]), ...get(d), ...vmul, ...vadd, ...vstore()]),
      ]),
      ...us.flatMap((u) => [...get(z[u]), ...lane(0), ...get(z[u]), ...lane(1), ...fadd, ...set(zs[u])]),
      ...get(n), ...i32c(1), ...and, ...iff,                 // odd n: the last class
        ...get(dl), ...get(cb), ...add, ...f64load, ...set(d1),
        ...us.flatMap((u) => [
          ...get(zs[u]), ...get(d1), ...get(r[u]), ...get(cb), ...add, ...f64load, ...fmul, ...fadd, ...set(zs[u]),
          ...get(r[u]), ...get(gd), ...add, ...get(cb), ...add, ...tee(addr),
          ...get(addr), ...f64load, ...get(hs[u]), ...get(d1), ...fmul, ...fadd, ...f64store]),
      ...end,
      ...us.flatMap((u) => [...at8(dz, k), ...get(zs[u]), 0x39, 3, ...coreLeb(8 * u)]),
    ];
  };
  const body = [
    ...get(n), ...i32c(-2), ...and, ...i32c(3), ...shl, ...set(n2b), ...i32c(0), ...set(k),
    ...get(na), ...i32c(-2), ...and, ...set(lim),
    ...forLoop(k, lim, 2, units(2)),
    ...forLoop(k, na, 1, units(1)),
  ];
  return { params: 7, locals: [[7, I32], [5, V128], [5, F64]], body };
}

/** A WebAssembly module (bytes) importing memory env.mem and exporting funcs under names. */
function coreWasmAssemble(funcs, names) {
  const I32 = 0x7f;
  const section = (id, bytes) => [id, ...coreLeb(bytes.length), ...bytes];
  const vec = (items) => [...coreLeb(items.length), ...items.flat()];
  const str = (t) => vec([...t].map((ch) => [ch.charCodeAt(0)]));
  const types = vec(funcs.map((f) => [0x60, ...vec(new Array(f.params).fill([I32])), 0]));
  const imports = vec([[...str("env"), ...str("mem"), 0x02, 0x00, 0x01]]);      // memory env.mem, min 1 page
  const fns = vec(funcs.map((_, i) => coreLeb(i)));
  const exps = vec(names.map((nm, i) => [...str(nm), 0x00, ...coreLeb(i)]));
  const codes = vec(funcs.map((f) => {
    const b = [...vec(f.locals.map(([cnt, t]) => [...coreLeb(cnt), t])), ...f.body, 0x0b];
    return [...coreLeb(b.length), ...b];
  }));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(2, imports),
                         ...section(3, fns), ...section(7, exps), ...section(10, codes)]);
}

/** The module of both kernels (see the comment at the top of this section). */
function coreWasmBytes() {
  const op = coreWasmOps();
  return coreWasmAssemble([coreWasmLogits(op), coreWasmBack(op)], ["logits", "back"]);
}

let coreWasmModule;   // undefined: not tried yet; null: not available
function coreWasm() {
  if (coreWasmModule === undefined) {
    coreWasmModule = null;
    try {
      const bytes = coreWasmBytes();
      if (typeof WebAssembly === "object" && WebAssembly.validate(bytes)) coreWasmModule = new WebAssembly.Module(bytes);
    } catch (e) {
      coreWasmModule = null;
    }
  }
  return coreWasmModule;
}

// ------------------------------------------------------------------ the trainer

/** A run whose loss became NaN or infinite. Has .step (the step) and .losses (before it). */
export class DivergenceError extends Error {
  constructor(message, step, losses) {
    super(message);
    this.name = "DivergenceError";
    this.step = step;
    this.losses = losses;
  }
}

const CORE_TRAIN_KEYS = ["n", "hidden", "bias", "lr", "weight_decay", "wd_embed", "wd_weights", "wd_bias",
                         "betas", "eps", "train", "val"];

function corePairList(name, list, n, allowEmpty) {
  if (!Array.isArray(list) || (!allowEmpty && list.length === 0)) {
    coreFail(`${name} must be a ${allowEmpty ? "" : "non-empty "}list of pairs [a, b] with 0 <= a <= b < n=${n}, got ${name}=${coreShow(list)}`);
  }
  const seen = new Set();
  const P = list.length;
  const pa = new Int32Array(P), pb = new Int32Array(P);
  for (let i = 0; i < P; i++) {
    const q = list[i];
    const ok = q != null && q.length === 2 && Number.isInteger(q[0]) && Number.isInteger(q[1])
      && q[0] >= 0 && q[0] <= q[1] && q[1] < n;
    if (!ok) coreFail(`${name}[${i}] must be a pair [a, b] of integers with 0 <= a <= b < n=${n} (unordered pairs, smaller first), got ${coreShow(q)}`);
    const key = q[0] * n + q[1];
    if (seen.has(key)) coreFail(`${name} lists the pair ${coreShow(q)} twice; each unordered pair at most once`);
    seen.add(key);
    pa[i] = q[0]; pb[i] = q[1];
  }
  return { pa, pb, seen };
}

// Validated training options (see Trainer) with defaults filled in.
function coreTrainOptions(opts, params) {
  coreObject("opts", opts);
  coreUnknownKeys("opts", opts, CORE_TRAIN_KEYS);
  const n = coreInt("opts.n", opts.n, 2);
  const bias = coreBool("opts.bias", opts.bias);
  let H = opts.hidden;
  if (H === undefined && params && params.W1 && params.W1[0] && typeof params.W1[0].length === "number") H = params.W1[0].length;
  coreInt("opts.hidden", H, 1);
  const lr = coreNumber("opts.lr", opts.lr, { min: 0, minOpen: true });
  const base = opts.weight_decay;
  if (base !== undefined && base !== null) coreNumber("opts.weight_decay", base, { min: 0 });
  const wd = {};
  for (const k of ["wd_embed", "wd_weights", "wd_bias"]) {
    const v = opts[k];
    if (v === undefined || v === null) {
      if (base === undefined || base === null) {
        coreFail(`opts.${k} must be a finite number >= 0 (or give opts.weight_decay for every group), got opts.${k}=${coreShow(v)}`);
      }
      wd[k] = base;
    } else {
      wd[k] = coreNumber(`opts.${k}`, v, { min: 0 });
    }
  }
  const betas = opts.betas === undefined ? [0.9, 0.999] : opts.betas;
  if (betas == null || betas.length !== 2) coreFail(`opts.betas must be a pair [beta1, beta2] in [0, 1), got opts.betas=${coreShow(betas)}`);
  coreNumber("opts.betas[0]", betas[0], { min: 0, max: 1, maxOpen: true });
  coreNumber("opts.betas[1]", betas[1], { min: 0, max: 1, maxOpen: true });
  const eps = opts.eps === undefined ? 1e-8 : coreNumber("opts.eps", opts.eps, { min: 0, minOpen: true });
  const tr = corePairList("opts.train", opts.train, n, false);
  const va = corePairList("opts.val", opts.val === undefined ? [] : opts.val, n, true);
  for (const key of va.seen) {
    if (tr.seen.has(key)) coreFail(`opts.val and opts.train share the pair [${Math.floor(key / n)}, ${key % n}]; a pair is either trained on or held out`);
  }
  return { n, H, bias, lr, ...wd, betas: [betas[0], betas[1]], eps, tr, va };
}

// Labels and ordered-pair weights (mult / total) of a pair list.
function corePairTables(pa, pb, n) {
  const P = pa.length;
  const py = new Int32Array(P), pw = new Float64Array(P);
  let total = 0;
  for (let i = 0; i < P; i++) total += pa[i] === pb[i] ? 1 : 2;
  for (let i = 0; i < P; i++) {
    py[i] = (pa[i] + pb[i]) % n;
    pw[i] = (pa[i] === pb[i] ? 1 : 2) / total;
  }
  return { pa, pb, py, pw, P };
}

/**
 * A training run, kept between calls: flat Float64Array parameters and Adam moments,
 * buffers allocated once (no allocation per step).
 *
 *   const tr = new Trainer(params, opts);   // params and opts as for trainSteps;
 *                                           // opts.val: optional held-out pairs [a, b]
 *   tr.step(k)            // k AdamW steps; returns the number done (< k if it diverged)
 *   tr.steps              // steps done so far; tr.lastLoss: the loss before the last step
 *   tr.diverged           // null, or the message of a divergence (the run then stays put)
 *   tr.evaluate()         // {trainLoss, trainAcc, valLoss, valAcc} at the current parameters
 *                         // (val* are NaN without held-out pairs); accuracies are over
 *                         // ordered pairs, like History.train_acc
 *   tr.set({lr, weight_decay, wd_embed, wd_weights, wd_bias})   // change between steps
 *   tr.params()           // nested arrays {E, W1, b1?, W2, b2?} (copies)
 *   tr.E, tr.W1, tr.b1, tr.W2, tr.b2   // live Float64Array views (row-major; b1/b2 null
 *                                       // without biases); do not write into them
 *   Trainer.fromConfig({n, hidden, bias, init, embed_init, embed_scale, seed, val_fraction,
 *                       lr, weight_decay, wd_embed, wd_weights, wd_bias, betas, eps})
 *                         // initParams + splitPairs from one seed; missing keys from
 *                         // TRAIN_DEFAULTS (spread a recipe in: {...GRID_RECIPE, n: 31})
 */
export class Trainer {
  constructor(params, opts) {
    coreObject("params", params);
    const o = coreTrainOptions(opts, params);
    const { n, H, bias } = o;
    for (const k of Object.keys(params)) {
      if (!["E", "W1", "b1", "W2", "b2"].includes(k)) coreFail(`params has an unknown key ${coreShow(k)}; allowed: E, W1, b1, W2, b2`);
    }
    this.n = n; this.H = H; this.bias = bias;
    this.oE = 0; this.oW1 = 2 * n;
    this.ob1 = this.oW1 + 2 * H;
    this.oW2 = this.ob1 + (bias ? H : 0);
    this.ob2 = this.oW2 + H * n;
    this.size = this.ob2 + (bias ? n : 0);
    // p, g and the per-pair scratch live in one WebAssembly memory when the kernels are used
    const mod = Trainer.useWasm ? coreWasm() : null;
    const lay = { p: this.size, g: this.size, h: H, lg: n, dl: n, dz: H };
    let bytes = 0;
    const at = {};
    for (const [k, len] of Object.entries(lay)) { at[k] = bytes; bytes += 8 * len; }
    at.rows = bytes; bytes += 4 * H;
    let buf;
    if (mod) {
      const mem = new WebAssembly.Memory({ initial: Math.ceil((bytes + 16) / 65536) });
      this.kern = new WebAssembly.Instance(mod, { env: { mem } }).exports;
      buf = mem.buffer;
    } else {
      this.kern = null;
      buf = new ArrayBuffer(bytes);
    }
    this.at = at;
    const f64 = (k) => new Float64Array(buf, at[k], lay[k]);
    const p = f64("p");
    this.g = f64("g"); this.h = f64("h"); this.lg = f64("lg"); this.dl = f64("dl"); this.dz = f64("dz");
    this.rowsB = new Int32Array(buf, at.rows, H);
    coreMatrix("params.E", params.E, n, 2, p, this.oE);
    coreMatrix("params.W1", params.W1, 2, H, p, this.oW1);
    coreMatrix("params.W2", params.W2, H, n, p, this.oW2);
    if (bias) {
      if (params.b1 === undefined || params.b2 === undefined) coreFail("opts.bias is true, so params must have b1 (length hidden) and b2 (length n)");
      coreMatrix("params.b1", params.b1, H, 0, p, this.ob1);
      coreMatrix("params.b2", params.b2, n, 0, p, this.ob2);
    } else {
      // A bias-free network has no b1/b2; all-zero ones (Python's Params) are accepted and dropped.
      for (const [k, len] of [["b1", H], ["b2", n]]) {
        if (params[k] === undefined || params[k] === null) continue;
        const tmp = new Float64Array(len);
        coreMatrix(`params.${k}`, params[k], len, 0, tmp, 0);
        if (tmp.some((x) => x !== 0)) coreFail(`opts.bias is false but params.${k} is not all zero; without biases b1 and b2 must be absent (or zero)`);
      }
    }
    this.p = p;
    this.m1 = new Float64Array(this.size);
    this.m2 = new Float64Array(this.size);
    this.betas = o.betas; this.eps = o.eps;
    this.lr = o.lr; this.wd_embed = o.wd_embed; this.wd_weights = o.wd_weights; this.wd_bias = o.wd_bias;
    this.train = corePairTables(o.tr.pa, o.tr.pb, n);
    this.val = corePairTables(o.va.pa, o.va.pb, n);
    this.act = new Int32Array(H);
    this.rows = new Int32Array(H);
    this.t = 0;                 // Adam's step counter (= steps done)
    this.steps = 0;
    this.lastLoss = NaN;
    this.lastAcc = NaN;
    this.diverged = null;
    this._loss = 0; this._acc = 0; this.dx = new Float64Array(2);
    this.E = p.subarray(this.oE, this.oE + 2 * n);
    this.W1 = p.subarray(this.oW1, this.oW1 + 2 * H);
    this.b1 = bias ? p.subarray(this.ob1, this.ob1 + H) : null;
    this.W2 = p.subarray(this.oW2, this.oW2 + H * n);
    this.b2 = bias ? p.subarray(this.ob2, this.ob2 + n) : null;
  }

  /** Whether new Trainers use the WebAssembly kernels when the engine supports them. */
  static useWasm = true;

  static fromConfig(cfg = {}) {
    coreObject("cfg", cfg);
    coreUnknownKeys("cfg", cfg, Object.keys(TRAIN_DEFAULTS));
    const c = { ...TRAIN_DEFAULTS, ...cfg };
    const params = initParams({ n: c.n, hidden: c.hidden, bias: c.bias, init: c.init, embed_init: c.embed_init,
                                embed_scale: c.embed_scale, seed: c.seed });
    const split = splitPairs(c.n, c.val_fraction, c.seed);
    const tr = new Trainer(params, {
      n: c.n, hidden: c.hidden, bias: c.bias, lr: c.lr, weight_decay: c.weight_decay, wd_embed: c.wd_embed,
      wd_weights: c.wd_weights, wd_bias: c.wd_bias, betas: c.betas, eps: c.eps, train: split.train, val: split.val,
    });
    tr.config = Object.freeze({ ...c });
    tr.split = split;
    return tr;
  }

  /** Change learning rate and/or weight decays between steps (Adam's moments are kept). */
  set(hyper) {
    coreObject("hyper", hyper);
    coreUnknownKeys("hyper", hyper, ["lr", "weight_decay", "wd_embed", "wd_weights", "wd_bias"]);
    const next = {};
    if (hyper.lr !== undefined) next.lr = coreNumber("lr", hyper.lr, { min: 0, minOpen: true });
    if (hyper.weight_decay !== undefined) {
      const w = coreNumber("weight_decay", hyper.weight_decay, { min: 0 });
      next.wd_embed = next.wd_weights = next.wd_bias = w;
    }
    for (const k of ["wd_embed", "wd_weights", "wd_bias"]) {
      if (hyper[k] !== undefined) next[k] = coreNumber(k, hyper[k], { min: 0 });
    }
    Object.assign(this, next);
  }

  // One pass over a pair table at the current parameters: sets this._loss and this._acc
  // (ordered-pair weighted); with grad, also the gradient of the loss into this.g.
  // One pass over a table of pairs: loss and accuracy (this._loss, this._acc), and with
  // grad the gradient of the weighted loss in this.g.
  _pass(tab, grad) {
    const n = this.n, H = this.H, p = this.p, g = this.g, lg = this.lg, dl = this.dl, dx = this.dx;
    const h = this.h, act = this.act, rows = this.rows, rowsB = this.rowsB, bias = this.bias;
    const oW1 = this.oW1, oW1b = this.oW1 + H, ob1 = this.ob1, oW2 = this.oW2, byteW2 = this.at.p + 8 * oW2;
    const { pa, pb, py, pw, P } = tab;
    let loss = 0, acc = 0;
    if (grad) g.fill(0);
    for (let i = 0; i < P; i++) {
      const a2 = 2 * pa[i], b2i = 2 * pb[i], y = py[i], w = pw[i];
      const x0 = p[a2] + p[b2i], x1 = p[a2 + 1] + p[b2i + 1];
      // hidden layer: the active units (z > 0), their values h and rows of W2
      let na = 0;
      for (let j = 0; j < H; j++) {
        const z = bias ? p[ob1 + j] + (x0 * p[oW1 + j] + x1 * p[oW1b + j]) : x0 * p[oW1 + j] + x1 * p[oW1b + j];
        if (z > 0) { h[na] = z; act[na] = j; rows[na] = oW2 + j * n; rowsB[na] = byteW2 + 8 * j * n; na++; }
      }
      this._logits(na);
      // log-softmax, loss, accuracy
      let mx = lg[0], arg = 0;
      for (let c2 = 1; c2 < n; c2++) if (lg[c2] > mx) { mx = lg[c2]; arg = c2; }
      let s = 0;
      for (let c2 = 0; c2 < n; c2++) { const e = Math.exp(lg[c2] - mx); dl[c2] = e; s += e; }
      loss += w * (Math.log(s) + mx - lg[y]);
      if (arg === y) acc += w;
      if (!grad) continue;
      // dlogits = w (softmax - onehot)
      const ws = w / s;
      for (let c2 = 0; c2 < n; c2++) dl[c2] *= ws;
      dl[y] -= w;
      this._backward(na, x0, x1);
      const dx0 = dx[0], dx1 = dx[1];
      g[a2] += dx0; g[a2 + 1] += dx1;
      g[b2i] += dx0; g[b2i + 1] += dx1;
    }
    this._loss = loss;
    this._acc = acc;
  }

  // logits = b2 + h W2 into this.lg, eight classes at a time (sums kept in registers).
  _logits(na) {
    const n = this.n, p = this.p, h = this.h, rows = this.rows, lg = this.lg, kern = this.kern, at = this.at;
    const n8 = kern ? 0 : n - (n % 8);
    let c = 0;
    if (kern) { kern.logits(at.lg, at.h, at.rows, na, n); c = n; }
    for (; c < n8; c += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let k = 0; k < na; k++) {
        const hj = h[k], r = rows[k] + c;
        s0 += hj * p[r]; s1 += hj * p[r + 1]; s2 += hj * p[r + 2]; s3 += hj * p[r + 3];
        s4 += hj * p[r + 4]; s5 += hj * p[r + 5]; s6 += hj * p[r + 6]; s7 += hj * p[r + 7];
      }
      lg[c] = s0; lg[c + 1] = s1; lg[c + 2] = s2; lg[c + 3] = s3;
      lg[c + 4] = s4; lg[c + 5] = s5; lg[c + 6] = s6; lg[c + 7] = s7;
    }
    for (; c < n; c++) {
      let s0 = 0;
      for (let k = 0; k < na; k++) s0 += h[k] * p[rows[k] + c];
      lg[c] = s0;
    }
    if (this.bias) for (let c2 = 0; c2 < n; c2++) lg[c2] = p[this.ob2 + c2] + lg[c2];
  }

  // From dlogits (this.dl) back through W2 and the ReLU of the na active units, four at a
  // time: adds the parameters' gradients to this.g and leaves dL/dx in this.dx.
  _backward(na, x0, x1) {
    const n = this.n, H = this.H, p = this.p, g = this.g, h = this.h, act = this.act, dl = this.dl;
    const rows = this.rows, kern = this.kern, dz = this.dz, at = this.at;
    const oW1 = this.oW1, oW1b = this.oW1 + H, ob1 = this.ob1, ob2 = this.ob2, bias = this.bias;
    if (bias) for (let c2 = 0; c2 < n; c2++) g[ob2 + c2] += dl[c2];
    let dx0 = 0, dx1 = 0, k = 0;
    if (kern) {
      kern.back(at.dl, at.h, at.rows, at.dz, na, n, at.g - at.p);
      for (; k < na; k++) {
        const j = act[k], z0 = dz[k];
        g[oW1 + j] += x0 * z0;
        g[oW1b + j] += x1 * z0;
        if (bias) g[ob1 + j] += z0;
        dx0 += z0 * p[oW1 + j];
        dx1 += z0 * p[oW1b + j];
      }
    }
    for (; k + 3 < na; k += 4) {
      const h0 = h[k], h1 = h[k + 1], h2 = h[k + 2], h3 = h[k + 3];
      const r0 = rows[k], r1 = rows[k + 1], r2 = rows[k + 2], r3 = rows[k + 3];
      let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
      for (let c2 = 0; c2 < n; c2++) {
        const d = dl[c2];
        z0 += d * p[r0 + c2]; z1 += d * p[r1 + c2]; z2 += d * p[r2 + c2]; z3 += d * p[r3 + c2];
        g[r0 + c2] += h0 * d; g[r1 + c2] += h1 * d; g[r2 + c2] += h2 * d; g[r3 + c2] += h3 * d;
      }
      const j0 = act[k], j1 = act[k + 1], j2 = act[k + 2], j3 = act[k + 3];
      g[oW1 + j0] += x0 * z0; g[oW1b + j0] += x1 * z0;
      g[oW1 + j1] += x0 * z1; g[oW1b + j1] += x1 * z1;
      g[oW1 + j2] += x0 * z2; g[oW1b + j2] += x1 * z2;
      g[oW1 + j3] += x0 * z3; g[oW1b + j3] += x1 * z3;
      if (bias) { g[ob1 + j0] += z0; g[ob1 + j1] += z1; g[ob1 + j2] += z2; g[ob1 + j3] += z3; }
      dx0 += z0 * p[oW1 + j0] + z1 * p[oW1 + j1] + z2 * p[oW1 + j2] + z3 * p[oW1 + j3];
      dx1 += z0 * p[oW1b + j0] + z1 * p[oW1b + j1] + z2 * p[oW1b + j2] + z3 * p[oW1b + j3];
    }
    for (; k < na; k++) {
      const j = act[k], hj = h[k], row = rows[k];
      let dzk = 0;
      for (let c2 = 0; c2 < n; c2++) {
        const d = dl[c2];
        dzk += d * p[row + c2];
        g[row + c2] += hj * d;
      }
      g[oW1 + j] += x0 * dzk;
      g[oW1b + j] += x1 * dzk;
      if (bias) g[ob1 + j] += dzk;
      dx0 += dzk * p[oW1 + j];
      dx1 += dzk * p[oW1b + j];
    }
    this.dx[0] = dx0;
    this.dx[1] = dx1;
  }

  _adamBlock(start, end, lr, wd, alpha, bc2s) {
    const p = this.p, g = this.g, m1 = this.m1, m2 = this.m2, eps = this.eps;
    const beta1 = this.betas[0], beta2 = this.betas[1], c1 = 1 - beta1, c2 = 1 - beta2;
    const decay = 1 - lr * wd;
    for (let i = start; i < end; i++) {
      const gi = g[i];
      const a = m1[i] * beta1 + c1 * gi;
      const b = m2[i] * beta2 + c2 * gi * gi;
      m1[i] = a; m2[i] = b;
      const denom = Math.sqrt(b) / bc2s + eps;
      p[i] = p[i] * decay - alpha * ((1 / denom) * a * lr);
    }
  }

  _adam() {
    const t = ++this.t;
    const alpha = 1 / (1 - Math.pow(this.betas[0], t));
    const bc2s = Math.sqrt(1 - Math.pow(this.betas[1], t));
    this._adamBlock(this.oE, this.oW1, this.lr, this.wd_embed, alpha, bc2s);
    this._adamBlock(this.oW1, this.ob1, this.lr, this.wd_weights, alpha, bc2s);
    if (this.bias) this._adamBlock(this.ob1, this.oW2, this.lr, this.wd_bias, alpha, bc2s);
    this._adamBlock(this.oW2, this.ob2, this.lr, this.wd_weights, alpha, bc2s);
    if (this.bias) this._adamBlock(this.ob2, this.size, this.lr, this.wd_bias, alpha, bc2s);
  }

  /**
   * k full-batch AdamW steps. `losses` (optional array): each step's loss, computed before
   * its update, is pushed onto it. Returns the number of steps done: fewer than k when the
   * loss became NaN or infinite, in which case the parameters stay as they were before that
   * step and this.diverged holds the message (later calls do nothing).
   */
  step(k = 1, losses = null) {
    coreInt("k", k, 0);
    for (let s = 0; s < k; s++) {
      if (this.diverged) return s;
      this._pass(this.train, true);
      const loss = this._loss;
      if (!Number.isFinite(loss)) {
        this.diverged = `the training loss became ${loss} at step ${this.steps}: the run diverged and stopped; `
          + `try a smaller learning rate than lr=${this.lr}`;
        return s;
      }
      if (losses) losses.push(loss);
      this.lastLoss = loss;
      this.lastAcc = this._acc;
      this._adam();
      this.steps++;
    }
    return k;
  }

  /** Loss and accuracy on the held-out pairs at the current parameters, and on the training
   *  pairs as the last step measured them (before its update): a live view's cheap reading,
   *  one pass over the held-out pairs only. */
  evaluateHeldOut() {
    let valLoss = NaN, valAcc = NaN;
    if (this.val.P > 0) { this._pass(this.val, false); valLoss = this._loss; valAcc = this._acc; }
    return { trainLoss: this.lastLoss, trainAcc: this.lastAcc, valLoss, valAcc };
  }

  /** Loss and accuracy on the training and held-out pairs at the current parameters. */
  evaluate() {
    this._pass(this.train, false);
    const trainLoss = this._loss, trainAcc = this._acc;
    let valLoss = NaN, valAcc = NaN;
    if (this.val.P > 0) {
      this._pass(this.val, false);
      valLoss = this._loss; valAcc = this._acc;
    }
    return { trainLoss, trainAcc, valLoss, valAcc };
  }

  /** The parameters as nested arrays (copies). */
  params() {
    const { p, n, H } = this;
    const out = { E: coreNested(p, this.oE, n, 2), W1: coreNested(p, this.oW1, 2, H) };
    if (this.bias) out.b1 = coreNested(p, this.ob1, H, 0);
    out.W2 = coreNested(p, this.oW2, H, n);
    if (this.bias) out.b2 = coreNested(p, this.ob2, n, 0);
    return out;
  }
}

/**
 * k full-batch AdamW steps from `params`, with a fresh Adam state; `params` is not changed.
 *
 * params: {E (n x 2), W1 (2 x H), b1 (H)?, W2 (H x n), b2 (n)?} as nested arrays (flat
 *   row-major arrays are accepted too); without biases b1/b2 are absent (or all zero).
 * opts: {n, hidden, bias, lr, wd_embed, wd_weights, wd_bias, betas: [b1, b2], eps, train}
 *   where train lists the unordered training pairs [a, b], a <= b; (a, b) and (b, a) both
 *   count when a != b. Optional: weight_decay (the decay of any group not given), val
 *   (held-out pairs; unused here). Defaults: betas [0.9, 0.999], eps 1e-8, hidden from W1.
 * Returns {params (nested, b1/b2 only with biases), losses (losses[i]: the loss before step i+1)}.
 * Throws RangeError on bad arguments (naming the value and what is allowed) and
 * DivergenceError when the loss becomes NaN or infinite.
 */
export function trainSteps(params, opts, k) {
  coreInt("k", k, 0);
  const tr = new Trainer(params, opts);
  const losses = [];
  const done = tr.step(k, losses);
  if (done < k) throw new DivergenceError(tr.diverged, tr.steps, losses);
  return { params: tr.params(), losses };
}

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

// ------------------------------------------------------------------ particles

export const GAUGES = Object.freeze(["affine", "scale", "none"]);
/** Defaults of modadd.particles.simulate. */
export const PARTICLE_DEFAULTS = Object.freeze({
  clustering: 1.0, alignment: 0.0, repulsion: 0.3, step_size: 0.1, clustering_width: 1.5, repulsion_width: 0.7,
  gauge: "affine",
});
const CORE_RUNAWAY = 1e6;   // a particle farther than this times the start's size is a blow-up

/** Spacing of n points spread evenly over a disc with unit variance per coordinate. */
export function spacing(n) {
  return Math.sqrt((4 * Math.PI) / n);
}

/** (n x 2) start positions uniform in [-1, 1]^2 (this file's generator, seed stream 3). */
export function randomStart(n, seed) {
  coreInt("n", n, 3);
  const rng = makeRng(coreInt("seed", seed, 0), 3);
  return Array.from({ length: n }, () => [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1]);
}

/** A particle system that blew up (NaN/inf or a runaway radius). Has .step. */
export class ParticleBlowUp extends Error {
  constructor(message, step) {
    super(message);
    this.name = "ParticleBlowUp";
    this.step = step;
  }
}

function coreParticleOptions(opts, n) {
  coreObject("opts", opts);
  coreUnknownKeys("opts", opts, ["n", ...Object.keys(PARTICLE_DEFAULTS)]);
  if (opts.n !== undefined && opts.n !== n) coreFail(`opts.n=${coreShow(opts.n)} but the start has ${n} particles`);
  const o = { ...PARTICLE_DEFAULTS, ...opts };
  return {
    clustering: coreNumber("clustering", o.clustering, { min: 0 }),
    alignment: coreNumber("alignment", o.alignment, { min: 0 }),
    repulsion: coreNumber("repulsion", o.repulsion, { min: 0 }),
    step_size: coreNumber("step_size", o.step_size, { min: 0, minOpen: true }),
    clustering_width: coreNumber("clustering_width", o.clustering_width, { min: 0, minOpen: true }),
    repulsion_width: coreNumber("repulsion_width", o.repulsion_width, { min: 0, minOpen: true }),
    gauge: coreChoice("gauge", o.gauge, GAUGES),
  };
}

/**
 * A particle system, kept between calls (modadd.particles.simulate for one system, with
 * the exact repulsion). Buffers are allocated once.
 *
 *   const ps = new Particles(E0, opts);  // E0: n x 2 nested (or flat 2n) start, n >= 3;
 *        // opts {n?, clustering, alignment, repulsion, step_size, clustering_width, repulsion_width,
 *        // gauge}, defaults PARTICLE_DEFAULTS. The gauge ("affine" for gauge "none") is
 *        // applied to the start at once, as simulate does before step 1.
 *   ps.step(k)      // k steps; returns the number done (< k after a blow-up)
 *   ps.steps, ps.E  // steps done; positions, a live Float64Array (x0, y0, x1, y1, ...)
 *   ps.blownUp      // null, or the message (the system then stays put)
 *   ps.set({clustering, alignment, repulsion, step_size})   // change between steps
 *   ps.positions()  // nested copy (n x 2)
 *
 * Blow-up (like simulate's _check_blow_up, but checked after every step): a NaN/inf
 * position, a radius above 1e6 times the gauge-fixed start's largest coordinate, or, for
 * gauge "affine", positions that collapsed onto a line (no inverse square root).
 */
export class Particles {
  constructor(E0, opts = {}) {
    if (E0 == null || typeof E0.length !== "number") coreFail(`E0 must be an (n, 2) nested list of finite numbers, got E0=${coreShow(E0)}`);
    const n = typeof E0[0] === "number" ? E0.length / 2 : E0.length;
    coreInt("n (the number of particles in the start)", n, 3);
    const o = coreParticleOptions(opts, n);
    Object.assign(this, o);
    this.n = n;
    const E = new Float64Array(2 * n);
    coreMatrix("E0", E0, n, 2, E, 0);
    let spread = 0, big = 0;
    for (let i = 0; i < 2 * n; i++) big = Math.max(big, Math.abs(E[i]));
    for (let a = 0; a < n; a++) {
      for (let k = 0; k < 2; k++) spread = Math.max(spread, Math.abs(E[2 * a + k] - E[k]));
    }
    if (!(spread > 1e-12 * Math.max(big, 1e-300))) coreFail("E0 has all particles at one point; there is no shape to evolve");
    this.E = E;
    // pairs a <= b, answers, weights mult / n, and each answer's pairs (groups)
    const U = (n * (n + 1)) / 2;
    this.U = U;
    this.pa = new Int32Array(U); this.pb = new Int32Array(U); this.py = new Int32Array(U);
    this.w = new Float64Array(U);
    let u = 0;
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++, u++) {
        this.pa[u] = a; this.pb[u] = b; this.py[u] = (a + b) % n; this.w[u] = (a === b ? 1 : 2) / n;
      }
    }
    this.groupStart = new Int32Array(n + 1);
    this.groupPairs = new Int32Array(U);
    for (let i = 0; i < U; i++) this.groupStart[this.py[i] + 1]++;
    for (let y = 0; y < n; y++) this.groupStart[y + 1] += this.groupStart[y];
    const fill = this.groupStart.slice(0, n);
    for (let i = 0; i < U; i++) this.groupPairs[fill[this.py[i]]++] = i;
    this.S = new Float64Array(2 * U);
    this.f = new Float64Array(2 * U);
    this.uv = new Float64Array(2 * U);   // unit vectors of the sums (alignment)
    this.r = new Float64Array(U);
    this.torque = new Float64Array(U);
    this.steps = 0;
    this.blownUp = null;
    const first = this._gauge(this.gauge === "none" ? "affine" : this.gauge);
    if (first) coreFail(`E0 cannot be put in the gauge: ${first}`);
    let lim = 0;
    for (let i = 0; i < 2 * n; i++) lim = Math.max(lim, Math.abs(E[i]));
    this.limit = CORE_RUNAWAY * lim;
  }

  /** Change force strengths or the step size between steps. */
  set(o) {
    coreObject("settings", o);
    coreUnknownKeys("settings", o, ["clustering", "alignment", "repulsion", "step_size"]);
    const next = {};
    for (const k of ["clustering", "alignment", "repulsion"]) if (o[k] !== undefined) next[k] = coreNumber(k, o[k], { min: 0 });
    if (o.step_size !== undefined) next.step_size = coreNumber("step_size", o.step_size, { min: 0, minOpen: true });
    Object.assign(this, next);
  }

  // The gauge step in place; returns null, or why it failed (a collapse onto a line).
  _gauge(gauge) {
    const E = this.E, n = this.n;
    let mx = 0, my = 0;
    for (let a = 0; a < n; a++) { mx += E[2 * a]; my += E[2 * a + 1]; }
    mx /= n; my /= n;
    for (let a = 0; a < n; a++) { E[2 * a] -= mx; E[2 * a + 1] -= my; }
    if (gauge === "none") return null;
    if (gauge === "scale") {
      let ss = 0;
      for (let i = 0; i < 2 * n; i++) ss += E[i] * E[i];
      const inv = 1 / Math.max(Math.sqrt(ss / (2 * n)), 1e-300);
      for (let i = 0; i < 2 * n; i++) E[i] *= inv;
      return null;
    }
    let cxx = 0, cxy = 0, cyy = 0;
    for (let a = 0; a < n; a++) {
      const x = E[2 * a], y = E[2 * a + 1];
      cxx += x * x; cxy += x * y; cyy += y * y;
    }
    cxx /= n; cxy /= n; cyy /= n;
    // C^(-1/2) of the 2x2 covariance: with s = sqrt(det C), t = sqrt(tr C + 2 s),
    // C^(1/2) = (C + s I) / t, so C^(-1/2) = adj(C + s I) / (s t).
    const det = cxx * cyy - cxy * cxy;
    if (!(det > 0) || !Number.isFinite(det)) return `the positions collapsed onto a line (covariance determinant ${det})`;
    const s = Math.sqrt(det), t = Math.sqrt(cxx + cyy + 2 * s), k = 1 / (s * t);
    const ixx = (cyy + s) * k, ixy = -cxy * k, iyy = (cxx + s) * k;
    for (let a = 0; a < n; a++) {
      const x = E[2 * a], y = E[2 * a + 1];
      E[2 * a] = x * ixx + y * ixy;
      E[2 * a + 1] = x * ixy + y * iyy;
    }
    return null;
  }

  // Forces on the sums (into this.f), moved onto the particles and applied (Euler step).
  _move() {
    const { n, U, E, S, f, w, pa, pb, py, groupStart, groupPairs } = this;
    const clu = this.clustering, ali = this.alignment, rep = this.repulsion, eta = this.step_size;
    for (let i = 0; i < U; i++) {
      const a = 2 * pa[i], b = 2 * pb[i];
      S[2 * i] = E[a] + E[b]; S[2 * i + 1] = E[a + 1] + E[b + 1];
    }
    f.fill(0);
    if (clu > 0) {       // f_p += clu sum_{q same answer} w_q K(|s_q - s_p|) (s_q - s_p)
      const sig = this.clustering_width * spacing(n), c = -0.5 / (sig * sig);
      for (let y = 0; y < n; y++) {
        for (let gi = groupStart[y]; gi < groupStart[y + 1]; gi++) {
          const p = groupPairs[gi], px = S[2 * p], py_ = S[2 * p + 1], wp = w[p];
          for (let gj = gi + 1; gj < groupStart[y + 1]; gj++) {
            const q = groupPairs[gj];
            const dx = S[2 * q] - px, dy = S[2 * q + 1] - py_;
            const K = clu * Math.exp((dx * dx + dy * dy) * c);
            const kq = K * w[q], kp = K * wp;
            f[2 * p] += kq * dx; f[2 * p + 1] += kq * dy;
            f[2 * q] -= kp * dx; f[2 * q + 1] -= kp * dy;
          }
        }
      }
    }
    if (ali > 0) {       // axial alignment, self_power 0, other_power 1
      const { uv, r, torque } = this;
      for (let i = 0; i < U; i++) {
        const x = S[2 * i], y = S[2 * i + 1], ri = Math.sqrt(x * x + y * y);
        r[i] = ri;
        if (ri > 0) { uv[2 * i] = x / ri; uv[2 * i + 1] = y / ri; } else { uv[2 * i] = 0; uv[2 * i + 1] = 0; }
        torque[i] = 0;
      }
      for (let y = 0; y < n; y++) {
        for (let gi = groupStart[y]; gi < groupStart[y + 1]; gi++) {
          const p = groupPairs[gi], ux = uv[2 * p], uy = uv[2 * p + 1], wr = w[p] * r[p];
          for (let gj = gi + 1; gj < groupStart[y + 1]; gj++) {
            const q = groupPairs[gj], vx = uv[2 * q], vy = uv[2 * q + 1];
            const hs = (ux * vy - uy * vx) * (ux * vx + uy * vy);   // (1/2) sin 2(theta_q - theta_p)
            torque[p] += hs * w[q] * r[q];
            torque[q] -= hs * wr;
          }
        }
      }
      for (let i = 0; i < U; i++) {
        const tq = ali * torque[i];
        f[2 * i] -= tq * uv[2 * i + 1]; f[2 * i + 1] += tq * uv[2 * i];
      }
    }
    if (rep > 0) {       // f_p += rep sum_{q other answer} w_q K(|s_p - s_q|) (s_p - s_q)
      const sig = this.repulsion_width * spacing(n), c = -0.5 / (sig * sig);
      for (let p = 0; p < U; p++) {
        const px = S[2 * p], py0 = S[2 * p + 1], yp = py[p], wp = w[p];
        let fx = 0, fy = 0;
        for (let q = p + 1; q < U; q++) {
          if (py[q] === yp) continue;
          const dx = px - S[2 * q], dy = py0 - S[2 * q + 1];
          const K = rep * Math.exp((dx * dx + dy * dy) * c);
          const kq = K * w[q], kp = K * wp;
          fx += kq * dx; fy += kq * dy;
          f[2 * q] -= kp * dx; f[2 * q + 1] -= kp * dy;
        }
        f[2 * p] += fx; f[2 * p + 1] += fy;
      }
    }
    // onto the particles: F_a = sum_{p containing a} w_p f_p (twice for (a, a)); Euler step
    for (let i = 0; i < U; i++) {
      const wi = eta * w[i], fx = wi * f[2 * i], fy = wi * f[2 * i + 1], a = 2 * pa[i], b = 2 * pb[i];
      E[a] += fx; E[a + 1] += fy; E[b] += fx; E[b + 1] += fy;
    }
  }

  /** k steps; returns the number done (fewer after a blow-up: see this.blownUp). */
  step(k = 1) {
    coreInt("k", k, 0);
    const E = this.E, n = this.n;
    for (let s = 0; s < k; s++) {
      if (this.blownUp) return s;
      const t = this.steps + 1;
      this._move();
      let finite = true, radius = 0;
      for (let a = 0; a < n; a++) {
        const x = E[2 * a], y = E[2 * a + 1];
        if (!Number.isFinite(x) || !Number.isFinite(y)) { finite = false; break; }
        radius = Math.max(radius, Math.sqrt(x * x + y * y));
      }
      let why = !finite ? "NaN or inf positions" : (radius > this.limit ? `a radius of ${radius.toPrecision(3)}` : null);
      if (!why) why = this._gauge(this.gauge);
      if (why) {
        this.blownUp = `the particle simulation blew up by step ${t} (${why}); try a smaller step_size than ${this.step_size}`;
        return s;
      }
      this.steps = t;
    }
    return k;
  }

  positions() {
    return coreNested(this.E, 0, this.n, 2);
  }
}

/**
 * k particle steps from E (n x 2, not changed), as modadd.particles.simulate(n, ...,
 * start=E, steps=k) with the exact repulsion. opts: {n?, clustering, alignment, repulsion,
 * step_size, clustering_width, repulsion_width, gauge} (defaults PARTICLE_DEFAULTS).
 * Returns {E: the positions after k steps, start: the gauge-fixed start} (nested arrays).
 * Throws RangeError on bad arguments and ParticleBlowUp on a blow-up.
 */
export function particleSteps(E, opts, k) {
  coreInt("k", k, 0);
  const ps = new Particles(E, opts === undefined ? {} : opts);
  const start = ps.positions();
  if (ps.step(k) < k) throw new ParticleBlowUp(ps.blownUp, ps.steps + 1);
  return { E: ps.positions(), start };
}
