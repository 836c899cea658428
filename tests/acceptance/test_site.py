"""Browser checks of the BUILT site (``_build/html``) in headless Chromium.

Every page of the book is served from ``127.0.0.1`` and opened once in a real browser;
the tests then check what a reader would see: no JavaScript errors, no request that leaves
the machine, no broken link to a file of the site, every plotly figure drawn, every
animation really animates, all math typeset by MathJax, exercises and their solution
dropdowns working, the offline Sphinx search, dark mode, and no stray page in the build.
Full-page screenshots of every page, light and dark, for a human to look at:
``scripts/screenshots.py`` (it opens the pages with this module's helpers).

Build the site first (``bash scripts/book.sh``); Chromium comes from the system
(``bash scripts/ensure_chromium.sh``), never from ``playwright install``.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.acceptance, pytest.mark.slow]    # the built site in headless Chromium
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
NOT_BUILT = f"the site is not built: {SITE / 'index.html'} is missing. Run `bash scripts/book.sh` first."
NO_PAGES = "<no pages found>"
SKIP_NAMES = {"genindex.html", "search.html", "py-modindex.html"}
SKIP_DIRS = {"_static", "_sources", "jupyter_execute", "_images"}
ALLOWED_SCHEMES = {"data", "blob", "about"}


# ---------------------------------------------------------------------------------------
# page discovery (at import time, from the file system)
# ---------------------------------------------------------------------------------------
def _is_redirect_only(path: Path) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return bool(re.search(r'http-equiv="?refresh', text, re.I)) and "<body" not in text.lower()


def discover_pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return []
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        rel = path.relative_to(SITE)
        if (rel.parts[0] in SKIP_DIRS or any(part.startswith(".") for part in rel.parts)
                or rel.name in SKIP_NAMES or _is_redirect_only(path)):
            continue
        pages.append(rel.as_posix())
    return pages


def all_html_pages() -> list[str]:
    """Every content page the build wrote, hidden folders included (they should not exist)."""
    if not SITE.is_dir():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if p.relative_to(SITE).parts[0] not in SKIP_DIRS
                  and p.name not in SKIP_NAMES and not _is_redirect_only(p))


PAGES = discover_pages() or [NO_PAGES]


def pages_containing(*markers: str) -> list[str]:
    """Pages whose built HTML contains any marker: the pages a feature test applies to.

    Deciding this from the HTML (not in the browser) keeps the feature tests free of
    skips: each runs exactly on the pages that have the feature, and
    ``test_the_book_has_each_feature`` fails if no page has it.
    """
    out = []
    for page in PAGES:
        if page != NO_PAGES and any(m in (SITE / page).read_text(errors="replace") for m in markers):
            out.append(page)
    return out


ANIMATED_PAGES = pages_containing("Plotly.addFrames")
MATH_PAGES = pages_containing('class="math')
EXERCISE_PAGES = pages_containing('class="admonition exercise', 'exercise admonition')


def shot_name(page_path: str) -> str:
    return re.sub(r"\.html$", "", page_path).replace("/", "__")


# ---------------------------------------------------------------------------------------
# fixtures: one static server, one browser, one open page at a time
# ---------------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve_site():
    """The built site served from 127.0.0.1 on a free port, in a thread: yields its origin."""
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail(NOT_BUILT, pytrace=False)
    with serve_site() as origin:
        yield origin


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh`", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Recorder:
    """Everything a page did on the network and in its console."""

    def __init__(self, page, origin: str):
        self.origin = origin
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.bad_responses: list[str] = []
        self.failed_requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.page_errors.append(f"{e.name}: {e.message}"))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url', '')}:{loc.get('lineNumber', '')})" if loc.get("url") else ""
            self.console_errors.append(msg.text + where)

    def _on_response(self, resp):
        if resp.status >= 400:
            self.bad_responses.append(f"{resp.status} {resp.url}")

    def _on_failed(self, req):
        if self.is_local(req.url):  # external ones are aborted on purpose and reported apart
            self.failed_requests.append(f"{req.failure} {req.url}")

    def is_local(self, url: str) -> bool:
        u = urlparse(url)
        return u.scheme in ALLOWED_SCHEMES or (u.scheme in ("http", "https") and u.hostname == "127.0.0.1")

    def external(self) -> list[str]:
        return sorted({u for u in self.requests if not self.is_local(u)})

    def mark(self) -> tuple[int, int, int, int]:
        return (len(self.console_errors), len(self.page_errors), len(self.requests), len(self.bad_responses))

    def problems_since(self, mark) -> list[str]:
        c, e, r, b = mark
        out = [f"console error: {m}" for m in self.console_errors[c:]]
        out += [f"page error: {m}" for m in self.page_errors[e:]]
        out += [f"external request: {u}" for u in self.requests[r:] if not self.is_local(u)]
        out += [f"HTTP {m}" for m in self.bad_responses[b:]]
        return out


def _block_external(route):
    route.abort()  # never wait on the network; the request itself is still recorded


PHONE = {"width": 390, "height": 844}            # a phone's viewport, at its pixel density below


def open_page(browser, server: str, path: str, *, dark: bool = False, settle: bool = True, phone: bool = False):
    context = browser.new_context(viewport=PHONE if phone else VIEWPORT, color_scheme="dark" if dark else "light",
                                  **({"device_scale_factor": 3, "is_mobile": True, "has_touch": True} if phone else {}))
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:|about:).*"), _block_external)
    if dark:  # what the theme's light/dark switch stores, set before the theme's JS reads it
        context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    page = context.new_page()
    rec = Recorder(page, server)
    page.goto(f"{server}/{path}", wait_until="load", timeout=30_000)
    if settle:
        page.wait_for_load_state("networkidle", timeout=15_000)
        wait_until_settled(page)
    return context, page, rec


def wait_until_settled(page) -> None:
    """Wait for MathJax to finish typesetting and plotly to finish drawing."""
    page.evaluate(
        """async () => {
            if (document.querySelector('span.math, div.math')) {
                const t0 = Date.now();
                while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
                    if (Date.now() - t0 > 10000) return;   // the math test reports it
                    await new Promise(r => setTimeout(r, 50));
                }
                await MathJax.startup.promise;
            }
            const t0 = Date.now();
            const pending = () => Array.from(document.querySelectorAll('.plotly-graph-div'))
                .some(gd => !gd._fullLayout || gd._transitioning);
            while (pending() && Date.now() - t0 < 10000) await new Promise(r => setTimeout(r, 50));
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        }"""
    )


@pytest.fixture(scope="module", params=PAGES)
def loaded(request, server, browser):
    """One book page, opened once; every test of this page shares it (pytest groups by it)."""
    if request.param == NO_PAGES:
        pytest.fail(f"no book pages found under {SITE}. {NOT_BUILT}", pytrace=False)
    context, page, rec = open_page(browser, server, request.param)
    try:
        yield request.param, page, rec
    finally:
        context.close()


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------
def test_site_is_built():
    assert (SITE / "index.html").is_file(), NOT_BUILT
    assert PAGES != [NO_PAGES], f"no book pages found under {SITE}"


def test_root_redirects_to_a_book_page(server, browser):
    context, page, rec = open_page(browser, server, "index.html", settle=False)
    try:
        page.wait_for_url(re.compile(r".*/(?!index\.html)[^/]+\.html.*"), timeout=10_000)
        landed = urlparse(page.url).path.lstrip("/")
        assert landed in PAGES, f"index.html redirects to {landed!r}, which is not a book page"
        assert not rec.external(), f"external requests: {rec.external()}"
    finally:
        context.close()


def test_no_stray_pages(server, browser):
    """Every page the build wrote is a chapter in the book's navigation (nothing picked up
    by accident, e.g. a README.md inside a cache folder)."""
    context, page, rec = open_page(browser, server, PAGES[0] if PAGES != [NO_PAGES] else "index.html")
    try:
        hrefs = page.eval_on_selector_all(
            ".bd-sidebar-primary a.reference.internal, nav.bd-links a, .navbar-brand",
            "els => els.map(a => a.href)")
    finally:
        context.close()
    in_nav = {urlparse(h).path.lstrip("/") for h in hrefs if h.startswith(server)}
    stray = [p for p in all_html_pages() if p not in in_nav]
    assert not stray, ("pages built into the site but not in the book's navigation (check "
                       "exclude_patterns in _config.yml):\n  " + "\n  ".join(stray))


def test_loads_without_errors(loaded):
    path, page, rec = loaded
    msgs = [f"page error: {m}" for m in rec.page_errors] + [f"console error: {m}" for m in rec.console_errors]
    assert not msgs, f"{path}: JavaScript errors while loading:\n  " + "\n  ".join(msgs)


def test_no_external_requests(loaded):
    path, page, rec = loaded
    ext = rec.external()
    assert not ext, f"{path}: requests leaving 127.0.0.1 (the site must work offline):\n  " + "\n  ".join(ext)


def test_no_http_errors(loaded):
    path, page, rec = loaded
    bad = rec.bad_responses + [f"failed: {m}" for m in rec.failed_requests]
    assert not bad, f"{path}: broken requests:\n  " + "\n  ".join(bad)


def test_dark_mode(server, browser):
    """The theme's dark mode, as a reader gets it (OS preference dark, the theme switch set to
    dark), on the page with the most figures: the theme switches and the page loads without
    errors. (Full-page screenshots of every page, light and dark, for a human to look at:
    ``scripts/screenshots.py``.)"""
    path = max((p for p in PAGES if p != NO_PAGES),
               key=lambda p: (SITE / p).read_text(errors="replace").count("plotly-graph-div"))
    context, page, rec = open_page(browser, server, path, dark=True)
    try:
        theme = page.evaluate("document.documentElement.dataset.theme")
        problems = rec.problems_since((0, 0, 0, 0))
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    finally:
        context.close()
    assert theme == "dark", f"{path}: theme did not switch to dark (data-theme={theme!r})"
    assert not problems, f"{path} in dark mode:\n  " + "\n  ".join(problems)
    r, g, b = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert 0.299 * r + 0.587 * g + 0.114 * b < 100, f"{path}: the page's background is light in dark mode ({background})"


PLOTLY_BACKGROUNDS_JS = """() => {
    const lum = c => {              // any CSS colour (white, #1e2127, rgb()) to its luminance
        const d = document.createElement('span'); d.style.color = c; document.body.appendChild(d);
        const m = getComputedStyle(d).color.match(/[\\d.]+/g).map(Number); d.remove();
        return 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2];
    };
    const band = gd => {            // the lightest painted background between the figure and its cell
        let e = gd.parentElement, most = -1;
        while (e && !e.classList.contains('cell_output')) {
            const c = getComputedStyle(e).backgroundColor, a = c.match(/[\\d.]+/g).map(Number);
            if (a.length < 4 || a[3] > 0) most = Math.max(most, lum(c));
            e = e.parentElement;
        }
        return most;
    };
    return Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
        id: gd.id, lum: lum(gd._fullLayout.paper_bgcolor), font: lum(gd._fullLayout.font.color), band: band(gd)}));
}"""


def _theme_problems(page, dark: bool) -> list[str]:
    """Figures whose background (or text) does not follow the theme, waited for briefly."""
    test = "lum < 100 && font > 150 && band < 100" if dark else "lum > 200 && font < 120"
    try:
        page.wait_for_function(f"() => ({PLOTLY_BACKGROUNDS_JS})().every(({{lum, font, band}}) => {test})", timeout=10_000)
    except Exception:
        pass
    figs = page.evaluate(PLOTLY_BACKGROUNDS_JS)
    assert figs, "no plotly figure on the page"
    ok = ((lambda f: f["lum"] < 100 and f["font"] > 150 and f["band"] < 100) if dark
          else (lambda f: f["lum"] > 200 and f["font"] < 120))
    return [f"{f['id']}: background luminance {f['lum']:.0f}, text {f['font']:.0f}, around it {f['band']:.0f}"
            for f in figs if not ok(f)]


def test_plotly_figures_follow_the_theme(server, browser):
    """On the page with the most figures: every figure is dark when the page opens dark (with
    no light band around it), and follows the reader's switch while the page is open (dark
    to light and back)."""
    path = max((p for p in PAGES if p != NO_PAGES),
               key=lambda p: (SITE / p).read_text(errors="replace").count("plotly-graph-div"))
    context, page, rec = open_page(browser, server, path, dark=True)
    try:
        problems = [f"opened dark: {p}" for p in _theme_problems(page, dark=True)]
        for dark in (False, True):
            page.evaluate(f"document.documentElement.dataset.theme = '{'dark' if dark else 'light'}'")
            problems += [f"switched to {'dark' if dark else 'light'}: {p}" for p in _theme_problems(page, dark)]
        problems += rec.problems_since((0, 0, 0, 0))
    finally:
        context.close()
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


FIGURES_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div, .js-plotly-plot')).map((gd, i) => {
    const box = gd.getBoundingClientRect();
    const nonEmpty = sel => Array.from(gd.querySelectorAll(sel))
        .filter(e => (e.getAttribute('d') || '').replace(/[MZ\\s]/g, '').length > 0).length;
    const images = Array.from(gd.querySelectorAll(
        '.heatmaplayer image, .hm image, .imagelayer image, .contourlayer image'))
        .filter(e => (e.getAttribute('href') || e.getAttribute('xlink:href') || '').length > 100).length;
    const marks = {
        points: gd.querySelectorAll('.scatterlayer .point, .barlayer .point, .boxlayer .point').length,
        lines: nonEmpty('.scatterlayer path.js-line') + nonEmpty('.scatterlayer path.js-fill'),
        images: images,
        other: gd.querySelectorAll('.pielayer .slice, .contourlayer path, .gl-canvas, canvas').length,
    };
    return {
        id: gd.id || `#${i}`,
        plotly: gd.classList.contains('js-plotly-plot') && !!gd._fullLayout,
        traces: (gd.data || []).length,
        width: box.width, height: box.height,
        marks: marks,
        drawn: Object.values(marks).some(n => n > 0),
    };
})"""


