// ---------------------------------------------------------------------------------------
// engine.js: the live widget's arithmetic behind one message protocol, so that it runs in
// a Web Worker and the page only draws (issue #35): training steps, the loss and accuracy,
// the structure readout, the decision regions; the particles and, in same-start mode, the
// network beside them. No DOM. It imports Trainer (trainer.js), predictGrid (regions.js),
// Particles and randomStart (particles.js) and structureReadout (structure.js); the
// widget's one ES module is view.js and these files concatenated in dependency order by
// modadd.widget.bundle(), which also makes the worker's script from this file and what it
// imports (WORKER_SOURCE, started from a Blob URL as a classic worker, which works over
// http and from file://). Where no worker starts, view.js runs
// the same engine on the page's thread (EngineLocal): one way to compute, two places.
// Top-level names that are not exported start with `engine`.
//
// Messages to the engine (every one but "frame" carries gen, the view's run counter;
// replies carry the gen they answer, and the view drops stale ones):
//   {type: "build", gen, kind: "training", cfg}                   cfg: Trainer.fromConfig's
//   {type: "build", gen, kind: "particles", cfg, network, same}   particle config, the
//        network's trainer config (same-start mode) or null, same: SAME_START's numbers
//   {type: "set", hyper}        the running network's lr and weight_decay
//   {type: "play", speed}       speed: steps per frame, 0 = as many as the time allows
//   {type: "speed", speed}
//   {type: "pause"}             stop; a full snapshot follows
//   {type: "frame", extent}     the view's next frame: a snapshot after the steps in hand;
//                               extent: the decision panel's half-width for the regions
//   {type: "step", k, extent}   k steps, then a full snapshot
// Replies: {type: "snapshot", gen, full, step, E, ...} (see EngineCore.snapshot).
// ---------------------------------------------------------------------------------------

import { Trainer } from "./trainer.js";
import { predictGrid } from "./regions.js";
import { Particles, randomStart } from "./particles.js";
import { structureReadout } from "./structure.js";

/** Run f at most every minMs and at most `share` of the time (its own cost sets the gap). */
function engineThrottle(minMs, share) {
  let next = -Infinity;
  return {
    due(now) { return now >= next; },
    ran(t0, t1) { next = t1 + Math.max(minMs, (t1 - t0) * (1 / share - 1)); },
    reset() { next = -Infinity; },
  };
}

const ENGINE_RES = 150;                 // decision regions: ENGINE_RES x ENGINE_RES points

