"""The live widget on the BUILT site, in headless Chromium, with every other host blocked.

Each page that carries widget state (chapters 2 and 5) is opened light and dark: every
live widget renders with no kernel, does nothing until asked (no autoplay), runs when its
play button is pressed (``data-step`` grows, the picture changes), its sliders change the
run, the same settings give the same run, it works from the keyboard, and nothing logs a
console error or leaves the machine. The module shipped in each page must be the source
files' (a stale widget cannot be published). Screenshots of each widget after a run land in
``screenshots/`` beside the page screenshots.
"""
from __future__ import annotations

import json
import re

import pytest

from modadd.widget import bundle
from test_site import NOT_BUILT, PAGES, SHOTS, SITE, browser, open_page, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]    # live widgets in headless Chromium

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def live_widgets(page: str) -> list[dict]:
    """The states of the live widgets a built page shows, in page order (html-manager's
    embedded state, for the models its widget-view outputs display)."""
    html = (SITE / page).read_text(errors="replace")
    models = {}
    for body in re.findall(r'<script type="' + re.escape(STATE_MIME) + r'">(.*?)</script>', html, re.S):
        models.update(json.loads(body)["state"])
    shown = re.findall(r'<script type="' + re.escape(VIEW_MIME) + r'">\s*(\{.*?\})\s*</script>', html, re.S)
    out = []
    for view in shown:
        model = models.get(json.loads(view)["model_id"], {})
        if model.get("model_name") == "AnyModel" and "kind" in model.get("state", {}):
            out.append(model["state"])
    return out


WIDGET_PAGES = [p for p in PAGES if (SITE / p).is_file() and live_widgets(p)]


def test_the_book_has_live_widgets():
    assert (SITE / "index.html").is_file(), NOT_BUILT
    kinds = {p: sorted(w["kind"] for w in live_widgets(p)) for p in WIDGET_PAGES}
    stems = {p.rsplit("/", 1)[-1] for p in kinds}
    assert any(s.startswith("02_") for s in stems), f"chapter 2 has no live widget: {kinds}"
    assert any(s.startswith("05_") for s in stems), f"chapter 5 has no live widget: {kinds}"
    every = [k for ks in kinds.values() for k in ks]
    assert "training" in every and "particles" in every, kinds
    assert any(w["settings"].get("same_start") for p in WIDGET_PAGES for w in live_widgets(p)), \
        "no same-start widget"


def test_shipped_module_is_the_source():
    """A page embeds the widget's module as it was when the chapter executed: it must be
    today's web files bundled (modadd.widget.bundle), or the build shipped a stale widget. A page carries the
    state of every widget its kernel made, shown or not: only the shown ones may exist."""
    want = bundle()
    for page in WIDGET_PAGES:
        for w in live_widgets(page):
            assert w["_esm"] == want, (f"{page}: the widget module in the page differs from "
                                       "src/modadd/web/*.js: rebuild the book")
        html = (SITE / page).read_text(errors="replace")
        assert html.count("export function trainSteps") == len(live_widgets(page)), \
            f"{page} carries the module of widgets it does not show"


SNAPSHOT = "root => Array.from(root.querySelectorAll('canvas')).map(c => c.toDataURL()).join('|')"


def _roots(page):
    return page.locator(".modadd-live")


def _settled(page, root):
    """Wait until the widget has every snapshot it asked its engine for (data-busy empty):
    the arithmetic runs in a Web Worker, so a click's steps land a moment later."""
    page.wait_for_function("r => !r.dataset.busy", arg=root.element_handle(), timeout=60_000)


def _wait_rendered(page, count: int):
    page.wait_for_function(f"document.querySelectorAll('.modadd-live').length >= {count}", timeout=30_000)