def test_plotly_figures_drew(loaded):
    path, page, rec = loaded
    figs = page.evaluate(FIGURES_JS)
    broken = [f for f in figs if not (f["plotly"] and f["traces"] > 0 and f["drawn"]
                                      and f["width"] > 50 and f["height"] > 50)]
    assert not broken, f"{path}: plotly figures that did not draw:\n  " + "\n  ".join(map(str, broken))


ANIMATED_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    id: gd.id,
    frames: ((gd._transitionData || {})._frames || []).map(f => f.name),
    sliders: ((gd._fullLayout || {}).sliders || []).map(s => ({active: s.active, steps: s.steps.length})),
})).filter(f => f.frames.length > 0 || f.sliders.length > 0)"""

SIGNATURE_JS = """id => {
    const gd = document.getElementById(id);
    let h = 0;
    const s = JSON.stringify(gd.data.map(t => [t.x, t.y, t.z, t.text, t.marker && t.marker.color]));
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    const sl = (gd._fullLayout.sliders || [])[0];
    return {hash: h, len: s.length, active: sl ? sl.active : null};
}"""


SLIDER_COVERED_JS = """id => {
    // Both ends of every slider rail must be reachable and visible: no other control
    // (e.g. play/pause buttons) may lie on top of the first or last step.
    const gd = document.getElementById(id), out = [];
    gd.querySelectorAll('.slider-container').forEach((sc, k) => {
        const rail = sc.querySelector('.slider-rail-rect').getBoundingClientRect();
        const ticks = Array.from(sc.querySelectorAll('.slider-tick-rect')).map(t => t.getBoundingClientRect());
        const ends = ticks.length ? [ticks[0], ticks[ticks.length - 1]] : [];
        const y = rail.top + rail.height / 2;
        for (const [name, t] of [['first', ends[0]], ['last', ends[1]]]) {
            if (!t) continue;
            const x = t.left + t.width / 2;
            const hit = document.elementFromPoint(x, y);
            if (hit && !sc.contains(hit)) {
                const what = hit.closest('.menulayer') ? 'the play/pause buttons (updatemenus)'
                           : `<${hit.tagName.toLowerCase()} class="${hit.getAttribute('class') || ''}">`;
                out.push(`slider ${k}: its ${name} step (x=${Math.round(x)}) is covered by ${what}`);
            }
        }
    });
    return out;
}"""


@pytest.mark.parametrize("loaded", ANIMATED_PAGES, indirect=True)
def test_animations_move(loaded):
    """Every animated figure has frames, and its slider, used like a reader uses it, changes it."""
    path, page, rec = loaded
    # plotly adds the frames after the figure is drawn (a promise): on a busy machine that
    # can come after the page has settled, so wait for as many animated figures as the HTML adds
    want = (SITE / path).read_text().count("Plotly.addFrames")
    try:
        page.wait_for_function(f"() => ({ANIMATED_JS})().length >= {want}", timeout=20_000)
    except Exception:
        pass                                   # reported just below, with what was found
    anims = page.evaluate(ANIMATED_JS)
    assert anims, f"{path}: its HTML adds animation frames, but no animated figure was found"
    problems = []
    for a in anims:
        fid = a["id"]
        if len(a["frames"]) <= 1:
            problems.append(f"{fid}: only {len(a['frames'])} frame(s)")
            continue
        fig = page.locator(f"#{fid}")
        fig.scroll_into_view_if_needed()
        mark = rec.mark()
        before_sig = page.evaluate(SIGNATURE_JS, fid)
        before_png = fig.screenshot()
        if a["sliders"]:
            problems += [f"{fid}: {m}" for m in page.evaluate(SLIDER_COVERED_JS, fid)]
            # Move the slider like a reader: a mouse click on the rail, at the tick of a step
            # far from the current one.
            steps = a["sliders"][0]["steps"]
            active = before_sig["active"] or 0
            want = steps // 4 if active >= steps / 2 else (3 * steps) // 4
            ticks = fig.locator(".slider-container .slider-tick-rect")
            rail = fig.locator(".slider-container .slider-rail-rect").first
            rail_box = rail.bounding_box()
            if rail_box is None:
                problems.append(f"{fid}: slider rail not rendered")
                continue
            if ticks.count() == steps:
                tick = ticks.nth(want).bounding_box()
                x = tick["x"] + tick["width"] / 2
            else:  # steps spread evenly along the rail
                x = rail_box["x"] + rail_box["width"] * want / max(steps - 1, 1)
            page.mouse.click(x, rail_box["y"] + rail_box["height"] / 2)
            try:
                page.wait_for_function(
                    "([id, before]) => { const gd = document.getElementById(id);"
                    " return gd._fullLayout.sliders[0].active !== before && !gd._transitioning; }",
                    arg=[fid, active], timeout=5_000)
            except Exception:
                problems.append(f"{fid}: clicking the slider rail at step {want} did not move it "
                                f"(still at step {active})")
                continue
        else:
            # No slider: jump to the last frame (or the first, if it already shows the last).
            for target in (a["frames"][-1], a["frames"][0]):
                page.evaluate(
                    "([id, f]) => Plotly.animate(document.getElementById(id), [f],"
                    " {frame: {duration: 0, redraw: true}, transition: {duration: 0}, mode: 'immediate'})",
                    [fid, target])
                page.wait_for_timeout(150)
                if page.evaluate(SIGNATURE_JS, fid)["hash"] != before_sig["hash"]:
                    break
        page.wait_for_timeout(150)
        after_sig = page.evaluate(SIGNATURE_JS, fid)
        after_png = fig.screenshot()
        if after_sig["hash"] == before_sig["hash"]:
            problems.append(f"{fid}: moving the slider did not change the figure's data")
        if hashlib.sha256(after_png).digest() == hashlib.sha256(before_png).digest():
            problems.append(f"{fid}: moving the slider did not change the picture")
        problems += [f"{fid}: {p}" for p in rec.problems_since(mark)]
    assert not problems, f"{path}: animated figures:\n  " + "\n  ".join(problems)


OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


def test_no_page_overflows_a_phone(server, browser):
    """At a phone's 390 px no page is wider than the screen: wide equations and tables
    scroll inside their column, figures and widgets fit it."""
    problems = []
    for path in (p for p in PAGES if p != NO_PAGES):
        context, page, rec = open_page(browser, server, path, phone=True)
        try:
            over = page.evaluate(OVERFLOW_JS)
            if over > 0:
                culprits = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.offsetParent !== null)
                    .slice(-3).map(e => e.tagName.toLowerCase() + '.' + (e.className || '').toString().slice(0, 40))""")
                problems.append(f"{path}: {over} px wider than the screen ({culprits})")
        finally:
            context.close()
    assert not problems, "\n  ".join(problems)


