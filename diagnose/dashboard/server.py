"""``run_study.py dashboard``: optuna-dashboard on a plateau storage, with its artifact store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from diagnose.dashboard.artifacts import artifact_dir as resolve_artifact_dir


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


def serve(storage_url: str, host: str, port: int, artifact_dir: Path | None = None,
          out: TextIO | None = None) -> int:
    """Serve until interrupted (Ctrl-C). The storage is opened first: a bad URL is one line."""
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    from diagnose.loaders.storage import require_file
    from search.storage import open_storage

    require_file(storage_url)  # serving must not create an empty database
    storage = open_storage(storage_url)
    folder = artifact_dir or recorded_artifact_dir(storage) or resolve_artifact_dir(storage_url)
    folder.mkdir(parents=True, exist_ok=True)
    out = out or sys.stdout
    print(f"optuna-dashboard on {storage_url} (artifacts in {folder}): "
          f"{dashboard_url(host, port)}  (Ctrl-C stops it)", file=out, flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port,
                                artifact_store=FileSystemArtifactStore(folder))
    return 0
