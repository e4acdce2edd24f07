"""Opening an Optuna storage from the string a user types, as optuna-dashboard reads it.

- ``sqlite:///plateau.db``, ``postgresql://user@host/db``, ``mysql+pymysql://...``: an RDB storage;
- ``redis://host:6379``: a journal storage in Redis;
- any other path: a journal file (``JournalFileBackend``), the storage Optuna recommends for
  several processes on one machine or a network file system.

The same string opens the study in ``optuna-dashboard``, so the runner can print that command.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna

import sqlalchemy.exc
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

from search.errors import StorageError

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_HEADER = b"SQLite format 3\x00"


def open_storage(url: str) -> BaseStorage:
    """An Optuna storage for ``url``; anything wrong is a one-line ``StorageError``."""
    try:
        if url.startswith(("redis://", "rediss://")):
            with warnings.catch_warnings():  # "experimental" since Optuna 3.1; documented storage
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return JournalStorage(JournalRedisBackend(url))
        if "://" not in url:
            return JournalStorage(JournalFileBackend(_journal_path(url)))
        return RDBStorage(url)
    except StorageError:
        raise
    except ImportError as exc:  # Optuna wraps the missing database driver's ModuleNotFoundError
        missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
        raise StorageError(f"storage '{url}' needs the Python module '{missing}' (its database "
                           f"driver), which is not installed; install the package that provides "
                           f"it.") from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0].rstrip(".")
        raise StorageError(f"cannot open storage '{url}': {reason}. Give an Optuna storage URL "
                           f"such as sqlite:///plateau.db or postgresql://user@host/db.") from None


def _journal_path(path: str) -> str:
    p = Path(path)
    is_sqlite_file = False
    if p.is_file():
        with p.open("rb") as f:
            is_sqlite_file = f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    if p.suffix in SQLITE_SUFFIXES or is_sqlite_file:
        raise StorageError(f"storage '{path}' looks like an SQLite file; write it as an URL: "
                           f"sqlite:///{path}")
    if not p.parent.is_dir():
        raise StorageError(f"storage '{path}': folder '{p.parent}' does not exist.")
    return str(p)


def describe(url: str) -> str:
    """Where the storage is, for people (an SQLite URL's file as an absolute path)."""
    if url.startswith("sqlite:///"):
        return f"{url} (file {Path(url.removeprefix('sqlite:///')).resolve()})"
    return url


def dashboard_command(url: str) -> str:
    return f"python run_study.py dashboard --storage {url}"

