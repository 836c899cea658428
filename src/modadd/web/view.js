// ---------------------------------------------------------------------------------------
// view.js: the live widget's view (DOM, canvas, controls). modadd.widget.bundle()
// concatenates it after the files it imports (engine.js and, through it, the arithmetic)
// into ONE ES module (the anywidget's _esm), their import lines dropped. The arithmetic
// runs in engine.js's engine, in a Web Worker where one starts; the view only draws. The same module runs in Jupyter (the state
// flows back to Python through the model) and on the static site (html-manager, no
// kernel: model.save_changes() does nothing there).
//
// Testing contract: the root element has class "modadd-live", data-kind = "training" or
// "particles", data-step = the steps done so far, data-structure = the live structure
// readout ("circle k=K", "grid p,q" or "other", structure.js's; empty before the first
// reading; in same-start mode the particles', with data-structure-network and data-agree
// = "yes" or "no"), data-rate = steps per second, data-engine = "worker" or "page" (where
// the arithmetic runs), data-busy = "yes" while a snapshot asked of the engine is on its way, and root._modadd.E() the flat positions drawn last (networkE() too
// in same-start mode; at rest the readout is of these); the button data-action="play" toggles
// play and pause (aria-pressed), Space on the focused widget does too; every control
// carries data-control = its state key (n, seed, weight_decay, lr, alignment, ...), and a
// range input applies on its input and change events.
//
// From engine.js it uses EngineLocal (the engine on the page's thread) and the bundle's
// WORKER_SOURCE (the same engine's worker script; absent when view.js is imported alone).
// ---------------------------------------------------------------------------------------

import { EngineLocal } from "./engine.js";

const VIEW_CSS = `
.modadd-live { --ml-fg: var(--pst-color-text-base, var(--jp-ui-font-color1, #222));
  --ml-bg: var(--pst-color-background, var(--jp-layout-color0, #fff));
  --ml-muted: var(--pst-color-text-muted, var(--jp-ui-font-color2, #666));
  --ml-border: var(--pst-color-border, var(--jp-border-color1, #ccc));
  --ml-accent: var(--pst-color-primary, var(--jp-brand-color1, #1f5fbf));
  color: var(--ml-fg); background: var(--ml-bg); font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  border: 1px solid var(--ml-border); border-radius: 6px; padding: 10px; margin: 0.5em 0 1em; max-width: 100%; box-sizing: border-box; }
.modadd-live * { box-sizing: border-box; }
.modadd-live .ml-panels { display: flex; flex-wrap: wrap; gap: 10px; }
.modadd-live figure { margin: 0; flex: 1 1 240px; min-width: 0; max-width: 340px; }
.modadd-live figure.ml-wide { max-width: 690px; margin-top: 8px; }
.modadd-live figcaption { font-size: 12px; color: var(--ml-muted); text-align: center; }
.modadd-live canvas { width: 100%; height: auto; display: block; border: 1px solid var(--ml-border); border-radius: 4px; }
.modadd-live .ml-controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 4px 18px; margin: 10px 0 6px; }
.modadd-live .ml-control { display: flex; align-items: center; gap: 6px; min-width: 0; }
.modadd-live .ml-control label { flex: 0 0 auto; min-width: 112px; }
.modadd-live .ml-control input[type=range] { flex: 1 1 auto; min-width: 60px; accent-color: var(--ml-accent); }
.modadd-live .ml-control output { flex: 0 0 auto; min-width: 50px; text-align: right; font-variant-numeric: tabular-nums; }
.modadd-live select { width: auto; }
.modadd-live input[type=number] { width: 92px; }
.modadd-live input[type=number], .modadd-live select { min-width: 92px; background: var(--ml-bg); color: var(--ml-fg); border: 1px solid var(--ml-border); border-radius: 3px; padding: 1px 3px; }
.modadd-live .ml-buttons { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 6px 0; }
.modadd-live button { font: inherit; padding: 3px 12px; border-radius: 4px; border: 1px solid var(--ml-border); background: var(--ml-bg); color: var(--ml-fg); cursor: pointer; }
.modadd-live button[data-action=play] { border-color: var(--ml-accent); }
.modadd-live button:disabled { opacity: 0.45; cursor: default; }
.modadd-live button:focus-visible, .modadd-live input:focus-visible, .modadd-live select:focus-visible { outline: 2px solid var(--ml-accent); outline-offset: 1px; }
.modadd-live .ml-status { font-variant-numeric: tabular-nums; color: var(--ml-fg); min-height: 1.4em; }
.modadd-live .ml-status.ml-error { color: #c0392b; font-weight: 600; }
.modadd-live .ml-note { font-size: 12px; color: var(--ml-muted); margin: 2px 0 0; }
.modadd-live:focus-visible { outline: 2px solid var(--ml-accent); outline-offset: 2px; }
.modadd-live .ml-readout { font-weight: 600; min-height: 1.4em; font-variant-numeric: tabular-nums; }
/* phones: the two pictures side by side, captions and controls compact, so the pictures,
   the play button and the controls fit on one screen */
@media (max-width: 600px) {
  .modadd-live { padding: 6px; font-size: 12px; }
  .modadd-live .ml-panels { flex-wrap: nowrap; gap: 6px; }
  .modadd-live figure { flex: 1 1 50%; }
  .modadd-live .ml-panels figcaption { display: none; }
  .modadd-live .ml-controls { grid-template-columns: 1fr; gap: 2px; margin: 6px 0 4px; }
  .modadd-live .ml-control label { min-width: 96px; }
  .modadd-live .ml-note { display: none; }
}
`;

