"""An Optuna storage URL, parsed once: what kind of storage, which file, where its artifacts go.

The strings a user types, read as optuna-dashboard reads them:

- ``sqlite:///plateau.db``: an SQLite file; ``postgresql://user@host/db``, ``mysql+pymysql://...``:
  a database server (Optuna's ``RDBStorage``);
- ``redis://host:6379``: a journal storage in Redis;
- any other path: a journal file (``JournalFileBackend``), the storage Optuna recommends for several
  processes on one machine or a network file system.

Each trial's history CSV goes to Optuna's file artifact store: next to an SQLite or journal file by
default (``plateau.db`` -> ``plateau-artifacts/``, so that ``optuna-dashboard sqlite:///plateau.db
--artifact-dir plateau-artifacts`` finds it), else ``./plateau-artifacts`` or a folder all machines
share. Optuna is imported only by ``open``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.record.errors import StorageError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from search.heartbeat import Heartbeat

SQLITE_PREFIX = "sqlite:///"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_HEADER = b"SQLite format 3\x00"
SERVER_ARTIFACT_DIR = Path("plateau-artifacts")  # a server storage has no file to sit beside
SCHEMA_ATTEMPTS = 5  # tries to open a database whose tables other workers are creating right now
CONNECT_TIMEOUT = 10  # seconds before an unreachable database server is reported
REDIS_TIMEOUT = f"socket_connect_timeout={CONNECT_TIMEOUT}"
# Packages whose exceptions mean the storage itself failed (read-only, full disk, server gone, ...)
STORAGE_PACKAGES = ("sqlalchemy", "sqlite3", "psycopg", "pymysql", "redis")


def storage_failure(exc: BaseException, url: str | None = None) -> str | None:
    """One line for an exception the storage (``url``, when known) raised while a command used it;
    None for other exceptions (a bug in plateau keeps its traceback)."""
    import optuna

    kinds = type(exc).__mro__
    if not (any(k.__module__.split(".")[0] in STORAGE_PACKAGES for k in kinds)
            or isinstance(exc, optuna.exceptions.StorageInternalError)):
        return None
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0].rstrip(".")
    where = f"storage '{url}'" if url else "the storage"
    return (f"{where} failed: {reason}. Nothing stored is lost; check that it can be written (a "
            f"read-only file, a full disk, a server down) and run the same command again.")


def _with_query(url: str, option: str) -> str:
    """``url`` with the query option ``option`` ("name=value") unless it sets that name already."""
    name = option.split("=")[0]
    if f"{name}=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}{option}"


@dataclass(frozen=True)
class StorageUrl:
    url: str
    kind: str  # "sqlite", "journal" (a file), "redis", or "rdb" (a database server)
    file: Path | None  # the SQLite or journal file; None for servers and in-memory SQLite

    @classmethod
    def parse(cls, url: str) -> StorageUrl:
        if url.startswith(SQLITE_PREFIX):
            path = url.removeprefix(SQLITE_PREFIX).split("?")[0]
            return cls(url, "sqlite", Path(path) if path not in ("", ":memory:") else None)
        if url.startswith("sqlite://"):  # "sqlite://" alone: SQLAlchemy's in-memory database
            return cls(url, "sqlite", None)
        if url.startswith(("redis://", "rediss://")):
            return cls(url, "redis", None)
        if "://" not in url:
            return cls(url, "journal", Path(url))
        return cls(url, "rdb", None)

    @property
    def default_artifact_dir(self) -> Path:
        if self.file is not None:
            return self.file.with_name(f"{self.file.stem}-artifacts")
        return SERVER_ARTIFACT_DIR

    def artifact_dir(self, given: Path | str | None = None) -> Path:
        """``given`` if set, else the default for this storage."""
        return Path(given).expanduser() if given is not None else self.default_artifact_dir

    def describe(self) -> str:
        """Where the storage is, for people (an SQLite URL's file as an absolute path)."""
        if self.kind == "sqlite" and self.file is not None:
            return f"{self.url} (file {self.file.resolve()})"
        return self.url

    def dashboard_command(self) -> str:
        return f"python run_study.py dashboard --storage {self.url}"

    def problem(self) -> str | None:
        """Why a study cannot be run in this storage, before it is opened (None: it can)."""
        if not self.url.strip():
            return "is empty; give an Optuna storage URL such as sqlite:///plateau.db"
        if self.kind == "sqlite" and self.file is None:
            return ("is an in-memory SQLite database, which is gone when the run ends; give a file "
                    "such as sqlite:///plateau.db")
        if self.file is not None and not self.file.parent.is_dir():
            return (f"is in folder '{self.file.parent}', which does not exist; create it or give "
                    f"another path")
        return None

    def require_file(self) -> None:
        """A reader must not create the storage it was asked to read (opening SQLite or a journal
        file would create an empty one)."""
        if self.file is not None and not self.file.exists():
            raise StorageError(f"storage '{self.url}': file '{self.file}' does not exist; give the "
                               f"storage the study was run with (e.g. sqlite:///plateau.db).")

    def open(self, heartbeat: Heartbeat | None = None) -> BaseStorage:
        """The Optuna storage; anything wrong is a one-line ``StorageError``. With ``heartbeat``, one
        that finds the trials of dead workers (``search.heartbeat``): what a running study opens."""
        import sqlalchemy.exc

        attempt = 1
        while True:
            try:
                return self._open(heartbeat)
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
                # Workers meeting a new database at once all create its tables; all but one then
                # find them made. Open again: the tables are there now.
                if attempt == SCHEMA_ATTEMPTS:
                    raise self._error(exc) from None
                time.sleep(0.2 * attempt)
                attempt += 1
            except StorageError:
                raise
            except ImportError as exc:  # Optuna wraps the missing driver's ModuleNotFoundError
                missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
                raise StorageError(f"storage '{self.url}' needs the Python module '{missing}' (its "
                                   f"database driver), which is not installed; install the package "
                                   f"that provides it.") from None
            except (sqlalchemy.exc.SQLAlchemyError, ValueError, OSError, RuntimeError) as exc:
                raise self._error(exc) from None  # RuntimeError: a schema of another Optuna

    def _open(self, heartbeat: Heartbeat | None) -> BaseStorage:
        import optuna
        from optuna.storages import JournalStorage, RDBStorage
        from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

        if self.kind in ("redis", "journal"):
            with warnings.catch_warnings():  # "experimental" since Optuna 3.1; documented
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                backend = (JournalRedisBackend(_with_query(self.url, REDIS_TIMEOUT))
                           if self.kind == "redis" else JournalFileBackend(self._journal_path()))
            return heartbeat.journal(backend) if heartbeat else JournalStorage(backend)
        engine = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}} if self.url.startswith(
            ("postgresql", "mysql")) else None
        return heartbeat.rdb(self.url, engine) if heartbeat else RDBStorage(self.url, engine)

    def _error(self, exc: Exception) -> StorageError:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0].rstrip(".")
        return StorageError(f"cannot open storage '{self.url}': {reason}. Give an Optuna storage "
                            f"URL such as sqlite:///plateau.db or postgresql://user@host/db.")

    def _journal_path(self) -> str:
        path = Path(self.url)
        is_sqlite_file = False
        if path.is_file():
            with path.open("rb") as f:
                is_sqlite_file = f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
        if path.suffix in SQLITE_SUFFIXES or is_sqlite_file:
            raise StorageError(f"storage '{self.url}' looks like an SQLite file; write it as an URL: "
                               f"sqlite:///{self.url}")
        if not path.parent.is_dir():
            raise StorageError(f"storage '{self.url}': folder '{path.parent}' does not exist.")
        return str(path)
