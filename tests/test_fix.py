"""`run_study.py fix` end to end: a real faulty baseline trained by plateau, its fix study trained for
real, the before/after judged against the baseline's re-runs; a real Keras CSVLogger log with the study
file that reproduces its setup; bad input in one line, exit 2, nothing stored."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import warnings

import optuna
import optuna_dashboard
import pytest
import yaml

import run_study
from diagnose.lift_plan import BASELINE, ROLE
from search.record.trial import PINNED, TrialRecord

# The imbalanced baseline: 10:1 clips of four gestures (the smallest class: 10 clips), plain cross
# entropy for 8 epochs: the majority classes are learned, the smallest is never predicted.
IMBALANCED = {
    "study": {"seed": 3, "name": "imb"},
    "data": {"kind": "synthetic_gestures", "num_classes": 4, "clip_length": 4, "frame_size": 16,
             "noise": 0.1, "clutter": 0, "test_fraction": 0.0, "clips_per_class": 100,
             "imbalance_ratio": 10.0, "val_fraction": 0.4, "seed": 3},
    "objective": "val_macro_f1",
    "budget": {"n_trials": 1, "max_epochs": 8},
    "sampler": "random", "pruner": "none", "early_stopping": False,
    "space": {"architecture": "c3d", "lr": 0.001, "batch_size": 16, "dropout": 0.0,
              "weight_decay": 0.0, "optimizer": "adam", "loss": "cross_entropy"},
    "models": {"c3d": {"width": 8, "depth": 2}},
}


# The overfit baseline: 24 noisy training clips a class, a C3D with no dropout and no weight decay for
# 25 epochs: training accuracy 1.0, validation 0.3.
OVERFIT = {
    "study": {"seed": 1, "name": "over"},
    "data": {"kind": "synthetic_gestures", "num_classes": 4, "clips_per_class": 48,
             "clip_length": 4, "frame_size": 16, "noise": 0.6, "clutter": 1, "val_fraction": 0.5,
             "test_fraction": 0.0, "seed": 1},
    "objective": "val_macro_f1",
    "budget": {"n_trials": 1, "max_epochs": 25},
    "sampler": "random", "pruner": "none", "early_stopping": False,
    "space": {"architecture": "c3d", "lr": 0.001, "batch_size": 8, "dropout": 0.0,
              "weight_decay": 0.0, "optimizer": "adam", "loss": "cross_entropy"},
    "models": {"c3d": {"width": 16, "depth": 2}},
}


def fix(*args) -> int:
    return run_study.main(["fix", *map(str, args)])


def fixed(folder, config, budget) -> tuple[str, str, int]:
    """(storage URL, output, exit code) of a baseline study trained from ``config`` and its fix
    study of ``budget`` trials."""
    path = folder / "baseline.yaml"
    path.write_text(yaml.safe_dump(config))
    url = f"sqlite:///{folder / 'fix.db'}"
    assert run_study.main(["run", str(path), "--storage", url, "--skip-checks"]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = fix("--storage", url, "--study", config["study"]["name"], "--budget-trials", budget,
                   "--skip-checks")
    return url, out.getvalue(), code


@pytest.fixture(scope="module")
def imbalanced_fix(tmp_path_factory):
    return fixed(tmp_path_factory.mktemp("imbalanced"), IMBALANCED, 6)


def test_an_overfit_baseline_is_fixed_beyond_its_noise_and_the_label_goes(tmp_path):
    url, out, code = fixed(tmp_path, OVERFIT, 5)
    baseline = TrialRecord.from_frozen_trial(
        optuna.load_study(study_name="over", storage=url).trials[0])
    assert baseline.diagnosis.labels == ("overfit",)
    trials = optuna.load_study(study_name="over-fix", storage=url).trials
    assert [t.user_attrs[ROLE] for t in trials] == [BASELINE, BASELINE, "dropout", "weight_decay",
                                                    "augmentation"]
    reruns = [t.value for t in trials[:2]]
    best = max(trials[2:], key=lambda t: t.value)
    assert code == 0, out
    assert best.value - sum(reruns) / 2 > max(max(reruns) - min(reruns), 1 / 96)  # 96 val clips
    assert "overfit" not in TrialRecord.from_frozen_trial(best).diagnosis.labels
    assert "(overfit gone)" in out


def test_an_imbalanced_baseline_is_fixed_beyond_its_noise_and_the_label_goes(imbalanced_fix):
    url, out, code = imbalanced_fix
    baseline = TrialRecord.from_frozen_trial(
        optuna.load_study(study_name="imb", storage=url).trials[0])
    assert baseline.diagnosis.labels == ("imbalanced",)
    study = optuna.load_study(study_name="imb-fix", storage=url)
    records = {t.number: TrialRecord.from_frozen_trial(t) for t in study.trials}
    roles = {t.number: t.user_attrs.get(ROLE) for t in study.trials}
    assert list(roles.values()) == [BASELINE, BASELINE, "weighted_cross_entropy", "focal_loss",
                                    "resampling", "cost_sensitive"]
    reruns = [records[n] for n, role in roles.items() if role == BASELINE]
    assert all(r.hparams == baseline.hparams for r in reruns)  # pinned: the baseline, re-measured
    assert code == 0, out
    best = max((r for n, r in records.items() if roles[n] != BASELINE), key=lambda r: r.value)
    mean = sum(r.value for r in reruns) / 2
    noise = max(abs(reruns[0].value - reruns[1].value), 1 / 80)  # 80 validation clips
    assert best.value - mean > noise  # what exit 0 claims, recomputed from the storage
    assert "imbalanced" not in best.diagnosis.labels
    assert f"after: trial #{best.number} ({roles[best.number]}): val_macro_f1 {best.value:.4f}" in out
    assert "(imbalanced gone)" in out and out.splitlines()[-1].startswith("lifted: ")
    note = optuna_dashboard.get_note(study)
    assert "## Fix: before and after" in note and out.splitlines()[-1] in note
    stored = study.user_attrs["lift"]  # the numbers judged, kept with the study
    assert stored["improved"] is True and stored["winner"] == best.number
    assert stored["before"] == pytest.approx(mean) and stored["noise"] == pytest.approx(noise)
    assert stored["gone"] == ["imbalanced"]


def test_a_fix_trial_trains_the_baseline_with_that_fix_alone(imbalanced_fix):
    url, _, _ = imbalanced_fix
    study = optuna.load_study(study_name="imb-fix", storage=url)
    base = TrialRecord.from_frozen_trial(
        optuna.load_study(study_name="imb", storage=url).trials[0]).hparams
    focal = next(t for t in study.trials if t.user_attrs.get(ROLE) == "focal_loss")
    stored = TrialRecord.from_frozen_trial(focal).hparams
    assert focal.user_attrs[PINNED]["hparams"] == stored  # trained with what it was pinned to
    assert {k: v for k, v in stored.items() if base.get(k) != v} == {"loss": "focal",
                                                                     "focal_gamma": 2.0}


def test_fixing_again_makes_a_new_study_and_keeps_the_first(imbalanced_fix, capsys):
    url, _, _ = imbalanced_fix
    assert fix("--storage", url, "--study", "imb", "--budget-trials", 3, "--skip-checks") in (0, 1)
    names = optuna.study.get_all_study_names(url)
    assert {"imb", "imb-fix", "imb-fix-2"} <= set(names)
    assert len(optuna.load_study(study_name="imb-fix", storage=url).trials) == 6
    assert len(optuna.load_study(study_name="imb-fix-2", storage=url).trials) == 3
    assert "left out: focal_loss (over the budget)" in capsys.readouterr().out


@pytest.fixture(scope="module")
def keras_log(tmp_path_factory):
    """A real Keras CSVLogger log: a small Dense net on the digits, plain SGD at 3e-3 for 8 epochs:
    it underfits (training accuracy about 0.1)."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.003), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    csv = tmp_path_factory.mktemp("keras") / "log.csv"
    with warnings.catch_warnings():  # keras' torch backend vs numpy 2's __array__(copy=...)
        warnings.simplefilter("ignore", DeprecationWarning)
        model.fit(x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]), epochs=8,
                  batch_size=64, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(csv))])
    return csv


