"""Keep-top-k: a study with ``study.keep_weights: k`` ends with exactly k weights files, those of
its k best completed trials, uploaded to Optuna's artifact store, loadable weights-only, and holding
the best epoch's weights; removal tolerates files already gone; the option is validated."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import torch
from optuna.artifacts import get_all_artifact_meta
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

import run_study
from search.config import study_config_from_mapping
from search.kept_weights import WEIGHTS_ATTR, Kept, load_weights, ranked, remove, stored_weights
from search.record.errors import ConfigError
from search.study import load_splits
from tiny import TINY_STUDY, deep_update


@pytest.fixture(scope="module")
def kept_study(tmp_path_factory):
    """Five one-epoch trials of the tiny study, keeping the weights of the 2 best."""
    folder = tmp_path_factory.mktemp("kept")
    url, artifacts = f"sqlite:///{folder / 'study.db'}", folder / "artifacts"
    study = deep_update(TINY_STUDY, {"study": {"keep_weights": 2},
                                     "budget": {"n_trials": 5, "max_epochs": 1},
                                     "space": {"lr": {"low": 1.0e-3, "high": 3.0e-2, "log": True}}})
    path = folder / "kept.yaml"
    path.write_text(json.dumps(study))  # JSON is YAML
    assert run_study.main(["run", str(path), "--storage", url, "--artifact-dir", str(artifacts),
                           "--skip-checks"]) == 0
    return optuna.load_study(study_name="kept", storage=url), artifacts


def test_exactly_the_k_best_trials_keep_their_weights(kept_study):
    study, artifacts = kept_study
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 5
    best_two = sorted(trials, key=lambda t: (-t.value, t.number))[:2]  # maximize; ties: earlier
    present = [t.number for t in trials
               if (artifacts / t.user_attrs.get(WEIGHTS_ATTR, "-")).is_file()]
    assert present == sorted(t.number for t in best_two)
    # nothing else on disk but the dashboard's history CSVs: the disk stays bounded
    csvs = {meta.artifact_id for t in trials
            for meta in get_all_artifact_meta(t, storage=study._storage)
            if meta.filename.endswith("-history.csv")}
    files = {p.name for p in artifacts.iterdir()}
    assert files == csvs | {t.user_attrs[WEIGHTS_ATTR] for t in best_two}
    names = {m.filename for t in best_two for m in get_all_artifact_meta(t, storage=study._storage)}
    assert {f"trial-{t.number}-weights.pt" for t in best_two} <= names  # listed by the dashboard


def test_kept_weights_load_weights_only_and_are_the_best_epochs(kept_study):
    study, artifacts = kept_study
    trial = study.best_trial
    content = load_weights(artifacts, trial.user_attrs[WEIGHTS_ATTR])
    splits = load_splits(study_config_from_mapping(study.user_attrs["config"], Path("kept.yaml")))
    assert content["classes"] == list(splits.train.classes)
    assert content["in_channels"] == splits.train.x.shape[1]
    raw = torch.load(artifacts / trial.user_attrs[WEIGHTS_ATTR], weights_only=True)
    assert set(raw["model"]) == set(content["model"]) and all(
        v.device.type == "cpu" for v in raw["model"].values())
    assert trial.user_attrs["best_epoch"] == 1  # one epoch: the kept weights are that epoch's


def test_removal_tolerates_missing_files_and_clears_failed_trials(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    (tmp_path / "b").write_bytes(b"x")
    remove(tmp_path, "a")
    remove(tmp_path, "a")  # another worker removed it first: no error
    remove(tmp_path, "never-there")
    assert not (tmp_path / "a").exists()
    study = optuna.create_study(direction="minimize")
    for state, artifact in (("COMPLETE", "b"), ("FAIL", "b"), ("RUNNING", "b"), ("COMPLETE", "a")):
        study.add_trial(create_trial(
            state=TrialState[state], value=0.5 if state == "COMPLETE" else None,
            params={"x": 0.1}, distributions={"x": FloatDistribution(0, 1)},
            user_attrs={WEIGHTS_ATTR: artifact}))
    kept, stray = stored_weights(study.get_trials(), tmp_path)
    # the complete trial with its file kept; the failed one's file removable; the running one left
    # to its worker; the complete one whose file is gone out of the ranking
    assert kept == [Kept(0, 0.5, "b")] and stray == ["b"]


def test_ranking_follows_the_direction_and_ties_go_to_the_earlier_trial():
    entries = [Kept(3, 0.5, "c"), Kept(1, 0.9, "a"), Kept(2, 0.5, "b")]
    assert [k.number for k in ranked(entries, maximize=True)] == [1, 2, 3]
    assert [k.number for k in ranked(entries, maximize=False)] == [2, 3, 1]


@pytest.mark.parametrize("value, expected", [
    (-1, "'study.keep_weights' must be >= 0. Got -1 instead."),
    ("three", "'study.keep_weights' must be an integer. Got 'three' instead."),
    (2.5, "'study.keep_weights' must be an integer. Got 2.5 instead.")])
def test_keep_weights_is_validated(value, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        study_config_from_mapping(deep_update(TINY_STUDY, {"study": {"keep_weights": value}}),
                                  Path("tiny.yaml"))
    assert study_config_from_mapping(TINY_STUDY, Path("tiny.yaml")).keep_weights == 0  # default
