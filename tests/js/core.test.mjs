// Tests of the live widget's arithmetic in src/modadd/web/ (rng.js, net.js, trainer.js,
// regions.js, particles.js).
// Run from the repository root: node --test tests/js/
//
// The comparisons with the Python package use reference runs made by tests/js/reference.py
// (float64 torch, same initial parameters), run once as a child process with
// MODADD_PYTHON (default .venv/bin/python). A missing Python or a failing reference run
// fails these tests; nothing is skipped. The trainer's plain-JavaScript pass (float64) is
// compared with them step by step; its WebAssembly pass, whose output layer is float32, is
// compared with the plain-JavaScript pass within bounds on float32 rounding, at the
// reference's states and others (see "the WebAssembly pass" below).
//
// Relative error of a tensor: max_i |js_i - py_i| / max(|py_i|, rms(py)), where rms(py) is
// the root mean square of the reference tensor: each entry is judged against its own size,
// or against the tensor's typical size when it is smaller than that (entries near zero
// carry no relative precision). Losses: |js - py| / |py| at every step.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { makeRng } from "../../src/modadd/web/rng.js";
import { initParams, splitPairs, TRAIN_DEFAULTS } from "../../src/modadd/web/net.js";
import { trainSteps, Trainer, DivergenceError } from "../../src/modadd/web/trainer.js";
import { predictGrid } from "../../src/modadd/web/regions.js";
import { structureReadout } from "../../src/modadd/web/structure.js";
import { particleSteps, Particles, ParticleBlowUp, randomStart, PARTICLE_DEFAULTS } from "../../src/modadd/web/particles.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const TOL = 1e-6;            // training: every loss and every final parameter
const PARTICLE_TOL = 1e-10;  // particles: every position at every step

let REF, CIRCLE_RECIPE, GRID_RECIPE;   // the recipes as the widget gets them from Python
before(() => {
  const python = process.env.MODADD_PYTHON || ".venv/bin/python";
  const res = spawnSync(python, ["tests/js/reference.py"], {
    cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: "1", PYTHONPATH: path.join(ROOT, "src") },
  });
  if (res.error || res.status !== 0) {
    throw new Error(`the Python reference (${python} tests/js/reference.py) failed: ${res.error || res.stderr}`);
  }
  REF = JSON.parse(res.stdout);
  ({ circle: CIRCLE_RECIPE, grid: GRID_RECIPE } = REF.presets);
});

const flat = (x) => (Array.isArray(x) ? x.flat(Infinity) : [x]);

function relError(js, py) {
  const a = flat(js), b = flat(py);
  assert.equal(a.length, b.length, "shapes differ");
  const rms = Math.sqrt(b.reduce((s, v) => s + v * v, 0) / b.length);
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), rms));
  return worst;
}

const deepCopy = (x) => JSON.parse(JSON.stringify(x));

// ------------------------------------------------------------------ training vs Python

// The plain-JavaScript pass only: the WebAssembly pass rounds its output layer to float32
// (~1e-7), which training amplifies past any tolerance tied to it (n17_bias_wd_groups moves
// 1.5e-8 under a 1e-16 nudge); it is checked pass by pass below, at these runs' states.
test("trainSteps matches modadd.core.train.train from the same start (every loss, every parameter; plain JavaScript)", () => {
  assert.ok(REF.training.length >= 4);
  Trainer.useWasm = false;
  try {
    assert.equal(new Trainer(REF.training[0].init, REF.training[0].opts).kern, null, "the engine under test is in use");
    checkTraining();
  } finally {
    Trainer.useWasm = true;
  }
});

function checkTraining() {
  const seen = { bias: false, nobias: false, n: new Set(), val: false };
  for (const c of REF.training) {
    const o = c.opts;
    seen[o.bias ? "bias" : "nobias"] = true;
    seen.n.add(o.n);
    seen.val ||= c.val.length > 0;
    const out = trainSteps(c.init, o, REF.steps);
    assert.equal(out.losses.length, REF.steps);
    const why = `${c.name} (the reference moves ${c.sensitivity.toExponential(1)} under a 1e-16 nudge of its start)`;
    for (let i = 0; i < REF.steps; i++) {
      const err = Math.abs(out.losses[i] - c.train_loss[i]) / Math.abs(c.train_loss[i]);
      assert.ok(err <= TOL, `${why}: loss before step ${i + 1}: ${out.losses[i]} vs ${c.train_loss[i]} (relative error ${err})`);
    }
    assert.deepEqual(Object.keys(out.params).sort(), Object.keys(c.final).sort());
    for (const k of Object.keys(c.final)) {
      const err = relError(out.params[k], c.final[k]);
      assert.ok(err <= TOL, `${why}: final ${k}: relative error ${err}`);
    }
    // the per-group decays really differ in these cases (so a group mix-up would show)
    assert.ok(new Set([o.wd_embed, o.wd_weights, o.wd_bias]).size >= (o.bias ? 3 : 1));
  }
  assert.ok(seen.bias && seen.nobias && seen.val && [...seen.n].some((n) => n !== 17), "cases cover the contract");
}

