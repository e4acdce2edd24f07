"""``run_study.py ensemble``: on a real study of digits that kept its 3 best trials' weights, every
number it reports is recomputed here independently (plain torch forward passes, numpy votes,
scikit-learn metrics); each member's scores are its trial's stored best-epoch scores (the right
weights were kept); the study note gets one ensemble section; bad inputs are one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import optuna
import optuna_dashboard
import pandas
import pytest
import torch
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from sklearn.metrics import accuracy_score, f1_score

import run_study
from search import ensemble
from search.config import study_config_from_mapping
from search.device import pick_device
from search.kept_weights import WEIGHTS_ATTR
from search.models import build_model
from search.record.storage import StorageUrl
from search.study import load_splits

DIGITS = {"study": {"seed": 0, "keep_weights": 3},
          "data": {"kind": "digits", "val_fraction": 0.3, "test_fraction": 0.3, "seed": 0},
          "budget": {"n_trials": 4, "max_epochs": 2},
          "sampler": {"name": "random"}, "pruner": "none", "early_stopping": False,
          "space": {"architecture": "cnn2d", "lr": {"low": 2.0e-2, "high": 8.0e-2, "log": True},
                    "batch_size": 64, "optimizer": "adam"},
          "models": {"cnn2d": {"width": 8, "depth": 1, "batch_norm": True}}}


@pytest.fixture(scope="module")
def digits_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    url = f"sqlite:///{folder / 'study.db'}"
    (folder / "digits.yaml").write_text(json.dumps(DIGITS))
    assert run_study.main(["run", str(folder / "digits.yaml"), "--storage", url, "--artifact-dir",
                           str(folder / "artifacts"), "--skip-checks"]) == 0
    return url, optuna.load_study(study_name="digits", storage=url), folder / "artifacts"


@pytest.fixture(scope="module")
def reported(digits_study):
    url, _, _ = digits_study
    return run_study.main(["ensemble", "--storage", url, "--study", "digits", "--top-k", "3"])


def member_outputs(trial, artifacts, splits):
    """The trial's softmax outputs on val and test, from its weights file, by plain torch."""
    content = torch.load(artifacts / trial.user_attrs[WEIGHTS_ATTR], weights_only=True)
    hp = trial.user_attrs["hparams"]
    knobs = {key.split(".", 1)[1]: value for key, value in hp.items() if key.startswith("cnn2d.")}
    model = build_model("cnn2d", num_classes=10, in_channels=1, dropout=hp["dropout"], **knobs)
    model.load_state_dict(content["model"])
    model.eval()
    with torch.no_grad():
        return {split: torch.softmax(model(torch.from_numpy(part.x).float() / 255), 1).numpy()
                for split, part in (("val", splits.val), ("test", splits.test))}


def vote(outputs):
    """Majority vote by counting, ties to the tied class of the largest summed probability."""
    predictions = []
    for i in range(len(outputs[0])):
        counts = np.bincount([o[i].argmax() for o in outputs], minlength=outputs[0].shape[1])
        tied = np.flatnonzero(counts == counts.max())
        predictions.append(tied[np.argmax(sum(o[i] for o in outputs)[tied])])
    return np.array(predictions)


def test_members_and_ensembles_are_scored_as_recomputed_independently(digits_study, reported):
    url, study, artifacts = digits_study
    assert reported == 0
    stored = optuna.load_study(study_name="digits", storage=url).user_attrs[ensemble.ENSEMBLE_ATTR]
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    best = sorted(complete, key=lambda t: (-t.value, t.number))[:3]
    assert stored["members"] == [t.number for t in best] and stored["skipped"] == []
    splits = load_splits(study_config_from_mapping(study.user_attrs["config"], Path("digits.yaml")))
    outputs = [member_outputs(t, artifacts, splits) for t in best]
    labels = {"val": splits.val.y, "test": splits.test.y}
    expected = {}
    for trial, out in zip(best, outputs):
        expected[f"trial #{trial.number}"] = {s: out[s].argmax(1) for s in labels}
    expected[ensemble.VOTE] = {s: vote([o[s] for o in outputs]) for s in labels}
    expected[ensemble.AVERAGE] = {s: np.mean([o[s] for o in outputs], 0).argmax(1) for s in labels}
    for row, by_split in expected.items():
        for split, y_pred in by_split.items():
            scores = stored["scores"][row]
            assert scores[f"{split} accuracy"] == pytest.approx(
                accuracy_score(labels[split], y_pred), abs=1e-9)
            assert scores[f"{split} macro-F1"] == pytest.approx(f1_score(
                labels[split], y_pred, labels=range(10), average="macro", zero_division=0),
                abs=1e-9)
    table = pandas.DataFrame.from_dict(stored["scores"], orient="index")
    members = table.loc[[f"trial #{t.number}" for t in best]]
    for name in (ensemble.VOTE, ensemble.AVERAGE):
        assert (table.loc[f"gain of the {name}"] - (table.loc[name] - members.max())).abs().max() \
            < 1e-12


