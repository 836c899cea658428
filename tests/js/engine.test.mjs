// Tests of src/modadd/web/engine.js, the widget's arithmetic behind its message protocol:
// the worker's script itself (modadd.widget.worker_source, run here in a vm context with a
// stand-in for the worker's `self`) and the same engine on the page's thread (EngineLocal,
// from the widget's bundle). What either engine reports must be what trainer.js, regions.js,
// particles.js and structure.js compute.
// Run from the repository root: node --test tests/js/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";
import { pathToFileURL } from "node:url";

const PYTHON = process.env.MODADD_PYTHON || ".venv/bin/python";
let B, WORKER, dir;
before(async () => {
  const out = JSON.parse(execFileSync(PYTHON, ["-c",
    "import json; from modadd.widget import bundle, worker_source; print(json.dumps([bundle(), worker_source()]))"],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "modadd-engine-"));
  fs.writeFileSync(path.join(dir, "bundle.mjs"), out[0]);
  B = await import(pathToFileURL(path.join(dir, "bundle.mjs")).href);
  WORKER = out[1];
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The worker's script in a context of its own; returns {send(msg), next(pred)}. */
function startWorker() {
  const inbox = [], waiting = [];
  const scope = { postMessage: (m) => { inbox.push(m); flush(); } };
  function flush() {
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i], j = inbox.findIndex(w.pred);
      if (j >= 0) { waiting.splice(i--, 1); w.resolve(inbox.splice(j, 1)[0]); }
    }
  }
  // a MessageChannel whose messages are tasks of their own, as in a browser (Node's ports
  // drain their queue at once, and keep the process alive)
  class MessageChannel {
    constructor() {
      this.port1 = { onmessage: null };
      this.port2 = { postMessage: (data) => setImmediate(() => this.port1.onmessage && this.port1.onmessage({ data })) };
    }
  }
  const ctx = vm.createContext({ self: scope, MessageChannel, performance, console, WebAssembly, setTimeout });
  vm.runInContext(WORKER, ctx);
  assert.equal(typeof scope.onmessage, "function", "the worker's script installs self.onmessage");
  return {
    send: (msg) => scope.onmessage({ data: structuredClone(msg) }),
    next: (pred, ms = 20000) => new Promise((resolve, reject) => {
      waiting.push({ pred, resolve }); flush();
      setTimeout(() => reject(new Error("no reply from the worker")), ms).unref();
    }),
    inbox,
    close: () => { scope.onmessage = null; },
  };
}

const CFG = { n: 17, hidden: 64, bias: true, init: "torch", embed_init: "normal", embed_scale: 0.05, lr: 0.01,
              weight_decay: 1, val_fraction: 0.2, seed: 0 };
const snapAt = (k) => (m) => m.type === "snapshot" && m.step === k;

test("the worker's steps are trainer.js's steps, bit for bit, and its full snapshot measures them", async () => {
  const w = startWorker();
  w.send({ type: "build", gen: 1, kind: "training", cfg: CFG });
  const built = await w.next((m) => m.type === "built");
  assert.equal(built.error, null);
  const ref = B.Trainer.fromConfig(CFG);
  assert.deepEqual(Array.from(built.held), ref.split.val.map(([a, b]) => a * 17 + b));
  w.send({ type: "step", k: 50, extent: 1.5 });
  const s = await w.next(snapAt(50));
  ref.step(50);
  assert.deepEqual(Array.from(s.E), Array.from(ref.E));
  assert.deepEqual({ ...s.metrics }, ref.evaluate());
  assert.equal(s.full, true);
  assert.ok(s.readout === B.structureReadout(ref.E));
  // the regions are predictGrid's at 150 x 150 points over [-1.5, 1.5]^2
  const R = 150, xs = Float64Array.from({ length: R }, (_, i) => -1.5 + (i + 0.5) * 3 / R);
  assert.deepEqual(Array.from(s.grid.cls), Array.from(B.predictGrid(ref, xs, xs)));
  w.close();
});