# The study file that reproduces the log's setup in plateau: the digits, plain SGD at 3e-3, batch 64.
KERAS_STUDY = {
    "study": {"name": "digits-sgd", "seed": 0},
    "data": {"kind": "digits", "val_fraction": 0.33, "test_fraction": 0.0, "seed": 0},
    "objective": "val_accuracy", "budget": {"n_trials": 1, "max_epochs": 3},
    "sampler": "random", "pruner": "none", "early_stopping": False,
    "space": {"architecture": "cnn2d", "lr": 0.003, "batch_size": 64, "dropout": 0.0,
              "weight_decay": 0.0, "optimizer": "sgd", "momentum": 0.0, "loss": "cross_entropy"},
    "models": {"cnn2d": {"width": 16, "depth": 1, "batch_norm": False}}}


def test_a_keras_log_is_fixed_in_the_study_file_that_reproduces_it(keras_log, tmp_path, capsys):
    path = tmp_path / "digits-sgd.yaml"
    path.write_text(yaml.safe_dump(KERAS_STUDY))
    url = f"sqlite:///{tmp_path / 'fix.db'}"
    code = fix(keras_log, "--study-file", path, "--storage", url, "--budget-trials", 4,
               "--skip-checks")
    out = capsys.readouterr().out
    logged = max(float(line.split(",")[3]) for line in keras_log.read_text().splitlines()[1:])
    assert f"before: {keras_log} (underfit): val_accuracy {logged:.4f}" in out  # the log's best
    trials = optuna.load_study(study_name="digits-sgd-fix", storage=url).trials
    assert [t.user_attrs[ROLE] for t in trials] == [BASELINE, BASELINE, "capacity",
                                                    "optimizer_and_batch_size"]
    pinned = [t.user_attrs[PINNED]["hparams"] for t in trials]
    assert [(p["optimizer"], p["lr"], p["batch_size"], p["cnn2d.width"]) for p in pinned] == [
        ("sgd", 0.003, 64, 16), ("sgd", 0.003, 64, 16), ("sgd", 0.003, 64, 32),  # the log's
        ("adam", 0.003, 16, 16)]  # the fix's first optimizer and batch size
    # plain SGD at 3e-3 for 3 epochs is stuck; Adam is not: the gain is far beyond the noise
    assert code == 0, out
    assert out.splitlines()[-1].startswith("lifted: optimizer_and_batch_size gained")


