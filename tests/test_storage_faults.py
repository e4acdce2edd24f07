"""A storage that is wrong, or fails while a command uses it, is one line on stderr and exit code 2,
never a traceback, and what it holds is not touched: real SQLite files made read-only (immutable:
these tests run as root, for whom permissions are no obstacle), damaged, or of a newer Optuna; real
Redis and PostgreSQL servers asked for what they refuse."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest

import run_study
from conftest import server_url
from search.record.storage import CONNECT_TIMEOUT


def one_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("run_study.py: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def finished(write_study, tmp_path) -> tuple[Path, str]:
    """A one-trial study in SQLite, and its study file."""
    path = write_study({"budget": {"n_trials": 1, "max_epochs": 1}})
    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert run_study.main(["run", str(path), "--storage", url]) == 0
    return path, url


def immutable(path: Path) -> None:
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("needs chattr (ext2/3/4) to make a file root cannot write")


def mutable(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@pytest.mark.parametrize("command", [["run", "{study}", "--n-trials", "1"],
                                     ["diagnose", "--study", "tiny", "--update-dashboard"]],
                         ids=["continue a study", "update the dashboard"])
def test_a_read_only_database_is_one_line_and_left_as_it_was(command, finished, capsys):
    path, url = finished
    db = Path(url.removeprefix("sqlite:///"))
    before = db.read_bytes()
    capsys.readouterr()
    immutable(db)
    try:
        args = [part.format(study=path) for part in command]
        assert run_study.main([*args, "--storage", url]) == 2
    finally:
        mutable(db)
    err = one_line(capsys)
    assert f"storage '{url}' failed" in err and "readonly" in err.replace("-", "")
    assert db.read_bytes() == before


def test_a_damaged_database_is_one_line(finished, capsys):
    path, url = finished
    db = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as connection:  # the write-ahead log's pages into the file, to damage
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # the second page: garbage
    db.write_bytes(bytes(data))
    capsys.readouterr()
    assert run_study.main(["run", str(path), "--storage", url, "--n-trials", "1"]) == 2
    err = one_line(capsys)
    assert "malformed" in err or "not a database" in err or "cannot open storage" in err


def test_a_database_of_a_newer_optuna_is_one_line(finished, capsys):
    path, url = finished
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("update alembic_version set version_num = 'v99.0.0.a'")
    capsys.readouterr()
    assert run_study.main(["run", str(path), "--storage", url, "--n-trials", "1"]) == 2
    assert "cannot open storage" in one_line(capsys)


@pytest.mark.parametrize("path, says", [
    ("/99", "DB index is out of range"),
    ("", "Connection refused"),
], ids=["bad database index", "nothing listening"])
def test_redis_refusing_is_one_line(path, says, write_study, capsys):
    url = server_url("redis") + path if path else "redis://127.0.0.1:1"
    assert run_study.main(["run", str(write_study()), "--storage", url]) == 2
    err = one_line(capsys)
    assert f"storage '{url}" in err and says in err


def test_a_postgresql_port_that_is_not_redis_is_one_line(write_study, capsys):
    postgres = server_url("postgresql")
    url = "redis://127.0.0.1:" + postgres.split(":")[2].split("/")[0]
    assert run_study.main(["run", str(write_study()), "--storage", url]) == 2
    assert f"cannot open storage '{url}': Connection closed by server" in one_line(capsys)


def test_an_unreachable_server_is_one_line_within_seconds(write_study, capsys):
    url = "postgresql://postgres@10.255.255.1:5432/test"  # routable nowhere: packets vanish
    started = time.monotonic()
    assert run_study.main(["run", str(write_study()), "--storage", url]) == 2
    assert time.monotonic() - started < 15  # the connect timeout is 10 s
    assert "cannot open storage" in one_line(capsys)


@pytest.fixture
def silent_port():
    """A port whose server accepts connections (the kernel completes them) and never says a word:
    a hung or half-dead server, a firewall that swallows what follows the handshake."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("scheme", ["postgresql://postgres@127.0.0.1:{}/test",
                                    "mysql+pymysql://root@127.0.0.1:{}/test",
                                    "redis://127.0.0.1:{}"],
                         ids=["postgresql (psycopg tries twice)", "mysql (pymysql would wait for ever)",
                              "redis"])
def test_a_server_that_never_answers_is_one_line_within_the_timeout(scheme, silent_port,
                                                                    write_study, capsys):
    url = scheme.format(silent_port)
    started = time.monotonic()
    assert run_study.main(["run", str(write_study()), "--storage", url]) == 2
    assert time.monotonic() - started < CONNECT_TIMEOUT + 3
    assert f"did not answer within {CONNECT_TIMEOUT} s" in one_line(capsys)


def test_a_study_name_postgresql_cannot_hold_is_refused_before_it_is_tried(write_study, capsys):
    postgres = server_url("postgresql")
    assert run_study.main(["run", str(write_study()), "--storage", postgres,
                           "--study-name", "x" * 513]) == 2
    assert "must be at most 512 characters" in one_line(capsys)
    assert "x" * 513 not in optuna.study.get_all_study_names(postgres)


@pytest.mark.parametrize("storage, says", [
    ("", "is empty"),
    ("sqlite:///", "in-memory SQLite database, which is gone when the run ends"),
    ("sqlite:///:memory:", "in-memory SQLite database"),
    ("sqlite://", "in-memory SQLite database"),
    ("sqlite:///{tmp}/no/such/folder/x.db", "which does not exist; create it"),
], ids=["empty", "sqlite:///", ":memory:", "sqlite://", "missing folder"])
def test_a_storage_no_run_can_use_is_refused_before_anything_is_made(storage, says, write_study,
                                                                     tmp_path, capsys):
    url = storage.format(tmp=tmp_path)
    assert run_study.main(["run", str(write_study()), "--storage", url]) == 2
    err = one_line(capsys)
    assert f"'study.storage' (or --storage) '{url}' {says}" in err or says in err
    assert not (tmp_path / "no").exists()  # the folder is not made
