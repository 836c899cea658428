// The book's network and its AdamW trainer, in plain JavaScript with no DOM access, for the
// live widgets (issue #13). Runs unchanged in Node >= 20, in browsers and in a Web Worker;
// keeps the parameters and Adam in float64 (Float64Array) and computes in float64, except
// the WebAssembly pass's output layer (float32: see below). Like every file of the widget,
// it imports its siblings by name and modadd.widget.bundle() concatenates them into one
// module, so every top-level name that is not exported starts with `core` (no clash with
// the view).
//
// What it mirrors, and how closely (tests/js/core.test.mjs checks the plain-JavaScript pass
// against the Python package from the same initial parameters: relative error <= 1e-6 over
// 300 steps; the two differ by rounding only, which some stretches of training amplify, in
// Python alone too: see tests/js/reference.py; and the WebAssembly pass against the plain
// JavaScript within bounds on float32 rounding, and the widget's default recipes to the
// same structure):
//
// * The network of `modadd.core.model`: x = E_a + E_b, h = ReLU(x W1 + b1), logits = h W2 + b2,
//   W1 (2, H), W2 (H, n), stored input-major as there. Loss: mean cross-entropy over the
//   ordered training pairs, computed on unordered pairs with weight 2 for a != b (exactly
//   the trainer's loss). Backward pass written by hand.
// * The trainer of `modadd.core.train` (its AdamW step: `modadd.core.optim.adamw_step`):
//   full-batch AdamW with decoupled weight decay per group (E; W1 and W2; b1 and b2):
//   p <- p (1 - lr wd), then Adam with both bias corrections and eps added after dividing
//   sqrt(v) by sqrt(1 - beta2^t), as torch.optim.AdamW. Without biases b1 and b2 do not
//   exist (Python keeps them at zero, untrained: the same network).
//
// The stateful `Trainer` allocates nothing per step, takes new hyperparameters between
// steps, and stops a diverging run with a message.
//
// Speed: the training pass runs as one WebAssembly function with SIMD (kernels.wat) when
// the engine supports it (Node >= 16, current browsers), else as plain JavaScript (tested as
// above). benchmarks/bench_web.mjs measures steps per second.
//
// Exports (documented where defined): trainSteps(params, opts, k) -> {params, losses} (the
// tested, pure entry point), Trainer (Trainer.useWasm = false forces plain JavaScript),
// DivergenceError.

import { coreBool, coreFail, coreInt, coreMatrix, coreNested, coreNumber, coreObject, coreShow, coreUnknownKeys } from "./checks.js";
import { kernelsModule } from "./kernels.js";
import { TRAIN_DEFAULTS, initParams, splitPairs } from "./net.js";

