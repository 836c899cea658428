"""Launch buttons and the repository link (book/_ext/launch_buttons.py): configured from
BOOK_REPOSITORY_URL (Binder, Colab), BOOK_COLAB_BRANCH and BOOK_SITE_URL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from launch_buttons import LaunchConfigError, colab_link, launch_options, site_url  # noqa: E402


def test_no_address_no_buttons():
    assert launch_options({}) == {}
    assert launch_options({"BOOK_REPOSITORY_URL": "  "}) == {}


def test_address_gives_binder_options():
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://github.com/someone/modadd-book.git/"})
    assert opts["repository_url"] == "https://github.com/someone/modadd-book"
    assert opts["repository_branch"] == "main" and opts["use_repository_button"] is True
    assert opts["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert opts["launch_buttons"]["notebook_interface"] == "jupyterlab"
    assert opts["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert opts["colab_branch"] == "colab"
    opts = launch_options({"BOOK_REPOSITORY_URL": "https://gitlab.com/a/b", "BOOK_REPOSITORY_BRANCH": "v2",
                           "BOOK_BINDERHUB_URL": "https://hub.example.org/binder/"})
    assert opts["repository_branch"] == "v2"
    assert opts["launch_buttons"]["binderhub_url"] == "https://hub.example.org/binder"
    assert "colab_url" not in opts["launch_buttons"]            # Colab opens GitHub only


def test_colab_opens_the_notebooks_branch():
    assert (colab_link("https://github.com/o/r", "colab", "01_modular_addition")
            == "https://colab.research.google.com/github/o/r/blob/colab/01_modular_addition.ipynb")


def test_site_url():
    assert site_url({}) is None and site_url({"BOOK_SITE_URL": " "}) is None
    assert site_url({"BOOK_SITE_URL": "https://o.github.io/r/"}) == "https://o.github.io/r"
    assert site_url({"BOOK_SITE_URL": "http://127.0.0.1:8000"}) == "http://127.0.0.1:8000"
    for bad in ["http://o.github.io/r", "o.github.io", "https://o.github.io/r?x=1"]:
        with pytest.raises(LaunchConfigError, match=f"BOOK_SITE_URL must be .*{bad[:8]}"):
            site_url({"BOOK_SITE_URL": bad})


@pytest.mark.parametrize("env, match", [
    ({"BOOK_REPOSITORY_URL": "github.com/a/b"}, "BOOK_REPOSITORY_URL must look like .*'github.com/a/b'"),
    ({"BOOK_REPOSITORY_URL": "http://github.com/a/b"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a"}, "BOOK_REPOSITORY_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_REPOSITORY_BRANCH": "x y"}, "BOOK_REPOSITORY_BRANCH"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_BINDERHUB_URL": "ftp://hub"}, "BOOK_BINDERHUB_URL"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/a/b", "BOOK_COLAB_BRANCH": "a..b"}, "BOOK_COLAB_BRANCH .*'a..b'"),
])
def test_bad_values_are_named(env, match):
    with pytest.raises(LaunchConfigError, match=match):
        launch_options(env)


def _build(tiny_site, monkeypatch, url, code="1 + 1", env=None):
    for k in ["BOOK_REPOSITORY_URL", "BOOK_SITE_URL", "BOOK_COLAB_BRANCH", "BOOK_REPOSITORY_BRANCH"]:
        monkeypatch.delenv(k, raising=False)
    if url:
        monkeypatch.setenv("BOOK_REPOSITORY_URL", url)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    out = tiny_site(code, ["myst_nb", "launch_buttons", "footer"])
    return (out / "book" / "ch.html").read_text(), out


def test_built_chapter_has_binder_and_colab_buttons_the_repository_link_and_the_footer(tiny_site, monkeypatch):
    html, out = _build(tiny_site, monkeypatch, "https://github.com/someone/modadd-book",
                       env={"BOOK_SITE_URL": "https://someone.github.io/modadd-book"})
    assert "https://mybinder.org/v2/gh/someone/modadd-book/main?urlpath=lab/tree/book/ch.md" in html
    assert "https://colab.research.google.com/github/someone/modadd-book/blob/colab/ch.ipynb" in html
    assert ".md" not in html.split("colab.research.google.com", 1)[1].split('"', 1)[0]
    assert 'href="https://github.com/someone/modadd-book"' in html           # the theme's repository button
    footer = html[html.index('class="modadd-footer"'):]
    assert 'href="../LICENSE.txt">MIT</a>' in footer and 'href="../LICENSE-CC-BY-4.0.txt">CC BY 4.0</a>' in footer
    assert "Cite this book" in footer and "#cite-this-book" in footer
    assert "Source: <a href=\"https://github.com/someone/modadd-book\">" in footer
    import modadd
    assert f"<code>modadd {modadd.build_id()}</code>" in footer
    assert (out / "LICENSE.txt").read_text().startswith("MIT License")
    assert "Attribution 4.0 International" in (out / "LICENSE-CC-BY-4.0.txt").read_text()


def test_a_chapter_that_reads_the_repository_gets_no_colab_button(tiny_site, monkeypatch):
    html, _ = _build(tiny_site, monkeypatch, "https://github.com/someone/modadd-book",
                     code="from modadd import REPO_ROOT")
    assert "mybinder.org/v2/gh" in html and "colab.research.google.com" not in html


def test_built_chapter_without_an_address_has_no_launch_button_and_no_repository(tiny_site, monkeypatch):
    html, _ = _build(tiny_site, monkeypatch, "")
    assert "mybinder" not in html and "v2/gh" not in html and "colab" not in html
    assert "github.com" not in html and "Source:" not in html
    assert "Cite this book" in html                        # the footer is there all the same
