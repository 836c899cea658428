// modadd web structure: modadd.analysis.structure's circle and grid scores and its classifier, in
// plain JavaScript with no DOM, for the live widgets' structure readout.
//
// The same method, step for step, as src/modadd/analysis/structure.py (read its docstrings for the
// why): circle_score, grid_score (candidate lattice vectors, round -> refit, consistency
// with addition mod n), the classifier's thresholds and lattice_rule's canonical (p, q).
// tests/js/structure.test.mjs checks scores, k, rule and class against the Python package
// on trained embeddings, particles, exact and noisy shapes and random clouds.
//
// modadd.widget.bundle() concatenates it with the widget's other files into one ES module,
// so every top-level name that is not exported starts with `struct`. It imports nothing.
//
// Exports: structureScores(E) -> {circle_score, circle_k, grid_score, rule: [p, q], class},
//   structureReadout(E) -> "circle k=K" | "grid p,q" | "other", CIRCLE_THRESHOLD, GRID_THRESHOLD.

export const CIRCLE_THRESHOLD = 0.85;
export const GRID_THRESHOLD = 0.6;
const STRUCT_TIE = 1e-9;   // scores this close tie (rounding), as structure.py's _TIE
const STRUCT_MAX_CANDIDATES = 8, STRUCT_MIN_SIN = 0.3, STRUCT_DEDUP_TOL = 0.3, STRUCT_REFINE = 5, STRUCT_ROUNDS = 5;

/** numpy's rint: round half to even. */
function structRint(x) {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

function structMod(x, n) { return ((x % n) + n) % n; }

function structGcd(a, b) { while (b) { [a, b] = [b, a % b]; } return Math.abs(a); }

/** E: flat (x0, y0, x1, y1, ...) or nested (n x 2); returns {X (centred, RMS radius 1), n, cx, cy, scale}. */
function structNormalise(E) {
  const flat = typeof E[0] === "number" ? Float64Array.from(E) : Float64Array.from(E.flat());
  const n = flat.length / 2;
  if (!(n >= 3) || !Number.isInteger(n)) throw new RangeError(`E needs n >= 3 points (n x 2), got ${flat.length} numbers`);
  let cx = 0, cy = 0;
  for (let a = 0; a < n; a++) {
    if (!Number.isFinite(flat[2 * a]) || !Number.isFinite(flat[2 * a + 1])) throw new RangeError("E contains NaN or inf");
    cx += flat[2 * a]; cy += flat[2 * a + 1];
  }
  cx /= n; cy /= n;
  const X = new Float64Array(2 * n);
  let big = 0;
  for (let a = 0; a < n; a++) { X[2 * a] = flat[2 * a] - cx; X[2 * a + 1] = flat[2 * a + 1] - cy; }
  for (let i = 0; i < 2 * n; i++) big = Math.max(big, Math.abs(X[i]));
  let maxAbs = 0;
  for (let i = 0; i < 2 * n; i++) maxAbs = Math.max(maxAbs, Math.abs(flat[i]));
  if (!(big > 1e-12 * maxAbs) || big === 0) throw new RangeError("E has zero spread: all points are identical");
  let ms = 0;
  for (let a = 0; a < n; a++) { const x = X[2 * a] / big, y = X[2 * a + 1] / big; ms += x * x + y * y; }
  const scale = big * Math.sqrt(ms / n);
  for (let i = 0; i < 2 * n; i++) X[i] /= scale;
  return { X, n, scale };
}

// ------------------------------------------------------------------ circle

function structCircle(X, n) {
  const r = new Float64Array(n);
  let mean = 0;
  for (let a = 0; a < n; a++) { r[a] = Math.hypot(X[2 * a], X[2 * a + 1]); mean += r[a]; }
  mean /= n;
  let v = 0;
  for (let a = 0; a < n; a++) v += (r[a] - mean) * (r[a] - mean);
  const radial = Math.max(0, 1 - Math.sqrt(v / n) / mean);
  const ux = new Float64Array(n), uy = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    if (r[a] > 1e-9 * mean) { const d = Math.max(r[a], 1e-300); ux[a] = X[2 * a] / d; uy[a] = X[2 * a + 1] / d; }
  }
  let best = -1, bestK = 1;
  for (let k = 1; k <= Math.floor(n / 2); k++) {
    if (structGcd(k, n) !== 1) continue;
    let re1 = 0, im1 = 0, re2 = 0, im2 = 0;           // sum w u and sum w conj(u), w = exp(-2 pi i k a / n)
    for (let a = 0; a < n; a++) {
      const t = (-2 * Math.PI * k * a) / n, c = Math.cos(t), s = Math.sin(t);
      re1 += c * ux[a] - s * uy[a]; im1 += c * uy[a] + s * ux[a];
      re2 += c * ux[a] + s * uy[a]; im2 += -c * uy[a] + s * ux[a];
    }
    const o = Math.max(Math.hypot(re1, im1), Math.hypot(re2, im2)) / n;
    if (o > best) { best = o; bestK = k; }
  }
  const order = Math.min(1, best);
  return { score: radial * order, k: bestK };
}