# plotly itself logs this on some first visits to a frame of the two-panel animations, from
# its own slider's arguments too (measured on chapter 2: 17 such messages when its slider
# step's own arguments moved a figure to frame 8, none on a second visit); the picture is right.
PLOTLY_NAN_TRANSFORM = re.compile(r'attribute transform: Expected number, ".*scale\(NaN,NaN\)')


@pytest.mark.parametrize("path", ANIMATED_PAGES)
def test_animations_have_keyboard_controls(path, server, browser):
    """plotly's own play button and slider take no keyboard focus: under every animated
    figure a play button and a frame slider do, and the slider moved by keyboard changes
    the figure, with no error but plotly's own NaN-transform message (above)."""
    context, page, rec = open_page(browser, server, path)
    try:
        _keyboard_controls(path, page, rec)
    finally:
        context.close()


def _keyboard_controls(path, page, rec):
    anims = page.evaluate(ANIMATED_JS)
    assert anims, f"{path}: no animated figure"
    problems = []
    for a in anims:
        fid = a["id"]
        bar = page.locator(f"#{fid} + .modadd-anim-keys")
        if bar.count() != 1 or bar.locator("button").count() != 1 or bar.locator("input[type=range]").count() != 1:
            problems.append(f"{fid}: no keyboard controls under the figure")
            continue
        page.locator(f"#{fid}").scroll_into_view_if_needed()         # as a reader sees it
        page.wait_for_function("id => !document.getElementById(id)._transitioning", arg=fid, timeout=5_000)
        mark = rec.mark()
        before = page.evaluate(SIGNATURE_JS, fid)["hash"]
        bar.locator("input[type=range]").focus()
        for key in ("ArrowLeft", "ArrowLeft", "ArrowLeft"):      # a few frames back from the one shown
            page.keyboard.press(key)
        page.wait_for_timeout(300)
        if page.evaluate(SIGNATURE_JS, fid)["hash"] == before:
            problems.append(f"{fid}: the keyboard slider did not change the figure")
        problems += [f"{fid}: {p}" for p in rec.problems_since(mark) if not PLOTLY_NAN_TRANSFORM.search(p)]
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("loaded", MATH_PAGES, indirect=True)
def test_math_typeset(loaded):
    path, page, rec = loaded
    info = page.evaluate(
        """() => {
            const math = Array.from(document.querySelectorAll('span.math, div.math'));
            const raw = math.filter(m => !m.querySelector('mjx-container'))
                            .map(m => m.textContent.trim().slice(0, 80));
            const errs = Array.from(document.querySelectorAll('mjx-merror'))
                            .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
            return {math: math.length, mjx: document.querySelectorAll('mjx-container').length,
                    mathjax: !!window.MathJax, raw: raw, errs: errs};
        }"""
    )
    assert info["math"] > 0, f"{path}: its HTML has math, but none was found in the page"
    assert info["mathjax"], f"{path}: page has {info['math']} math elements but MathJax did not load"
    assert info["mjx"] > 0, f"{path}: MathJax produced no output"
    assert not info["raw"], (f"{path}: {len(info['raw'])} of {info['math']} math elements not typeset, e.g.\n  "
                             + "\n  ".join(info["raw"][:10]))
    assert not info["errs"], f"{path}: MathJax errors:\n  " + "\n  ".join(info["errs"])