test("Trainer: continuing runs, held-out metrics and accuracy match the Python history (plain JavaScript)", () => {
  Trainer.useWasm = false;
  try { checkContinuing(); } finally { Trainer.useWasm = true; }
});

function checkContinuing() {
  for (const c of REF.training) {
    const tr = new Trainer(c.init, { ...c.opts, val: c.val });
    assert.equal(tr.kern, null);
    const losses = [];
    assert.equal(tr.step(100, losses), 100);
    for (const k of Object.keys(c.params_100)) {
      assert.ok(relError(tr.params()[k], c.params_100[k]) <= TOL, `${c.name}: ${k} at step 100`);
    }
    assert.equal(tr.step(REF.steps - 100, losses), REF.steps - 100);   // Adam state kept across calls
    assert.equal(tr.steps, REF.steps);
    for (let i = 0; i < REF.steps; i++) assert.ok(Math.abs(losses[i] - c.train_loss[i]) <= TOL * c.train_loss[i]);
    const m = tr.evaluate();
    const T = REF.steps;
    assert.ok(Math.abs(m.trainLoss - c.train_loss[T]) <= TOL * c.train_loss[T], `${c.name}: train loss at the end`);
    assert.ok(Math.abs(m.trainAcc - c.train_acc[T]) <= 1e-12, `${c.name}: train accuracy ${m.trainAcc} vs ${c.train_acc[T]}`);
    if (c.val.length) {
      assert.ok(Math.abs(m.valLoss - c.val_loss[T]) <= TOL * c.val_loss[T], `${c.name}: val loss at the end`);
      assert.ok(Math.abs(m.valAcc - c.val_acc[T]) <= 1e-12, `${c.name}: val accuracy`);
    } else {
      assert.ok(Number.isNaN(m.valLoss) && Number.isNaN(m.valAcc) && c.val_loss[T] === null);
    }
  }
}

test("the defaults are the Python package's", () => {
  for (const [k, v] of Object.entries(REF.defaults.train)) assert.deepEqual(TRAIN_DEFAULTS[k], v, `TRAIN_DEFAULTS.${k}`);
  assert.deepEqual({ ...PARTICLE_DEFAULTS }, REF.defaults.particles);
});

// ------------------------------------------------------------------ particles vs Python

for (const wasm of [true, false]) {
test(`Particles match modadd.particles.simulate from the same start, at every step (${wasm ? "WebAssembly repulsion" : "plain JavaScript"})`, () => {
  const kinds = new Set();
  Particles.useWasm = wasm;
  try {
  for (const c of REF.particles) {
    const o = c.opts;
    if (o.clustering > 0) kinds.add("clustering");
    if (o.alignment > 0) kinds.add("alignment");
    if (o.repulsion > 0) kinds.add("repulsion");
    const ps = new Particles(c.start, o);
    assert.equal(Boolean(ps.kern), wasm, "the engine under test is in use");
    let err = relError(ps.positions(), c.frames[0]);
    assert.ok(err <= PARTICLE_TOL, `${c.name}: gauge-fixed start, relative error ${err}`);
    for (let t = 1; t <= REF.particle_steps; t++) {
      assert.equal(ps.step(1), 1, ps.blownUp);
      err = relError(ps.positions(), c.frames[t]);
      assert.ok(err <= PARTICLE_TOL, `${c.name}: step ${t}, relative error ${err}`);
    }
    const once = particleSteps(c.start, o, REF.particle_steps);       // the pure entry point
    assert.ok(relError(once.E, c.frames[REF.particle_steps]) <= PARTICLE_TOL, `${c.name}: particleSteps`);
    assert.ok(relError(once.start, c.frames[0]) <= PARTICLE_TOL);
  }
  } finally {
    Particles.useWasm = true;
  }
  assert.deepEqual([...kinds].sort(), ["alignment", "clustering", "repulsion"]);
  assert.deepEqual([...new Set(REF.particles.map((c) => c.n))].sort(), [11, 17]);
});
}

// (repel takes the sums four at a time from an even index, padded with weight-0 entries:
// U = n(n+1)/2 odd (n = 5, 17) and even (n = 59, the same-start widget's N))
test("the WebAssembly repulsion and the plain JavaScript agree over 50 steps (n = 5, 17, 59, all three forces)", () => {
  for (const n of [5, 17, 59]) {
    const opts = { clustering: 1.0, alignment: 1.0, repulsion: 0.3 };
    Particles.useWasm = false;
    let js;
    try { js = new Particles(randomStart(n, n), opts); } finally { Particles.useWasm = true; }
    const wa = new Particles(randomStart(n, n), opts);
    assert.ok(wa.kern && !js.kern, "one of each engine");
    for (let t = 1; t <= 50; t++) {
      assert.equal(wa.step(1), 1, wa.blownUp);
      assert.equal(js.step(1), 1, js.blownUp);
      const err = relError(wa.positions(), js.positions());
      assert.ok(err <= 1e-12, `n=${n} step ${t}: relative error ${err}`);
    }
  }
});

