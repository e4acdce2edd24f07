"""Where a study's artifacts (each trial's history as CSV) are stored: Optuna's file artifact store.

Next to an SQLite file or a journal file by default (``plateau.db`` -> ``plateau-artifacts/``), so
that ``optuna-dashboard sqlite:///plateau.db --artifact-dir plateau-artifacts`` finds them; for a
server storage (PostgreSQL, MySQL, Redis) in ``plateau-artifacts/`` in the working directory, or a
folder all machines share given with ``--artifact-dir``.
"""

from __future__ import annotations

from pathlib import Path

SERVER_DEFAULT = Path("plateau-artifacts")


def default_artifact_dir(storage_url: str) -> Path:
    if storage_url.startswith("sqlite:///"):
        database = Path(storage_url.removeprefix("sqlite:///"))
        return database.with_name(f"{database.stem}-artifacts")
    if "://" not in storage_url:  # a journal file
        journal = Path(storage_url)
        return journal.with_name(f"{journal.stem}-artifacts")
    return SERVER_DEFAULT


def artifact_dir(storage_url: str, given: Path | None = None) -> Path:
    """``given`` if set, else the default for the storage."""
    return Path(given).expanduser() if given is not None else default_artifact_dir(storage_url)
