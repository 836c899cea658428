"""Test order: the longest test files first.

The test command runs pytest on two processes, each given whole files (``--dist loadfile``),
next file to whichever process is free. Started in collection order (alphabetical), the
two longest files (nbgrader's course and the kit's new virtual environment, each over a
minute and a half) could start last and leave one process working alone at the end.
Longest first keeps both busy to the end (the longest-processing-time-first rule). The
list is by seconds measured under the test command (``--durations``); a file not listed
keeps its place after these.

Within a file, the tests of one opened page (the browser tests' module-scoped ``loaded``
fixture) run one after another: pytest keeps a module-scoped fixture while the next test asks
for the same page, and the subsets of pages given with ``indirect=True`` (animated, math,
exercise pages) would otherwise open their pages a second time.
"""
from __future__ import annotations

import pytest

LONGEST_FIRST = [
    "tests/integration/test_nbgrader.py",
    "tests/integration/test_kit.py",
    "tests/acceptance/test_chapters.py",
    "tests/acceptance/test_site.py",
    "tests/integration/test_dask.py",
    "tests/acceptance/test_site_widgets.py",
    "tests/integration/test_execute_chapters.py",
    "tests/unit/test_numerics.py",
    "tests/unit/test_classroom.py",
    "tests/integration/test_book_ext.py",
    "tests/unit/test_sweep.py",
]


PAGE_FIXTURE = "loaded"


def _page(item):
    """The page a browser test opens (its ``loaded`` parameter), or None."""
    return getattr(getattr(item, "callspec", None), "params", {}).get(PAGE_FIXTURE)


def pytest_collection_modifyitems(config, items):
    rank = {f: i for i, f in enumerate(LONGEST_FIRST)}
    # each (file, page) group goes where its first test was collected: files stay whole, in
    # their order, and the tests of one page come together
    first: dict[tuple, int] = {}
    for i, item in enumerate(items):
        first.setdefault((item.path, _page(item)), i)
    items.sort(key=lambda item: (rank.get(item.nodeid.split("::", 1)[0], len(rank)),
                                 first[item.path, _page(item)]))


@pytest.fixture
def run_cache(tmp_path, monkeypatch):
    """An empty run cache of this test's own (``MODADD_CACHE``), switched on. (Here, not in a
    tests/unit/conftest.py: a third module named ``conftest`` would shadow the integration
    tests' one, which some of them import by that name.)"""
    monkeypatch.setenv("MODADD_CACHE", str(tmp_path))
    monkeypatch.delenv("MODADD_MEMO", raising=False)
    return tmp_path
