"""Many workers, nothing lost, nothing repeated, every stop resumable: real processes of
``run_study.py run`` on a real journal file and the real PostgreSQL server, killed and signalled as
schedulers and users do."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import yaml

from search.record.storage import StorageUrl
from search.record.trial import TrialRecord, study_records
from conftest import server_url
from search.resume import counted

REPO = Path(__file__).resolve().parents[1]
MAX_EPOCHS = 4  # of every trial of the study below

# Digits with a small CNN, a second or so an epoch here: long enough to be killed in the middle of,
# short enough for a test. Heartbeats every second, lost after 2 s of silence.
STUDY = {"data": {"kind": "digits", "val_fraction": 0.2, "test_fraction": 0.0},
         "budget": {"n_trials": 8, "max_epochs": MAX_EPOCHS}, "pruner": "none", "early_stopping": False,
         "study": {"heartbeat_interval": 1, "grace_period": 2},
         "space": {"architecture": "cnn2d", "lr": {"low": 1e-3, "high": 5e-2, "log": True},
                   "dropout": {"low": 0.0, "high": 0.3}, "batch_size": 32},
         "models": {"cnn2d": {"width": 16, "depth": 2}}}


@pytest.fixture(params=["journal", "postgresql"])
def target(request, tmp_path) -> tuple[str, str]:
    """(storage, study name): a journal file, or a new study on the PostgreSQL server."""
    name = f"plateau-workers-{uuid.uuid4().hex[:8]}"
    storage = str(tmp_path / "study.journal") if request.param == "journal" else server_url(
        "postgresql")
    yield storage, name
    if request.param == "postgresql" and name in optuna.study.get_all_study_names(storage):
        optuna.delete_study(study_name=name, storage=storage)


def write(tmp_path: Path, **changes) -> Path:
    study = json.loads(json.dumps(STUDY))
    for key, value in changes.items():
        study[key] = {**study.get(key, {}), **value}
    path = tmp_path / "workers.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def start(path: Path, storage: str, name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "run_study.py", "run", str(path), "--storage", storage,
                             "--study-name", name, "--artifact-dir", str(path.parent / "artifacts"),
                             *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def records(storage: str, name: str) -> list[TrialRecord]:
    study = optuna.load_study(study_name=name, storage=StorageUrl.parse(storage).open())
    return study_records(study)


def wait_for(condition, timeout: float = 120.0):
    """Poll ``condition`` (a function returning a value, or None) until it gives a value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value is not None:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def running_after_an_epoch(storage: str, name: str) -> TrialRecord | None:
    try:
        return next((r for r in records(storage, name) if r.state == "RUNNING" and r.epochs_run),
                    None)
    except KeyError:  # the study is not created yet
        return None


def trained_params(rs: list[TrialRecord]) -> list[tuple]:
    """The parameter sets of the trials that trained, a retry standing for the attempt it retries."""
    return [tuple(sorted(r.params.items())) for r in rs if r.state == "COMPLETE" and r.epochs_run]


def first_epochs(stderr: str) -> dict[int, int]:
    """The first epoch each trial trained in this process, from its progress lines."""
    firsts: dict[int, int] = {}
    for number, epoch in re.findall(r"  #(\d+) epoch (\d+)/", stderr):
        firsts.setdefault(int(number), int(epoch))
    return firsts


def continued(stderr: str, retry: int, saved: int, max_epochs: int = MAX_EPOCHS) -> bool:
    """Whether trial ``retry`` continued from the checkpoint of a stopped attempt that stored
    ``saved`` epochs (its checkpoint has these or one more), not from epoch 1. A checkpoint that
    already holds the last epoch leaves nothing to train: no progress line at all."""
    first = first_epochs(stderr).get(retry)
    if first is None:
        return saved + 1 >= max_epochs
    return first - 1 in (saved, saved + 1)


def test_two_workers_lose_nothing_and_repeat_nothing(target, tmp_path):
    storage, name = target
    process = start(write(tmp_path), storage, name, "--workers", "2")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    rs = records(storage, name)
    assert counted(optuna.load_study(study_name=name, storage=StorageUrl.parse(storage).open())
                   .get_trials()) == 8
    assert [r.state for r in rs] == ["COMPLETE"] * len(rs) and len(rs) in (8, 9), [  # 9: overlap
        (r.number, r.state, r.stop_reason, r.error) for r in rs if r.state != "COMPLETE"]
    assert len(set(trained_params(rs))) == len(trained_params(rs))  # no parameter set twice
    assert len({r.worker for r in rs}) == 2  # both workers trained
    assert "Study '" in out and "[worker 1/2]" in err and "[worker 2/2]" in err