// ------------------------------------------------------------------ grid

function structShortest(b1x, b1y, b2x, b2y) {
  if (b2x === 0 && b2y === 0) return Math.hypot(b1x, b1y);
  for (let i = 0; i < 100; i++) {
    if (b1x * b1x + b1y * b1y > b2x * b2x + b2y * b2y) { [b1x, b1y, b2x, b2y] = [b2x, b2y, b1x, b1y]; }
    const mu = structRint((b1x * b2x + b1y * b2y) / (b1x * b1x + b1y * b1y));
    if (mu === 0) break;
    b2x -= mu * b1x; b2y -= mu * b1y;
  }
  return Math.sqrt(Math.min(b1x * b1x + b1y * b1y, b2x * b2x + b2y * b2y));
}

/** For each difference (dx[i], dy[i]): nearest multiple k of u and whether it is within tol (k != 0). */
function structNear(dx, dy, ux, uy, tol) {
  const m = dx.length, k = new Float64Array(m), near = new Uint8Array(m), uu = ux * ux + uy * uy;
  for (let i = 0; i < m; i++) {
    k[i] = structRint((dx[i] * ux + dy[i] * uy) / uu);
    const ox = dx[i] - k[i] * ux, oy = dy[i] - k[i] * uy;
    near[i] = k[i] !== 0 && ox * ox + oy * oy <= tol * tol ? 1 : 0;
  }
  return { k, near };
}