@pytest.mark.parametrize("loaded", EXERCISE_PAGES, indirect=True)
def test_exercises_and_solutions(loaded):
    path, page, rec = loaded
    exercises = page.locator("div.exercise, .exercise.admonition")
    solutions = page.locator("div.solution, .solution.admonition, details.solution")
    n_ex, n_sol = exercises.count(), solutions.count()
    assert n_ex > 0 and n_sol > 0, f"{path}: {n_ex} exercises and {n_sol} solutions found"
    problems = []
    for i in range(n_ex):
        ex = exercises.nth(i)
        title = ex.locator(".admonition-title, summary").first
        text = title.inner_text().strip() if title.count() else ""
        if not re.search(r"\w", text):
            problems.append(f"exercise #{i} ({ex.get_attribute('id')}): no title")
        elif not ex.is_visible():
            problems.append(f"exercise #{i} ({text}): not visible")
        body = ex.inner_text().replace(text, "", 1).strip()
        if len(body) < 10:
            problems.append(f"exercise #{i} ({text}): empty body")
    for i in range(n_sol):
        sol = solutions.nth(i)
        title = sol.locator(".admonition-title, summary").first
        name = (title.inner_text().strip() if title.count() else "") or f"solution #{i}"
        content = sol.locator(":scope > :not(.admonition-title):not(summary)").first
        if content.count() == 0:
            problems.append(f"{name}: no content")
            continue
        if content.is_visible():
            problems.append(f"{name}: solution is not hidden before a click")
            continue
        mark = rec.mark()
        toggle = sol.locator("summary, button.toggle-button").first
        if toggle.count() == 0:
            problems.append(f"{name}: no dropdown toggle to click")
            continue
        toggle.click()
        try:
            expect(content).to_be_visible(timeout=3_000)
        except AssertionError:
            problems.append(f"{name}: clicking the toggle did not reveal the solution")
            continue
        if len(content.inner_text().strip()) < 5:
            problems.append(f"{name}: revealed solution is empty")
        problems += [f"{name}: {p}" for p in rec.problems_since(mark)]
    assert not problems, f"{path}: exercises/solutions:\n  " + "\n  ".join(problems)