test("playing, the worker answers each frame with its steps; pause gives a full snapshot", async () => {
  const w = startWorker();
  w.send({ type: "build", gen: 2, kind: "training", cfg: CFG });
  await w.next((m) => m.type === "snapshot" && m.gen === 2);
  w.send({ type: "play", speed: 0 });
  await new Promise((r) => setTimeout(r, 300));
  w.send({ type: "frame", extent: 1 });
  const f = await w.next((m) => m.type === "snapshot" && m.step > 0);
  assert.equal(f.playing, true);
  w.send({ type: "pause" });
  const p = await w.next((m) => m.type === "snapshot" && m.playing === false);
  assert.ok(p.full && p.step >= f.step && p.metrics && p.readout !== "");
  // fixed steps per frame: each frame is exactly that many steps
  w.send({ type: "play", speed: 7 });
  w.send({ type: "frame", extent: 1 });
  const g = await w.next((m) => m.type === "snapshot" && m.step === p.step + 7);
  assert.equal(g.playing, true);
  w.send({ type: "pause" });
  await w.next((m) => m.type === "snapshot" && m.playing === false);
  w.close();
});

test("same-start mode: the network trains network_steps_per_step steps per particle step, up to network_steps", async () => {
  const w = startWorker();
  const same = { network_steps: 40, val_fraction: 0.2, network_steps_per_step: 4 };
  const cfg = { n: 11, clustering: 1, alignment: 1, repulsion: 0.3, step_size: 0.1, clustering_width: 1.5, repulsion_width: 0.7, seed: 0 };
  w.send({ type: "build", gen: 3, kind: "particles", cfg, network: { ...CFG, n: 11 }, same });
  w.send({ type: "step", k: 5 });
  const a = await w.next(snapAt(5));
  assert.equal(a.netStep, 20);
  w.send({ type: "step", k: 20 });
  const b = await w.next(snapAt(25));
  assert.equal(b.netStep, 40); assert.equal(b.netDone, true);
  assert.ok(b.readout && b.readoutNet);
  w.close();
});

test("bad input: a failed build and an unknown message say what went wrong", async () => {
  const w = startWorker();
  w.send({ type: "build", gen: 4, kind: "training", cfg: { ...CFG, n: 1 } });
  const built = await w.next((m) => m.type === "built");
  assert.match(built.error, /n/);
  w.send({ type: "launch" });
  const f = await w.next((m) => m.type === "fault");
  assert.match(f.message, /unknown message "launch"/);
  w.close();
});

test("the page's engine (EngineLocal) gives the worker's numbers", async () => {
  const got = [];
  const e = new B.EngineLocal((ev) => got.push(ev.data));
  e.postMessage({ type: "build", gen: 1, kind: "training", cfg: CFG });
  e.postMessage({ type: "step", k: 30, extent: 0 });
  await new Promise((r) => setTimeout(r, 50));
  const s = got.find(snapAt(30));
  const ref = B.Trainer.fromConfig(CFG); ref.step(30);
  assert.deepEqual(Array.from(s.E), Array.from(ref.E));
  assert.throws(() => e.postMessage({ type: "launch" }), /unknown message "launch"/);
});

test("every request gets exactly one snapshot back, even one a later message overtakes", async () => {
  const w = startWorker();
  const cfg = { ...CFG, n: 41 };
  w.send({ type: "build", gen: 5, kind: "training", cfg });
  w.send({ type: "play", speed: 0 });
  w.send({ type: "frame", extent: 1 });          // overtaken by the pause
  w.send({ type: "pause" });
  w.send({ type: "step", k: 200, extent: 1 });   // overtaken by the build
  w.send({ type: "step", k: 200, extent: 1 });
  w.send({ type: "build", gen: 6, kind: "training", cfg });
  await new Promise((r) => setTimeout(r, 1000));
  const snaps = w.inbox.filter((m) => m.type === "snapshot");
  // build, frame, pause, step, step, build: six requests, six snapshots
  assert.equal(snaps.length, 6, `got ${snaps.length} snapshots for 6 requests`);
  assert.equal(snaps[snaps.length - 1].gen, 6);
  w.close();
});

test("Trainer.evaluateHeldOut: evaluate's held-out figures, and the last step's training loss", () => {
  const tr = B.Trainer.fromConfig(CFG);
  tr.step(20);
  const full = tr.evaluate(), cheap = tr.evaluateHeldOut();
  assert.equal(cheap.valLoss, full.valLoss); assert.equal(cheap.valAcc, full.valAcc);
  assert.equal(cheap.trainLoss, tr.lastLoss); assert.equal(cheap.trainAcc, tr.lastAcc);
  const none = B.Trainer.fromConfig({ ...CFG, val_fraction: 0 }); none.step(1);
  assert.ok(Number.isNaN(none.evaluateHeldOut().valLoss));
});
