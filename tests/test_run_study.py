"""`run_study.py run` end to end: real training, a real SQLite / PostgreSQL / journal storage, and a
fresh process reading what was stored."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from pathlib import Path

import optuna
import pytest

import run_study
from search.record.history import COLUMNS
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord
from conftest import server_url
from tiny import Replace, deep_update, raise_after_first_epoch

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> int:
    return run_study.main(["run", *map(str, args)])


def read_back_in_fresh_process(storage: str, study_name: str) -> list[dict]:
    """What another process, with no file of the run around, reads from the storage alone."""
    code = textwrap.dedent(f"""
        import json, optuna
        from search.record.storage import StorageUrl
        from search.record.trial import study_records
        storage = StorageUrl.parse({storage!r}).open()
        study = optuna.load_study(study_name={study_name!r}, storage=storage)
        out = []
        for r in study_records(study):
            h = r.history
            out.append({{"number": r.number, "state": r.state, "value": r.value,
                         "rows": h.rows, "per_class": h.per_class and h.per_class.to_json(),
                         "record": r.user_attrs()}})
        print(json.dumps(out))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout)


def test_study_stores_every_epoch_of_every_trial_for_another_process(write_study, sqlite_url,
                                                                      capsys):
    assert run(write_study(), "--storage", sqlite_url) == 0
    captured = capsys.readouterr()
    assert "Best trial #" in captured.out and f"run_study.py dashboard --storage {sqlite_url}" in captured.out
    assert captured.out.count("completed 2 epochs") == 3
    # Not a terminal: plain progress lines, one per epoch and one per finished trial.
    err = captured.err.splitlines()
    assert sum(line.startswith("  #") and " epoch " in line for line in err) == 6
    finished = [line for line in err if line.startswith("trial ") and "COMPLETE" in line]
    assert [line.split(" (#")[0] for line in finished] == [
        "trial 1 of 3", "trial 2 of 3", "trial 3 of 3"]
    assert all("best so far" in line for line in finished)

    trials = read_back_in_fresh_process(sqlite_url, "tiny")
    assert [t["state"] for t in trials] == ["COMPLETE"] * 3
    for t in trials:
        assert [row["epoch"] for row in t["rows"]] == [1, 2]
        assert set(COLUMNS) <= set(t["rows"][0])
        assert t["value"] == max(row["val_macro_f1"] for row in t["rows"])
        cm = t["per_class"]["confusion_matrix"]
        assert len(cm) == 3 and sum(map(sum, cm)) == sum(t["per_class"]["support"])
        assert sum(t["per_class"]["train_counts"]) + sum(t["per_class"]["support"]) == 36
        assert t["record"]["stop_reason"] == "completed 2 epochs"
        assert t["record"]["param_count"] > 0 and t["record"]["epochs_run"] == 2
        assert t["record"]["hparams"]["architecture"] in ("c3d", "convlstm")
        labels = t["record"]["diagnosis_detail"]["labels"]  # stored as the trial ended
        assert t["record"]["diagnosis"] == (", ".join(labels) or "not judged")
    study = optuna.load_study(study_name="tiny", storage=sqlite_url)
    assert study.metric_names == ["val macro-F1"]  # what optuna-dashboard shows
    assert study.user_attrs["config"]["data"]["kind"] == "synthetic_gestures"


def test_command_line_overrides_the_study_file(write_study, sqlite_url):
    assert run(write_study(), "--storage", sqlite_url, "--n-trials", 2, "--max-epochs", 1,
               "--study-name", "renamed", "--seed", 7) == 0
    study = optuna.load_study(study_name="renamed", storage=sqlite_url)
    assert len(study.trials) == 2
    assert all(t.user_attrs["epochs_run"] == 1 for t in study.trials)
    assert study.user_attrs["config"]["study"]["seed"] == 7
    assert study.user_attrs["config"]["budget"]["max_epochs"] == 1


