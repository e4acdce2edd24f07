"""Shared fixtures: tiny study files that train real models in about a second per trial."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tiny import TINY_STUDY, deep_update

@pytest.fixture
def write_study(tmp_path: Path) -> Callable[..., Path]:
    """Write TINY_STUDY (with changes merged in) as a YAML study file; returns its path."""

    def write(changes: dict | None = None, name: str = "tiny") -> Path:
        path = tmp_path / f"{name}.yaml"
        study = json.loads(json.dumps(deep_update(TINY_STUDY, changes or {})))  # plain dicts
        path.write_text(yaml.safe_dump(study, sort_keys=False))
        return path

    return write


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"