def test_search_finds_results(server, browser):
    context, page, rec = open_page(browser, server, "search.html?q=embedding")
    try:
        results = page.locator("#search-results ul.search li a, ul.search li a")
        try:
            results.first.wait_for(state="attached", timeout=15_000)
        except Exception:
            summary = page.locator("#search-results").inner_text() if page.locator("#search-results").count() else ""
            pytest.fail(f"search.html?q=embedding showed no result link. Results area: {summary!r}")
        hits = results.evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert hits, "no search results"
        ext = rec.external()
        assert not ext, "search made external requests:\n  " + "\n  ".join(ext)
        errs = rec.page_errors + rec.console_errors + rec.bad_responses
        assert not errs, "search page errors:\n  " + "\n  ".join(errs)
    finally:
        context.close()


def test_the_book_has_each_feature():
    """The feature tests above are not vacuous: some page has each feature."""
    assert ANIMATED_PAGES, "no page has an animated figure"
    assert MATH_PAGES, "no page has math"
    assert EXERCISE_PAGES, "no page has exercises"


# ---------------------------------------------------------------------------------------
# static checks of the built files (no browser)
# ---------------------------------------------------------------------------------------
MAX_PAGE_BYTES = 5 * 2**20


def test_no_page_is_heavier_than_5_mb():
    assert (SITE / "index.html").is_file(), NOT_BUILT
    heavy = {p.relative_to(SITE).as_posix(): p.stat().st_size for p in SITE.rglob("*.html")
             if p.stat().st_size > MAX_PAGE_BYTES}
    assert not heavy, f"pages over 5 MB: {heavy}"


