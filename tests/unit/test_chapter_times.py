"""tools/chapter_times.py: the chapters' execution times, from the book build's jupyter-cache."""
import jupytext
import numpy as np

from modadd import REPO_ROOT
from tools import chapter_times

BOOK = REPO_ROOT / "book"


def test_chapter_record_says_whether_it_is_current_and_what_it_trained(tmp_path):
    """A record whose notebook is the chapter's code is current, found by content even when
    the build ran elsewhere (another path); the runs it trained are those the build counted
    (none counted: None)."""
    import time

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    ch = BOOK / "01_modular_addition.md"
    (tmp_path / "_toc.yml").write_text((REPO_ROOT / "_toc.yml").read_text())
    (tmp_path / "book").symlink_to(BOOK)
    cache = get_cache(tmp_path / "_build" / ".jupyter_cache")
    cache.cache_notebook_bundle(CacheBundleIn(jupytext.read(ch), "/elsewhere/book/01_modular_addition.md",
                                              data={"execution_seconds": 30.0}), check_validity=False)
    rec = chapter_times.chapter_record(ch, tmp_path)
    assert rec.current and rec.seconds == 30.0 and rec.runs_trained is None and rec.chapters_at_once == 1
    cache.cache_notebook_bundle(CacheBundleIn(jupytext.read(ch), "/elsewhere/book/01_modular_addition.md",
                                              data={"execution_seconds": 40.0, "runs_trained": 7,
                                                    "chapters_at_once": 2}), check_validity=False, overwrite=True)
    rec = chapter_times.chapter_record(ch, tmp_path)
    assert (rec.seconds, rec.runs_trained, rec.chapters_at_once) == (40.0, 7, 2)
    # an older record of the same file, with other code, is not current
    nb = jupytext.read(ch)
    nb.cells[1].source += "\nprint('changed')"
    time.sleep(0.01)
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(ch), data={"execution_seconds": 5.0, "u_seconds": 2.5}),
                                check_validity=False)
    rec = chapter_times.chapter_record(ch, tmp_path)
    assert rec.seconds == 5.0 and not rec.current and rec.u_seconds == 2.5
    times = chapter_times.chapter_times(tmp_path)
    row = times.set_index("chapter").loc["01_modular_addition"]
    assert row["seconds"] == 5.0 and row["u"] == 2.0 and row["u (s)"] == 2.5 and not row["code current"]
    assert times.set_index("chapter").drop("01_modular_addition")["u"].isna().all()      # no records
    html = chapter_times.chapter_times_view(times).to_html()
    assert "u = 2.50 s, measured by the build just before it executed the chapters" in html
    assert "Executed on " in html and "u (s)" not in html and "not recorded" in html
    assert all(short in html and long not in html for long, short in chapter_times.VIEW_HEADERS.items())
    assert "no: measure again" in html                       # the record's code is not current
    # a record without u: its time in u is not known
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(ch), data={"execution_seconds": 6.0}), check_validity=False,
                                overwrite=True)
    row = chapter_times.chapter_times(tmp_path).set_index("chapter").loc["01_modular_addition"]
    assert row["seconds"] == 6.0 and np.isnan(row["u"]) and np.isnan(row["u (s)"])
    assert "u not recorded." in chapter_times.chapter_times_view(chapter_times.chapter_times(tmp_path)).to_html()