def test_running_again_resumes_to_the_total_and_n_trials_runs_more(write_study, sqlite_url,
                                                                   capsys):
    path = write_study({"budget": {"n_trials": 2, "max_epochs": 1}})
    assert run(path, "--storage", sqlite_url, "--n-trials", 1) == 0  # one now, of the two
    assert run(path, "--storage", sqlite_url) == 0  # the same command again: the one missing
    capsys.readouterr()
    assert run(path, "--storage", sqlite_url) == 0  # the total is reached: nothing to run
    assert "2 trials in all (2 complete); 0 run now." in capsys.readouterr().out
    assert run(path, "--storage", sqlite_url, "--n-trials", 2) == 0  # two more, whatever the total
    study = optuna.load_study(study_name="tiny", storage=sqlite_url)
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    assert all(t.state.name == "COMPLETE" for t in study.trials)


def test_a_study_with_another_objective_is_not_continued(write_study, sqlite_url, capsys):
    assert run(write_study({"budget": {"n_trials": 1, "max_epochs": 1}}), "--storage",
               sqlite_url) == 0
    other = write_study({"objective": "val_accuracy"}, name="tiny")
    assert run(other, "--storage", sqlite_url) == 2
    assert "optimises val macro-F1 (maximize)" in capsys.readouterr().err
    assert len(optuna.load_study(study_name="tiny", storage=sqlite_url).trials) == 1


# The tiny study on scikit-learn's digits with a 2D CNN without batch norm: without normalisation a
# huge learning rate overflows to inf/NaN within a few steps, and a near-zero one leaves it flat.
DIGITS = {
    "data": Replace(kind="digits", val_fraction=0.2, seed=0),
    "space": {"architecture": "cnn2d", "optimizer": "sgd", "dropout": 0.0, "loss": "cross_entropy",
              "batch_size": 128},
    "models": Replace(cnn2d={"width": 4, "depth": 2, "batch_norm": False}),
}


def test_diverging_trial_is_recorded_and_the_study_goes_on(write_study, sqlite_url):
    path = write_study(deep_update(DIGITS, {"space": {"lr": Replace(choices=[0.05, 0.04, 1.0e20])}}))
    study = optuna.create_study(storage=sqlite_url, study_name="tiny", direction="maximize")
    for lr in (1.0e20, 0.05, 0.04):
        study.enqueue_trial({"lr": lr})
    assert run(path, "--storage", sqlite_url) == 0

    trials = read_back_in_fresh_process(sqlite_url, "tiny")
    diverged, *others = trials
    assert diverged["state"] == "FAIL"
    assert diverged["record"]["stop_reason"].startswith("diverged at epoch 1: training loss is")
    assert diverged["record"]["diagnosis"] == "diverged"
    assert len(diverged["rows"]) == 1 and not math.isfinite(diverged["rows"][0]["train_loss"])
    assert [t["state"] for t in others] == ["COMPLETE", "COMPLETE"]
    assert all(len(t["rows"]) == 2 for t in others)


def test_flat_objective_stops_on_plateau_as_complete(write_study, sqlite_url):
    path = write_study(deep_update(DIGITS, {
        "space": {"lr": 1.0e-9},
        "budget": {"n_trials": 1, "max_epochs": 8},
        "early_stopping": {"patience": 2, "warmup_epochs": 0, "min_delta": 0.0}}))
    assert run(path, "--storage", sqlite_url) == 0
    (trial,) = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert trial.state.name == "COMPLETE"
    assert trial.user_attrs["epochs_run"] == 3
    assert trial.user_attrs["stop_reason"].startswith("stopped on plateau at epoch 3")
    assert len(TrialRecord.from_frozen_trial(trial).history.rows) == 3


def test_exception_in_a_trial_is_recorded_and_the_study_goes_on(write_study, sqlite_url,
                                                                monkeypatch):
    import search.objective

    real_fit = search.objective.fit

    def fit_failing_on_trial_one(*args, **kwargs):
        if kwargs["seed"] == 1:  # seed = study seed 0 + trial number
            raise RuntimeError("CUDA error: device-side assert triggered (injected)")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(search.objective, "fit", fit_failing_on_trial_one)
    assert run(write_study({"budget": {"max_epochs": 1}}), "--storage", sqlite_url) == 0
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert trials[1].user_attrs["error"] == ("RuntimeError: CUDA error: device-side assert "
                                             "triggered (injected)")
    assert "Traceback" in trials[1].user_attrs["traceback"]


