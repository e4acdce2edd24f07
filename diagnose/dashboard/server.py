"""``run_study.py dashboard``: optuna-dashboard on a plateau storage, with its artifact store."""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import TextIO

from search.record.errors import PlateauError
from search.record.storage import StorageUrl

# Why a bind fails, in the user's words, by errno (anything else: the OS's own words).
BIND_ERRORS = {
    errno.EADDRINUSE: "it is already in use (another optuna-dashboard?); stop the server there or "
                      "choose another --port",
    errno.EACCES: "binding it needs privileges (ports below 1024 need root); choose a port above "
                  "1023",
    errno.EADDRNOTAVAIL: "--host is not an address of this machine; use 127.0.0.1 (this machine "
                         "only) or 0.0.0.0 (every interface)",
}


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def dashboard_url(host: str, port: int) -> str:
    return f"http://{host_port(host, port)}/dashboard/"


def recorded_artifact_dir(storage) -> Path | None:
    """The artifact folder the storage's plateau studies were run with (the newest study's)."""
    import optuna

    for summary in reversed(optuna.get_all_study_summaries(storage, include_best_trial=False)):
        recorded = summary.user_attrs.get("artifact_dir")
        if recorded:
            return Path(recorded)
    return None


def check_address(host: str, port: int) -> None:
    """A one-line ``PlateauError`` unless optuna-dashboard can listen on ``host``:``port``: the name
    is resolved and the address bound (then released) as bottle's wsgiref server will bind it (IPv6
    when the host has a colon), so a bad address is reported before anything is printed or made."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        address = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise PlateauError(f"--host must be a name or address of this machine (127.0.0.1, 0.0.0.0, "
                           f"::1, localhost). Got '{host}' instead: it cannot be resolved "
                           f"({reason}).") from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does
        try:
            probe.bind(address)
        except OSError as exc:
            reason = BIND_ERRORS.get(exc.errno, f"{exc.strerror or exc}; choose another --host or "
                                                f"--port")
            raise PlateauError(f"--host and --port must be an address optuna-dashboard can listen "
                               f"on. Got {host_port(host, port)} instead: {reason}.") from None


def serve(storage_url: StorageUrl, host: str, port: int, artifact_dir: Path | None = None,
          out: TextIO | None = None) -> int:
    """Serve until interrupted (Ctrl-C). The storage is opened first: a bad URL is one line."""
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    storage_url.require_file()  # serving must not create an empty database
    storage = storage_url.open()
    check_address(host, port)  # before the artifact folder is made and the URL printed
    folder = artifact_dir or recorded_artifact_dir(storage) or storage_url.default_artifact_dir
    folder.mkdir(parents=True, exist_ok=True)
    out = out or sys.stdout
    print(f"optuna-dashboard on {storage_url.url} (artifacts in {folder}): "
          f"{dashboard_url(host, port)}  (Ctrl-C stops it)", file=out, flush=True)
    optuna_dashboard.run_server(storage, host=host, port=port,
                                artifact_store=FileSystemArtifactStore(folder))
    return 0
