"""``run_study.py dashboard`` on an address it cannot listen on: one line and exit code 2, before the
serving line is printed or the artifact folder made; and a free address still gets served."""

from __future__ import annotations

import socket
from pathlib import Path

import optuna
import optuna_dashboard
import pytest

import run_study


@pytest.fixture
def storage(tmp_path: Path) -> str:
    """An SQLite storage holding one empty study (nothing trained)."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(storage=url, study_name="empty")
    return url


@pytest.fixture
def served(monkeypatch) -> list[dict]:
    """optuna-dashboard's ``run_server`` replaced by a recorder: no test here serves for real."""
    calls: list[dict] = []
    monkeypatch.setattr(optuna_dashboard, "run_server",
                        lambda storage, **kwargs: calls.append(kwargs))
    return calls


@pytest.fixture
def busy_port():
    """A loopback port some other server is listening on, for the test's duration."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# (case, options after --storage, what the one line must say; {port}: the busy port)
BAD_ADDRESSES = {
    "port in use": (["--port", "{port}"],
                    "--host and --port must be an address optuna-dashboard can listen on. Got "
                    "127.0.0.1:{port} instead: it is already in use"),
    "unresolvable host": (["--host", "no-such-host.invalid", "--port", "{port}"],
                          "--host must be a name or address of this machine (127.0.0.1, 0.0.0.0, "
                          "::1, localhost). Got 'no-such-host.invalid' instead: it cannot be "
                          "resolved"),
    "host of another machine": (["--host", "192.0.2.1", "--port", "{port}"],  # TEST-NET-1
                                "Got 192.0.2.1:{port} instead: --host is not an address of this "
                                "machine"),
}


@pytest.mark.parametrize("case", BAD_ADDRESSES)
def test_a_bad_address_is_one_line_before_anything_is_printed(case, storage, served, busy_port,
                                                              tmp_path, capsys):
    options, says = BAD_ADDRESSES[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    code = run_study.main(["dashboard", "--storage", storage,
                           *(o.format(port=busy_port) for o in options)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # not the "optuna-dashboard on ... (Ctrl-C stops it)" line
    assert err.startswith("run_study.py: error: ") and err.count("\n") == 1
    assert says.format(port=busy_port) in err
    assert served == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no study-artifacts/ folder made


def test_a_free_address_is_served_and_left_free_for_the_server(storage, served, tmp_path, capsys):
    port = free_port()
    assert run_study.main(["dashboard", "--storage", storage, "--port", str(port)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and f"http://127.0.0.1:{port}/dashboard/  (Ctrl-C stops it)" in out
    assert [(call["host"], call["port"]) for call in served] == [("127.0.0.1", port)]
    assert (tmp_path / "study-artifacts").is_dir()
    with socket.socket() as sock:  # the check released the address it tried
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
