"""Launch buttons (Binder, Colab) and the repository link, once the book knows where it lives.

A launch button opens a chapter in Binder, which builds the repository's ``binder/``
environment from a public Git repository, or in Colab, which opens a notebook stored in a
GitHub repository. The book cannot know those addresses (it is the same files wherever they
are published), so they come from the environment when the site is built::

    BOOK_REPOSITORY_URL=https://github.com/OWNER/REPO bash scripts/book.sh

Optional: ``BOOK_REPOSITORY_BRANCH`` (default ``main``), ``BOOK_BINDERHUB_URL`` (default
``https://mybinder.org``), ``BOOK_COLAB_BRANCH`` (default ``colab``: the branch that holds the
chapters as notebooks, ``<stem>.ipynb`` at its root; the publishing workflow
``.github/workflows/book.yml`` pushes it), and ``BOOK_SITE_URL`` (the published site's
address: a notebook opened where ``modadd`` is missing, as in Colab, installs the package's
wheel from ``BOOK_SITE_URL/kit/``; see :func:`modadd.teaching.setup_check.check_cell_source`).

Without ``BOOK_REPOSITORY_URL`` the site has no launch buttons and no repository link (a
button pointing at a guessed address would be a broken promise); every chapter still offers
its notebook for download. Colab opens only GitHub repositories: with a GitLab address there
is no Colab button. Pages that read the repository itself (the teacher guide, the
benchmarks appendix) and the introduction are not in the kit, so they get no Colab button. The buttons are plain
links: the site itself makes no request to Binder, Colab or GitHub.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_REPO = re.compile(r"^https://(github\.com|gitlab\.com)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_HUB = re.compile(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9_./-]*)?$")
# http only on this machine (the tests serve the site on 127.0.0.1)
_SITE = re.compile(r"^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost))(:[0-9]+)?(/[A-Za-z0-9_./~-]*)?$")
_BRANCH = re.compile(r"^[A-Za-z0-9_./-]+$")
COLAB_URL = "https://colab.research.google.com"


class LaunchConfigError(ValueError):
    """A BOOK_* variable holds something a launch button cannot use."""


def _branch(environ, name: str, default: str) -> str:
    branch = environ.get(name, "").strip() or default
    if not _BRANCH.match(branch) or ".." in branch:
        raise LaunchConfigError(f"{name} must be a branch name (letters, digits, _ . / -), got {branch!r}")
    return branch


def site_url(environ=os.environ) -> str | None:
    """``BOOK_SITE_URL`` without a trailing slash, or None when unset. Raises
    LaunchConfigError naming a bad value."""
    url = environ.get("BOOK_SITE_URL", "").strip().rstrip("/")
    if not url:
        return None
    if not _SITE.match(url):
        raise LaunchConfigError("BOOK_SITE_URL must be the site's https:// address (http:// only for "
                                f"127.0.0.1 or localhost), got {url!r}")
    return url


def launch_options(environ=os.environ) -> dict:
    """The ``html_theme_options`` entries for launch buttons and the repository link, from
    ``environ``: {} when ``BOOK_REPOSITORY_URL`` is unset or empty. Raises LaunchConfigError
    naming the bad value."""
    url = environ.get("BOOK_REPOSITORY_URL", "").strip().rstrip("/")
    if not url:
        return {}
    url = url.removesuffix(".git")
    if not _REPO.match(url):
        raise LaunchConfigError(f"BOOK_REPOSITORY_URL must look like https://github.com/OWNER/REPO "
                                f"(or gitlab.com), got {url!r}")
    branch = _branch(environ, "BOOK_REPOSITORY_BRANCH", "main")
    hub = environ.get("BOOK_BINDERHUB_URL", "").strip().rstrip("/") or "https://mybinder.org"
    if not _HUB.match(hub):
        raise LaunchConfigError(f"BOOK_BINDERHUB_URL must be an https:// address, got {hub!r}")
    buttons = {"notebook_interface": "jupyterlab", "binderhub_url": hub, "thebe": False}
    if url.startswith("https://github.com/"):
        buttons["colab_url"] = COLAB_URL
    return {"repository_url": url, "repository_branch": branch, "use_repository_button": True,
            "launch_buttons": buttons, "colab_branch": _branch(environ, "BOOK_COLAB_BRANCH", "colab")}


def colab_link(repository_url: str, colab_branch: str, stem: str) -> str:
    """Colab's address for chapter ``stem`` on the notebooks branch."""
    org_repo = repository_url.removeprefix("https://github.com/")
    return f"{COLAB_URL}/github/{org_repo}/blob/{colab_branch}/{stem}.ipynb"


def _config_inited(app, config):
    opts = launch_options()
    site_url()                          # a bad BOOK_SITE_URL stops the build here, named
    if opts:
        app.modadd_colab_branch = opts.pop("colab_branch")
        theme = dict(config.html_theme_options)
        theme.update(opts)
        config.html_theme_options = theme


def _colab_buttons(app, pagename, templatename, context, doctree):
    """Point the theme's Colab button at the notebooks branch (the theme would point it at
    the chapter's ``.md`` source, which Colab cannot open), or drop it on pages that do not
    run outside the repository."""
    theme = app.config.html_theme_options
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        stem = pagename.rsplit("/", 1)[-1]
        # as tools.kit.kit_chapters decides which pages the kit (and the branch Colab opens)
        # holds: not those that read the repository, not the introduction (the toc's root)
        runs_alone = (pagename != app.config.root_doc
                      and "REPO_ROOT" not in Path(app.env.doc2path(pagename)).read_text())
        kept = []
        for button in group["buttons"]:
            if button.get("text") == "Colab":
                if not runs_alone:
                    continue
                button["url"] = colab_link(theme["repository_url"], app.modadd_colab_branch, stem)
            kept.append(button)
        group["buttons"] = kept


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _colab_buttons, priority=502)   # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
