"""Fixtures shared by the unit tests."""
import pytest


@pytest.fixture
def run_cache(tmp_path, monkeypatch):
    """An empty run cache of this test's own (``MODADD_CACHE``), switched on."""
    monkeypatch.setenv("MODADD_CACHE", str(tmp_path))
    monkeypatch.delenv("MODADD_MEMO", raising=False)
    return tmp_path
