"""Fixtures of the dataset-reader tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def cache_env(tmp_path, monkeypatch):
    """Nothing here may fall back to ~/.cache: the default clip cache is under tmp_path."""
    monkeypatch.setenv("PLATEAU_CACHE", str(tmp_path / "env-cache"))
