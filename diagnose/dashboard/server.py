"""``run_study.py dashboard``: optuna-dashboard on a plateau storage, with its artifact store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from search.record.storage import StorageUrl


def dashboard_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/dashboard/"


def recorded_artifact_dir(storage) -> Path | None:
    """The artifact folder the storage's plateau studies were run with (the newest study's)."""
    import optuna

    for summary in reversed(optuna.get_all_study_summaries(storage, include_best_trial=False)):
        recorded = summary.user_attrs.get("artifact_dir")
        if recorded:
            return Path(recorded)
    return None


def serve(storage_url: StorageUrl, host: str, port: int, artifact_dir: Path | None = None,
          out: TextIO | None = None) -> int:
    """Serve until interrupted (Ctrl-C). The storage is opened first: a bad URL is one line."""
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    storage_url.require_file()  # serving must not create an empty database
    storage = storage_url.open()
    folder = artifact_dir or recorded_artifact_dir(storage) or storage_url.default_artifact_dir
    folder.mkdir(parents=True, exist_ok=True)
    out = out or sys.stdout
    print(f"optuna-dashboard on {storage_url.url} (artifacts in {folder}): "
          f"{dashboard_url(host, port)}  (Ctrl-C stops it)", file=out, flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port,
                                artifact_store=FileSystemArtifactStore(folder))
    return 0