function structMedian(v) {
  const s = Array.from(v).sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function structCandidates(X, n) {
  const ds = [];
  const nnd = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const x = X[2 * j] - X[2 * i], y = X[2 * j + 1] - X[2 * i + 1], l = Math.hypot(x, y);
      ds.push([x, y, l]);
      if (l < nnd[i]) nnd[i] = l;
      if (l < nnd[j]) nnd[j] = l;
    }
  }
  const nn = structMedian(nnd), tol = Math.max(STRUCT_DEDUP_TOL * nn, 1e-9), cut = Math.max(0.25 * nn, 1e-9);
  const kept = ds.filter((d) => d[2] > cut).sort((a, b) => a[2] - b[2]);   // stable
  const dx = Float64Array.from(kept, (d) => d[0]), dy = Float64Array.from(kept, (d) => d[1]);
  let m = dx.length;                          // the differences left: dx[0 .. m), dy[0 .. m)
  // structNear for one difference, inline: its multiple k of u when near, else 0
  const nearK = (i, ux, uy, uu) => {
    const k = structRint((dx[i] * ux + dy[i] * uy) / uu), ox = dx[i] - k * ux, oy = dy[i] - k * uy;
    return k !== 0 && ox * ox + oy * oy <= tol * tol ? k : 0;
  };
  const out = [];
  while (out.length < STRUCT_MAX_CANDIDATES && m) {
    let ux = dx[0], uy = dy[0];
    for (let step = 0; step < STRUCT_REFINE; step++) {
      const uu = ux * ux + uy * uy;
      let sx = 0, sy = 0, c = 0;
      for (let i = 0; i < m; i++) {
        const k = nearK(i, ux, uy, uu);
        if (k === 1 || k === -1) { sx += k * dx[i]; sy += k * dy[i]; c++; }
      }
      if (!c) break;
      const nx = sx / c, ny = sy / c;
      if (step > 0 && Math.abs(nx - ux) <= 1e-12 && Math.abs(ny - uy) <= 1e-12) break;
      ux = nx; uy = ny;
    }
    {
      const uu = ux * ux + uy * uy;
      let sx = 0, sy = 0, kk = 0, any = false;
      for (let i = 0; i < m; i++) {
        const k = nearK(i, ux, uy, uu);
        if (k !== 0) { sx += k * dx[i]; sy += k * dy[i]; kk += k * k; any = true; }
      }
      if (any) { ux = sx / kk; uy = sy / kk; }
    }
    {                                         // drop the first difference and those near u's multiples
      const uu = ux * ux + uy * uy;
      let j = 0;
      for (let i = 1; i < m; i++) if (nearK(i, ux, uy, uu) === 0) { dx[j] = dx[i]; dy[j] = dy[i]; j++; }
      m = j;
    }
    const sameLine = out.some(([wx, wy]) => structNear([ux, -ux], [uy, -uy], wx, wy, tol).near.some((v) => v)
                                        || structNear([wx], [wy], ux, uy, tol).near[0]);
    if (!sameLine) out.push([ux, uy]);
  }
  return out;
}

/** Solve the (m x m) symmetric system A c = b (m <= 3) by Gaussian elimination with pivoting. */
function structSolve(A, b) {
  const m = b.length, M = A.map((row, i) => [...row, ...b[i]]);
  const w = b[0].length;
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let j = c; j < m + w; j++) M[r][j] -= f * M[c][j];
    }
  }
  return M.map((row, i) => row.slice(m).map((v) => v / M[i][i]));
}

/** Whether the integer sites z (flat, 2 per point) pin down a lattice of dimension dim: not all
 *  on one site (1-D), not all on one line (2-D). Exact (structure.py's _spans). */
function structSpans(z, n, dim) {
  let fx = 0, fy = 0;                                       // a site other than the first
  for (let s = 1; s < n; s++) {
    const dx = z[2 * s] - z[0];
    if (dim === 1) { if (dx !== 0) return true; continue; }
    const dy = z[2 * s + 1] - z[1];
    if (fx === 0 && fy === 0) { fx = dx; fy = dy; } else if (dx * fy - dy * fx !== 0) return true;
  }
  return false;
}

