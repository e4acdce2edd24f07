"""Shared fixtures: tiny study files that train real models in about a second per trial."""

from __future__ import annotations

import json
import os
import socket
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


# The servers every machine of this project runs (CI's included). A test that needs one skips when it
# does not answer, unless PLATEAU_REQUIRE_SERVERS is set (.ci/run sets it): then that is a failure.
# MySQL/MariaDB runs only where a machine has it, so it may always be skipped.
SERVERS = {"postgresql": ("postgresql://postgres@127.0.0.1:5432/test", 5432, True),
           "redis": ("redis://127.0.0.1:6379", 6379, True),
           "mysql": ("mysql+pymysql://root@127.0.0.1:3306/test", 3306, False)}


def server_url(kind: str) -> str:
    """The URL of server ``kind``, after checking it answers (skip, or fail where required)."""
    url, port, required = SERVERS[kind]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        message = f"no {kind} server answers on 127.0.0.1:{port}"
        if required and os.environ.get("PLATEAU_REQUIRE_SERVERS"):
            pytest.fail(f"{message}, and PLATEAU_REQUIRE_SERVERS is set (as on CI)")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url() -> str:
    return server_url("postgresql")


@pytest.fixture
def redis_url() -> str:
    return server_url("redis")