// ------------------------------------------------------------------ colours (plots.py's)
// modadd.plots.residue_rgb, the same formula: a loop through CIELAB (D65), residue r of n at
// angle t = 2 pi r / n, L*, a*, b* = C0 + C1 cos t + S1 sin t + C2 cos 2t + S2 sin 2t,
// told apart with red-green colour blindness too (tests/js/view.test.mjs measures it).
const RESIDUE_LOOP = [[57.2, 4.0, -0.1], [-1.0, -9.0, 26.2], [-5.3, 0.2, 2.6], [-19.4, 25.8, 6.6], [-2.8, 6.1, -36.2]];
const _XYZ_TO_SRGB = [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]];
const _D65 = [0.95047, 1.0, 1.08883];
export function residueRGB(r, n) {
  const t = (2 * Math.PI * r) / n, w = [1, Math.cos(t), Math.sin(t), Math.cos(2 * t), Math.sin(2 * t)];
  const lab = [0, 1, 2].map((i) => w.reduce((s, wk, k) => s + wk * RESIDUE_LOOP[k][i], 0));
  const fy = (lab[0] + 16) / 116, f = [fy + lab[1] / 500, fy, fy - lab[2] / 200], d = 6 / 29;
  const xyz = f.map((v, i) => _D65[i] * (v > d ? v ** 3 : 3 * d * d * (v - 4 / 29)));
  return _XYZ_TO_SRGB.map((row) => {
    let v = Math.min(1, Math.max(0, row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]));
    v = v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
    return Math.round(v * 255);
  });
}
export function residueHex(r, n) {
  return "#" + residueRGB(r, n).map((v) => v.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ small DOM helpers
function _el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.appendChild(c);
  return e;
}
let _uid = 0;
/** A labelled control. spec: {key, label, type: "range"|"log"|"int"|"check"|"select",
 *  min, max, step, value, options, fmt, help}. Returns {row, get(), set(v), input}. */
function _control(spec, onChange) {
  const id = `modadd-live-${++_uid}-${spec.key}`;
  const row = _el("div", { className: "ml-control" });
  const label = _el("label", { for: id, text: spec.label });
  if (spec.help) label.title = spec.help;
  let input, out = null, get, set;
  const fmt = spec.fmt || ((v) => String(v));
  if (spec.type === "check") {
    input = _el("input", { type: "checkbox", id, checked: !!spec.value });
    get = () => input.checked; set = (v) => { input.checked = !!v; };
    row.append(input, label);
  } else if (spec.type === "select") {
    input = _el("select", { id });
    for (const [v, text] of spec.options) input.appendChild(_el("option", { value: v, text }));
    input.value = spec.value;
    get = () => input.value; set = (v) => { input.value = v; };
    row.append(label, input);
  } else if (spec.type === "int") {
    input = _el("input", { type: "number", id, min: spec.min, max: spec.max, step: 1, value: spec.value });
    const clamp = (v) => Math.min(spec.max, Math.max(spec.min, Math.round(Number.isFinite(v) ? v : spec.value)));
    get = () => clamp(Number(input.value)); set = (v) => { input.value = clamp(v); };
    input.addEventListener("change", () => { input.value = get(); });
    row.append(label, input);
  } else {                    // "range" (linear) or "log" (slider moves log10 of the value)
    const log = spec.type === "log";
    const toPos = (v) => (log ? Math.log10(v) : v);
    input = _el("input", { type: "range", id, min: toPos(spec.min), max: toPos(spec.max), step: spec.step,
                           value: toPos(spec.value) });
    out = _el("output", { for: id });
    get = () => { const p = Number(input.value); return log ? Number(Math.pow(10, p).toPrecision(3)) : p; };
    // the output shows the value in use: a preset's 3e-3 stays 3.0e-3, not the slider's snapped 3.2e-3
    const show = (v) => { out.textContent = fmt(v); input.setAttribute("aria-valuetext", fmt(v)); };
    set = (v) => { input.value = toPos(v); show(v); };
    input.addEventListener("input", () => show(get()));
    input.addEventListener("change", () => show(get()));
    show(spec.value);
    row.append(label, input, out);
  }
  input.setAttribute("data-control", spec.key);
  // a range applies on input (while dragging) and on change (a value set by a script or a
  // keyboard); each value is applied once
  let applied = get();
  const apply = () => { const v = get(); if (v !== applied) { applied = v; onChange(spec.key, v); } };
  const events = spec.type === "range" || spec.type === "log" ? ["input", "change"] : ["change"];
  for (const ev of events) input.addEventListener(ev, apply);
  const setAll = (v) => { set(v); applied = get(); };
  return { row, get, set: setAll, input };
}

function _palette(root) {
  const cs = getComputedStyle(root);
  const fg = cs.color || "#222";
  const bgRaw = cs.backgroundColor;
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/.exec(bgRaw || "");
  let bg = [255, 255, 255];
  if (m && (m[4] === undefined || Number(m[4]) > 0)) bg = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dark = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] < 128;
  return { fg, bg, dark, bgCss: `rgb(${bg.join(",")})`, grid: dark ? "rgba(255,255,255,0.22)" : "rgba(0,0,0,0.18)" };
}

/** A square plot on a canvas: data coordinates centred on the origin, extent e. */
function _dpr() { return Math.min(3, Math.max(1, (typeof window !== "undefined" && window.devicePixelRatio) || 1)); }
/** A canvas of w x h CSS pixels drawn at the screen's devicePixelRatio (sharp on phones). */
function _canvas(w, h, label) {
  const d = _dpr(), canvas = _el("canvas", { width: Math.round(w * d), height: Math.round(h * d), role: "img", "aria-label": label });
  const ctx = canvas.getContext("2d");
  ctx.setTransform(d, 0, 0, d, 0, 0);
  return { canvas, ctx };
}

