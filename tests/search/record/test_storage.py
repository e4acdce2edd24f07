"""Storage URLs: parsed once (kind, file, artifact folder), opened as optuna-dashboard opens them; a bad
one is a one-line error."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage, RDBStorage
from sqlalchemy import event

from search.record.errors import StorageError
from search.record.storage import SERVER_ARTIFACT_DIR, StorageUrl, set_trial_user_attrs

def open_storage(url: str):
    return StorageUrl.parse(url).open()


@pytest.mark.parametrize("url, kind, file, artifacts", [
    ("sqlite:///plateau.db", "sqlite", "plateau.db", "plateau-artifacts"),
    ("sqlite:///runs/a.sqlite3?timeout=30", "sqlite", "runs/a.sqlite3", "runs/a-artifacts"),
    ("sqlite:////abs/study.db", "sqlite", "/abs/study.db", "/abs/study-artifacts"),
    ("sqlite:///:memory:", "sqlite", None, str(SERVER_ARTIFACT_DIR)),
    ("runs/journal.log", "journal", "runs/journal.log", "runs/journal-artifacts"),
    ("postgresql://postgres@127.0.0.1:5432/test", "rdb", None, str(SERVER_ARTIFACT_DIR)),
    ("mysql+pymysql://root@host/db", "rdb", None, str(SERVER_ARTIFACT_DIR)),
    ("redis://127.0.0.1:6379", "redis", None, str(SERVER_ARTIFACT_DIR)),
    ("rediss://host:6380", "redis", None, str(SERVER_ARTIFACT_DIR)),
], ids=["sqlite", "sqlite with options", "absolute sqlite", "in-memory sqlite", "journal file",
        "postgresql", "mysql", "redis", "redis over tls"])
def test_a_url_is_parsed_once_into_kind_file_and_artifact_folder(url, kind, file, artifacts):
    parsed = StorageUrl.parse(url)
    assert (parsed.kind, parsed.file) == (kind, None if file is None else Path(file))
    assert parsed.default_artifact_dir == Path(artifacts)
    assert parsed.artifact_dir("shared/artifacts") == Path("shared/artifacts")
    assert parsed.artifact_dir() == Path(artifacts)
    assert parsed.dashboard_command() == f"python run_study.py dashboard --storage {url}"


def test_a_reader_refuses_a_missing_file_and_does_not_create_it(tmp_path):
    for url in (f"sqlite:///{tmp_path / 'missing.db'}", str(tmp_path / "missing.log")):
        with pytest.raises(StorageError, match="does not exist"):
            StorageUrl.parse(url).require_file()
    assert list(tmp_path.iterdir()) == []
    StorageUrl.parse("postgresql://postgres@127.0.0.1:5432/test").require_file()  # no file: fine


def test_sqlite_url_opens_an_rdb_storage_file(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(storage, RDBStorage)
    optuna.create_study(storage=storage, study_name="s")
    assert sqlite3.connect(tmp_path / "a.db").execute("select study_name from studies").fetchall() \
        == [("s",)]
    assert str(tmp_path / "a.db") in StorageUrl.parse(f"sqlite:///{tmp_path / 'a.db'}").describe()


def test_plain_path_is_a_journal_file(tmp_path):
    path = tmp_path / "journal.log"
    optuna.create_study(storage=open_storage(str(path)), study_name="s")
    assert isinstance(open_storage(str(path)), JournalStorage)
    assert optuna.load_study(study_name="s", storage=open_storage(str(path))).study_name == "s"


def test_postgresql_url_opens_the_server(postgres_url):
    name = f"plateau-test-{uuid.uuid4().hex[:8]}"
    storage = open_storage(postgres_url)
    optuna.create_study(storage=storage, study_name=name)
    try:
        assert name in [s.study_name for s in optuna.get_all_study_summaries(storage)]
    finally:
        optuna.delete_study(study_name=name, storage=storage)


def test_redis_url_opens_a_journal_in_redis(redis_url):
    name = f"plateau-test-{uuid.uuid4().hex[:8]}"
    storage = open_storage(redis_url)
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


def test_sqlite_is_opened_in_write_ahead_log_mode_and_a_read_only_file_is_still_read(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    optuna.create_study(storage=open_storage(url), study_name="s").optimize(lambda t: 1.0, 1)
    assert sqlite3.connect(tmp_path / "a.db").execute("pragma journal_mode").fetchone() == ("wal",)
    read_only = f"sqlite:///file:{tmp_path / 'a.db'}?mode=ro&uri=true"
    assert len(optuna.load_study(study_name="s", storage=open_storage(read_only)).trials) == 1


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_user_attrs_are_stored_in_one_transaction_where_the_storage_has_them(kind, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}" if kind == "sqlite" else str(tmp_path / "a.journal")
    study = optuna.create_study(storage=open_storage(url))
    trial = study.ask()
    trial.set_user_attr("kept", 1)
    trial.set_user_attr("replaced", "old")
    commits = []
    if kind == "sqlite":
        event.listen(study._storage._backend.engine, "commit", lambda connection: commits.append(1))
    attrs = {"replaced": "new", "history": [{"epoch": 1, "val_loss": 0.5}], "note": None}
    set_trial_user_attrs(study._storage, trial._trial_id, attrs)
    assert commits == ([1] if kind == "sqlite" else [])
    assert study.trials[0].user_attrs == {"kept": 1, **attrs}


def test_user_attrs_of_a_finished_trial_are_refused_and_none_is_stored(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'a.db'}"))
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(RuntimeError, match="finished"):
        set_trial_user_attrs(study._storage, trial._trial_id, {"a": 1, "b": 2})
    assert study.trials[0].user_attrs == {}
