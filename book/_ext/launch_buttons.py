"""Binder launch buttons on every chapter, once the book knows where its repository lives.

A launch button opens a chapter in Binder, which builds the repository's ``binder/``
environment from a public Git repository. The book cannot know that repository's address
(it is the same files wherever they are published), so the address comes from the
environment when the site is built::

    BOOK_REPOSITORY_URL=https://github.com/OWNER/REPO bash scripts/book.sh

Optional: ``BOOK_REPOSITORY_BRANCH`` (default ``main``) and ``BOOK_BINDERHUB_URL`` (default
``https://mybinder.org``). Without ``BOOK_REPOSITORY_URL`` the site has no launch buttons
(a button pointing at a guessed address would be a broken promise); every chapter still
offers its notebook for download. The buttons are plain links: the site itself makes no
request to Binder or GitHub.
"""
from __future__ import annotations

import os
import re

_REPO = re.compile(r"^https://(github\.com|gitlab\.com)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_HUB = re.compile(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9_./-]*)?$")


class LaunchConfigError(ValueError):
    """A BOOK_* variable holds something a launch button cannot use."""


def launch_options(environ=os.environ) -> dict:
    """The ``html_theme_options`` entries for launch buttons, from ``environ``: {} when
    ``BOOK_REPOSITORY_URL`` is unset or empty. Raises LaunchConfigError naming the bad value."""
    url = environ.get("BOOK_REPOSITORY_URL", "").strip().rstrip("/")
    if not url:
        return {}
    url = url.removesuffix(".git")
    if not _REPO.match(url):
        raise LaunchConfigError(f"BOOK_REPOSITORY_URL must look like https://github.com/OWNER/REPO "
                                f"(or gitlab.com), got {url!r}")
    branch = environ.get("BOOK_REPOSITORY_BRANCH", "").strip() or "main"
    if not re.match(r"^[A-Za-z0-9_./-]+$", branch) or ".." in branch:
        raise LaunchConfigError(f"BOOK_REPOSITORY_BRANCH must be a branch name, got {branch!r}")
    hub = environ.get("BOOK_BINDERHUB_URL", "").strip().rstrip("/") or "https://mybinder.org"
    if not _HUB.match(hub):
        raise LaunchConfigError(f"BOOK_BINDERHUB_URL must be an https:// address, got {hub!r}")
    return {"repository_url": url, "repository_branch": branch, "use_repository_button": True,
            "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": hub, "thebe": False}}


def _config_inited(app, config):
    opts = launch_options()
    if opts:
        theme = dict(config.html_theme_options)
        theme.update(opts)
        config.html_theme_options = theme


def setup(app):
    app.connect("config-inited", _config_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