class _Square {
  constructor(px, caption) {
    this.px = px;
    ({ canvas: this.canvas, ctx: this.ctx } = _canvas(px, px, caption));
    this.fig = _el("figure", {}, [this.canvas, _el("figcaption", { text: caption })]);
    this.extent = 1;
  }
  fit(maxAbs) {                 // grow at once, shrink slowly: the view does not jitter
    const want = Math.max(1e-9, maxAbs * 1.15);
    if (want > this.extent || want < 0.6 * this.extent) this.extent = want > this.extent ? want : 0.8 * this.extent + 0.2 * want;
  }
  X(x) { return (x / this.extent + 1) * 0.5 * this.px; }
  Y(y) { return (1 - y / this.extent) * 0.5 * this.px; }
  axes(pal) {
    const c = this.ctx, h = this.px / 2;
    c.strokeStyle = pal.grid; c.lineWidth = 1;
    c.beginPath(); c.moveTo(0, h); c.lineTo(this.px, h); c.moveTo(h, 0); c.lineTo(h, this.px); c.stroke();
  }
  points(E, n, pal, { radius = n > 40 ? 3.5 : 5 } = {}) {
    // every residue labelled up to N = 64 (smaller type above 40); at any N the point under
    // the pointer is labelled too (hover), so a residue can always be found
    const c = this.ctx, labels = n <= 64;
    c.font = n > 40 ? "9px system-ui, sans-serif" : "11px system-ui, sans-serif"; c.textAlign = "center"; c.textBaseline = "bottom";
    this.shown = { E, n };
    for (let a = 0; a < n; a++) {
      const x = this.X(E[2 * a]), y = this.Y(E[2 * a + 1]);
      c.beginPath(); c.arc(x, y, radius, 0, 2 * Math.PI);
      c.fillStyle = residueHex(a, n); c.fill();
      c.lineWidth = 1; c.strokeStyle = pal.fg; c.stroke();
      if (labels) { c.fillStyle = pal.fg; c.fillText(String(a), x, y - radius - 1); }
    }
    const h = this.hover;
    if (h >= 0 && h < n) {
      const x = this.X(E[2 * h]), y = this.Y(E[2 * h + 1]);
      c.beginPath(); c.arc(x, y, radius + 3, 0, 2 * Math.PI); c.lineWidth = 2; c.strokeStyle = pal.fg; c.stroke();
      c.font = "bold 12px system-ui, sans-serif"; c.fillStyle = pal.fg; c.fillText(String(h), x, y - radius - 4);
    }
  }
  /** Label the residue nearest the pointer (within 12 CSS px); redraw() repaints. */
  hoverable(redraw) {
    this.hover = -1;
    const pick = (ev) => {
      const s = this.shown; if (!s) return;
      const box = this.canvas.getBoundingClientRect(), k = this.px / (box.width || this.px);
      const mx = (ev.clientX - box.left) * k, my = (ev.clientY - box.top) * k;
      let best = -1, bd = 144 * k * k;
      for (let a = 0; a < s.n; a++) {
        const d = (this.X(s.E[2 * a]) - mx) ** 2 + (this.Y(s.E[2 * a + 1]) - my) ** 2;
        if (d < bd) { bd = d; best = a; }
      }
      if (best !== this.hover) {
        this.hover = best; this.canvas.title = best >= 0 ? `residue ${best}` : "";
        this.canvas.dataset.hover = String(best); redraw();
      }
    };
    this.canvas.addEventListener("pointermove", pick);
    this.canvas.addEventListener("pointerleave", () => { if (this.hover !== -1) { this.hover = -1; this.canvas.dataset.hover = "-1"; redraw(); } });
  }
}

/** Mini-curves of loss (log scale) and train/validation accuracy over steps. */
class _Curves {
  constructor(w, h) {
    this.w = w; this.h = h;
    ({ canvas: this.canvas, ctx: this.ctx } = _canvas(w, h, "loss and accuracy curves over the training steps"));
    this.fig = _el("figure", { className: "ml-wide" }, [this.canvas, _el("figcaption", { text: "loss (log scale) and accuracy against the step: train solid, validation dashed" })]);
    this.clear();
  }
  clear() { this.rows = []; }
  push(step, m) { this.rows.push([step, m.trainLoss, m.valLoss, m.trainAcc, m.valAcc]); if (this.rows.length > 4000) this.rows = this.rows.filter((_, i) => i % 2 === 0); }
  /** Draw at the canvas's own CSS width (a phone's column is narrower than 610 px), so the
   *  labels keep their size instead of being scaled down. */
  fitWidth() {
    const css = Math.round(this.canvas.clientWidth);
    if (css > 0 && css !== this.w) {
      const d = _dpr();
      this.w = css; this.canvas.width = Math.round(css * d); this.canvas.height = Math.round(this.h * d);
      this.ctx.setTransform(d, 0, 0, d, 0, 0);
    }
  }
  draw(pal) {
    this.fitWidth();
    const c = this.ctx, W = this.w, H = this.h - 16, half = W / 2, pad = 22;   // H: above the step axis
    c.fillStyle = pal.bgCss; c.fillRect(0, 0, W, this.h);
    c.fillStyle = pal.fg; c.font = "11px system-ui, sans-serif"; c.textAlign = "left"; c.textBaseline = "top";
    c.fillText("loss", 4, 2); c.fillText("accuracy", half + 4, 2);
    const rows = this.rows; if (rows.length < 2) return;
    const smax = rows[rows.length - 1][0] || 1;
    // the step axis under each half: ticks at round numbers of steps
    const raw = smax / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), unit = [1, 2, 5, 10].map((m) => m * mag).find((u) => u >= raw);
    c.strokeStyle = pal.grid; c.lineWidth = 1; c.textBaseline = "top"; c.textAlign = "center";
    for (const x0 of [0, half]) {
      c.beginPath(); c.moveTo(x0 + 4, H); c.lineTo(x0 + half - 4, H); c.stroke();
      for (let t = 0; t <= smax; t += unit) {
        const X = x0 + 4 + (half - 8) * t / smax;
        c.beginPath(); c.moveTo(X, H); c.lineTo(X, H + 3); c.stroke();
        c.fillStyle = pal.fg; c.fillText(t >= 1000 ? `${t / 1000}k` : String(t), Math.min(Math.max(X, x0 + 10), x0 + half - 10), H + 4);
      }
    }
    c.textAlign = "left";
    let lo = Infinity, hi = -Infinity;
    for (const r of rows) for (const v of [r[1], r[2]]) if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!(hi > lo)) { hi = lo * 10 || 1; lo = hi / 10; }
    const L0 = Math.log10(lo), L1 = Math.log10(hi);
    const line = (x0, w, col, f, dash) => {
      c.strokeStyle = col; c.setLineDash(dash ? [4, 3] : []); c.lineWidth = 1.5; c.beginPath();
      let started = false;
      for (const r of rows) {
        const v = f(r); if (!Number.isFinite(v)) continue;
        const X = x0 + 4 + (w - 8) * r[0] / smax, Y = pad + (H - pad - 4) * (1 - v);
        if (!started) { c.moveTo(X, Y); started = true; } else c.lineTo(X, Y);
      }
      c.stroke(); c.setLineDash([]);
    };
    const lossY = (v) => (v > 0 ? (Math.log10(v) - L0) / (L1 - L0 || 1) : NaN);
    const TR = pal.dark ? "#6fa8ff" : "#1f5fbf", VA = pal.dark ? "#ff9a5c" : "#d9541e";
    line(0, half, TR, (r) => lossY(r[1]), false);
    line(0, half, VA, (r) => lossY(r[2]), true);
    line(half, half, TR, (r) => r[3], false);
    line(half, half, VA, (r) => r[4], true);
    const last = rows[rows.length - 1];
    c.fillStyle = pal.fg; c.textAlign = "right";
    c.fillText(`${last[1].toPrecision(3)}`, half - 4, 2);
    c.fillText(`${Math.round(100 * last[3])}%` + (Number.isFinite(last[4]) ? ` / ${Math.round(100 * last[4])}%` : ""), W - 4, 2);
  }
}