def _set_range(root, label: str, value: float):
    root.evaluate("""(root, [label, value]) => {
        const input = Array.from(root.querySelectorAll('input[type=range]'))
            .find(i => i.labels[0] && i.labels[0].textContent === label);
        if (!input) throw new Error('no slider labelled ' + label);
        input.value = value; input.dispatchEvent(new Event('input'));
    }""", [label, value])


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("path", WIDGET_PAGES or ["<no widget pages>"])
def test_widgets_run_without_a_kernel(path, dark, server, browser):
    assert WIDGET_PAGES, NOT_BUILT
    states = live_widgets(path)
    context, page, rec = open_page(browser, server, path, dark=dark)
    try:
        _wait_rendered(page, len(states))
        roots = _roots(page)
        assert roots.count() == len(states)
        page.wait_for_timeout(800)
        mark = rec.mark()
        for i in range(roots.count()):
            root = roots.nth(i)
            assert root.get_attribute("data-kind") in ("training", "particles")
            assert root.get_attribute("data-step") == "0", "the widget ran before play was pressed"
            before = root.evaluate(SNAPSHOT)
            root.scroll_into_view_if_needed()
            root.locator("[data-action=play]").click()
            root.evaluate("r => new Promise((ok, no) => { const t0 = Date.now(); (function poll() {"
                          " if (Number(r.dataset.step) >= 50) ok(); else if (Date.now() - t0 > 20000) no(new Error('data-step stuck at ' + r.dataset.step));"
                          " else setTimeout(poll, 50); })(); })")
            root.locator("[data-action=play]").click()          # one toggle: now it pauses
            assert root.locator("[data-action=play]").get_attribute("aria-pressed") == "false"
            _settled(page, root)
            assert root.get_attribute("data-engine") == "worker", "the arithmetic did not move to a Web Worker"
            assert root.evaluate(SNAPSHOT) != before, "play did not change the picture"
            status = root.locator(".ml-status").inner_text()
            assert "Stopped" not in status, status
            if dark:
                lum = root.evaluate("r => { const m = getComputedStyle(r).backgroundColor.match(/\\d+/g).map(Number);"
                                    " return 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]; }")
                assert lum < 100, f"the widget's background is light in dark mode (luminance {lum:.0f})"
                band = root.evaluate("r => { const m = getComputedStyle(r.closest('.widget-subarea') || r).backgroundColor"
                                     ".match(/[\\d.]+/g).map(Number); return m.length > 3 && m[3] === 0 ? 0 :"
                                     " 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]; }")
                assert band < 100, f"a light band around the widget in dark mode (luminance {band:.0f})"
            SHOTS.mkdir(exist_ok=True)
            name = re.sub(r"\.html$", "", path).replace("/", "__")
            root.screenshot(path=str(SHOTS / f"{name}__widget{i}{'-dark' if dark else ''}.png"))
        problems = rec.problems_since(mark)
        assert not problems, f"{path}: " + "\n  ".join(problems)
        assert not rec.external(), rec.external()
    finally:
        context.close()


def _first(kind: str) -> tuple[str, int]:
    for p in WIDGET_PAGES:
        for i, w in enumerate(live_widgets(p)):
            if w["kind"] == kind and not w["settings"].get("same_start"):
                return p, i
    raise AssertionError(f"no {kind} widget on the site")


@pytest.mark.parametrize("kind,label,value", [("training", "learning rate", -1.5),
                                              ("particles", "alignment", 4.0)])
def test_sliders_change_the_run_and_a_setting_gives_one_run(kind, label, value, server, browser):
    path, index = _first(kind)
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)

        def run_steps():
            root.locator("[data-action=reset]").click()
            for _ in range(5):
                root.locator("[data-action=step]").click()
            _settled(page, root)
            return root.get_attribute("data-step"), root.evaluate(SNAPSHOT)

        step_a, a = run_steps()
        step_a2, a2 = run_steps()
        assert int(step_a) > 0 and step_a == step_a2
        assert a == a2, "the same settings gave a different run"
        _set_range(root, label, value)
        _, b = run_steps()
        assert b != a, f"moving the {label!r} slider did not change the run"
        assert not rec.problems_since((0, 0, 0, 0))
    finally:
        context.close()


def test_keyboard_and_labels(server, browser):
    path, index = _first("training")
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        unlabelled = root.evaluate("""r => Array.from(r.querySelectorAll('input, select'))
            .filter(i => !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).map(i => i.outerHTML)""")
        assert not unlabelled, f"controls without a label: {unlabelled}"
        untagged = root.evaluate("""r => Array.from(r.querySelectorAll('input, select'))
            .filter(i => !i.dataset.control).map(i => i.outerHTML)""")
        assert not untagged, f"controls without data-control: {untagged}"
        play = root.locator("[data-action=play]")
        play.focus()
        page.keyboard.press("Enter")
        page.wait_for_timeout(1000)
        assert int(root.get_attribute("data-step")) > 0, "Enter on the focused play button did not start it"
        page.keyboard.press("Enter")                       # the same button, still focused, pauses
        assert play.get_attribute("aria-pressed") == "false"
        # a slider moved from the keyboard acts too
        slider = root.get_by_label("N (modulus)")
        slider.focus()
        page.keyboard.press("ArrowRight")
        assert root.get_attribute("data-step") == "0", "changing N from the keyboard did not start a new run"
    finally:
        context.close()


def _playing(root) -> bool:
    return root.locator("[data-action=play]").get_attribute("aria-pressed") == "true"