// ------------------------------------------------------------------ WebAssembly kernels
//
// The training pass (forward, softmax, backward over a table of pairs) runs as WebAssembly
// with 128-bit SIMD when the engine has it, and as the plain JavaScript of Trainer._passJs
// otherwise (same maths, rounding aside; Trainer.useWasm = false forces JavaScript). The
// WebAssembly pass computes the output layer's products (the logits h W2, W2 dlogits and
// the gradient of W2 over blocks of 32 pairs) in float32 with four lanes, from a float32 copy
// of W2 made each pass, and the rest, the softmax and the sums over the blocks included, in
// float64; the plain JavaScript is float64 throughout. Its readable source is kernels.wat;
// kernels.js compiles its bytes (kernels_wasm.js, generated from it by
// tools/assemble_wasm.mjs with wabt).

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
 *                         // TRAIN_DEFAULTS (spread a preset from Python in: {...presets.grid, n: 31})
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
    this.train = corePairTables(o.tr.pa, o.tr.pb, n);
    this.val = corePairTables(o.va.pa, o.va.pb, n);
    // p and g live in one WebAssembly memory with the pass's buffers when the kernels are used
    const mod = Trainer.useWasm ? kernelsModule() : null;
    const np = (n + 3) & ~3, Pmax = Math.max(this.train.P, this.val.P, 1);
    const lay = mod
      ? { p: [this.size, 8], g: [this.size, 8], W2p: [H * np, 4], b2p: [np, 8], b1z: [H, 8], gW2p: [H * np, 8],
          gb2p: [np, 8], gb1d: [H, 8], res: [4 * Pmax, 8], tpa: [this.train.P, 4], tpb: [this.train.P, 4],
          tpy: [this.train.P, 4], tpw: [this.train.P, 8], vpa: [this.val.P, 4], vpb: [this.val.P, 4],
          vpy: [this.val.P, 4], vpw: [this.val.P, 8], work: [0, 1] }
      : { p: [this.size, 8], g: [this.size, 8], h: [H, 8], lg: [n, 8], dl: [n, 8] };
    let bytes = 0, mem = null;
    const at = {};
    if (mod) {
      mem = new WebAssembly.Memory({ initial: 1 });
      this.kern = new WebAssembly.Instance(mod, { env: { mem } }).exports;
      lay.work[0] = this.kern.work_bytes(np, H);
    } else {
      this.kern = null;
    }
    for (const [k, [len, size]] of Object.entries(lay)) { at[k] = bytes; bytes += Math.ceil((len * size) / 16) * 16; }
    let buf;
    if (mod) {
      const pages = Math.ceil(bytes / 65536);
      if (pages > 1) mem.grow(pages - 1);
      buf = mem.buffer;
    } else {
      buf = new ArrayBuffer(bytes);
    }
    this.at = at; this.np = np;
    const f64 = (k) => new Float64Array(buf, at[k], lay[k][0]);
    const p = f64("p");
    this.g = f64("g");
    if (mod) {
      this.W2p = new Float32Array(buf, at.W2p, H * np);   // the pass's float32 copy of W2
      this.b2p = f64("b2p"); this.gW2p = f64("gW2p"); this.gb2p = f64("gb2p"); this.gb1d = f64("gb1d");
      this.res = f64("res");
      for (const [tab, pre] of [[this.train, "t"], [this.val, "v"]]) {
        new Int32Array(buf, at[pre + "pa"], tab.P).set(tab.pa);
        new Int32Array(buf, at[pre + "pb"], tab.P).set(tab.pb);
        new Int32Array(buf, at[pre + "py"], tab.P).set(tab.py);
        new Float64Array(buf, at[pre + "pw"], tab.P).set(tab.pw);
        tab.wasm = pre;
      }
    } else {
      this.h = f64("h"); this.lg = f64("lg"); this.dl = f64("dl");
    }
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

  // One pass over a table of pairs at the current parameters: loss and accuracy over the
  // ordered pairs (this._loss, this._acc), and with grad the gradient of the loss in this.g.
  _pass(tab, grad) {
    if (this.kern) this._passWasm(tab, grad);
    else this._passJs(tab, grad);
  }

  // The pass in WebAssembly (kernels.wat): W2 copied as float32 and b2 as float64 into rows
  // padded to a multiple of four classes, the gradient of W2 and b2 (float64) copied back
  // from padded rows.
  _passWasm(tab, grad) {
    const { n, np, H, p, g, at, kern, bias, W2p, b2p, res } = this;
    for (let j = 0; j < H; j++) W2p.set(p.subarray(this.oW2 + j * n, this.oW2 + (j + 1) * n), j * np);
    if (bias) b2p.set(p.subarray(this.ob2, this.ob2 + n));
    if (grad) { g.fill(0); this.gW2p.fill(0); this.gb2p.fill(0); }
    const pre = tab.wasm, b1 = bias ? at.p + 8 * this.ob1 : at.b1z, gb1 = bias ? at.g + 8 * this.ob1 : at.gb1d;
    kern.pass(n, np, H, tab.P, grad ? 1 : 0, at.p + 8 * this.oE, at.p + 8 * this.oW1, b1, at.W2p, at.b2p,
              at.g + 8 * this.oE, at.g + 8 * this.oW1, gb1, at.gW2p, at.gb2p,
              at[pre + "pa"], at[pre + "pb"], at[pre + "py"], at[pre + "pw"], at.res, at.work);
    if (grad) {
      const gW2p = this.gW2p;
      for (let j = 0; j < H; j++) g.set(gW2p.subarray(j * np, j * np + n), this.oW2 + j * n);
      if (bias) g.set(this.gb2p.subarray(0, n), this.ob2);
    }
    const pw = tab.pw, P = tab.P;
    let loss = 0, acc = 0;
    for (let i = 0; i < P; i++) {
      loss += pw[i] * (Math.log(res[4 * i]) + res[4 * i + 1] - res[4 * i + 2]);
      acc += res[4 * i + 3];
    }
    this._loss = loss;
    this._acc = acc;
  }

  // The pass in plain JavaScript, pair by pair.
  _passJs(tab, grad) {
    const n = this.n, H = this.H, p = this.p, g = this.g, lg = this.lg, dl = this.dl, dx = this.dx;
    const h = this.h, act = this.act, rows = this.rows, bias = this.bias;
    const oW1 = this.oW1, oW1b = this.oW1 + H, ob1 = this.ob1, oW2 = this.oW2;
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
        if (z > 0) { h[na] = z; act[na] = j; rows[na] = oW2 + j * n; na++; }
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
    const n = this.n, p = this.p, h = this.h, rows = this.rows, lg = this.lg;
    const n8 = n - (n % 8);
    let c = 0;
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
    const rows = this.rows;
    const oW1 = this.oW1, oW1b = this.oW1 + H, ob1 = this.ob1, ob2 = this.ob2, bias = this.bias;
    if (bias) for (let c2 = 0; c2 < n; c2++) g[ob2 + c2] += dl[c2];
    let dx0 = 0, dx1 = 0, k = 0;
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