// ------------------------------------------------------------------ the engine and the run loop
/** The pairs a training run draws: all unordered pairs, their side of the split, the sums. */
class _Pairs {
  constructor(n, held) {
    const heldSet = new Set(held), U = (n * (n + 1)) / 2;
    this.n = n; this.pa = new Int32Array(U); this.pb = new Int32Array(U);
    this.groups = Array.from({ length: n }, () => ({ train: [], val: [] }));   // pair indices by answer
    let u = 0;
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++, u++) {
        this.pa[u] = a; this.pb[u] = b;
        this.groups[(a + b) % n][heldSet.has(a * n + b) ? "val" : "train"].push(u);
      }
    }
    this._sums = new Float64Array(2 * U);
  }
  /** The sums E_a + E_b of every pair (x, y interleaved; a view reused by the next call). */
  sums(E) {
    const S = this._sums, pa = this.pa, pb = this.pb;
    for (let u = 0; u < pa.length; u++) {
      const a = 2 * pa[u], b = 2 * pb[u];
      S[2 * u] = E[a] + E[b]; S[2 * u + 1] = E[a + 1] + E[b + 1];
    }
    return S;
  }
}

let _workerUrl = null;
/**
 * The widget's engine (engine.js): in a Web Worker made from WORKER_SOURCE (the bundle's
 * copy of engine.js and the files it imports) where one starts, else on the page's thread
 * (EngineLocal), with the same messages. A worker that fails (its script refused, say) is
 * replaced by the page's engine, which gets the last build again. onmessage(data); where()
 * says "worker" or "page".
 */
function _engine(onmessage, onBusy = () => {}) {
  let impl = null, place = "page", last = {}, owed = 0;    // owed: snapshots asked for, not yet back
  const got = (m) => { if (m && m.type === "snapshot" && owed > 0) { owed--; if (!owed) onBusy(false); } onmessage(m); };
  const local = () => { impl = new EngineLocal((ev) => got(ev.data)); place = "page"; owed = 0; onBusy(false); };
  if (typeof Worker !== "undefined" && typeof WORKER_SOURCE === "string") {
    try {
      _workerUrl = _workerUrl || URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      const w = new Worker(_workerUrl);
      w.onmessage = (ev) => got(ev.data);
      w.onerror = (ev) => {
        if (ev && ev.preventDefault) ev.preventDefault();
        if (impl !== w) return;
        w.terminate(); local();
        for (const k of ["build", "set", "speed", "play"]) if (last[k]) impl.postMessage(last[k]);
      };
      impl = w; place = "worker";
    } catch (e) { local(); }
  } else local();
  return {
    post(msg) {
      if (msg.type === "build") last = {};
      if (msg.type === "pause") delete last.play;
      if (["build", "set", "speed", "play"].includes(msg.type)) last[msg.type] = msg;
      if (["build", "step", "frame", "pause"].includes(msg.type)) { if (!owed) onBusy(true); owed++; }
      impl.postMessage(msg);
    },
    where: () => place,
    close() { if (impl && impl.terminate) impl.terminate(); },
  };
}

/**
 * Drives an engine with requestAnimationFrame: while playing, one request for the next
 * snapshot is always in flight (asked again as soon as one comes back), and each animation
 * frame draws the last one to have come back (paint), so drawing and the controls never
 * wait on the arithmetic (which, in a worker, runs meanwhile). Speed = steps per frame; 0 ("auto") takes as many steps as the time allows.
 * Nothing runs until play is pressed (no autoplay, which also respects reduced motion).
 * extent() gives the decision panel's half-width for the regions the engine computes.
 */
class _Loop {
  constructor(engine, onState, extent = () => 0) {
    this.engine = engine; this.onState = onState; this.extent = extent; this.paint = () => {};
    this.running = false; this.speed = 0; this.frame = null; this.pending = false; this.rate = 0;
  }
  restart() { this.rate = 0; this.pending = false; }
  setSpeed(s) { this.speed = s; this.engine.post({ type: "speed", speed: s }); }
  play() {
    if (this.running) return;
    this.running = true; this.onState(true);
    this.engine.post({ type: "play", speed: this.speed });
    const tick = () => {
      if (!this.running) return;
      this.ask();
      this.paint();
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }
  pause() {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    if (this.running) { this.running = false; this.engine.post({ type: "pause", extent: this.extent() }); this.onState(false); }
  }
  ask() { if (this.running && !this.pending) { this.pending = true; this.engine.post({ type: "frame", extent: this.extent() }); } }
  /** A snapshot came back: ask for the next; a run that stopped stops the loop. */
  received(s) {
    this.pending = false;
    if (s.playing && !this.speed) this.ask();          // auto: pipelined; a fixed speed asks once a frame
    if (s.rate !== undefined) this.rate = s.playing ? s.rate : this.rate;
    if (this.running && s.playing === false && s.error) {
      if (this.frame !== null) cancelAnimationFrame(this.frame);
      this.frame = null; this.running = false; this.onState(false);
    }
  }
}

const SPEEDS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];     // 0: auto
const _speedText = (i) => (SPEEDS[i] ? String(SPEEDS[i]) : "auto");

function _buttons(handlers) {
  const bar = _el("div", { className: "ml-buttons" });
  const b = {};
  for (const [action, text, title] of [["play", "\u25B6 Play", "play or pause (Space while the widget has the focus)"],
                                       ["step", "Step", "one frame of steps"], ["reset", "Reset", "start again from the seed"]]) {
    b[action] = _el("button", { type: "button", text, title, "data-action": action });
    b[action].addEventListener("click", handlers[action]);
    bar.appendChild(b[action]);
  }
  b.play.setAttribute("aria-pressed", "false");
  return { bar, b };
}

