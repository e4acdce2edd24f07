"""The study files in studies/: each seed setup runs 1 trial x 1 epoch, through the command line, on a
tiny copy of its dataset in the layout the real one is published in (tests/published_layouts.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import optuna
import pytest
import yaml

import published_layouts
import run_study
from search.data import DATASETS
from search.record.trial import TrialRecord

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "studies"

# study file -> (fixture writer, the architecture knobs the trial must have searched)
SEED_STUDIES: dict[str, tuple[Callable[[Path], Path], set[str]]] = {
    "wlasl_convlstm.yaml": (published_layouts.wlasl,
                            {"convlstm.hidden_channels", "convlstm.num_layers",
                             "convlstm.kernel_size", "convlstm.stem"}),
    "jester_c3d.yaml": (published_layouts.jester, {"c3d.width", "c3d.depth"}),
    "hmdb51_r2plus1d_attention.yaml": (
        published_layouts.hmdb51,
        {"r2plus1d_attention.blocks", "r2plus1d_attention.latents", "r2plus1d_attention.layers",
         "r2plus1d_attention.heads", "r2plus1d_attention.hidden"}),
    "vehicles_cnn.yaml": (lambda root: published_layouts.vehicles(root, per_class=(8, 6)), set()),
}


def test_every_study_file_is_tested():
    assert {path.name for path in STUDIES.glob("*.yaml")} - {"demo.yaml", "digits.yaml"} == set(
        SEED_STUDIES)


@pytest.mark.parametrize("name", SEED_STUDIES)
def test_seed_study_runs_one_trial_on_its_published_layout(name, tmp_path, monkeypatch):
    make_fixture, knobs = SEED_STUDIES[name]
    root = make_fixture(tmp_path / "dataset")
    monkeypatch.setenv("PLATEAU_CACHE", str(tmp_path / "cache"))
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    code = run_study.main(["run", str(STUDIES / name), "--data-root", str(root), "--storage",
                           storage, "--n-trials", "1", "--max-epochs", "1"])
    assert code == 0
    (trial,) = optuna.load_study(study_name=Path(name).stem, storage=storage).trials
    assert trial.state is optuna.trial.TrialState.COMPLETE
    assert knobs <= set(trial.params)
    record = TrialRecord.from_frozen_trial(trial)
    assert len(record.history.rows) == 1
    counts = record.class_counts
    assert sum(counts["train"]) > 0 and sum(counts["val"]) > 0
    assert any(Path(tmp_path / "cache").rglob("*.npy")) == (name != "vehicles_cnn.yaml")


@pytest.mark.parametrize("name", SEED_STUDIES)
def test_a_missing_data_root_is_one_line_naming_what_belongs_there(name, tmp_path, capsys):
    code = run_study.main(["run", str(STUDIES / name), "--data-root", str(tmp_path / "nowhere"),
                           "--storage", f"sqlite:///{tmp_path / 'study.db'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    kind = yaml.safe_load((STUDIES / name).read_text())["data"]["kind"]
    assert "nowhere" in err and DATASETS[kind].layout in err  # what to put there
    assert not (tmp_path / "study.db").exists()


@pytest.mark.parametrize("name, remove, expected", [
    ("wlasl_convlstm.yaml", "WLASL_v0.3.json", "WLASL_v0.3.json"),
    ("jester_c3d.yaml", "20bn-jester-v1", "20bn-jester-v1"),
    ("hmdb51_r2plus1d_attention.yaml", "testTrainMulti_7030_splits/catch_test_split1.txt",
     "catch_test_split1.txt"),
    ("vehicles_cnn.yaml", "images", "images/"),
])
def test_a_wrongly_laid_out_root_names_the_expected_file(name, remove, expected, tmp_path, capsys,
                                                         monkeypatch):
    root = SEED_STUDIES[name][0](tmp_path / "dataset")
    monkeypatch.setenv("PLATEAU_CACHE", str(tmp_path / "cache"))
    target = root / remove
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        target.rmdir()
    else:
        target.unlink()
    code = run_study.main(["run", str(STUDIES / name), "--data-root", str(root), "--storage",
                           f"sqlite:///{tmp_path / 'study.db'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and expected in err
    assert not (tmp_path / "study.db").exists()