def exit_code(args) -> int:
    """The command's exit status, whether it returned it or argparse exited with it."""
    try:
        return fix(*args)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("args, message", [
    (["--storage", "{url}", "--study", "x"], "no study named 'x'"),
    (["--study", "x"], "give --storage URL --study NAME"),
    (["{tmp}/log.csv"], "give a LOG with --study-file"),
    (["--storage", "{url}", "--study", "imb", "--trial", "7"], "no trial 7"),
    (["--storage", "{url}", "--study", "imb", "--budget-trials", "2"],
     "--budget-trials must be at least 3"),
    (["{tmp}/log.csv", "--study-file", "{tmp}/none.yaml"], "none.yaml"),
])
def test_bad_input_is_one_line_and_exit_2_and_stores_nothing(args, message, imbalanced_fix,
                                                             tmp_path, capsys):
    url, _, _ = imbalanced_fix
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, \
            sqlite3.connect(tmp_path / "fix.db") as target:
        source.backup(target)
    copy = f"sqlite:///{tmp_path / 'fix.db'}"
    before = set(optuna.study.get_all_study_names(copy))
    (tmp_path / "log.csv").write_text("epoch,loss\n0,1.0\n")
    assert exit_code([a.format(tmp=tmp_path, url=copy) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert set(optuna.study.get_all_study_names(copy)) == before