def test_a_killed_worker_s_trial_is_run_again_from_its_checkpoint(target, tmp_path):
    storage, name = target
    process = start(write(tmp_path), storage, name, "--workers", "2")
    victim = wait_for(lambda: running_after_an_epoch(storage, name))
    os.kill(int(victim.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    assert "was killed by SIGKILL" in err
    rs = {r.number: r for r in records(storage, name)}
    lost = rs[victim.number]
    assert lost.state == "FAIL" and lost.stop_reason == "worker lost: no heartbeat for 2 s"
    (retry,) = [r for r in rs.values() if r.number != victim.number and r.params == lost.params]
    assert retry.state == "COMPLETE" and retry.epochs_run == 4
    assert [row["epoch"] for row in retry.history.rows] == list(range(1, MAX_EPOCHS + 1))
    saved = lost.epochs_run  # epochs the lost attempt stored; its checkpoint has these or one more
    assert continued(err, retry.number, saved)  # continued, not restarted
    study = optuna.load_study(study_name=name, storage=StorageUrl.parse(storage).open())
    assert counted(study.get_trials()) >= 8
    assert not list((tmp_path / "artifacts").glob("checkpoints/**/*.pt"))  # all removed at the end


@pytest.mark.parametrize("signals, code, reason, workers", [
    ((signal.SIGTERM,), 143, "interrupted by SIGTERM after epoch", 1),
    ((signal.SIGINT,), 130, "interrupted by SIGINT after epoch", 1),
    # the second Ctrl-C stops at once ("interrupted (Ctrl-C)"), unless the epoch ended between
    # the two and the first already stopped it ("interrupted by SIGINT after epoch ..."):
    ((signal.SIGINT, signal.SIGINT), 130, "interrupted", 1),
    ((signal.SIGTERM,), 143, "interrupted by SIGTERM after epoch", 2),
], ids=["SIGTERM", "Ctrl-C", "Ctrl-C twice", "SIGTERM to the launcher of 2 workers"])
def test_a_stopped_study_resumes_from_the_interrupted_epoch(signals, code, reason, workers,
                                                           tmp_path):
    storage, name = str(tmp_path / "study.journal"), "resume"
    path = write(tmp_path, budget={"n_trials": 2})
    process = start(path, storage, name, "--workers", str(workers))
    first = wait_for(lambda: running_after_an_epoch(storage, name))
    for signum in signals:
        process.send_signal(signum)
        time.sleep(0.05)
    out, err = process.communicate(timeout=300)
    assert process.returncode == code, err[-2000:]
    assert "Traceback" not in err and "Exception ignored" not in err
    stopped = {r.number: r for r in records(storage, name)}[first.number]
    assert stopped.state == "FAIL" and stopped.stop_reason.startswith(reason)
    assert list((tmp_path / "artifacts").glob("checkpoints/**/*.pt"))  # kept for the resume

    again = start(path, storage, name)  # the same command
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    rs = records(storage, name)
    retries = [r for r in rs if r.number != first.number and r.params == stopped.params
               and r.state == "COMPLETE"]
    assert len(retries) == 1, [(r.number, r.state, r.stop_reason) for r in rs]
    (retry,) = retries
    assert retry.state == "COMPLETE"
    assert [row["epoch"] for row in retry.history.rows] == list(range(1, MAX_EPOCHS + 1))
    assert continued(err, retry.number, stopped.epochs_run)
    assert sum(r.state == "COMPLETE" for r in rs) == 2  # the study's total, reached
    assert not list((tmp_path / "artifacts").glob("checkpoints/**/*.pt"))


def test_workers_meeting_a_new_postgresql_database_all_create_it(postgres_url):
    """Concurrent first use: every process creates the tables at once; all must open it."""
    database = f"plateau_race_{uuid.uuid4().hex[:8]}"
    admin = optuna.storages.RDBStorage(postgres_url).engine
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {database}")
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    code = ("import sys; from search.record.storage import StorageUrl; "
            "StorageUrl.parse(sys.argv[1]).open(); print('opened')")
    try:
        processes = [subprocess.Popen([sys.executable, "-c", code, url], cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(4)]
        results = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0] * 4, [err[-500:] for _, err in results]
        assert all(out.strip() == "opened" for out, _ in results)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