/** A run loop on an engine with its play / pause / step / reset buttons. build() posts a
 *  new run to the engine. */
function _transport({ engine, build, extent }) {
  let btn = null;
  const loop = new _Loop(engine, (running) => {
    const p = btn.b.play;                           // one toggle: it keeps the focus
    p.textContent = running ? "\u275A\u275A Pause" : "\u25B6 Play";
    p.setAttribute("aria-pressed", running ? "true" : "false");
  }, extent);
  const toggle = () => (loop.running ? loop.pause() : loop.play());
  btn = _buttons({
    play: toggle,
    step: () => { loop.pause(); engine.post({ type: "step", k: loop.speed || 10, extent: extent ? extent() : 0 }); },
    reset: () => { loop.pause(); loop.restart(); build(); },
  });
  return { loop, bar: btn.bar, toggle };
}

/** Space on the focused widget (not on a control that Space already works) toggles play. */
function _spaceToggles(root, toggle) {
  root.tabIndex = 0;
  root.addEventListener("keydown", (e) => {
    if (e.key !== " " || e.repeat) return;
    const t = e.target, tag = t.tagName;
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && t.type !== "range")) return;
    e.preventDefault();
    toggle();
  });
}

/** Start a new run (new N, seed, ...), playing on if it was playing. */
function _restart(loop, build) {
  const was = loop.running;
  loop.pause(); loop.restart(); build();
  if (was) loop.play();
}

/** Repaint when the page's theme changes (the book theme's data-theme / data-mode on <html>). */
function _onThemeChange(draw) {
  if (typeof MutationObserver === "undefined") return () => {};
  const obs = new MutationObserver(() => draw());
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "data-mode", "class"] });
  const mq = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  if (mq && mq.addEventListener) mq.addEventListener("change", draw);
  return () => { obs.disconnect(); if (mq && mq.removeEventListener) mq.removeEventListener("change", draw); };
}

function _rateText(loop) {
  return loop.rate > 0 ? ` \u00b7 ${Math.round(loop.rate).toLocaleString("en-US")} steps/s` : "";
}

function _syncBack(model, fields) {
  // In Jupyter this sends the state to Python; without a kernel it is a no-op.
  try { for (const [k, v] of Object.entries(fields)) model.set(k, v); model.save_changes(); } catch (e) { /* no kernel */ }
}

function _nested(E, n) { const out = []; for (let a = 0; a < n; a++) out.push([E[2 * a], E[2 * a + 1]]); return out; }

// ------------------------------------------------------------------ training widget
function renderTraining(model, el, root) {
  const st = Object.assign({}, TRAINING_DEFAULTS, model.get("settings") || {});
  const PRESETS = st.presets;
  const PX = 300;                              // canvas pixels; the regions come from the engine
  const emb = new _Square(PX, "embeddings E_a, coloured by residue a");
  const dec = new _Square(PX, "sums E_a + E_b over the predicted class: training pairs filled, held-out pairs as rings");
  const curves = new _Curves(PX * 2 + 10, 136);
  const status = _el("div", { className: "ml-status", role: "status", "aria-live": "polite" });
  const readout = _el("div", { className: "ml-readout", "data-readout": "" });
  const regions = new _Regions();
  // gen: this run's number (replies of older runs are dropped); shape: its pairs; snap: the
  // engine's last snapshot; metrics: the last loss and accuracies
  let gen = 0, shape = null, snap = null, error = null, lastSync = 0, metrics = null, colors = [], idle = 0, lastRec = -1;
  let sums = null, curvesDirty = true, curvesBg = "", dirty = false;
  const engine = _engine(receive, (b) => { root.dataset.busy = b ? "yes" : ""; });
  root.dataset.engine = engine.where();

  function build() {
    gen++; error = null; shape = null; snap = null; metrics = null; lastRec = -1; sums = null; curvesDirty = true; regions.clear(); curves.clear();
    emb.extent = dec.extent = 1e-9; idle = 0;
    engine.post({ type: "build", gen, kind: "training", cfg: trainerConfig(st) });
    draw();
  }
  function receive(m) {
    root.dataset.engine = engine.where();
    if (m.type === "fault") { error = m.message; draw(); return; }
    if (m.type === "snapshot") loop.received(m);
    if (m.gen !== gen) return;
    if (m.type === "built") {
      error = m.error;
      shape = m.error ? null : new _Pairs(trainerConfig(st).n, m.held);
      colors = shape ? Array.from({ length: shape.n }, (_, c) => residueHex(c, shape.n)) : [];
      return;
    }
    snap = m; error = m.error || null;
    if (m.metrics) { metrics = m.metrics; if (m.metricsStep > lastRec) { lastRec = m.metricsStep; curves.push(m.metricsStep, m.metrics); curvesDirty = true; } }
    if (m.grid) regions.set(m.grid);
    if (shape) {
      const n = shape.n, E = m.E;
      let e = 0; for (let i = 0; i < 2 * n; i++) e = Math.max(e, Math.abs(E[i]));
      emb.fit(e);
      sums = shape.sums(E);
      let s = 0; for (let i = 0; i < sums.length; i++) s = Math.max(s, Math.abs(sums[i]));
      dec.fit(s);
    }
    if (loop.running) dirty = true; else draw();
    const now = performance.now();
    if (!loop.running || now - lastSync > 1000) { lastSync = now; sync(); }
    // at rest, ask once more for regions drawn at the panel's settled extent
    if (!loop.running && !loop.pending && shape && !error && !regions.fits(m.step, dec.extent) && idle < 3) {
      idle++; loop.pending = true; engine.post({ type: "frame", extent: dec.extent });
    } else if (loop.running) idle = 0;
  }
  function sync() { if (snap && shape) _syncBack(model, { step: snap.step, embeddings: _nested(snap.E, shape.n) }); }
  function draw() {
    const pal = _palette(root);
    root.dataset.step = String(snap ? snap.step : 0);
    for (const sq of [emb, dec]) { sq.ctx.fillStyle = pal.bgCss; sq.ctx.fillRect(0, 0, sq.px, sq.px); }
    if (!snap || !shape || !sums) {
      status.textContent = error ? `Stopped: ${error}` : ""; status.classList.toggle("ml-error", !!error);
      _showStructure(root, readout, ""); return;
    }
    const n = shape.n, E = snap.E;
    emb.axes(pal); emb.points(E, n, pal);
    regions.paint(dec, n, pal);
    dec.axes(pal);
    if (st.hinges) _drawHinges(dec, { H: snap.W1.length / 2, W1: snap.W1, b1: snap.b1 }, pal);
    _drawSums(dec, shape, sums, colors, pal);
    // the curves change only with new measurements (at most every 100 ms): redrawn then,
    // or on a theme change, not on every frame
    if (curvesDirty || pal.bgCss !== curvesBg) { curves.draw(pal); curvesDirty = false; curvesBg = pal.bgCss; }
    status.classList.toggle("ml-error", !!error);
    status.textContent = (metrics ? _trainingStatus(snap.step, metrics, error) : "") + (error ? "" : _rateText(loop));
    root.dataset.rate = String(Math.round(loop.rate));
    _showStructure(root, readout, snap.readout || "");
  }
  const { loop, bar, toggle } = _transport({ engine, build, extent: () => dec.extent });
  loop.paint = () => { if (dirty) { dirty = false; draw(); } };
  emb.hoverable(draw);
  const restartKeys = new Set(["n", "seed", "val_fraction", "preset", "bias"]);
  const controls = {};
  function onChange(key, value) {
    if (key === "speed") { loop.setSpeed(SPEEDS[value]); return; }
    if (key === "n" && loop.speed) { loop.setSpeed(0); controls.speed.set(0); }   // a new N starts at "auto"
    if (key === "preset") {
      Object.assign(st, PRESETS[value]);
      for (const k of ["bias", "lr", "weight_decay", "seed"]) controls[k].set(st[k]);
    }
    st[key] = value;
    if (key === "hinges") { draw(); return; }
    if (restartKeys.has(key)) _restart(loop, build);
    else engine.post({ type: "set", hyper: { lr: st.lr, weight_decay: st.weight_decay } });  // act on the running network
  }
  const specs = _trainingSpecs(st);
  const grid = _el("div", { className: "ml-controls" });
  for (const spec of specs) { const c = _control(spec, onChange); controls[spec.key] = c; grid.appendChild(c.row); }
  const note = _el("p", { className: "ml-note", text:
    "Changing N, the seed, the validation fraction, the recipe or the biases starts a new run; weight decay and learning rate act on the running one. " +
    "Each recipe opens on a seed that grows its structure (a circle, or a grid). Steps per frame \"auto\" takes as many steps as the time allows " +
    "(in a background thread, so the picture stays smooth)." });
  root.append(_el("div", { className: "ml-panels" }, [emb.fig, dec.fig]), readout, curves.fig, bar, status, grid, note);
  _spaceToggles(root, toggle);
  root._modadd = { E: () => (snap ? Array.from(snap.E) : []) };      // for tests: the embeddings read out
  build(); draw();
  const unwatch = _onThemeChange(draw);
  return () => { loop.pause(); unwatch(); engine.close(); };
}