/** The arithmetic of one widget: build, run(k) steps, snapshot. No timers of its own. */
class EngineCore {
  constructor() {
    this.kind = null; this.gen = 0; this.error = null;
    this.tr = null; this.ps = null; this.net = null; this.same = null;
    this.metrics = null; this.metricsStep = -1; this.readout = ""; this.readoutNet = ""; this.readStep = -1;
    this.evalT = engineThrottle(100, 0.05); this.readT = engineThrottle(300, 0.05); this.gridT = engineThrottle(60, 0.06);
    this.xs = new Float64Array(ENGINE_RES); this.ys = new Float64Array(ENGINE_RES); this.gridStep = -1; this.gridExtent = 0;
  }
  build(msg) {
    this.kind = msg.kind; this.gen = msg.gen; this.error = null;
    this.tr = this.ps = this.net = null; this.metrics = null; this.metricsStep = -1;
    this.readout = this.readoutNet = ""; this.readStep = -1; this.gridStep = -1;
    for (const t of [this.evalT, this.readT, this.gridT]) t.reset();
    const out = { type: "built", gen: msg.gen };
    try {
      if (msg.kind === "training") {
        this.tr = Trainer.fromConfig(msg.cfg);
        out.held = this.tr.split.val.map(([a, b]) => a * this.tr.n + b);
      } else {
        let start = null;
        if (msg.network) { this.net = Trainer.fromConfig(msg.network); this.same = msg.same; start = Float64Array.from(this.net.E); }
        this.ps = new Particles(start || randomStart(msg.cfg.n, msg.cfg.seed), {
          clustering: msg.cfg.clustering, alignment: msg.cfg.alignment, repulsion: msg.cfg.repulsion, step_size: msg.cfg.step_size,
          clustering_width: msg.cfg.clustering_width, repulsion_width: msg.cfg.repulsion_width, gauge: "affine" });
      }
    } catch (e) { this.error = String((e && e.message) || e); }
    out.error = this.error;
    return out;
  }
  get steps() { return this.tr ? this.tr.steps : this.ps ? this.ps.steps : 0; }
  set(hyper) { if (this.tr) this.tr.set({ lr: hyper.lr, weight_decay: hyper.weight_decay }); }
  /** k steps; false once the run stopped (divergence, blow-up, a failed build). */
  run(k) {
    if (this.error || !(this.tr || this.ps)) return false;
    if (this.tr) {
      this.tr.step(k);
      if (this.tr.diverged) { this.error = this.tr.diverged; return false; }
      return true;
    }
    this.ps.step(k);
    if (this.ps.blownUp) { this.error = this.ps.blownUp; return false; }
    if (this.net) {
      const want = Math.min(this.same.network_steps, this.ps.steps * this.same.network_steps_per_step) - this.net.steps;
      if (want > 0) this.net.step(want);
      if (this.net.diverged) { this.error = `network: ${this.net.diverged}`; return false; }
    }
    return true;
  }
  /** What the view draws. full: measure everything now (a pause, a step, a build); else the
   *  loss, the readout and the regions are refreshed when their throttles allow. */
  snapshot(full, extent) {
    const now = () => performance.now();
    const s = { type: "snapshot", gen: this.gen, full: !!full, step: this.steps, error: this.error };
    if (this.tr) {
      const tr = this.tr;
      s.E = Float64Array.from(tr.E); s.W1 = Float64Array.from(tr.W1); s.b1 = tr.b1 ? Float64Array.from(tr.b1) : null;
      if (tr.steps !== this.metricsStep && (full || this.evalT.due(now()))) {
        // running: the held-out pass only (the training loss as the last step measured it)
        const t0 = now(); this.metrics = full || tr.steps === 0 ? tr.evaluate() : tr.evaluateHeldOut();
        this.metricsStep = tr.steps; this.evalT.ran(t0, now());
        s.metrics = this.metrics; s.metricsStep = tr.steps;
      } else if (full) { s.metrics = this.metrics; s.metricsStep = this.metricsStep; }
      if (extent > 0 && (tr.steps !== this.gridStep || extent !== this.gridExtent) && (full || this.gridT.due(now()))) {
        const t0 = now(), R = ENGINE_RES, d = (2 * extent) / R, cls = new Int32Array(R * R);
        for (let i = 0; i < R; i++) this.xs[i] = this.ys[i] = -extent + (i + 0.5) * d;
        predictGrid(tr, this.xs, this.ys, cls);
        this.gridStep = tr.steps; this.gridExtent = extent; this.gridT.ran(t0, now());
        s.grid = { extent, res: R, cls, step: tr.steps };
      }
    } else if (this.ps) {
      s.E = Float64Array.from(this.ps.E);
      if (this.net) { s.netStep = this.net.steps; s.netE = Float64Array.from(this.net.E); s.netDone = this.net.steps >= this.same.network_steps; }
    }
    if (this.steps > 0 && this.steps !== this.readStep && (full || this.readT.due(now()))) {
      const t0 = now(), read = (E) => { try { return structureReadout(E); } catch (e) { return "other"; } };
      if (this.tr) this.readout = read(this.tr.E);
      else { this.readout = read(this.ps.E); if (this.net) this.readoutNet = read(this.net.E); }
      this.readStep = this.steps; this.readT.ran(t0, now());
    }
    s.readout = this.steps > 0 ? this.readout : "";
    if (this.net) s.readoutNet = this.steps > 0 ? this.readoutNet : "";
    return s;
  }
}

const ENGINE_CHUNK_MS = 8;     // a worker's steps between two looks at its messages
const ENGINE_FRAME_MS = 14;    // auto speed: at most one snapshot per this many ms ...
const ENGINE_AHEAD_MS = 120;   // ... and a worker computes at most this far ahead of the view's
                               // requests (it keeps computing while the page draws, and stops
                               // when the page stops asking: a hidden tab, a busy page)
const ENGINE_LOCAL_MS = 12;    // on the page's thread: arithmetic per frame in auto speed

/**
 * The engine's clock. post(reply, transfer) sends replies; schedule(fn) runs fn soon (a
 * worker: as the next task, so messages are read between chunks of steps). continuous (a
 * worker): the steps of a frame run in chunks between which messages are read, and the
 * frame is answered when they are done; on the page's thread (EngineLocal) each frame runs
 * its steps at once.
 */
