"""The command line's contract for bad input: exit code 2, one line on stderr, nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import run_study
from invalid_studies import INVALID

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("changes", [c for c, _ in INVALID.values()], ids=INVALID.keys())
def test_invalid_study_exits_2_with_one_line_and_creates_no_storage(changes, write_study, tmp_path,
                                                                    capsys):
    db = tmp_path / "never.db"
    code = run_study.main(["run", str(write_study(changes)), "--storage", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("run_study.py: error: ")
    assert not db.exists()


def test_bad_data_folder_exits_2_before_any_storage_is_created(write_study, tmp_path, capsys):
    empty = tmp_path / "vehicles"
    empty.mkdir()
    path = write_study({"data": {"kind": "image_folder", "root": str(empty), "num_classes": ...,
                                 "clips_per_class": ..., "clip_length": ..., "frame_size": ...,
                                 "noise": ...},
                        "space": {"architecture": "cnn2d"}, "models": ...})
    db = tmp_path / "never.db"
    assert run_study.main(["run", str(path), "--storage", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and err.count("\n") == 1
    assert not db.exists()


def test_an_artifact_folder_that_cannot_be_made_exits_2_before_any_storage(write_study, tmp_path,
                                                                          capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    db = tmp_path / "never.db"
    assert run_study.main(["run", str(write_study()), "--storage", f"sqlite:///{db}",
                           "--artifact-dir", str(blocker / "artifacts")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "artifact folder" in err and "--artifact-dir" in err
    assert not db.exists()


def test_bad_storage_exits_2_and_leaves_an_existing_file_untouched(write_study, tmp_path, capsys):
    sqlite_file = tmp_path / "results.db"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + bytes(100))
    before = sqlite_file.read_bytes()
    assert run_study.main(["run", str(write_study()), "--storage", str(sqlite_file)]) == 2
    assert "sqlite:///" in capsys.readouterr().err
    assert sqlite_file.read_bytes() == before


@pytest.mark.parametrize("args, fragment", [
    (["run", "--n-trials", "0"], "argument --n-trials: must be a positive integer. Got 0"),
    (["run", "--timeout", "-5"], "argument --timeout: must be a positive number"),
    (["run", "--max-epochs", "x"], "argument --max-epochs: invalid positive_int value: 'x'"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_usage_errors_are_one_line(args, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        run_study.main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert fragment in err and err.count("\n") == 1


def test_a_real_process_exits_2_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {kind: digits}\nspace: {architecture: cnn2d, lr: -1}\n")
    result = subprocess.run([sys.executable, "run_study.py", "run", str(bad), "--storage",
                             f"sqlite:///{tmp_path / 'x.db'}"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr == (f"run_study.py: error: {bad}: 'space.lr' must be > 0. "
                             f"Got -1.0 instead.\n")
    assert result.stdout == "" and not (tmp_path / "x.db").exists()


def test_help_documents_every_run_option():
    result = subprocess.run([sys.executable, "run_study.py", "run", "--help"], cwd=REPO,
                            capture_output=True, text=True, check=True)
    for option in ["--n-trials", "--timeout", "--max-epochs", "--storage", "--study-name",
                   "--data-root", "--seed", "--device"]:
        assert option in result.stdout
    top = subprocess.run([sys.executable, "run_study.py", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert "run" in top.stdout and "studies/demo.yaml" in top.stdout


def test_an_artifact_folder_that_exists_but_cannot_be_written_exits_2_before_any_storage(
        write_study, tmp_path, capsys):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    as_root = os.geteuid() == 0  # root writes through permissions; an immutable folder stops it
    if as_root and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("needs chattr (ext2/3/4) to make a folder root cannot write")
    if not as_root:
        folder.chmod(0o500)
    try:
        db = tmp_path / "never.db"
        assert run_study.main(["run", str(write_study()), "--storage", f"sqlite:///{db}",
                               "--artifact-dir", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be written" in err and "--artifact-dir" in err
        assert not db.exists() and list(folder.iterdir()) == []
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o700)


@pytest.mark.parametrize("study_file, says", [
    ("studies", "is a folder (demo.yaml, digits.yaml"),
    ("no/such.yaml", "study file not found"),
], ids=["a folder", "missing"])
def test_a_study_file_that_is_not_a_file_says_what_it_is(study_file, says, capsys):
    assert run_study.main(["run", str(REPO / study_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err


def test_output_cut_short_by_its_reader_ends_quietly():
    """`diagnose LOG | head -1`: the reader goes away after a line; no traceback, exit 0."""
    log = REPO / "tests" / "fixtures" / "external" / "deepdiagnosis" / "blob_config_random_22eb8478.csv"
    done = subprocess.run(f"{sys.executable} run_study.py diagnose {log} | head -c 10; "
                          f"exit ${{PIPESTATUS[0]}}", shell=True, executable="/bin/bash",
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stderr == "" and done.returncode == 0
    assert len(done.stdout) == 10
