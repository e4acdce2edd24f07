"""A full disk stops the run in one line (exit 2) and loses nothing: the trial that met it ends as
interrupted, keeps its checkpoint, and continues from its last saved epoch when the same command runs
again. Real full disks: a small tmpfs filled to its last byte (mounting one needs root, as on CI)."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest
import torch

import run_study
from search import disk
from search.record.trial import TrialRecord
from tiny import raise_after_first_epoch


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                      capture_output=True).returncode:
        pytest.skip("needs root, to mount a small tmpfs to fill")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its disk refuses a single byte; the filler file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as file:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    file.write(bytes(size))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.parametrize("exc, full", [
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
    (OSError(errno.EACCES, "Permission denied"), False),
    (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0"), False),
])
def test_what_counts_as_a_full_disk(exc, full):
    assert disk.is_disk_full(exc) is full


def test_a_checkpoint_on_a_full_disk_is_the_oserror_with_its_file_and_leaves_nothing(small_disk):
    fill(small_disk)
    path = small_disk / "trial-0.pt"
    with pytest.raises(OSError) as info:
        disk.save({"weights": torch.zeros(1000)}, path)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert not path.exists()


def test_a_full_artifact_folder_is_refused_before_the_first_trial(small_disk, write_study,
                                                                  sqlite_url, capsys):
    fill(small_disk)
    assert run_study.main(["run", str(write_study()), "--storage", sqlite_url,
                           "--artifact-dir", str(small_disk / "artifacts")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "make room" in err
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_a_full_disk_in_a_trial_stops_the_run_and_the_trial_is_kept_to_resume(
        write_study, sqlite_url, monkeypatch, capsys):
    full = OSError(errno.ENOSPC, "No space left on device", "/data/artifacts/x.csv")
    raise_after_first_epoch(monkeypatch, trial_number=1, error=full)
    path = write_study({"budget": {"n_trials": 3, "max_epochs": 2}})
    assert run_study.main(["run", str(path), "--storage", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines()[-1] == (
        "run_study.py: error: no space left on device for '/data/artifacts/x.csv': trial #1 was "
        "stopped and continues from its last saved epoch when the same command runs again; make "
        "room there (or give another --artifact-dir) first.")
    first, second = optuna.load_study(study_name="tiny", storage=sqlite_url).trials  # no third
    assert (first.state.name, second.state.name) == ("COMPLETE", "FAIL")
    record = TrialRecord.from_frozen_trial(second)
    assert record.stop_reason.startswith("interrupted: No space left on device writing")
    assert record.epochs_run == 1

    monkeypatch.undo()  # room again: the same command continues trial 1, then runs trial 2
    assert run_study.main(["run", str(path), "--storage", sqlite_url]) == 0
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    assert trials[2].params == second.params
    assert trials[2].system_attrs["retry_history"] == [1]


def test_a_disk_that_fills_during_training_stops_the_run_in_one_line_and_resumes(
        small_disk, write_study, sqlite_url, capsys):
    path = write_study({"budget": {"n_trials": 2, "max_epochs": 8}})
    artifacts = small_disk / "artifacts"
    first_checkpoint = artifacts / "checkpoints" / "tiny" / "trial-0.pt"
    filled: list[Path] = []

    def fill_after_first_epoch():
        deadline = time.monotonic() + 120
        while not first_checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        filled.append(fill(small_disk))

    watcher = threading.Thread(target=fill_after_first_epoch, daemon=True)
    watcher.start()
    code = run_study.main(["run", str(path), "--storage", sqlite_url,
                           "--artifact-dir", str(artifacts)])
    watcher.join()
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[-1].startswith("run_study.py: error: no space left on device for")
    (trial,) = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    record = TrialRecord.from_frozen_trial(trial)
    assert trial.state.name == "FAIL" and record.stop_reason.startswith("interrupted: No space")
    saved = torch.load(first_checkpoint, weights_only=True)["epoch"]
    assert 1 <= saved < 8

    filled[0].unlink()  # room again
    assert run_study.main(["run", str(path), "--storage", sqlite_url,
                           "--artifact-dir", str(artifacts)]) == 0
    epochs = [line.split()[2] for line in capsys.readouterr().err.splitlines()
              if line.startswith("  #1 epoch")]
    assert epochs[0] == f"{saved + 1}/8"  # the retry's first epoch follows the last saved one
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert not first_checkpoint.exists()


def test_a_full_disk_under_the_sqlite_storage_is_one_line_and_the_file_stays_sound(
        small_disk, write_study, tmp_path, capsys):
    url = f"sqlite:///{small_disk / 'study.db'}"
    path = write_study({"budget": {"n_trials": 1, "max_epochs": 1}})
    command = ["run", str(path), "--storage", url, "--artifact-dir", str(tmp_path / "artifacts")]
    assert run_study.main(command) == 0
    (before,) = optuna.load_study(study_name="tiny", storage=url).trials
    filler = fill(small_disk)
    capsys.readouterr()
    assert run_study.main([*command, "--n-trials", "1"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("run_study.py: error: ") and f"storage '{url}'" in err
    assert "disk is full" in err or "Check that the disk has room" in err
    filler.unlink()
    with sqlite3.connect(small_disk / "study.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    after = optuna.load_study(study_name="tiny", storage=url).trials[0]
    assert (after.state, after.value, after.user_attrs) == (before.state, before.value,
                                                           before.user_attrs)