/** The structure readout, on screen and in data-structure ("" before the first reading). */
function _showStructure(root, line, value, label = "structure") {
  root.dataset.structure = value;
  line.textContent = value ? `${label}: ${value}` : `${label}: (press Play)`;
}

/** The status line under the training widget. */
function _trainingStatus(step, m, error) {
  if (error) return `Stopped at step ${step}: ${error}`;
  return `step ${step} \u00b7 train loss ${m.trainLoss.toPrecision(3)} \u00b7 train acc ${Math.round(100 * m.trainAcc)}%` +
    (Number.isFinite(m.valAcc) ? ` \u00b7 validation acc ${Math.round(100 * m.valAcc)}%` : " \u00b7 no validation pairs");
}

/** The decision regions the engine computed (its grid: the predicted class at res x res
 *  points over [-extent, extent]^2, bottom row first), painted as the background of a square
 *  panel at their own extent, in the residue colours lightened towards the page's background. */
class _Regions {
  constructor() { this.img = document.createElement("canvas"); this.ctx = this.img.getContext("2d"); this.clear(); }
  clear() { this.grid = null; this.key = ""; }
  set(grid) { this.grid = grid; this.key = ""; }
  fits(step, extent) { return !!this.grid && this.grid.step === step && Math.abs(this.grid.extent - extent) <= 1e-9 * extent; }
  paint(sq, n, pal) {
    const g = this.grid; if (!g) return;
    const R = g.res, key = `${pal.bgCss}/${n}`;
    if (key !== this.key) {                      // recolour on a new grid or a theme change
      if (this.img.width !== R) { this.img.width = R; this.img.height = R; }
      const data = this.ctx.createImageData(R, R), px = data.data, cls = g.cls, mix = 0.55, lut = [];
      for (let c = 0; c < n; c++) lut.push(residueRGB(c, n).map((v, i) => Math.round(v * (1 - mix) + pal.bg[i] * mix)));
      for (let k = 0; k < R; k++) {
        const src = (R - 1 - k) * R, dst = k * R;       // image row 0 is the top
        for (let i = 0; i < R; i++) { const col = lut[cls[src + i]] || pal.bg, q = 4 * (dst + i); px[q] = col[0]; px[q + 1] = col[1]; px[q + 2] = col[2]; px[q + 3] = 255; }
      }
      this.ctx.putImageData(data, 0, 0); this.key = key;
    }
    const size = sq.px * g.extent / sq.extent, off = (sq.px - size) / 2;
    sq.ctx.imageSmoothingEnabled = false;
    sq.ctx.drawImage(this.img, off, off, size, size);
  }
}

/** Every sum as a dot of its answer's colour (training pairs) or a ring (held out), one
 *  path per answer and kind, so a frame costs a few dozen canvas calls even at N = 97. */