// ------------------------------------------------------------------ helpers

const smallOpts = (over = {}) => ({
  n: 7, hidden: 8, bias: true, lr: 1e-2, wd_embed: 0.1, wd_weights: 0.2, wd_bias: 0.3, betas: [0.9, 0.999], eps: 1e-8,
  train: splitPairs(7, 0.2, 0).train, ...over,
});

test("splitPairs: reproducible, by unordered pair, sizes as in modadd.core.data", () => {
  for (const [n, v] of [[7, 0.2], [17, 0.2], [11, 0.5], [5, 0.0], [13, 0.999]]) {
    const a = splitPairs(n, v, 3), b = splitPairs(n, v, 3);
    assert.deepEqual(a, b, "same arguments, same split");
    const U = (n * (n + 1)) / 2;
    assert.equal(a.train.length + a.val.length, U);
    const keys = new Set([...a.train, ...a.val].map(([x, y]) => { assert.ok(0 <= x && x <= y && y < n); return x * n + y; }));
    assert.equal(keys.size, U, "every unordered pair exactly once");
    const want = Math.min(Math.round(v * U), U - 1);      // no exact .5 ties for these sizes
    assert.equal(a.val.length, want);
    assert.ok(a.train.length >= 1);
  }
  assert.equal(splitPairs(17, 0.2, 0).val.length, 31);     // round(0.2 * 153) = round(30.6)
  assert.equal(splitPairs(7, 0.25, 0).val.length, 7);      // round(0.25 * 28) = 7
  assert.equal(splitPairs(3, 0.25, 0).val.length, 2);      // round(1.5) = 2 (half to even, as Python)
  assert.equal(splitPairs(5, 1 / 6, 0).val.length, 2);     // round(2.5) = 2
  assert.notDeepEqual(splitPairs(17, 0.2, 0).val, splitPairs(17, 0.2, 1).val, "another seed, another split");
});

test("makeRng and initParams: seeded, the Python init families and shapes", () => {
  const r1 = makeRng(5, 1), r2 = makeRng(5, 1), r3 = makeRng(5, 2);
  const xs = Array.from({ length: 5 }, () => r1.uniform());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => r2.uniform()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => r3.uniform()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const rng = makeRng(0);
  let s = 0, s2 = 0;
  const N = 20000;
  for (let i = 0; i < N; i++) { const z = rng.normal(); s += z; s2 += z * z; }
  assert.ok(Math.abs(s / N) < 0.05 && Math.abs(s2 / N - 1) < 0.05, "normal() has mean 0 and variance 1");

  const p = initParams({ n: 11, hidden: 16, seed: 2 });
  assert.deepEqual(p, initParams({ n: 11, hidden: 16, seed: 2 }));
  assert.equal(p.E.length, 11); assert.equal(p.E[0].length, 2);
  assert.equal(p.W1.length, 2); assert.equal(p.W1[0].length, 16);
  assert.equal(p.b1.length, 16); assert.equal(p.W2.length, 16); assert.equal(p.W2[0].length, 11); assert.equal(p.b2.length, 11);
  const bound = (x, b) => flat(x).every((v) => Math.abs(v) <= b);
  assert.ok(bound(p.W1, 1 / Math.sqrt(2)) && bound(p.b1, 1 / Math.sqrt(2)) && bound(p.W2, 1 / 4) && bound(p.b2, 1 / 4));
  const g = initParams({ n: 11, hidden: 16, seed: 2, init: "glorot", embed_init: "uniform", embed_scale: 0.2 });
  assert.ok(bound(g.W1, Math.sqrt(6 / 18)) && bound(g.W2, Math.sqrt(6 / 27)) && bound(g.E, 0.2));
  assert.ok(flat(g.b1).every((v) => v === 0) && flat(g.b2).every((v) => v === 0));
  const nb = initParams({ ...CIRCLE_RECIPE, n: 9, seed: 1 });
  assert.deepEqual(Object.keys(nb), ["E", "W1", "W2"]);
  const tr = Trainer.fromConfig({ ...GRID_RECIPE, n: 13, seed: 4, val_fraction: 0.3 });
  assert.deepEqual(tr.split, splitPairs(13, 0.3, 4));
  assert.deepEqual(tr.params(), initParams({ ...GRID_RECIPE, n: 13, seed: 4 }));
});

