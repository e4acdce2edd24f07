"""Storage strings open the storages optuna-dashboard opens; a bad one is a one-line error."""

from __future__ import annotations

import sqlite3
import uuid

import optuna
import pytest
from optuna.storages import JournalStorage, RDBStorage

from search.errors import StorageError
from search.storage import describe, open_storage

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def test_sqlite_url_opens_an_rdb_storage_file(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(storage, RDBStorage)
    optuna.create_study(storage=storage, study_name="s")
    assert sqlite3.connect(tmp_path / "a.db").execute("select study_name from studies").fetchall() \
        == [("s",)]
    assert str(tmp_path / "a.db") in describe(f"sqlite:///{tmp_path / 'a.db'}")


def test_plain_path_is_a_journal_file(tmp_path):
    path = tmp_path / "journal.log"
    optuna.create_study(storage=open_storage(str(path)), study_name="s")
    assert isinstance(open_storage(str(path)), JournalStorage)
    assert optuna.load_study(study_name="s", storage=open_storage(str(path))).study_name == "s"


def test_postgresql_url_opens_the_server():
    name = f"plateau-test-{uuid.uuid4().hex[:8]}"
    storage = open_storage(POSTGRES_URL)
    optuna.create_study(storage=storage, study_name=name)
    try:
        assert name in [s.study_name for s in optuna.get_all_study_summaries(storage)]
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def test_redis_url_opens_a_journal_in_redis():
    name = f"plateau-test-{uuid.uuid4().hex[:8]}"
    storage = open_storage("redis://127.0.0.1:6379")
    assert isinstance(storage, JournalStorage)
    optuna.create_study(storage=storage, study_name=name)
    try:
        assert optuna.load_study(study_name=name, storage=storage).study_name == name
    finally:
        optuna.delete_study(study_name=name, storage=storage)


@pytest.mark.parametrize("url, fragments", [
    ("plateau.db", ["looks like an SQLite file", "sqlite:///plateau.db"]),
    ("sqlite:////no/such/dir/x.db", ["cannot open storage", "unable to open database file"]),
    ("/no/such/dir/journal.log", ["folder '/no/such/dir' does not exist"]),
    ("nosuchdialect://x/y", ["cannot open storage 'nosuchdialect://x/y'"]),
    ("postgresql://postgres@127.0.0.1:1/test", ["cannot open storage", "127.0.0.1"]),
    ("mysql://root@127.0.0.1/test", ["needs the Python module 'MySQLdb'", "not installed"]),
])
def test_bad_storage_is_one_line_naming_it(url, fragments):
    with pytest.raises(StorageError) as info:
        open_storage(url)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_an_existing_sqlite_file_given_as_a_path_is_refused_untouched(tmp_path):
    path = tmp_path / "study.store"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="keep")
    before = path.read_bytes()
    with pytest.raises(StorageError, match=f"sqlite:///{path}"):
        open_storage(str(path))
    assert path.read_bytes() == before