function engineRuntime(post, schedule, continuous) {
  const core = new EngineCore();
  let playing = false, speed = 0, todo = 0, want = null, kc = 1, busy = false;
  let ahead = 0, aheadMs = 0, lastSend = -Infinity;  // auto: steps and ms since the last snapshot
  const steps = [];                                // Step requests: {k, extent}, one reply each
  let rateSteps = 0, rateSince = performance.now(), rate = 0;
  const send = (full, extent) => {
    const s = core.snapshot(full, extent);
    s.playing = playing; s.rate = rate; ahead = 0; aheadMs = 0; lastSend = performance.now();
    const transfer = [s.E, s.W1, s.b1, s.netE, s.grid && s.grid.cls].filter((x) => x).map((x) => x.buffer);
    post(s, transfer);
  };
  const count = (k) => {
    rateSteps += k; const t = performance.now();
    if (t - rateSince >= 500) { rate = (1000 * rateSteps) / (t - rateSince); rateSteps = 0; rateSince = t; }
  };
  /** One chunk of about ms milliseconds (at most `limit` steps); false when the run stopped. */
  const chunk = (ms, limit) => {
    const k = Math.max(1, Math.min(kc, limit)), t0 = performance.now();
    const ok = core.run(k);
    const dt = performance.now() - t0;
    kc = Math.max(1, Math.min(2 * kc + 1, Math.floor(k * ms / Math.max(dt, 0.05))));
    if (ok) count(k);
    return ok ? k : 0;
  };
  function tick() {
    busy = false;
    if (steps.length) {                           // Step: k steps, then a full snapshot
      const q = steps[0], done = q.k > 0 ? chunk(ENGINE_CHUNK_MS, q.k) : 0;
      q.k -= done;
      if (done === 0 || q.k <= 0) { steps.shift(); send(true, q.extent); }
      if (steps.length) { busy = true; schedule(tick); }
      return;
    }
    if (!playing) return;
    if (speed) {                                   // fixed steps per frame: the frame's steps
      if (todo > 0) { const done = chunk(ENGINE_CHUNK_MS, todo); todo = done ? todo - done : 0; if (!done) playing = false; }
      if (todo <= 0 && want) { const e = want.extent; want = null; send(!playing, e); }
      if (playing && todo > 0) { busy = true; schedule(tick); }
      return;
    }
    // auto: steps without pause while playing, the page's drawing on its own thread
    // meanwhile; the view's request (want) is answered with the steps in hand once there is
    // at least one and ENGINE_FRAME_MS has passed since the last answer. Without a request
    // the worker runs at most ENGINE_AHEAD_MS ahead, then waits for one (a "frame" kicks it).
    if (!want && aheadMs >= ENGINE_AHEAD_MS) return;
    const t0 = performance.now(), done = chunk(ENGINE_CHUNK_MS, Infinity);
    if (!done) playing = false;
    ahead += done; aheadMs += performance.now() - t0;
    if (want && !playing) { const e = want.extent; want = null; send(true, e); }
    else if (answerable()) answer();
    if (playing) { busy = true; schedule(tick); }
  }
  const answerable = () => ahead > 0 && performance.now() - lastSend >= ENGINE_FRAME_MS;
  const kick = () => { if (!busy) { busy = true; schedule(tick); } };
  // every request (frame, step, pause, build) gets exactly one snapshot back, even one
  // that a later message overtakes: the view counts them (data-busy)
  const answer = () => { if (want) { const e = want.extent; want = null; send(false, e); } };
  const drop = () => { answer(); while (steps.length) send(true, steps.shift().extent); };
  function handle(msg) {
    switch (msg.type) {
      case "build":
        drop();
        playing = false; todo = 0; kc = 1; rate = 0; rateSteps = 0; rateSince = performance.now();
        post(core.build(msg), []);
        send(true, msg.extent || 0);
        break;
      case "set": core.set(msg.hyper); break;
      case "speed": speed = msg.speed; todo = 0; kc = 1; answer(); break;
      case "play":
        speed = msg.speed; playing = true; todo = 0; ahead = 0; aheadMs = 0; rateSteps = 0; rateSince = performance.now();
        if (continuous) kick();
        break;
      case "pause":
        playing = false; todo = 0;
        answer();
        send(true, msg.extent || 0);
        break;
      case "step":
        playing = false; todo = 0; answer();
        if (continuous) { steps.push({ k: msg.k, extent: msg.extent }); kick(); }
        else { let k = msg.k; while (k > 0) { const d = chunk(1e9, k); if (!d) break; k -= d; } send(true, msg.extent); }
        break;
      case "frame":
        if (!playing) { send(true, msg.extent); break; }
        if (continuous) {
          want = { extent: msg.extent };
          if (speed) todo += speed;
          else if (answerable()) answer();
          kick();
        } else {                                   // page's thread: this frame's steps, now
          const t0 = performance.now();
          if (speed) { if (!core.run(speed)) playing = false; else count(speed); }
          else { while (performance.now() - t0 < ENGINE_LOCAL_MS) { if (!chunk(ENGINE_LOCAL_MS, Infinity)) { playing = false; break; } } }
          send(!playing, msg.extent);
        }
        break;
      default: throw new Error(`engine: unknown message ${JSON.stringify(msg.type)}`);
    }
  }
  return { handle };
}

/** The worker's entry point (WORKER_SOURCE ends with engineWorkerMain(self)). */
function engineWorkerMain(scope) {
  const ch = new MessageChannel(), queue = [];
  ch.port1.onmessage = () => { const f = queue.shift(); if (f) f(); };
  const schedule = (f) => { queue.push(f); ch.port2.postMessage(0); };
  const rt = engineRuntime((m, transfer) => scope.postMessage(m, transfer), schedule, true);
  scope.onmessage = (ev) => {
    try { rt.handle(ev.data); } catch (e) { scope.postMessage({ type: "fault", message: String((e && e.message) || e) }); }
  };
}

/** The same engine on the page's thread, for where no worker starts: same messages and
 *  replies, delivered asynchronously as a worker's would be. */
export class EngineLocal {
  constructor(onmessage) {
    this.onmessage = onmessage;
    this.rt = engineRuntime((m) => Promise.resolve().then(() => this.onmessage({ data: m })), (f) => setTimeout(f, 0), false);
  }
  postMessage(msg) { this.rt.handle(msg); }
  terminate() {}
}