def _steps_advance(page, root) -> bool:
    s = int(root.get_attribute("data-step"))
    page.wait_for_timeout(600)
    return int(root.get_attribute("data-step")) > s


@pytest.mark.parametrize("target", ["play", "widget"])
def test_space_toggles_play_and_pause_twice_with_the_focus_kept(target, server, browser):
    """Space on the focused play button, or on the widget itself (clicked or tabbed to),
    plays, pauses, plays and pauses again; the focus stays where it was, and the page does
    not scroll."""
    path, index = _first("training")
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        root.scroll_into_view_if_needed()
        target_el = (root.locator("[data-action=play]") if target == "play" else root).element_handle()
        target_el.focus()
        assert page.evaluate("el => document.activeElement === el", target_el)
        scroll = page.evaluate("window.scrollY")
        for _ in range(2):
            page.keyboard.press("Space")
            page.wait_for_timeout(100)
            assert _playing(root) and _steps_advance(page, root), "Space did not start the run"
            page.keyboard.press("Space")
            page.wait_for_timeout(100)
            assert not _playing(root) and not _steps_advance(page, root), "Space did not pause the run"
            assert page.evaluate("el => document.activeElement === el", target_el), "the focus moved"
        assert page.evaluate("window.scrollY") == scroll, "Space scrolled the page"
        title = root.locator("[data-action=play]").get_attribute("title")
        assert "Space" in title and root.locator("[data-action=pause]").count() == 0
        assert not rec.problems_since((0, 0, 0, 0))
    finally:
        context.close()


def _run_until(page, root, steps: int):
    """Play until data-step reaches ``steps``, then pause (the readout is then read again)."""
    root.locator("[data-action=play]").click()
    page.wait_for_function("([r, n]) => Number(r.dataset.step) >= n", arg=[root.element_handle(), steps], timeout=120_000)
    root.locator("[data-action=play]").click()
    assert not _playing(root)
    _settled(page, root)


def _readout_is_structures(root, key: str = "E") -> str:
    """The widget's readout, checked against modadd.analysis.structure on the embeddings it read."""
    import numpy as np

    from modadd.analysis import structure
    from modadd import widget
    E = np.array(root.evaluate(f"r => r._modadd.{key}()")).reshape(-1, 2)
    shown = root.get_attribute("data-structure" if key == "E" else "data-structure-network")
    assert shown == widget.readout(E), (shown, structure.scores(E))
    assert shown.split()[0] == structure.scores(E)["class"]
    return shown


# What the pages state for the default runs (asserted against the Python trainer and
# particles in those pages): (page stem, kind, steps, structure).
STATED = [("intro", "training", 2000, "circle"), ("02_tiny_transformer", "training", 2000, "circle"),
          ("05_particles", "particles", 600, "circle")]


@pytest.mark.parametrize("stem,kind,steps,want", STATED, ids=[s[0] for s in STATED])
def test_default_runs_reach_their_stated_structure_and_the_readout_is_structures(stem, kind, steps, want, server, browser):
    path = next(p for p in WIDGET_PAGES if p.rsplit("/", 1)[-1] == f"{stem}.html")
    index = [w["kind"] for w in live_widgets(path)].index(kind)      # the page's first widget of that kind
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        assert root.get_attribute("data-structure") == "", "a readout before the first step"
        _run_until(page, root, steps)
        shown = _readout_is_structures(root)
        assert shown.startswith(want), f"{path}: the default run reads {shown!r} at step {root.get_attribute('data-step')}"
        assert shown in root.locator(".ml-readout").inner_text()
        assert not rec.problems_since((0, 0, 0, 0))
    finally:
        context.close()


def test_a_force_change_restarts_the_particles_and_changes_the_outcome(server, browser):
    """Chapter 5's guided experiment: the default seed grows a circle at alignment 1; setting
    alignment to 0 (a change event, as a script or a keyboard sets a range) starts again from
    the same start, which then grows a grid; alignment 1 again gives the first circle back."""
    path, index = _first("particles")
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        outcomes = []
        for alignment in (None, 0.0, 1.0):
            if alignment is not None:
                root.evaluate("""(r, v) => { const i = r.querySelector('[data-control=alignment]');
                    i.value = v; i.dispatchEvent(new Event('change')); }""", alignment)
                assert root.get_attribute("data-step") == "0" and root.get_attribute("data-structure") == ""
            _run_until(page, root, 600)
            outcomes.append(_readout_is_structures(root))
        assert outcomes[0].startswith("circle") and outcomes[1].startswith("grid"), outcomes
        assert outcomes[2] == outcomes[0], "the same settings from the same start gave another outcome"
    finally:
        context.close()