test("trainSteps does not change its input; no biases means no b1/b2; a fresh Adam state per call", () => {
  const params = initParams({ n: 7, hidden: 8, seed: 0 });
  const opts = smallOpts();
  const before = deepCopy(params), optsBefore = deepCopy(opts);
  const out = trainSteps(params, opts, 20);
  assert.deepEqual(params, before);
  assert.deepEqual(opts, optsBefore);
  assert.equal(out.losses.length, 20);
  assert.ok(out.losses[19] < out.losses[0], "the loss falls");
  const twice = trainSteps(trainSteps(params, opts, 10).params, opts, 10);
  assert.notDeepEqual(twice.params, out.params, "a second call restarts Adam, so 10 + 10 != 20 steps");
  assert.deepEqual(trainSteps(params, opts, 20), out, "deterministic");
  assert.deepEqual(trainSteps(params, opts, 0), { params, losses: [] });

  const nb = initParams({ ...CIRCLE_RECIPE, n: 7, hidden: 8, seed: 0 });
  const res = trainSteps(nb, smallOpts({ bias: false }), 5);
  assert.deepEqual(Object.keys(res.params), ["E", "W1", "W2"]);
  const zeros = { ...nb, b1: new Array(8).fill(0), b2: new Array(7).fill(0) };  // Python's Params carry zero biases
  assert.deepEqual(trainSteps(zeros, smallOpts({ bias: false }), 5), res);
});

test("divergence is reported, with the step and a suggestion", () => {
  const params = initParams({ n: 7, hidden: 8, seed: 0 });
  const opts = smallOpts({ lr: 1e3, wd_embed: 10, wd_weights: 10, wd_bias: 10 });
  assert.throws(() => trainSteps(params, opts, 500), (e) => {
    assert.ok(e instanceof DivergenceError);
    assert.match(e.message, /the training loss became (NaN|Infinity) at step \d+: the run diverged and stopped; try a smaller learning rate than lr=1000/);
    assert.equal(e.losses.length, e.step);
    assert.ok(e.losses.every(Number.isFinite));
    return true;
  });
  const tr = new Trainer(params, opts);
  const done = tr.step(500);
  assert.ok(done < 500 && tr.diverged && tr.steps === done);
  const E = Array.from(tr.E);
  assert.equal(tr.step(10), 0, "a diverged run stays stopped");
  assert.deepEqual(Array.from(tr.E), E);

  const ps = new Particles(randomStart(11, 0), { step_size: 1e9 });
  assert.equal(ps.step(5), 0);
  assert.match(ps.blownUp, /the particle simulation blew up by step 1 \(a radius of .*\); try a smaller step_size than 1000000000/);
  assert.throws(() => particleSteps(randomStart(11, 0), { step_size: 1e9 }, 3), ParticleBlowUp);
});