def test_each_member_scores_what_its_trial_stored_at_its_best_epoch(digits_study, reported):
    url, study, _ = digits_study
    scores = optuna.load_study(study_name="digits", storage=url).user_attrs["ensemble"]["scores"]
    members = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
               if f"trial #{t.number}" in scores]
    assert len(members) == 3
    for trial in members:
        row, attrs = scores[f"trial #{trial.number}"], trial.user_attrs
        best_epoch = attrs["history"]["rows"][attrs["best_epoch"] - 1]
        columns = attrs["history"]["columns"]
        assert row["val accuracy"] == pytest.approx(best_epoch[columns.index("val_accuracy")])
        assert row["val macro-F1"] == pytest.approx(trial.value)
        assert row["test accuracy"] == pytest.approx(attrs["test"]["accuracy"])
        assert row["test macro-F1"] == pytest.approx(attrs["test"]["macro_f1"])


def test_the_study_note_gets_one_ensemble_section(digits_study, reported):
    url, study, _ = digits_study
    note = optuna_dashboard.get_note(study)
    assert note.count(ensemble.NOTE_HEADING) == 1 and "| majority vote" in note
    other = optuna.create_study(study_name="noted", storage=url)  # a note with sections after it
    optuna_dashboard.save_note(other, f"# Study noted\n\nfirst\n\n{ensemble.NOTE_HEADING}\n\nold"
                                      f"\n\n## What to try next\n\nlast\n")
    result = ensemble.Ensemble("noted", [], [], {}, pandas.DataFrame(), 3)
    ensemble.publish(other, result, study.user_attrs[ensemble.ENSEMBLE_ATTR]["note"])
    note = optuna_dashboard.get_note(other)
    assert note.count(ensemble.NOTE_HEADING) == 1 and "old" not in note
    assert note.index("first") < note.index("last") < note.index(ensemble.NOTE_HEADING)


def test_bad_inputs_are_one_line_and_exit_2(digits_study, capsys, tmp_path):
    url, study, artifacts = digits_study
    cases = {"no study named 'nope'": ["--study", "nope"],
             "must be at least 2": ["--study", "digits", "--top-k", "1"]}
    never = optuna.create_study(study_name="never", storage=url)
    never.set_user_attr("config", {**DIGITS, "study": {"seed": 0}})
    cases["kept no weights; run it with study.keep_weights: 3"] = ["--study", "never"]
    one = optuna.create_study(study_name="one", storage=url, direction="maximize")
    one.set_user_attr("config", DIGITS)
    one.set_user_attr("artifact_dir", str(tmp_path))
    kept = study.best_trial.user_attrs[WEIGHTS_ATTR]
    shutil.copy(artifacts / kept, tmp_path / kept)
    for value, artifact in ((0.9, kept), (0.95, "removed-since")):
        one.add_trial(create_trial(value=value, params={"x": 0.1},
                                   distributions={"x": FloatDistribution(0, 1)},
                                   user_attrs={**study.best_trial.user_attrs,
                                               WEIGHTS_ATTR: artifact}))
    cases["has 1 trial(s) with kept weights"] = ["--study", "one"]
    for expected, args in cases.items():
        capsys.readouterr()
        assert run_study.main(["ensemble", "--storage", url, *args]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1, err


def test_asking_for_more_members_than_were_kept_says_which_were_skipped(digits_study):
    url, study, artifacts = digits_study
    result = ensemble.build(study, ensemble.stored_config(study, StorageUrl.parse(url)), 5,
                            pick_device("cpu"))
    removed = [t.number for t in study.get_trials(states=(TrialState.COMPLETE,))
               if not (artifacts / t.user_attrs[WEIGHTS_ATTR]).is_file()]
    assert len(result.members) == 3 and result.skipped == removed and len(removed) == 1
    text = ensemble.markdown(result)
    assert "5 asked, fewer kept" in text and f"Skipped: #{removed[0]} (weights file removed" in text