@pytest.mark.parametrize("kind", ["postgresql", "mysql", "journal"])
def test_other_storages(kind, write_study, tmp_path):
    name = f"plateau-test-{uuid.uuid4().hex[:8]}"
    storage = server_url(kind) if kind != "journal" else str(tmp_path / "journal.log")
    path = write_study({"budget": {"n_trials": 2, "max_epochs": 1}})
    try:
        artifacts = tmp_path / "shared-artifacts"  # the folder every machine would share
        assert run(path, "--storage", storage, "--study-name", name,
                   "--artifact-dir", artifacts) == 0
        trials = read_back_in_fresh_process(storage, name)
        assert [len(t["rows"]) for t in trials] == [1, 1]
        assert len(list(artifacts.iterdir())) == 2  # each trial's history CSV
    finally:
        optuna.delete_study(study_name=name, storage=StorageUrl.parse(storage).open())


def test_timeout_stops_starting_trials(write_study, sqlite_url):
    # Optuna checks the timeout between trials: the first trial runs, no second one starts.
    assert run(write_study({"budget": {"max_epochs": 1}}), "--storage", sqlite_url,
               "--n-trials", 10, "--timeout", 0.01) == 0
    assert len(optuna.load_study(study_name="tiny", storage=sqlite_url).trials) == 1


@pytest.mark.parametrize("sampler, pruner", [("random", "median"), ("cmaes", "hyperband"),
                                             ("gp", "none"), ("tpe", "successive_halving")])
def test_every_sampler_and_pruner_name_runs(sampler, pruner, write_study, sqlite_url):
    path = write_study({"sampler": Replace(name=sampler), "pruner": pruner,
                        "budget": {"n_trials": 2, "max_epochs": 1}})
    assert run(path, "--storage", sqlite_url) == 0
    study = optuna.load_study(study_name="tiny", storage=sqlite_url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]


def test_a_users_own_model_trains_in_a_study(write_study, sqlite_url, tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(
        "from torch import nn\n"
        "def mlp(num_classes, *, in_channels=1, dropout=0.0, hidden: int = 16):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, hidden), nn.ReLU(),\n"
        "                         nn.Dropout(dropout), nn.Linear(hidden, num_classes))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write_study(deep_update(DIGITS, {
        "space": {"architecture": "user_models:mlp", "lr": 0.01},
        "models": Replace({"user_models:mlp": {"hidden": {"choices": [8, 16]}}}),
        "budget": {"n_trials": 2, "max_epochs": 2}}))
    assert run(path, "--storage", sqlite_url) == 0
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert {t.params["user_models:mlp.hidden"] for t in trials} <= {8, 16}
    hidden = trials[0].params["user_models:mlp.hidden"]
    assert trials[0].user_attrs["param_counts"] == {"total": 64 * hidden + hidden + hidden * 10 + 10}