def test_same_start_says_whether_the_two_agree(server, browser):
    path = next(p for p in WIDGET_PAGES if any(w["settings"].get("same_start") for w in live_widgets(p)))
    index = [bool(w["settings"].get("same_start")) for w in live_widgets(path)].index(True)
    context, page, rec = open_page(browser, server, path)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        _run_until(page, root, 500)
        p, q = _readout_is_structures(root), _readout_is_structures(root, "networkE")
        assert root.get_attribute("data-agree") == ("yes" if p == q else "no")
        assert ("the same structure" if p == q else "different structures") in root.locator(".ml-readout").inner_text()
        status = root.locator(".ml-status").inner_text()
        assert "network step 2000 (done)" in status, status          # the chapter's 2,000 steps
        assert "2,000 AdamW steps with 20% of the pairs held out" in root.locator(".ml-note").inner_text()
    finally:
        context.close()


def test_on_a_phone_the_training_widget_fits_one_screen(server, browser):
    """At 390 px the pictures, the play button and the controls are on one screen (a compact
    layout: the two pictures side by side), the canvases are drawn at the screen's pixel
    density, and the loss strip's text is drawn at its own width (not scaled down)."""
    path, index = _first("training")
    context, page, rec = open_page(browser, server, path, phone=True)
    try:
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        root.scroll_into_view_if_needed()
        box = root.bounding_box()
        assert box["height"] <= page.viewport_size["height"], f"the widget is {box['height']:.0f} px tall"
        assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 1
        canvases = root.evaluate("r => Array.from(r.querySelectorAll('canvas')).map(c => [c.width, c.clientWidth])")
        assert all(w >= 2 * css for w, css in canvases), f"canvases not at devicePixelRatio: {canvases}"
        pics = root.locator("figure canvas")
        a, b = pics.nth(0).bounding_box(), pics.nth(1).bounding_box()
        assert abs(a["y"] - b["y"]) < 2, "the two pictures are not side by side"
        # scrolling up shows the theme's "Back to top" button on wide screens; on a phone it
        # must not cover the widget (its last row of controls sat under it)
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(300)
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(300)
        root.scroll_into_view_if_needed()
        covered = page.evaluate("""(r) => { const b = document.getElementById('pst-back-to-top');
            if (!b || getComputedStyle(b).display === 'none') return null;
            const p = b.getBoundingClientRect(), q = r.getBoundingClientRect();
            return p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom ? [p.top, p.bottom] : null; }""",
            root.element_handle())
        assert covered is None, f"the 'Back to top' button covers the widget at y={covered}"
    finally:
        context.close()


def test_the_worker_starts_from_a_file_too(browser):
    """Opened from disk (file://, every other request refused), the widget still runs its
    arithmetic in a Web Worker (a classic worker from a Blob URL: a module worker would not
    start there) and plays."""
    path, index = _first("training")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(re.compile(r"^(?!file:|data:|blob:|about:).*"), lambda route: route.abort())
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((SITE / path).as_uri(), wait_until="load", timeout=30_000)
        _wait_rendered(page, len(live_widgets(path)))
        root = _roots(page).nth(index)
        root.scroll_into_view_if_needed()
        root.locator("[data-action=play]").click()
        page.wait_for_function("r => Number(r.dataset.step) >= 50", arg=root.element_handle(), timeout=30_000)
        root.locator("[data-action=play]").click()
        _settled(page, root)
        assert root.get_attribute("data-engine") == "worker"
        assert not errors, errors
    finally:
        context.close()


WIDGET_BUDGET = 6 * 2**20


def test_the_widget_adds_at_most_6_mb_to_the_site():
    """What the live widget adds to the built site: its scripts, and its module and state
    in every file that carries them (pages, and the executed notebooks beside them)."""
    assert (SITE / "index.html").is_file(), NOT_BUILT
    scripts = sum(f.stat().st_size for f in (SITE / "_static" / "vendor" / "widgets").rglob("*") if f.is_file())
    scripts += sum(f.stat().st_size for d in SITE.rglob("@jupyter-widgets") for f in d.rglob("*") if f.is_file())
    module = len(bundle().encode())
    copies = 0
    for f in list(SITE.rglob("*.html")) + list(SITE.rglob("*.ipynb")):
        copies += f.read_text(errors="replace").count("export function trainSteps")
    added = scripts + copies * module
    assert copies >= 3, f"only {copies} copies of the widget module found: is the site built?"
    assert added <= WIDGET_BUDGET, f"the widget adds {added / 2**20:.1f} MB (scripts {scripts / 2**20:.1f} MB, {copies} module copies)"