#: What a glued number must not read as: a Python object's repr instead of its value (a key
#: tuple glued in place of its count once read "('no biases', 'gd') of 64"; Sphinx curls its quotes).
GLUED_REPRS = re.compile(r"^\s*[\[(]\s*['\"‘“]|np\.\w+\(|array\(|tensor\(|<\w[^>]* object|lambda|\bnan\b|\bNone\b")


def test_glued_text_reads_as_values():
    """Every number glued into the prose ({glue:text}) reads as a value, not a Python repr."""
    assert (SITE / "index.html").is_file(), NOT_BUILT
    bad, seen = [], 0
    for page in [p for p in PAGES if p != NO_PAGES]:
        for raw in re.findall(r'<span class="pasted-text">(.*?)</span>', (SITE / page).read_text(errors="replace"), re.S):
            text = html.unescape(re.sub(r"<[^>]+>", "", raw))
            seen += 1
            if GLUED_REPRS.search(text):
                bad.append(f"{page}: {text!r}")
    assert seen > 100, f"only {seen} glued texts found: is the site built?"
    assert not bad, "glued texts that read as Python objects:\n  " + "\n  ".join(bad)


def test_internal_links_resolve():
    """Every relative link and anchor in a book page points at a file (and id) that exists."""
    assert (SITE / "index.html").is_file(), NOT_BUILT
    ids_cache: dict[Path, set[str]] = {}

    def ids(path: Path) -> set[str]:
        if path not in ids_cache:
            ids_cache[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))
        return ids_cache[path]

    broken, checked = [], 0
    for page in [p for p in PAGES if p != NO_PAGES] + ["search.html", "genindex.html"]:
        src = SITE / page
        for href in re.findall(r'<a [^>]*href="([^"]+)"', src.read_text(errors="replace")):
            u = urlparse(href)
            if u.scheme or href.startswith(("mailto:", "javascript:", "//")):
                continue
            target = (src.parent / u.path).resolve() if u.path else src
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page}: {href} (no file)")
            elif u.fragment and target.suffix == ".html" and u.fragment not in ids(target):
                broken.append(f"{page}: {href} (no id {u.fragment!r})")
    assert checked > 20, f"only {checked} internal links found: is the site built?"
    assert not broken, "broken internal links:\n  " + "\n  ".join(broken)
