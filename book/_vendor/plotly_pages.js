// The book's plotly figures on the site: they follow the page's light/dark theme, also
// when the reader switches while the page is open, and every recorded animation gets
// keyboard controls (plotly's own play buttons and slider are drawn in SVG and take no
// focus). Served by book/_ext/offline_assets.py on every page with a plotly figure.
(function () {
  "use strict";
  const DARK = { paper: "#1e2127", plot: "#1e2127", font: "#e6e6e6", grid: "rgba(255,255,255,0.16)", line: "rgba(255,255,255,0.3)" };
  const isDark = () => document.documentElement.dataset.theme === "dark";

  function axes(div) {
    const lay = div.layout || {};
    return Object.keys(lay).filter((k) => /^[xy]axis\d*$/.test(k));
  }

  /** The theme's colours as a plotly relayout update, for every axis the figure has. */
  function update(div, c) {
    const u = { paper_bgcolor: c.paper, plot_bgcolor: c.plot, "font.color": c.font, "legend.bgcolor": "rgba(0,0,0,0)" };
    for (const ax of axes(div)) {
      u[`${ax}.gridcolor`] = c.grid; u[`${ax}.zerolinecolor`] = c.line; u[`${ax}.linecolor`] = c.line;
      u[`${ax}.color`] = c.font;
    }
    const anns = (div.layout && div.layout.annotations) || [];
    anns.forEach((a, i) => { u[`annotations[${i}].font.color`] = c.font; });
    return u;
  }

  function get(obj, path) {
    for (const k of path.replace(/\[(\d+)\]/g, ".$1").split(".")) { if (obj == null) return undefined; obj = obj[k]; }
    return obj;
  }

  /** Dark: the dark colours (the figure's own light ones kept); light: the figure's own. */
  function restyle() {
    if (!window.Plotly) return;
    const want = isDark() ? "dark" : "light";
    for (const div of document.querySelectorAll(".js-plotly-plot")) {
      const now = div.dataset.modaddTheme || "light";          // as the page was written
      div.dataset.modaddTheme = want;
      if (now === want) continue;
      if (want === "dark") {
        const u = update(div, DARK);
        div._modaddLight = Object.fromEntries(Object.keys(u).map((k) => [k, get(div.layout, k) ?? null]));
        window.Plotly.relayout(div, u);
      } else if (div._modaddLight) {
        window.Plotly.relayout(div, div._modaddLight);
      }
    }
  }

  /** Play/pause and a frame slider under an animated figure, both reachable by keyboard. */
  function keyboardControls(div) {
    const frames = (div._transitionData && div._transitionData._frames) || [];
    if (!frames.length || div.dataset.modaddKeys) return;
    div.dataset.modaddKeys = "1";
    const bar = document.createElement("div");
    bar.className = "modadd-anim-keys";
    bar.style.cssText = "display:flex;gap:10px;align-items:center;margin:2px 0 14px;font-size:13px;";
    bar.title = "keyboard controls of the animation (plotly's own buttons and slider above work with a mouse or touch)";
    const play = document.createElement("button");
    play.type = "button"; play.textContent = "\u25B6 Play"; play.setAttribute("aria-pressed", "false");
    play.setAttribute("aria-label", "play or pause the animation");
    const range = document.createElement("input");
    range.type = "range"; range.min = "0"; range.max = String(frames.length - 1); range.step = "1"; range.value = "0";
    range.setAttribute("aria-label", "animation frame");
    range.style.cssText = "flex:1 1 auto;min-width:80px;max-width:420px;";
    const out = document.createElement("output");
    const show = (i) => { range.value = String(i); out.textContent = `frame ${Number(i) + 1} of ${frames.length}`; };
    const sl = ((div._fullLayout && div._fullLayout.sliders) || [])[0];
    show(sl && Number.isInteger(sl.active) ? Math.min(sl.active, frames.length - 1) : 0);   // the frame shown
    let playing = false, timer = null;
    // one frame at a time: the next waits for the last to finish (plotly resolves a promise)
    // and for any transition of plotly's own controls; cutting one short leaves NaN transforms
    let want = null, busy = false;
    const pump = () => {
      if (want === null) { busy = false; return; }
      busy = true;
      if (div._transitioning) { setTimeout(pump, 30); return; }
      const k = want; want = null;
      Promise.resolve(window.Plotly.animate(div, [frames[k].name],
        { mode: "immediate", frame: { duration: 0, redraw: true }, transition: { duration: 0 } })).then(pump, pump);
    };
    const go = (i) => { want = i; if (!busy) pump(); };
    const stop = () => { playing = false; clearInterval(timer); play.textContent = "\u25B6 Play"; play.setAttribute("aria-pressed", "false"); };
    range.addEventListener("input", () => { stop(); show(range.value); go(Number(range.value)); });
    play.addEventListener("click", () => {
      if (playing) { stop(); return; }
      playing = true; play.textContent = "\u275A\u275A Pause"; play.setAttribute("aria-pressed", "true");
      let i = Number(range.value) >= frames.length - 1 ? 0 : Number(range.value);
      go(i); show(i);
      timer = setInterval(() => { i += 1; if (i >= frames.length) { stop(); return; } go(i); show(i); }, 200);
    });
    bar.append(play, range, out);
    div.after(bar);
  }

  function start() {
    restyle();
    document.querySelectorAll(".js-plotly-plot").forEach(keyboardControls);
    new MutationObserver(restyle).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
