// modadd.particles.simulate for one system, with the exact repulsion sum (Python sums it
// on a mesh for n > 23; this file always sums it exactly, O(n^4) per step): clustering,
// alignment and repulsion on the sums, moved onto the particles like
// modadd.forces.fields.to_embeddings, an Euler step, then the gauge. No DOM.
//
// Speed: the repulsion, all but a few percent of a step (U = n(n+1)/2 sums, U^2/2 pairs
// with an exp each), runs as kernels.wat's `repel` (WebAssembly with SIMD, four pairs per
// iteration) when the engine supports it, else as the plain JavaScript below; both are
// tested against Python and against each other. Particles.useWasm = false forces
// JavaScript. At N = 59 a step takes about a third of the JavaScript's time
// (benchmarks/bench_web.mjs). Clustering and alignment (pairs with the same answer only,
// O(n^3)) stay in JavaScript.

import { coreChoice, coreFail, coreInt, coreMatrix, coreNested, coreNumber, coreObject, coreShow, coreUnknownKeys } from "./checks.js";
import { kernelsModule } from "./kernels.js";
import { makeRng } from "./rng.js";

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
 *   ps.kern         // the WebAssembly kernels' exports when the repulsion runs there, else null
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
    // the repulsion in WebAssembly (kernels.wat's repel): the sums' X, Y, answers L, weights
    // W and forces FX, FY as float64 arrays of Up >= U + 3 entries (the extra ones weight 0)
    const mod = Particles.useWasm ? kernelsModule() : null;
    this.kern = null;
    if (mod) {
      const Up = (U + 4) & ~1, bytes = 6 * 8 * Up;
      const mem = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
      this.kern = new WebAssembly.Instance(mod, { env: { mem } }).exports;
      const view = (k) => new Float64Array(mem.buffer, 8 * Up * k, Up);
      this.wX = view(0); this.wY = view(1); this.wL = view(2); this.wW = view(3); this.wFX = view(4); this.wFY = view(5);
      this.wL.fill(-1);
      for (let i = 0; i < U; i++) { this.wL[i] = this.py[i]; this.wW[i] = this.w[i]; }
    }
    this.steps = 0;
    this.blownUp = null;
    const first = this._gauge(this.gauge === "none" ? "affine" : this.gauge);
    if (first) coreFail(`E0 cannot be put in the gauge: ${first}`);
    let lim = 0;
    for (let i = 0; i < 2 * n; i++) lim = Math.max(lim, Math.abs(E[i]));
    this.limit = CORE_RUNAWAY * lim;
  }

  /** Whether new Particles sum the repulsion in WebAssembly when the engine supports it. */
  static useWasm = true;

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
    if (rep > 0 && this.kern) {   // the same sum in WebAssembly (kernels.wat's repel)
      const sig = this.repulsion_width * spacing(n), c = -0.5 / (sig * sig);
      const { wX, wY, wFX, wFY } = this;
      for (let i = 0; i < U; i++) { wX[i] = S[2 * i]; wY[i] = S[2 * i + 1]; }
      wFX.fill(0); wFY.fill(0);
      this.kern.repel(U, wX.byteOffset, wY.byteOffset, this.wL.byteOffset, this.wW.byteOffset, wFX.byteOffset, wFY.byteOffset, c, rep);
      for (let i = 0; i < U; i++) { f[2 * i] += wFX[i]; f[2 * i + 1] += wFY[i]; }
    } else if (rep > 0) {       // f_p += rep sum_{q other answer} w_q K(|s_p - s_q|) (s_p - s_q)
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
