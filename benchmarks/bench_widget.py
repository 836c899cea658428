"""The live widget's speed in headless Chromium, beside the Python paths, in one run.

Run: .venv/bin/python benchmarks/bench_widget.py   (alone: no other torch job or build)

Writes benchmarks/results/widget.json, which the benchmarks appendix shows:
  * the widget (modadd.widget's module, core.js + view.js, rendered in a page of its own
    served on 127.0.0.1) training at N = 17 and N = 97, and the particles at N = 17: for
    each "steps per frame" setting, steps/s and frames/s while it draws every frame;
    the reported figure is the best steps/s among settings that keep >= 30 frames/s, or,
    where no setting keeps 30 frames/s (N = 97), the best steps/s at any setting;
  * the Python single-run paths measured in the same run: the trainer (a batch of one)
    at N = 17 and 97, and ``simulate`` at N = 17 (exact repulsion);
  * u: the plain nn.Module + autograd + AdamW loop, N = 17, 10,000 steps (benchmarks/bench.py).
"""
from __future__ import annotations

import functools
import http.server
import json
import platform
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import plain_loop  # noqa: E402  (the u baseline, one definition)

from modadd.particles import simulate  # noqa: E402
from modadd.train import GRID_RECIPE, train  # noqa: E402
from modadd.widget import bundle, particle_widget, training_widget  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]      # the view's fixed steps-per-frame choices (after "auto")
MIN_FPS = 30


def harness(folder: Path, widgets: dict) -> None:
    """A page that renders the widget's module with a stand-in for the widget model."""
    (folder / "bundle.mjs").write_text(bundle())
    (folder / "index.html").write_text("""<!doctype html><html><head><meta charset="utf-8"></head><body>
<script type="module">
import m from "./bundle.mjs";
const W = %s;
for (const [id, w] of Object.entries(W)) {
  const state = { kind: w.kind, settings: w.settings, step: 0, embeddings: [] };
  const model = { get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes() {}, on() {}, off() {} };
  const el = document.createElement("div"); el.id = id; document.body.appendChild(el);
  m.render({ model, el });
}
window.ready = true;
</script></body></html>""" % json.dumps(widgets))


MEASURE = """async ([id, speedIndex, ms]) => {
  const root = document.querySelector(`#${id} .modadd-live`);
  const speed = Array.from(root.querySelectorAll("input[type=range]"))
      .find((i) => i.labels[0] && i.labels[0].textContent === "steps per frame");
  speed.value = speedIndex + 1; speed.dispatchEvent(new Event("input"));    // slider position 0 is "auto"
  let frames = 0, counting = true;
  const count = () => { if (!counting) return; frames++; requestAnimationFrame(count); };
  root.querySelector("[data-action=play]").click();
  await new Promise((r) => setTimeout(r, 300));           // warm-up (JIT)
  const s0 = Number(root.dataset.step), t0 = performance.now();
  requestAnimationFrame(count);
  await new Promise((r) => setTimeout(r, ms));
  const s1 = Number(root.dataset.step), t1 = performance.now();
  counting = false;
  root.querySelector("[data-action=play]").click();        // one toggle: play, then pause
  root.querySelector("[data-action=reset]").click();
  return { steps_per_s: (s1 - s0) / ((t1 - t0) / 1000), fps: frames / ((t1 - t0) / 1000) };
}"""


def browser_speeds(widgets: dict, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        harness(folder, widgets)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *a: None
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        out = {}
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = b.new_page(viewport={"width": 900, "height": 900})
                page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
                page.wait_for_function("window.ready === true")
                for wid in widgets:
                    rows = []
                    for i, k in enumerate(SPEEDS):
                        r = page.evaluate(MEASURE, [wid, i, int(seconds * 1000)])
                        rows.append({"steps_per_frame": k, **r})
                        if r["fps"] < 2:              # a frame takes over 0.5 s: larger settings only stall
                            break
                    ok = [r for r in rows if r["fps"] >= MIN_FPS]
                    best = max(ok or rows, key=lambda r: r["steps_per_s"])
                    out[wid] = {"best": best, "at_30_fps": bool(ok), "settings": rows}
                b.close()
        finally:
            httpd.shutdown()
    return out


def python_speeds() -> dict:
    res = {}
    for n in (17, 97):
        cfg = replace(GRID_RECIPE, model=replace(GRID_RECIPE.model, n=n))
        steps = 3000 if n == 17 else 1000
        train(cfg, steps=100, progress=False)                             # warm-up
        h = train(cfg, steps=steps, record_every=steps, progress=False)
        res[f"trainer_single_n{n}_steps_per_s"] = steps / h.seconds
    simulate(17, 1.0, 1.0, steps=50)
    t0 = time.perf_counter()
    simulate(17, 1.0, 1.0, steps=1000, record_every=1000)
    res["simulate_n17_steps_per_s"] = 1000 / (time.perf_counter() - t0)
    return res


def main():
    u = plain_loop(10_000)
    widgets = {
        "train17": {"kind": "training", "settings": training_widget("grid", n=17).settings},
        # N = 97 lies above the slider (11-59 since issue 35): kept as the JavaScript's worst case
        "train97": {"kind": "training", "settings": dict(training_widget("grid", n=59).settings, n=97)},
        "particles17": {"kind": "particles", "settings": particle_widget(17).settings},
    }
    web = browser_speeds(widgets, seconds=1.5)
    py = python_speeds()
    res = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, Chromium headless",
        "u_seconds": u,
        "widget": web,
        "python": py,
        "targets": {"train17": 1000, "train97": 50, "particles17": 500},
    }
    out = HERE / "results" / "widget.json"
    out.write_text(json.dumps(res, indent=2) + "\n")
    for wid, r in web.items():
        b = r["best"]
        print(f"{wid}: {b['steps_per_s']:.0f} steps/s at {b['fps']:.0f} frames/s "
              f"({b['steps_per_frame']} steps/frame; target {res['targets'][wid]})")
    print(json.dumps(py, indent=2))
    print(f"u = {u:.2f} s; wrote {out}")


if __name__ == "__main__":
    main()
