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

import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from search.record.errors import StorageError

if TYPE_CHECKING:
    import sqlalchemy
    from optuna.storages import BaseStorage

    from search.heartbeat import Heartbeat

SQLITE_PREFIX = "sqlite:///"
DEFAULT_STORAGE = "sqlite:///plateau.db"  # a study file's study.storage when it names none
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_HEADER = b"SQLite format 3\x00"
SERVER_ARTIFACT_DIR = Path("plateau-artifacts")  # a server storage has no file to sit beside
SCHEMA_ATTEMPTS = 5  # tries to open a database whose tables other workers are creating right now
CONNECT_TIMEOUT = 10  # seconds before an unreachable database server is reported
# The drivers' own timeouts while the server is first tried, longer than the wait for it: a silent
# server is then always reported as silent, not by whichever of the two timers fires first.
PROBE_TIMEOUT = CONNECT_TIMEOUT + 5
REDIS_TIMEOUT = f"socket_connect_timeout={CONNECT_TIMEOUT}"
# What an SQLite error says when the file or its disk cannot take a write (a full disk is
# "disk I/O error" when the write-ahead log cannot be made)
UNWRITABLE = ("disk", "full", "readonly", "read-only", "i/o error")
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
    reason = _reason(exc)
    where = f"storage '{url}'" if url else "the storage"
    return (f"{where} failed: {reason}. Nothing stored is lost; check that it can be written (a "
            f"read-only file, a full disk, a server down) and run the same command again.")


def _reason(exc: BaseException) -> str:
    """The first line of what the innermost error says (the driver's, not its wrappers')."""
    for _ in range(8):  # Optuna wraps SQLAlchemy's error, which wraps the driver's
        inner = getattr(exc, "orig", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def _with_query(url: str, option: str) -> str:
    """``url`` with the query option ``option`` ("name=value") unless it sets that name already."""
    name = option.split("=")[0]
    if f"{name}=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}{option}"


def _write_ahead(engine: sqlalchemy.engine.Engine) -> None:
    """SQLite in write-ahead-log mode, synced at checkpoints (``journal_mode=WAL``,
    ``synchronous=NORMAL``): a commit costs a third of what it does with the default rollback
    journal, readers (the dashboard, other workers) do not block the writer, and a crash of the
    process loses nothing committed (a power cut may lose the last commits, never the file's
    consistency; https://www.sqlite.org/wal.html). A read-only file keeps its mode."""
    import sqlite3

    from sqlalchemy import event

    def on_connect(connection: sqlite3.Connection, _record: object) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.OperationalError:  # read-only: it is read as it is
            pass
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # the connections Optuna opened to create the tables are made again


def set_trial_user_attrs(storage: BaseStorage, trial_id: int, attrs: Mapping[str, Any]) -> None:
    """Store ``attrs`` as user attributes of one trial: on a database, in one transaction (one
    commit instead of one per key, each a few milliseconds that the trial waits for); elsewhere,
    one call per key. Optuna has no public call for several attributes; its RDB storage's own
    per-key step is used, and the public loop where that step is missing."""
    from optuna.storages import RDBStorage
    from optuna.storages._rdb import models, storage as rdb

    backend = getattr(storage, "_backend", storage)  # Optuna wraps an RDB storage in a cache
    one_step = getattr(backend, "_set_trial_attr_without_commit", None)
    if not isinstance(backend, RDBStorage) or one_step is None:
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        return
    with rdb._create_scoped_session(backend.scoped_session, True) as session:
        for key, value in attrs.items():
            one_step(session, models.TrialUserAttributeModel, trial_id, key, value)


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

        self._answers()
        if self.kind in ("redis", "journal"):
            with warnings.catch_warnings():  # "experimental" since Optuna 3.1; documented
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                backend = (JournalRedisBackend(_with_query(self.url, REDIS_TIMEOUT))
                           if self.kind == "redis" else JournalFileBackend(self._journal_path()))
            return heartbeat.journal(backend) if heartbeat else JournalStorage(backend)
        engine = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}} if self.url.startswith(
            ("postgresql", "mysql")) else None
        storage = heartbeat.rdb(self.url, engine) if heartbeat else RDBStorage(self.url, engine)
        if self.kind == "sqlite":
            _write_ahead(storage.engine)
        return storage

    def _answers(self) -> None:
        """A database or Redis server that has not answered within ``CONNECT_TIMEOUT`` seconds is
        reported then, whatever its driver would do with a server that accepts the connection and
        stays silent (psycopg tries twice, without and with SSL; pymysql waits for ever). The
        connection is tried in a thread that is left behind if it hangs."""
        if self.kind not in ("rdb", "redis"):
            return
        failed: list[BaseException] = []
        thread = threading.Thread(target=self._connect_once, args=(failed,), daemon=True)
        thread.start()
        thread.join(CONNECT_TIMEOUT)
        if thread.is_alive():
            raise StorageError(f"cannot open storage '{self.url}': the server did not answer within "
                               f"{CONNECT_TIMEOUT} s. Check the host and port, and that the server "
                               f"is up and reachable from this machine.")
        if failed:
            raise failed[0]

    def _connect_once(self, failed: list[BaseException]) -> None:
        try:
            if self.kind == "redis":
                import redis

                try:
                    redis.Redis.from_url(self.url, socket_connect_timeout=PROBE_TIMEOUT,
                                         socket_timeout=PROBE_TIMEOUT).ping()
                except redis.RedisError as exc:
                    raise self._error(exc) from None
                return
            import sqlalchemy
            from sqlalchemy.pool import NullPool

            engine = sqlalchemy.create_engine(self.url, poolclass=NullPool, connect_args=(
                {"connect_timeout": PROBE_TIMEOUT} if self.url.startswith(("postgresql", "mysql"))
                else {}))
            try:
                engine.connect().close()
            finally:
                engine.dispose()
        except BaseException as exc:  # raised again in the thread that opens the storage
            failed.append(exc)

    def _error(self, exc: Exception) -> StorageError:
        reason = _reason(exc)
        if any(word in reason.lower() for word in UNWRITABLE):
            return StorageError(f"cannot open storage '{self.url}': {reason}. Check that the disk "
                                f"has room and that the file and its folder can be written.")
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