test("bad options give a clear error naming the value and what is allowed", () => {
  const params = initParams({ n: 7, hidden: 8, seed: 0 });
  const bad = (over, re, p = params) => assert.throws(() => trainSteps(p, smallOpts(over), 1), re);
  bad({ lr: -1 }, /opts\.lr must be a finite number > 0, got opts\.lr=-1/);
  bad({ lr: NaN }, /opts\.lr must be a finite number > 0, got opts\.lr=NaN/);
  bad({ wd_embed: "0.1" }, /opts\.wd_embed must be a finite number >= 0, got opts\.wd_embed="0\.1"/);
  bad({ wd_bias: undefined }, /opts\.wd_bias must be a finite number >= 0 \(or give opts\.weight_decay/);
  bad({ betas: [0.9, 1] }, /opts\.betas\[1\] must be a finite number in \[0, 1\), got opts\.betas\[1\]=1/);
  bad({ eps: 0 }, /opts\.eps must be a finite number > 0/);
  bad({ n: 1.5 }, /opts\.n must be an integer >= 2, got opts\.n=1\.5/);
  bad({ bias: "yes" }, /opts\.bias must be true or false, got opts\.bias="yes"/);
  bad({ train: [[3, 2]] }, /opts\.train\[0\] must be a pair \[a, b\] of integers with 0 <= a <= b < n=7.*got \[3,2\]/);
  bad({ train: [[0, 7]] }, /opts\.train\[0\] must be a pair .* got \[0,7\]/);
  bad({ train: [[0, 1], [0, 1]] }, /opts\.train lists the pair \[0,1\] twice/);
  bad({ train: [] }, /opts\.train must be a non-empty list of pairs/);
  bad({ val: [[0, 0]], train: [[0, 0]] }, /opts\.val and opts\.train share the pair \[0, 0\]/);
  bad({ wd_embeds: 1 }, /opts has an unknown key "wd_embeds"; allowed: n, hidden, bias, lr/);
  bad({ n: 8 }, /params\.E must be a nested list of shape \(8, 2\)/);
  bad({ hidden: 9 }, /params\.W1 must be a nested list of shape \(2, 9\)/);
  bad({}, /params\.E must be .* got params\.E\[1\]\[0\]=NaN/, { ...params, E: params.E.map((r, i) => (i === 1 ? [NaN, 0] : r)) });
  bad({ bias: false }, /opts\.bias is false but params\.b1 is not all zero/);
  bad({}, /opts\.bias is true, so params must have b1/, { E: params.E, W1: params.W1, W2: params.W2 });
  assert.throws(() => trainSteps(params, smallOpts(), -1), /k must be an integer >= 0, got k=-1/);
  assert.throws(() => splitPairs(17, 1, 0), /val_fraction must be a finite number in \[0, 1\), got val_fraction=1/);
  assert.throws(() => splitPairs(17, 0.2, -1), /seed must be an integer >= 0, got seed=-1/);
  assert.throws(() => initParams({ init: "xavier" }), /init must be one of "torch", "glorot", got init="xavier"/);
  assert.throws(() => Trainer.fromConfig({ learning_rate: 1 }), /cfg has an unknown key "learning_rate"/);
  assert.throws(() => new Trainer(params, smallOpts()).set({ lr: 0 }), /lr must be a finite number > 0, got lr=0/);
  const E0 = randomStart(11, 0);
  assert.throws(() => new Particles(E0, { gauge: "affin" }), /gauge must be one of "affine", "scale", "none", got gauge="affin"/);
  assert.throws(() => new Particles(E0, { step_size: 0 }), /step_size must be a finite number > 0, got step_size=0/);
  assert.throws(() => new Particles(E0, { alignment: -1 }), /alignment must be a finite number >= 0, got alignment=-1/);
  assert.throws(() => new Particles(E0, { n: 12 }), /opts\.n=12 but the start has 11 particles/);
  assert.throws(() => new Particles(E0, { sigma: 1 }), /opts has an unknown key "sigma"/);
  assert.throws(() => new Particles([[0, 0], [0, 0], [0, 0]]), /all particles at one point/);
  assert.throws(() => new Particles([[0, 0], [1, 1]]), /must be an integer >= 3, got .*=2/);
  assert.throws(() => predictGrid(params, [0, 0], [1]), /xs must be a non-empty increasing list of finite numbers; xs\[1\]=0/);
});

test("predictGrid equals the argmax of the network's logits at every pixel", () => {
  for (const [cfg, steps] of [[{ ...GRID_RECIPE, n: 11, hidden: 16, seed: 1 }, 300], [{ ...CIRCLE_RECIPE, n: 13, hidden: 12, seed: 2 }, 300]]) {
    const tr = Trainer.fromConfig(cfg);
    tr.step(steps);
    const p = tr.params(), n = tr.n, H = tr.H;
    const xs = Array.from({ length: 61 }, (_, i) => -3 + i * 0.1), ys = Array.from({ length: 47 }, (_, i) => -2.3 + i * 0.1);
    const got = predictGrid(tr, xs, ys);
    assert.deepEqual(predictGrid(p, xs, ys), got, "nested params give the same picture");
    let checked = 0, classes = new Set();
    for (let iy = 0; iy < ys.length; iy++) {
      for (let ix = 0; ix < xs.length; ix++) {
        const logits = Array.from({ length: n }, (_, c) => (p.b2 ? p.b2[c] : 0));
        for (let j = 0; j < H; j++) {
          const z = xs[ix] * p.W1[0][j] + ys[iy] * p.W1[1][j] + (p.b1 ? p.b1[j] : 0);
          if (z > 0) for (let c = 0; c < n; c++) logits[c] += z * p.W2[j][c];
        }
        const best = logits.indexOf(Math.max(...logits));
        const k = got[iy * xs.length + ix];
        classes.add(k);
        // a different class only where two logits tie to rounding
        assert.ok(k === best || Math.abs(logits[k] - logits[best]) < 1e-9, `pixel (${ix}, ${iy}): ${k} vs ${best}`);
        checked++;
      }
    }
    assert.equal(checked, xs.length * ys.length);
    assert.ok(classes.size > 1, "the picture is not one colour");
  }
});

test("Trainer.set and Particles.set change the run between steps", () => {
  const a = Trainer.fromConfig({ n: 7, hidden: 8, seed: 0 }), b = Trainer.fromConfig({ n: 7, hidden: 8, seed: 0 });
  a.step(5); b.step(5);
  assert.deepEqual(a.params(), b.params());
  b.set({ lr: 0.05, weight_decay: 0 });
  assert.equal(b.wd_embed, 0); assert.equal(b.wd_bias, 0);
  a.step(5); b.step(5);
  assert.notDeepEqual(a.params(), b.params());
  const E0 = randomStart(11, 3);
  const p = new Particles(E0), q = new Particles(E0);
  q.set({ alignment: 1 });
  p.step(10); q.step(10);
  assert.notDeepEqual(p.positions(), q.positions());
  assert.deepEqual(randomStart(11, 3), E0);
  assert.ok(flat(E0).every((v) => v >= -1 && v < 1));
});

// ------------------------------------------------------------------ the WebAssembly pass
//
// The WebAssembly pass (kernels.wat) computes the output layer's three products in float32
// and everything else in float64; the plain-JavaScript pass (compared with Python above) is
// float64 throughout. So the two differ by float32 rounding, which float32PassBounds bounds
// entry by entry from the parameters, computed here in float64 (first order in u):
//
// u = 2^-24 is float32's unit roundoff (half its epsilon, 2^-23), and gamma(m) = m u / (1 - m u)
// bounds m float32 roundings in a row: a float32 sum of m products of rounded factors,
// sum_k fl(a_k) fl(b_k), is within gamma(m + 2) sum_k |a_k b_k| of the exact sum (two factor
// roundings, the product's, m - 1 additions; Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., section 3.1). The accumulation lengths are the kernel's:
// * a logit sums the na active units (one lane per class): |d lg_c| <= D_c = gamma(na + 2)
//   sum_k |h_k W2_kc| (b2 is added in float64);
// * the softmax then moves by |d p_c| <= p_c (D_c + Dbar), Dbar = sum_d p_d D_d, and a pair's
//   loss log sum exp(lg) - lg_y by Dbar + D_y; the accuracy only on pairs whose largest
//   logit is within D_c + D_c' of another;
// * p - onehot goes to float32 with p < 2^-60 as 0: off by |d p_c| + [p_c < 2^-60] p_c before
//   its own rounding, which the gammas below count; gb2 (float64) by w times the former;
// * dz_k = w sum_c dl_c W2_kc: each of four lanes sums np / 4 classes: off by
//   w (sum_c |W2_kc| |d dl_c| + gamma(np / 4 + 2) sum_c |dl_c W2_kc|), and gW1, gb1, gE (float64)
//   by |x|, 1 and |W1| times that;
// * gW2_jc: float32 sums over a block's at most 32 pairs of fl(w h) fl(dl), then float64:
//   off by sum_i w_i h_ij (|d dl_ic| + gamma(34) |dl_ic|).
// Allowed: 1.01 times the bound (second-order terms: D <= 1e-3 is asserted) plus
// 1e-12 (|g| + rms) for the float64 arithmetic's different order. The bounds are worst cases:
// the errors reach ~1-10% of them, and the bounds stay below 10% of each gradient's rms (1e-4
// at a start, up to ~6e-2 in trained states whose gradients are small differences of large
// terms). Dropping a term of any of the three products (one active unit, one pair of a block,
// one class tile, the label's -1, or rounding w h 1e-3 off) moves an entry by the size of its
// terms and fails them (checked by mutating kernels.wat by hand).
const U32 = 2 ** -24;
const gamma = (m) => (m * U32) / (1 - m * U32);
const FLUSH = 2 ** -60;

/** Bounds on |WebAssembly - float64| for one pass of the trainer `tr` over `tab`: {loss, acc, g, maxD}. */
function float32PassBounds(tr, tab, grad) {
  const { n, H, p, bias, oW1, ob1, oW2, ob2 } = tr;
  const np = (n + 3) & ~3, gz = gamma(np / 4 + 2), gw = gamma(32 + 2);
  const { pa, pb, py, pw, P } = tab;
  const g = new Float64Array(tr.size), lg = new Float64Array(n), D = new Float64Array(n), pr = new Float64Array(n);
  const dp = new Float64Array(n), dl = new Float64Array(n);
  let loss = 0, acc = 0, maxD = 0;
  for (let i = 0; i < P; i++) {
    const a = pa[i], b = pb[i], y = py[i], w = pw[i];
    const x0 = p[2 * a] + p[2 * b], x1 = p[2 * a + 1] + p[2 * b + 1];
    const act = [], h = [];
    for (let j = 0; j < H; j++) {
      const z = (bias ? p[ob1 + j] : 0) + (x0 * p[oW1 + j] + x1 * p[oW1 + H + j]);
      if (z > 0) { act.push(j); h.push(z); }
    }
    const gl = gamma(act.length + 2);
    for (let c = 0; c < n; c++) {
      let s = bias ? p[ob2 + c] : 0, sa = 0;
      for (let k = 0; k < act.length; k++) { const t = h[k] * p[oW2 + act[k] * n + c]; s += t; sa += Math.abs(t); }
      lg[c] = s; D[c] = gl * sa; maxD = Math.max(maxD, D[c]);
    }
    let mx = -Infinity, arg = 0, s = 0, Dbar = 0;
    for (let c = 0; c < n; c++) if (lg[c] > mx) { mx = lg[c]; arg = c; }
    for (let c = 0; c < n; c++) { pr[c] = Math.exp(lg[c] - mx); s += pr[c]; }
    for (let c = 0; c < n; c++) { pr[c] /= s; Dbar += pr[c] * D[c]; }
    loss += w * (Dbar + D[y]);
    for (let c = 0; c < n; c++) if (c !== arg && lg[arg] - lg[c] <= D[arg] + D[c]) { acc += w; break; }
    if (!grad) continue;
    for (let c = 0; c < n; c++) {
      dp[c] = pr[c] * (D[c] + Dbar) + (pr[c] < 2 * FLUSH ? pr[c] : 0);   // 2x: p itself is off by D
      dl[c] = Math.abs(pr[c] - (c === y ? 1 : 0));
      if (bias) g[ob2 + c] += w * dp[c];
    }
    let e0 = 0, e1 = 0;
    for (let k = 0; k < act.length; k++) {
      const j = act[k], row = oW2 + j * n;
      let s1 = 0, s2 = 0;
      for (let c = 0; c < n; c++) {
        const v = Math.abs(p[row + c]);
        s1 += v * dp[c]; s2 += v * dl[c];
        g[row + c] += w * h[k] * (dp[c] + gw * dl[c]);
      }
      const ez = w * (s1 + gz * s2);
      g[oW1 + j] += Math.abs(x0) * ez; g[oW1 + H + j] += Math.abs(x1) * ez;
      if (bias) g[ob1 + j] += ez;
      e0 += ez * Math.abs(p[oW1 + j]); e1 += ez * Math.abs(p[oW1 + H + j]);
    }
    g[2 * a] += e0; g[2 * a + 1] += e1; g[2 * b] += e0; g[2 * b + 1] += e1;
  }
  return { loss, acc, g, maxD };
}

/** One pass of each engine over the training pairs (with the gradient) and the held-out
 *  pairs at `params`, within float32PassBounds; returns the largest error / bound. */
function checkPass(params, opts, val, why) {
  const wa = new Trainer(params, { ...opts, val });
  Trainer.useWasm = false;
  let js;
  try { js = new Trainer(params, { ...opts, val }); } finally { Trainer.useWasm = true; }
  assert.ok(wa.kern && !js.kern, "one of each engine");
  let worst = 0;
  for (const [tw, tj, grad] of [[wa.train, js.train, true], [wa.val, js.val, false]]) {
    if (tj.P === 0) continue;
    wa._pass(tw, grad);
    js._pass(tj, grad);
    const B = float32PassBounds(js, tj, grad);
    assert.ok(B.maxD <= 1e-3, `${why}: logits' bound ${B.maxD} (first order)`);
    const err = Math.abs(wa._loss - js._loss);
    assert.ok(err <= 1.01 * B.loss + 1e-12 * js._loss, `${why}: loss ${wa._loss} vs ${js._loss}, bound ${B.loss}`);
    worst = Math.max(worst, err / B.loss);
    assert.ok(Math.abs(wa._acc - js._acc) <= B.acc + 1e-12, `${why}: accuracy ${wa._acc} vs ${js._acc}, bound ${B.acc}`);
    if (!grad) continue;
    const groups = { E: [js.oE, js.oW1], W1: [js.oW1, js.ob1], b1: [js.ob1, js.oW2], W2: [js.oW2, js.ob2], b2: [js.ob2, js.size] };
    for (const [k, [s, e]] of Object.entries(groups)) {
      if (e === s) continue;
      let rms = 0;
      for (let i = s; i < e; i++) rms += js.g[i] ** 2;
      rms = Math.sqrt(rms / (e - s));
      for (let i = s; i < e; i++) {
        const d = Math.abs(wa.g[i] - js.g[i]);
        assert.ok(d <= 1.01 * B.g[i] + 1e-12 * (Math.abs(js.g[i]) + rms),
          `${why}: gradient of ${k}[${i - s}]: ${wa.g[i]} vs ${js.g[i]}, bound ${B.g[i]}`);
        assert.ok(B.g[i] <= 0.1 * rms, `${why}: the bound on ${k}[${i - s}] is loose: ${B.g[i]} (rms ${rms})`);
        if (B.g[i] > 0) worst = Math.max(worst, d / B.g[i]);
      }
    }
  }
  return worst;
}

// (the WebAssembly pass tiles the classes by 32, 16 and 4 and pads them to a multiple of 4;
// it takes the pairs in blocks of 32: every n mod 16, n = 31 and 53 for the 32-class tiles,
// tables shorter and longer than a block)
test("the WebAssembly pass is within float32 rounding bounds of the float64 one, for every n mod 16, with and without biases", () => {
  let worst = 0;
  for (const n of [...Array.from({ length: 20 }, (_, i) => i + 5), 31, 53]) {
    for (const bias of [true, false]) {
      const params = initParams({ n, hidden: 12, seed: n, bias });
      const { train, val } = splitPairs(n, 0.2, n);
      const opts = { n, hidden: 12, bias, lr: 1e-2, weight_decay: 0.5, train };
      worst = Math.max(worst, checkPass(params, opts, val, `n=${n} bias=${bias} at the start`));
      Trainer.useWasm = false;
      let after;
      try { after = trainSteps(params, opts, 30).params; } finally { Trainer.useWasm = true; }
      worst = Math.max(worst, checkPass(after, opts, val, `n=${n} bias=${bias} after 30 steps`));
    }
  }
  assert.ok(worst > 1e-3, `the errors stay below 1e-3 of the float32 bounds (${worst}): is the pass float32 still?`);
});

test("the WebAssembly pass is within float32 rounding bounds at the Python reference's states (start, step 100, end)", () => {
  for (const c of REF.training) {
    for (const [at, params] of [["start", c.init], ["step 100", c.params_100], ["end", c.final]]) {
      checkPass(params, c.opts, c.val, `${c.name} at ${at}`);
    }
  }
});

test("the WebAssembly pass is within float32 rounding bounds at N = 97 after 300 steps of either recipe", () => {
  for (const recipe of [CIRCLE_RECIPE, GRID_RECIPE]) {
    const tr = Trainer.fromConfig({ ...recipe, n: 97 });
    assert.equal(tr.step(300), 300);
    const { n, hidden, bias } = tr.config;
    checkPass(tr.params(), { n, hidden, bias, lr: 1e-2, weight_decay: 1, train: tr.split.train }, tr.split.val,
              `N = 97, ${bias ? "grid" : "circle"} recipe, step 300`);
  }
});

// Chapter 2's guided experiment, which the book measures with the Python trainer in float64:
// each recipe at its default seed forms its structure and the circle recipe at seed 0 does not.
test("the WebAssembly trainer takes the widget's default recipes to the float64 trainer's outcome (N = 17)", () => {
  for (const [recipe, seed, steps, forms] of [[CIRCLE_RECIPE, CIRCLE_RECIPE.seed, 2000, "circle"],
                                              [GRID_RECIPE, GRID_RECIPE.seed, 3000, "grid"],
                                              [CIRCLE_RECIPE, 0, 2000, null]]) {
    const cfg = { ...recipe, n: 17, seed };
    const wa = Trainer.fromConfig(cfg);
    Trainer.useWasm = false;
    let js;
    try { js = Trainer.fromConfig(cfg); } finally { Trainer.useWasm = true; }
    assert.ok(wa.kern && !js.kern);
    const first = { wa: null, js: null };
    for (let s = 100; s <= steps; s += 100) {
      assert.equal(wa.step(100), 100);
      assert.equal(js.step(100), 100);
      for (const [k, tr] of [["wa", wa], ["js", js]]) {
        if (first[k] === null && forms && structureReadout(tr.E).startsWith(forms)) first[k] = s;
      }
    }
    const why = `${forms || "circle recipe at seed 0"} (seed ${seed}, ${steps} steps)`;
    const [rw, rj] = [structureReadout(wa.E), structureReadout(js.E)];
    assert.equal(rw, rj, `${why}: the readout at the end`);
    assert.equal(first.wa, first.js, `${why}: the step (of 100s) at which it forms`);
    const [aw, aj] = [wa.evaluate().trainAcc, js.evaluate().trainAcc];
    if (forms) {
      assert.ok(rw.startsWith(forms) && first.wa !== null, `${why}: ${rw}`);
      assert.ok(Math.abs(aw - aj) <= 0.02, `${why}: training accuracy ${aw} vs ${aj}`);
    } else {   // a failing run wanders: the same failure, not the same accuracy
      assert.ok(!rw.startsWith("circle") && aw < 0.6 && aj < 0.6, `${why}: ${rw}, accuracy ${aw} vs ${aj}`);
    }
  }
});

// ------------------------------------------------------------------ the widget's start in Python

test("modadd.widget.widget_start is initParams and splitPairs (the book trains the widget's own start in Python)", () => {
  assert.ok(REF.widget_starts.length >= 5);
  for (const c of REF.widget_starts) {
    const js = initParams(c.cfg);
    const why = `${c.cfg.init}/${c.cfg.embed_init} n=${c.cfg.n} seed=${c.cfg.seed}`;
    for (const k of ["E", "W1", "W2"]) {
      // uniform draws are exact; normal ones go through log and cos (Python's libm vs V8: an ulp)
      assert.ok(relError(js[k], c.init[k]) <= (c.cfg.embed_init === "normal" && k === "E" ? 1e-15 : 0), `${why}: ${k}`);
    }
    const zeros = (v) => v.every((x) => x === 0);
    if (c.cfg.bias) { assert.equal(relError(js.b1, c.init.b1), 0, why); assert.equal(relError(js.b2, c.init.b2), 0, why); }
    else assert.ok(zeros(c.init.b1) && zeros(c.init.b2) && js.b1 === undefined, `${why}: no biases`);
    assert.deepEqual(splitPairs(c.cfg.n, c.val_fraction, c.cfg.seed).val, c.val, `${why}: split`);
  }
});
