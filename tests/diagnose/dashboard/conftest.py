"""A finished tiny study in SQLite, run once per session through the command line, for the tests that
read it back through optuna-dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import run_study
from tiny import SIX_TRIALS


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory) -> tuple[str, Path]:
    """(storage URL, artifact folder) of a 6-trial study run by ``run_study.py run``."""
    folder = tmp_path_factory.mktemp("finished")
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(SIX_TRIALS))))
    url = f"sqlite:///{folder / 'study.db'}"
    assert run_study.main(["run", str(path), "--storage", url]) == 0
    return url, folder / "study-artifacts"
