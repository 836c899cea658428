"""Figures in a notebook outside the site (modadd.plots.NotebookRenderer), in headless
Chromium: two figures' outputs put into a page the way JupyterLab does (the HTML set as
innerHTML, each script re-created so it runs). plotly.js is requested once and both figures
draw; offline, each figure says what to do instead of staying blank.

Chromium comes from Debian (``bash scripts/ensure_chromium.sh``); plotly's CDN is never
reached: the test answers its URL with the plotly.js the plotly package ships, or refuses it.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import plotly
import pytest
from playwright.sync_api import sync_playwright

from modadd import plots
from modadd.core.train import CIRCLE_RECIPE, train

pytestmark = pytest.mark.slow          # starts Chromium
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
INSERT = """(htmls) => { for (const h of htmls) {
  const out = document.createElement('div'); out.innerHTML = h; document.body.appendChild(out);
  for (const old of out.querySelectorAll('script')) {
    const s = document.createElement('script'); s.textContent = old.textContent; old.replaceWith(s);
  } } }"""


@pytest.fixture(scope="module")
def outputs():
    hist = train(replace(CIRCLE_RECIPE, seed=1), steps=200, record_every=20, progress=False)
    figs = [plots.model_view(hist.params_at(-1), title="end"), plots.training_animation(hist, frames=5)]
    return [plots.NotebookRenderer().to_mimebundle(f.to_dict())["text/html"] for f in figs]


def run_page(outputs, online: bool):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh`", pytrace=False)
    asked = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()

            def cdn(route):
                asked.append(route.request.url)
                if online:
                    route.fulfill(status=200, content_type="application/javascript", body=PLOTLY_JS.read_text())
                else:
                    route.abort()
            page.route("**/*", lambda route: cdn(route) if "cdn.plot.ly" in route.request.url else route.abort())
            page.set_content("<html><head></head><body></body></html>")
            page.evaluate(INSERT, outputs)
            if online:
                page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                                       timeout=30_000)
            else:
                page.wait_for_function("[...document.querySelectorAll('.plotly-graph-div')]"
                                       ".every(d => d.textContent.includes('cdn.plot.ly'))", timeout=30_000)
            drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
            points = page.evaluate("document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length")
            texts = page.evaluate("[...document.querySelectorAll('.plotly-graph-div')].map(d => d.textContent)")
        finally:
            browser.close()
    return asked, drawn, points, texts


def test_plotlyjs_loads_once_and_every_figure_draws(outputs):
    asked, drawn, points, _ = run_page(outputs, online=True)
    assert len(asked) == 1 and asked[0].endswith(".min.js"), asked
    assert drawn == 2 and points > 0


def test_offline_each_figure_says_what_to_do(outputs):
    asked, drawn, _, texts = run_page(outputs, online=False)
    assert len(asked) == 1 and drawn == 0
    assert texts == [plots.OFFLINE_MESSAGE] * 2
