"""Full-page screenshots of every page of the built site, light and dark, in Chromium.

    .venv/bin/python scripts/screenshots.py [PAGE ...]     (default: every book page)

Writes ``screenshots/<page>.png`` and ``screenshots/<page>-dark.png`` at 1280 px, and
``<page>-390.png`` and ``<page>-390-dark.png`` at a phone's 390 px (gitignored): a reviewer
can look at the whole book in a minute. The pages are opened as the browser tests open them
(``tests/acceptance/test_site.py``: the site served from 127.0.0.1, every other host
blocked, MathJax and plotly waited for). Build the site first (``bash scripts/book.sh``).
This is a tool for looking, not a check: the test command checks the pages (no errors, no
external request, every figure drawn, the dark theme) without writing full-page images.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "acceptance"))

from playwright.sync_api import sync_playwright  # noqa: E402

import test_site as site  # noqa: E402  (the browser tests' page helpers)


def main(pages: list[str]) -> int:
    if not (site.SITE / "index.html").is_file():
        print(site.NOT_BUILT, file=sys.stderr)
        return 1
    pages = pages or site.discover_pages()
    unknown = [p for p in pages if not (site.SITE / p).is_file()]
    if unknown:
        print(f"no such page under {site.SITE}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    site.SHOTS.mkdir(exist_ok=True)
    with site.serve_site() as origin, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=site.CHROMIUM, args=site.CHROMIUM_ARGS)
        for page_path in pages:
            for phone, dark in ((False, False), (False, True), (True, False), (True, True)):
                context, page, _ = site.open_page(browser, origin, page_path, dark=dark, phone=phone)
                try:
                    out = site.SHOTS / f"{site.shot_name(page_path)}{'-390' if phone else ''}{'-dark' if dark else ''}.png"
                    page.screenshot(path=str(out), full_page=True)
                    print(out.relative_to(ROOT))
                finally:
                    context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