def test_a_study_stored_with_the_column_as_metric_name_is_continued(write_study, sqlite_url):
    study = optuna.create_study(storage=sqlite_url, study_name="tiny", direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_macro_f1"])  # as plateau named it before the dashboard names
    assert run(write_study({"budget": {"n_trials": 1, "max_epochs": 1}}), "--storage",
               sqlite_url) == 0
    study = optuna.load_study(study_name="tiny", storage=sqlite_url)
    assert study.metric_names == ["val macro-F1"] and len(study.trials) == 1


def test_ctrl_c_keeps_the_interrupted_trials_epochs_and_exits_130(write_study, sqlite_url,
                                                                  monkeypatch, capsys):
    raise_after_first_epoch(monkeypatch, trial_number=1, error=KeyboardInterrupt())
    assert run(write_study(), "--storage", sqlite_url) == 130
    assert "finished trials are kept in the storage" in capsys.readouterr().err
    first, second = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert (first.state.name, second.state.name) == ("COMPLETE", "FAIL")
    record = TrialRecord.from_frozen_trial(second)
    assert record.stop_reason == "interrupted (Ctrl-C)" and record.epochs_run == 1
    assert record.diagnosis is None and record.error is None  # diagnosed when read, like older ones


def test_an_error_the_second_ctrl_c_causes_where_it_lands_is_that_ctrl_c(write_study, sqlite_url,
                                                                          monkeypatch, capsys):
    """The second Ctrl-C may land inside a storage call, whose clean-up then raises something else
    (a journal file's lock half taken: FileNotFoundError on release): the trial is interrupted, to
    resume, not failed."""
    def twice_then_lock_error(history):
        os.kill(os.getpid(), signal.SIGINT)  # the first: stop after this epoch
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the second: now
            time.sleep(5)
        except KeyboardInterrupt:
            raise FileNotFoundError(2, "No such file or directory", "study.journal.lock") from None

    raise_after_first_epoch(monkeypatch, trial_number=0, error=None, then=twice_then_lock_error)
    assert run(write_study(), "--storage", sqlite_url) == 130
    (trial,) = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    record = TrialRecord.from_frozen_trial(trial)
    assert trial.state.name == "FAIL" and record.stop_reason == "interrupted (Ctrl-C)"
    assert record.error is None and "Traceback" not in capsys.readouterr().err


def test_continuing_a_study_never_repeats_a_parameter_set(write_study, sqlite_url):
    path = write_study({"budget": {"n_trials": 3, "max_epochs": 1}})
    assert run(path, "--storage", sqlite_url) == 0
    assert run(path, "--storage", sqlite_url, "--n-trials", 3) == 0  # three more, in a new process
    trials = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == 6, params  # a sampler seeded once would replay trials 0-2


def test_a_repeated_parameter_set_is_not_trained_again(write_study, sqlite_url):
    fixed = {"architecture": "c3d", "lr": 0.01, "dropout": 0.0, "optimizer": "adam",
             "loss": "cross_entropy"}  # nothing to search: every trial proposes the same set
    assert run(write_study({"space": fixed, "budget": {"n_trials": 3, "max_epochs": 1}}),
               "--storage", sqlite_url) == 0
    first, *repeats = optuna.load_study(study_name="tiny", storage=sqlite_url).trials
    assert TrialRecord.from_frozen_trial(first).epochs_run == 1
    for trial in repeats:
        record = TrialRecord.from_frozen_trial(trial)
        assert record.epochs_run == 0 and trial.value == first.value  # Optuna's FAQ: value reused
        assert record.stop_reason == "same parameters as trial #0 (complete): its value is reused"


def test_a_run_in_which_every_trial_failed_exits_1_with_the_commonest_reason(
        write_study, sqlite_url, monkeypatch, capsys):
    import search.objective

    def failing_fit(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access (injected)")

    monkeypatch.setattr(search.objective, "fit", failing_fit)
    assert run(write_study({"budget": {"n_trials": 2, "max_epochs": 1}}), "--storage",
               sqlite_url) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("run_study.py: error: all 2 trials of this run failed; the commonest reason "
                       "(2 of 2): failed: RuntimeError: CUDA error: an illegal memory access "
                       "(injected)")


def test_out_of_memory_fails_the_trial_with_its_batch_size_and_rules_out_larger_ones(
        write_study, sqlite_url, tmp_path, monkeypatch):
    # A model whose forward pass runs out of memory above 32 examples, as a GPU of too little
    # memory does: CUDA's own error type, raised by the model itself.
    (tmp_path / "memory_models.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Hungry(nn.Module):\n"
        "    def __init__(self, num_classes):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, num_classes))\n"
        "    def forward(self, x):\n"
        "        if len(x) > 32:\n"
        "            raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')\n"
        "        return self.net(x)\n"
        "def hungry(num_classes, *, in_channels=1, dropout=0.0):\n"
        "    return Hungry(num_classes)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write_study(deep_update(DIGITS, {
        "space": {"architecture": "memory_models:hungry", "lr": 0.01,
                  "batch_size": Replace(choices=[16, 64, 128])},
        "models": ..., "budget": {"n_trials": 3, "max_epochs": 1}}))
    study = optuna.create_study(storage=sqlite_url, study_name="tiny", direction="maximize")
    for batch_size in (64, 128, 16):
        study.enqueue_trial({"batch_size": batch_size})
    assert run(path, "--storage", sqlite_url) == 0
    oom, larger, fits = (TrialRecord.from_frozen_trial(t) for t in
                         optuna.load_study(study_name="tiny", storage=sqlite_url).trials)
    assert (oom.state, oom.stop_reason) == ("FAIL", "out of memory at batch size 64")
    assert oom.error.startswith("OutOfMemoryError: CUDA out of memory")
    assert larger.state == "PRUNED" and larger.epochs_run == 0
    assert larger.stop_reason == ("batch size 128 not tried: trial #0 of this model ran out of "
                                  "memory at batch size 64")
    assert fits.state == "COMPLETE" and fits.epochs_run == 1