/** Round X onto t + z B, refit t and B by least squares, repeat (structure.py's _lattice_fits, one basis at a time). */
function structLatticeFit(X, n, B, tx, ty) {
  const dim = B.length;
  let zOld = null, coef = null;
  for (let round = 0; round < STRUCT_ROUNDS; round++) {
    const z = new Float64Array(2 * n);
    if (dim === 2) {
      const [[a, b], [c, d]] = B, det = a * d - b * c;
      const i00 = d / det, i01 = -b / det, i10 = -c / det, i11 = a / det;
      for (let s = 0; s < n; s++) {
        const x = X[2 * s] - tx, y = X[2 * s + 1] - ty;
        z[2 * s] = structRint(x * i00 + y * i10); z[2 * s + 1] = structRint(x * i01 + y * i11);
      }
    } else {
      const [ux, uy] = B[0], uu = ux * ux + uy * uy;
      for (let s = 0; s < n; s++) z[2 * s] = structRint(((X[2 * s] - tx) * ux + (X[2 * s + 1] - ty) * uy) / uu);
    }
    if (zOld && z.every((v, i) => v === zOld[i])) break;
    if (!structSpans(z, n, dim)) return null;
    const m = 1 + dim, G = Array.from({ length: m }, () => new Array(m).fill(0)), R = Array.from({ length: m }, () => [0, 0]);
    const row = new Float64Array(m);
    row[0] = 1;
    for (let s = 0; s < n; s++) {
      row[1] = z[2 * s];
      if (dim === 2) row[2] = z[2 * s + 1];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) G[i][j] += row[i] * row[j];
        R[i][0] += row[i] * X[2 * s]; R[i][1] += row[i] * X[2 * s + 1];
      }
    }
    coef = structSolve(G, R);
    tx = coef[0][0]; ty = coef[0][1]; B = coef.slice(1); zOld = z;
    if (dim === 2 && Math.abs(B[0][0] * B[1][1] - B[0][1] * B[1][0]) < 0.05 * Math.hypot(...B[0]) * Math.hypot(...B[1])) return null;
  }
  let ss = 0;
  for (let s = 0; s < n; s++) {
    let px = coef[0][0], py = coef[0][1];
    for (let i = 0; i < dim; i++) { px += zOld[2 * s + i] * coef[1 + i][0]; py += zOld[2 * s + i] * coef[1 + i][1]; }
    ss += (X[2 * s] - px) ** 2 + (X[2 * s + 1] - py) ** 2;
  }
  const B2 = dim === 2 ? B : [B[0], [0, 0]];
  return { z: zOld, B: B2, resid: Math.sqrt(ss / n) / structShortest(B2[0][0], B2[0][1], B2[1][0], B2[1][1]) };
}

/** The share of residues a with a = p z1_a + q z2_a + r (mod n) for the best (p, q, r): the
 *  first best in the order p, q, r (structure.py's _consistency). O(n^3), without division:
 *  for each p, each residue a walks v = a - p z1_a - q z2_a (mod n) over q by one
 *  subtraction and a wrap (the same integers as the formula, so the same result), counting
 *  (q, v) in an nq x n table; a row is read (in the order q, v) only if a count in it passed
 *  the best so far. */
function structConsistency(z, n) {
  const z1 = new Int32Array(n), z2 = new Int32Array(n);
  let min1 = Infinity, max1 = -Infinity, min2 = Infinity, max2 = -Infinity;
  for (let a = 0; a < n; a++) {
    z1[a] = structMod(z[2 * a], n); z2[a] = structMod(z[2 * a + 1], n);
    min1 = Math.min(min1, z1[a]); max1 = Math.max(max1, z1[a]); min2 = Math.min(min2, z2[a]); max2 = Math.max(max2, z2[a]);
  }
  const np_ = max1 > min1 ? n : 1, nq = max2 > min2 ? n : 1, size = nq * n;
  const counts = n < 65536 ? new Uint16Array(size) : new Int32Array(size);
  const hot = new Uint8Array(size);           // hot[q n]: a count in row q passed the best
  const base = new Int32Array(n);             // a - p z1_a (mod n)
  for (let a = 0; a < n; a++) base[a] = a;
  let best = -1, bp = 0, bq = 0, br = 0;
  for (let p = 0; p < np_; p++) {
    if (p > 0) for (let a = 0; a < n; a++) { const v = base[a] - z1[a]; base[a] = v + (n & (v >> 31)); }
    counts.fill(0);
    let a = 0;
    for (; a + 1 < n; a += 2) {                 // two residues at a time: two independent chains
      const d = z2[a], e = z2[a + 1];
      let v = base[a], w = base[a + 1];
      for (let o = 0; o < size; o += n) {
        if (++counts[o + v] > best) hot[o] = 1;
        if (++counts[o + w] > best) hot[o] = 1;
        v -= d; v += n & (v >> 31); w -= e; w += n & (w >> 31);
      }
    }
    if (a < n) {
      const d = z2[a];
      let v = base[a];
      for (let o = 0; o < size; o += n) { if (++counts[o + v] > best) hot[o] = 1; v -= d; v += n & (v >> 31); }
    }
    for (let q = 0, o = 0; q < nq; q++, o += n) {
      if (!hot[o]) continue;
      hot[o] = 0;
      let m = best;                             // the row's first largest count, if it beats the best
      for (let v = o, end = o + n; v < end; v++) if (counts[v] > m) m = counts[v];
      if (m > best) {
        let r = 0;
        while (counts[o + r] !== m) r++;
        best = m; bp = p; bq = q; br = r;
      }
    }
  }
  return { cons: best / n, pqr: [bp, bq, br] };
}