function _drawSums(sq, run, sums, colors, pal) {
  const c = sq.ctx, groups = run.groups, small = run.n > 40, r = small ? 2.5 : 3.5, rv = small ? 3.2 : 4.5;
  const path = (list, rad, square) => {
    c.beginPath();
    for (const u of list) {
      const x = sq.X(sums[2 * u]), y = sq.Y(sums[2 * u + 1]);
      if (square) c.rect(x - rad, y - rad, 2 * rad, 2 * rad);
      else { c.moveTo(x + rad, y); c.arc(x, y, rad, 0, 2 * Math.PI); }
    }
  };
  for (let a = 0; a < run.n; a++) {
    const g = groups[a];
    if (g.train.length) {
      path(g.train, small ? 2 : r, small); c.fillStyle = colors[a]; c.fill();   // at large N, small squares: many times cheaper to draw
      if (!small) { c.lineWidth = 0.8; c.strokeStyle = pal.fg; c.stroke(); }
    }
    if (g.val.length) {
      path(g.val, rv, false); c.lineWidth = 2.2; c.strokeStyle = pal.fg; c.stroke();
      c.lineWidth = 1.2; c.strokeStyle = colors[a]; c.stroke();
    }
  }
}

/** The ReLU hinge lines {x : x . W1[:, j] + b1[j] = 0}, one per hidden unit. */
function _drawHinges(sq, P, pal) {
  const c = sq.ctx, e = sq.extent, H = P.H;
  c.save(); c.strokeStyle = pal.dark ? "rgba(255,255,255,0.55)" : "rgba(0,0,0,0.45)"; c.lineWidth = 0.8;
  c.beginPath();
  for (let j = 0; j < H; j++) {
    const a = P.W1[j], b = P.W1[H + j], k = P.b1 ? P.b1[j] : 0;
    if (Math.abs(b) > Math.abs(a)) { c.moveTo(sq.X(-e), sq.Y((-k + a * e) / b)); c.lineTo(sq.X(e), sq.Y((-k - a * e) / b)); }
    else if (a !== 0) { c.moveTo(sq.X((-k + b * e) / a), sq.Y(-e)); c.lineTo(sq.X((-k - b * e) / a), sq.Y(e)); }
  }
  c.stroke(); c.restore();
}

/** The training widget's controls (ranges are what the Python side accepts). */
function _trainingSpecs(st) {
  return [
    { key: "preset", label: "start from", type: "select", value: st.preset,
      options: [["circle", "circle recipe"], ["grid", "grid recipe"]],
      help: "circle recipe: no biases, Glorot-uniform weights, embeddings U(\u00b10.2), lr 3e-3; grid recipe: biases, PyTorch's default init, embeddings N(0, 0.05\u00b2), lr 1e-2" },
    { key: "n", label: "N (modulus)", type: "range", min: (st.n_range || [7, 97])[0], max: (st.n_range || [7, 97])[1], step: 1, value: st.n },
    { key: "seed", label: "seed", type: "int", min: 0, max: 999999, value: st.seed },
    { key: "val_fraction", label: "validation fraction", type: "range", min: 0, max: 0.9, step: 0.05, value: st.val_fraction, fmt: (v) => v.toFixed(2) },
    { key: "weight_decay", label: "weight decay", type: "range", min: 0, max: 3, step: 0.05, value: st.weight_decay, fmt: (v) => v.toFixed(2) },
    { key: "lr", label: "learning rate", type: "log", min: 1e-4, max: 1e-1, step: 0.05, value: st.lr, fmt: (v) => v.toExponential(1) },
    { key: "speed", label: "steps per frame", type: "range", min: 0, max: SPEEDS.length - 1, step: 1, value: 0, fmt: _speedText },
    { key: "bias", label: "biases", type: "check", value: st.bias, help: "trainable b1, b2 (off: fixed at 0)" },
    { key: "hinges", label: "ReLU hinge lines", type: "check", value: st.hinges, help: "the lines x\u00b7W1[:, j] + b1[j] = 0 where hidden unit j switches" },
  ];
}

// The recipes' settings come from Python (modadd.widget.recipe_presets: the trainer's
// CIRCLE_RECIPE and GRID_RECIPE) in settings.presets; the view keeps no copy of its own.
const TRAINING_DEFAULTS = { preset: "circle", n: 17, seed: 0, val_fraction: 0.2, hinges: false };

function trainerConfig(st) {
  return { n: st.n, hidden: st.hidden, bias: st.bias, init: st.init, embed_init: st.embed_init, embed_scale: st.embed_scale,
           lr: st.lr, weight_decay: st.weight_decay, val_fraction: st.val_fraction, seed: st.seed };
}

// ------------------------------------------------------------------ particles widget
const VIEW_PARTICLE_DEFAULTS = { n: 17, seed: 0, clustering: 1.0, alignment: 1.0, repulsion: 0.3, step_size: 0.1,
                            clustering_width: 1.5, repulsion_width: 0.7, same_start: false, network_seed: 0 };

