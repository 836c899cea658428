"""Binder launch buttons (book/_ext/launch_buttons.py): configured from BOOK_REPOSITORY_URL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from launch_buttons import LaunchConfigError, launch_options  # noqa: E402


def test_no_address_no_buttons():
    assert launch_options({}) == {}
    assert launch_options({"BOOK_REPOSITORY_URL": "  "}) == {}


def test_address_gives_binder_options():
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://github.com/someone/modadd-book.git/"})
    assert opts["repository_url"] == "https://github.com/someone/modadd-book"
    assert opts["repository_branch"] == "main" and opts["use_repository_button"] is True
    assert opts["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert opts["launch_buttons"]["notebook_interface"] == "jupyterlab"
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://gitlab.com/a/b", "BOOK_REPOSITORY_BRANCH": "v2",
                           "BOOK_BINDERHUB_URL": "https://hub.example.org/binder/"})
    assert opts["repository_branch"] == "v2"
    assert opts["launch_buttons"]["binderhub_url"] == "https://hub.example.org/binder"


@pytest.mark.parametrize("env, match", [
    ({"BOOK_REPOSITORY_URL": "github.com/a/b"}, "BOOK_REPOSITORY_URL must look like .*'github.com/a/b'"),
    ({"BOOK_REPOSITORY_URL": "http://github.com/a/b"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_REPOSITORY_BRANCH": "x y"}, "BOOK_REPOSITORY_BRANCH"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_BINDERHUB_URL": "ftp://hub"}, "BOOK_BINDERHUB_URL"),
])
def test_bad_values_are_named(env, match):
    with pytest.raises(LaunchConfigError, match=match):
        launch_options(env)


def _build(tiny_site, monkeypatch, url):
    if url:
        monkeypatch.setenv("BOOK_REPOSITORY_URL", url)
    else:
        monkeypatch.delenv("BOOK_REPOSITORY_URL", raising=False)
    out = tiny_site("1 + 1", ["myst_nb", "launch_buttons"])
    return (out / "book" / "ch.html").read_text()


def test_built_chapter_has_a_binder_button_that_opens_it(tiny_site, monkeypatch):
    html = _build(tiny_site, monkeypatch, "https://github.com/someone/modadd-book")
    assert "https://mybinder.org/v2/gh/someone/modadd-book/main?urlpath=lab/tree/book/ch.md" in html


def test_built_chapter_without_an_address_has_no_launch_button(tiny_site, monkeypatch):
    html = _build(tiny_site, monkeypatch, "")
    assert "mybinder" not in html and "v2/gh" not in html