function structGrid(X, n) {
  const cand = structCandidates(X, n);
  const bases = cand.map((c) => [c]);
  for (let i = 0; i < cand.length; i++) {
    for (let j = i + 1; j < cand.length; j++) {
      const [ux, uy] = cand[i], [wx, wy] = cand[j];
      if (Math.abs(ux * wy - uy * wx) > STRUCT_MIN_SIN * Math.hypot(ux, uy) * Math.hypot(wx, wy)) bases.push([cand[i], cand[j]]);
    }
  }
  const fits = [];
  for (const B of bases) {
    const res = structLatticeFit(X, n, B, X[0], X[1]);
    if (res) fits.push({ fit: Math.max(0, 1 - 2 * res.resid), res });
  }
  fits.sort((a, b) => b.fit - a.fit);                       // stable
  let best = null;
  for (const { fit, res } of fits) {
    if (best && fit <= best.score) break;
    const { cons, pqr } = structConsistency(res.z, n);
    if (!best || fit * cons > best.score) best = { score: fit * cons, pqr, B: res.B };
  }
  return best;
}

function structFold(x, n) { return Math.min(structMod(x, n), structMod(-x, n)); }

/** lattice_rule's canonical (p, q) of a grid fit (reduced basis; signs and order dropped). */
function structRule(fit, n, scale) {
  let [p, q] = fit.pqr;
  let [b1x, b1y] = fit.B[0].map((v) => v * scale), [b2x, b2y] = fit.B[1].map((v) => v * scale);
  const two = b2x !== 0 || b2y !== 0;
  if (two) {
    for (let i = 0; i < 100; i++) {
      if (b1x * b1x + b1y * b1y > b2x * b2x + b2y * b2y) { [b1x, b1y, b2x, b2y, p, q] = [b2x, b2y, b1x, b1y, q, p]; }
      const m = structRint((b1x * b2x + b1y * b2y) / (b1x * b1x + b1y * b1y));
      if (m === 0) break;
      b2x -= m * b1x; b2y -= m * b1y; q -= m * p;
    }
  }
  p = structFold(p, n); q = two ? structFold(q, n) : 0;
  return [Math.min(p, q), Math.max(p, q)];
}

/**
 * modadd.analysis.structure.scores(E) plus lattice_rule's (p, q) of the grid fit:
 * {circle_score, circle_k, grid_score, rule: [p, q], class: "circle" | "grid" | "other"}.
 * E: n x 2 nested, or flat (x0, y0, x1, y1, ...), n >= 3, finite, not all one point.
 */
export function structureScores(E) {
  const { X, n, scale } = structNormalise(E);
  const c = structCircle(X, n), g = structGrid(X, n);
  const cls = c.score >= CIRCLE_THRESHOLD && (g.score < GRID_THRESHOLD || c.score >= g.score - STRUCT_TIE) ? "circle"
    : g.score >= GRID_THRESHOLD ? "grid" : "other";
  return { circle_score: c.score, circle_k: c.k, grid_score: g.score, rule: structRule(g, n, scale), class: cls };
}

/** The readout: "circle k=K", "grid p,q" or "other" (modadd.widget.readout). */
export function structureReadout(E) {
  const s = structureScores(E);
  return s.class === "circle" ? `circle k=${s.circle_k}` : s.class === "grid" ? `grid ${s.rule[0]},${s.rule[1]}` : "other";
}
