// Speed of the widget's arithmetic (src/modadd/web/trainer.js, regions.js, particles.js) in Node: steps per second for the
// three cases of issue #13 (training at N = 17 and N = 97, particles at N = 17) and the
// same-start widget's particles at N = 59 (issue #35), with the repulsion in WebAssembly and,
// for comparison in the same run, in plain JavaScript (Particles.useWasm = false), and the
// structure readout's time at N = 59 and 97 (median of 9), printed as JSON.
// Run from the repository root: node benchmarks/bench_web.mjs
// Each case is timed for about `seconds` of steps after a warm-up; the best of `repeats`
// timings is reported (the machine is shared). The grid recipe comes from Python
// (modadd.widget.recipe_presets, as the widget gets it), run with MODADD_PYTHON.
import { execFileSync } from "node:child_process";
import { Trainer } from "../src/modadd/web/trainer.js";
import { predictGrid } from "../src/modadd/web/regions.js";
import { Particles, randomStart, PARTICLE_DEFAULTS } from "../src/modadd/web/particles.js";
import { structureReadout } from "../src/modadd/web/structure.js";

const { seed: _seed, ...GRID_RECIPE } = JSON.parse(execFileSync(process.env.MODADD_PYTHON || ".venv/bin/python",
  ["-c", "import json; from modadd.widget import recipe_presets; print(json.dumps(recipe_presets()['grid']))"],
  { encoding: "utf8" }));

const seconds = Number(process.env.BENCH_SECONDS || 1.0);
const repeats = 3;

function rate(run, batch) {
  run(batch);                                   // warm-up (JIT)
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) { run(batch); steps += batch; }
    best = Math.max(best, steps / ((performance.now() - t0) / 1000));
  }
  return best;
}

function trainingRate(n, batch) {
  const tr = Trainer.fromConfig({ ...GRID_RECIPE, n, seed: 0 });
  return rate((k) => {
    if (tr.step(k) < k) throw new Error(tr.diverged);
  }, batch);
}

function gridRate(n, px) {
  const tr = Trainer.fromConfig({ ...GRID_RECIPE, n, seed: 0 });
  tr.step(200);
  const xs = Float64Array.from({ length: px }, (_, i) => -4 + (8 * i) / (px - 1));
  const out = new Int32Array(px * px);
  return rate(() => predictGrid(tr, xs, xs, out), 1);
}

function particleRate(n, batch, opts = { alignment: 0.5 }, wasm = true) {
  Particles.useWasm = wasm;
  let ps;
  try { ps = new Particles(randomStart(n, 0), { ...PARTICLE_DEFAULTS, ...opts }); } finally { Particles.useWasm = true; }
  return rate((k) => {
    if (ps.step(k) < k) throw new Error(ps.blownUp);
  }, batch);
}
/** Median ms of one structure readout (the live "circle k=7" line) on a state after `steps`. */
function readoutMs(model, steps) {
  model.step(steps);
  const E = Float64Array.from(model.E), ts = [];
  structureReadout(E);
  for (let r = 0; r < 9; r++) { const t0 = performance.now(); structureReadout(E); ts.push(performance.now() - t0); }
  return Math.round(ts.sort((a, b) => a - b)[4] * 10) / 10;
}

const SAME_START_FORCES = { clustering: 1.0, alignment: 1.0, repulsion: 0.3 };   // modadd.widget.particle_widget's

const out = {
  node: process.version,
  webassembly_kernels: Boolean(Trainer.fromConfig({}).kern),
  training_n17_steps_per_s: Math.round(trainingRate(17, 50)),
  training_n97_steps_per_s: Math.round(trainingRate(97, 2) * 10) / 10,
  particles_n17_steps_per_s: Math.round(particleRate(17, 50)),
  webassembly_particles: Boolean(new Particles(randomStart(5, 0)).kern),
  particles_n59_steps_per_s: Math.round(particleRate(59, 1, SAME_START_FORCES) * 10) / 10,
  particles_n59_js_steps_per_s: Math.round(particleRate(59, 1, SAME_START_FORCES, false) * 10) / 10,
  structure_readout_n59_particles_ms: readoutMs(new Particles(randomStart(59, 1), SAME_START_FORCES), 100),
  structure_readout_n97_training_ms: readoutMs(Trainer.fromConfig({ ...GRID_RECIPE, n: 97, seed: 0 }), 200),
  predict_grid_120px_n17_frames_per_s: Math.round(gridRate(17, 120)),
  predict_grid_120px_n97_frames_per_s: Math.round(gridRate(97, 120)),
};
console.log(JSON.stringify(out, null, 2));
