"""Checks shared by the tests of the readers that go through the clip cache."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import ModuleType


def whole_clips(entries) -> int:
    """How many cache entries there are, all of them whole clips ("<key>.npy", no ".partial-")."""
    names = [p.name for p in entries]
    assert all(re.fullmatch(r"[0-9a-f]{20}\.npy", name) for name in names), names
    return len(names)


def forbid(monkeypatch, module: ModuleType, name: str) -> None:
    """Make ``module.name`` (a decoder) fail the test if anything calls it."""
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} called although every clip is cached")

    monkeypatch.setattr(module, name, fail)


def warm_copy(built_root: Path, tmp_path: Path) -> Path:
    """A copy of a dataset read once, with its cache (the sibling folder "cache"): cache keys hold
    paths relative to the dataset root, so the copy's cache is warm."""
    shutil.copytree(built_root, tmp_path / built_root.name)
    shutil.copytree(built_root.parent / "cache", tmp_path / "cache")
    return tmp_path / built_root.name