function renderParticles(model, el, root) {
  const st = Object.assign({}, VIEW_PARTICLE_DEFAULTS, model.get("settings") || {});
  const same = !!st.same_start;
  if (same) root.dataset.mode = "same-start";
  const SAME_START = Object.assign({}, SAME_START_DEFAULTS, st.same_start_run || {});
  const PX = 300;
  const net = same ? new _Square(PX, "the network's embeddings (trained by AdamW)") : null;
  const par = new _Square(PX, same ? "particles from the same start (moved by the forces alone)" : "particles, coloured by residue");
  const status = _el("div", { className: "ml-status", role: "status", "aria-live": "polite" });
  const readout = _el("div", { className: "ml-readout", "data-readout": "" });
  let gen = 0, snap = null, error = null, lastSync = 0, n = st.n, dirty = false;
  const engine = _engine(receive, (b) => { root.dataset.busy = b ? "yes" : ""; });
  root.dataset.engine = engine.where();
  function build() {
    gen++; error = null; snap = null; n = st.n;
    par.extent = 1e-9; if (net) net.extent = 1e-9;
    draw();
    const network = same ? trainerConfig(Object.assign({}, TRAINING_DEFAULTS, st.presets[st.preset],
                                                       { n: st.n, seed: st.seed, val_fraction: SAME_START.val_fraction })) : null;
    engine.post({ type: "build", gen, kind: "particles", cfg: particleConfig(st), network, same: SAME_START });
  }
  function receive(m) {
    root.dataset.engine = engine.where();
    if (m.type === "fault") { error = m.message; draw(); return; }
    if (m.type === "snapshot") loop.received(m);
    if (m.gen !== gen) return;
    if (m.type === "built") { error = m.error; return; }
    snap = m; error = m.error || null;
    const fit = (sq, E) => { let e = 0; for (let i = 0; i < 2 * n; i++) e = Math.max(e, Math.abs(E[i])); sq.fit(e); };
    fit(par, m.E); if (net && m.netE) fit(net, m.netE);
    if (loop.running) dirty = true; else draw();
    const now = performance.now();
    if (!loop.running || now - lastSync > 1000) { lastSync = now; sync(); }
  }
  function sync() { if (snap) _syncBack(model, { step: snap.step, embeddings: _nested(snap.E, n) }); }
  function draw() {
    const pal = _palette(root);
    root.dataset.step = String(snap ? snap.step : 0);
    for (const sq of net ? [net, par] : [par]) { sq.ctx.fillStyle = pal.bgCss; sq.ctx.fillRect(0, 0, sq.px, sq.px); }
    if (!snap) {
      status.textContent = error || ""; status.classList.toggle("ml-error", !!error);
      root.dataset.structure = ""; root.dataset.structureNetwork = ""; root.dataset.agree = "";
      readout.textContent = "structure: (press Play)"; return;
    }
    par.axes(pal); par.points(snap.E, n, pal);
    if (net && snap.netE) { net.axes(pal); net.points(snap.netE, n, pal); }
    status.classList.toggle("ml-error", !!error);
    status.textContent = error ? `Stopped at step ${snap.step}: ${error}` :
      `particle step ${snap.step}` + (same ? ` \u00b7 network step ${snap.netStep}` +
        (snap.netDone ? " (done)" : "") : "") + _rateText(loop);
    root.dataset.rate = String(Math.round(loop.rate));
    const p = snap.readout || "";
    if (!same) { _showStructure(root, readout, p); return; }
    const q = snap.readoutNet || "";
    root.dataset.structure = p;
    root.dataset.structureNetwork = q;
    root.dataset.agree = p && q ? (p === q ? "yes" : "no") : "";
    readout.textContent = p && q ? `network: ${q} \u00b7 particles: ${p} \u00b7 ${p === q ? "the same structure" : "different structures"}`
      : "structure: (press Play)";
  }
  const { loop, bar, toggle } = _transport({ engine, build });
  loop.paint = () => { if (dirty) { dirty = false; draw(); } };
  loop.speed = 5;
  par.hoverable(draw); if (net) net.hoverable(draw);
  // every setting restarts from the same start (the seed's, or the network's), so the
  // reader sees what a force changes, not a finished shape that no longer moves
  function onChange(key, value) {
    if (key === "speed") { loop.setSpeed(SPEEDS[value]); return; }
    st[key] = value;
    _restart(loop, build);
  }
  const specs = _particleSpecs(st, same);
  const grid = _el("div", { className: "ml-controls" });
  for (const spec of specs) grid.appendChild(_control(spec, onChange).row);
  const note = _el("p", { className: "ml-note", text: (same
    ? `Both start from the network's initial embeddings (the particles after the gauge step). The network trains as in this chapter's comparison: ` +
      `${SAME_START.network_steps.toLocaleString("en-US")} AdamW steps with ${Math.round(100 * SAME_START.val_fraction)}% of the pairs held out, ` +
      `${SAME_START.network_steps_per_step} network steps per particle step; then it stops and the particles go on. The two clocks are not comparable. `
    : "") + "Changing any setting starts again from the same start, so what a force does shows at once." });
  root.append(_el("div", { className: "ml-panels" }, net ? [net.fig, par.fig] : [par.fig]), readout, bar, status, grid, note);
  _spaceToggles(root, toggle);
  root._modadd = { E: () => (snap ? Array.from(snap.E) : []), networkE: () => (snap && snap.netE ? Array.from(snap.netE) : []) };
  build(); draw();
  const unwatch = _onThemeChange(draw);
  return () => { loop.pause(); unwatch(); engine.close(); };
}

/** Same-start mode trains the network as chapter 5's comparison does (defaults; widget.py's
 *  SAME_START_RUN passes them in as settings.same_start_run). */
const SAME_START_DEFAULTS = { network_steps: 2000, val_fraction: 0.2, network_steps_per_step: 4 };

/** The particle widget's controls (ranges are what the Python side accepts). */
function _particleSpecs(st, same) {
  return [
    { key: "n", label: "N (particles)", type: "range", min: 7, max: same ? 59 : 41, step: 1, value: st.n },
    { key: "seed", label: "seed", type: "int", min: 0, max: 999999, value: st.seed },
    ...(same ? [{ key: "preset", label: "network recipe", type: "select", value: st.preset || "circle",
                  options: [["circle", "circle recipe"], ["grid", "grid recipe"]] }] : []),
    { key: "alignment", label: "alignment", type: "range", min: 0, max: 5, step: 0.05, value: st.alignment, fmt: (v) => v.toFixed(2) },
    { key: "clustering", label: "clustering", type: "range", min: 0, max: 3, step: 0.05, value: st.clustering, fmt: (v) => v.toFixed(2) },
    { key: "repulsion", label: "repulsion", type: "range", min: 0, max: 1, step: 0.05, value: st.repulsion, fmt: (v) => v.toFixed(2) },
    { key: "step_size", label: "step size", type: "log", min: 1e-3, max: 1, step: 0.05, value: st.step_size, fmt: (v) => v.toPrecision(2) },
    { key: "speed", label: "steps per frame", type: "range", min: 0, max: SPEEDS.length - 1, step: 1, value: SPEEDS.indexOf(5), fmt: _speedText },
  ];
}

function particleConfig(st) {
  return { n: st.n, clustering: st.clustering, alignment: st.alignment, repulsion: st.repulsion, step_size: st.step_size,
           clustering_width: st.clustering_width, repulsion_width: st.repulsion_width, seed: st.seed };
}

// ------------------------------------------------------------------ entry point
export default {
  render({ model, el }) {
    if (!document.getElementById("modadd-live-css")) {
      const style = document.createElement("style"); style.id = "modadd-live-css"; style.textContent = VIEW_CSS;
      document.head.appendChild(style);
    }
    const kind = model.get("kind");
    const root = _el("div", { className: "modadd-live", "data-kind": kind, "data-step": "0", "data-structure": "",
                              role: "group", "aria-label": `live ${kind} widget (Space plays or pauses)` });
    el.appendChild(root);
    const cleanup = kind === "particles" ? renderParticles(model, el, root) : renderTraining(model, el, root);
    return () => { cleanup(); root.remove(); };
  },
};
