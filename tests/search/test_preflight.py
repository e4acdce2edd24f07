"""Preflight checks on real models and real (tiny) data: each check fails on a setup broken in exactly
its way, and every check passes on a sound one."""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

import run_study
from search.config import load_study_config
from search.data.labeled import LabeledArrays
from search.device import pick_device
from search.preflight import CHECKS, IMBALANCE_RATIO, failures_error, run_checks
from search.study import load_splits
from tiny import Replace

# Factories of a small MLP on digits (8x8, one channel), each broken in one way but "sound".
MODELS = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, outputs, scale=1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, outputs))
        self.scale = scale

    def forward(self, x):
        return self.body(x) * self.scale


class Spare(Net):  # a layer that forward never uses
    def __init__(self, outputs):
        super().__init__(outputs)
        self.spare = nn.Linear(4, 4)


class Detached(Net):  # the output cut off from every parameter
    def forward(self, x):
        return self.body(x).detach()


class Nan(Net):  # a log of a negative number in forward
    def forward(self, x):
        return self.body(x) + torch.log(x.flatten(1)[:, :1] - 2)


class Blind(nn.Module):  # the logits ignore the input: one batch cannot be fitted
    def __init__(self, outputs):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(outputs) * 0.3)

    def forward(self, x):
        return self.bias.expand(len(x), -1)


def sound(num_classes):
    return Net(num_classes)


def head_128(num_classes):  # a guide's sample: a 128-way head whatever the classes
    return Net(128)


def frozen(num_classes):
    net = Net(num_classes)
    net.requires_grad_(False)
    return net


def spare(num_classes):
    return Spare(num_classes)


def detached(num_classes):
    return Detached(num_classes)


def nan(num_classes):
    return Nan(num_classes)


def loud(num_classes):  # large logits at init: overconfident from the first step
    return Net(num_classes, scale=100.0)


def blind(num_classes):
    return Blind(num_classes)
'''

DIGITS = {"data": Replace(kind="digits", val_fraction=0.2, test_fraction=0.0, seed=0),
          "space": {"architecture": "preflight_models:sound", "batch_size": 16, "lr": 0.01,
                    "optimizer": "adam", "dropout": 0.0, "loss": "cross_entropy"},
          "models": ...}


@pytest.fixture
def digits_study(write_study, tmp_path, monkeypatch):
    (tmp_path / "preflight_models.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))

    def study(architecture: str = "sound"):
        return write_study({**DIGITS, "space": {**DIGITS["space"],
                                                "architecture": f"preflight_models:{architecture}"}})
    return study


def checks(path, splits=None):
    config = load_study_config(path)
    results = run_checks(config, splits or load_splits(config), pick_device("cpu"))
    return {r.name: r for r in results}


def test_a_sound_setup_passes_every_check(digits_study):
    results = checks(digits_study())
    assert list(results) == list(CHECKS)
    assert all(r.passed and not r.warning for r in results.values()), results
    assert results["head_size"].detail == "10 outputs for 10 classes"
    assert failures_error(list(results.values())) is None


# (factory, the check that fails, what its line says); the checks after a failed head, output or
# gradient check are not run.
BROKEN_MODELS = [
    ("head_128", "head_size", "128 outputs for 10 classes"),
    ("nan", "finite_outputs", "NaN or infinite"),
    ("loud", "initial_loss", "outside 1/2x to 2x"),
    ("frozen", "gradients", "no parameter trains: all 4 are frozen"),
    ("detached", "gradients", "the output depends on none of the 4 trainable parameters"),
    ("spare", "gradients", "2 of 6 trainable parameters got no gradient (spare.weight, spare.bias)"),
    ("blind", "overfit_one_batch", "in 300 steps (needs 90%"),
]


@pytest.mark.parametrize("factory, check, says", BROKEN_MODELS, ids=[b[0] for b in BROKEN_MODELS])
def test_each_model_check_fails_on_a_model_broken_its_way(digits_study, factory, check, says):
    results = checks(digits_study(factory))
    failed = [name for name, r in results.items() if not r.passed and not r.warning]
    assert failed == [check]
    assert says in results[check].detail
    error = str(failures_error(list(results.values())))
    assert error.splitlines()[1] == f"{check}: {results[check].detail}: {CHECKS[check].fix}"


def replace_train(path, change):
    splits = load_splits(load_study_config(path))
    return dataclasses.replace(splits, train=change(splits.train))


def test_nan_inputs_fail_before_any_model_sees_them(digits_study):
    def with_nan(train):
        x = train.x.astype(np.float32) / 255
        x[:, :, 0, 0] = np.nan
        return LabeledArrays(x, train.y, train.classes)

    path = digits_study()
    results = checks(path, replace_train(path, with_nan))
    assert not results["inputs"].passed and "NaN or infinite" in results["inputs"].detail
    assert "head_size" not in results  # no model is checked on such a batch


def test_raw_pixel_values_are_not_normalised(digits_study):
    path = digits_study()
    results = checks(path, replace_train(path, lambda t: LabeledArrays(
        t.x.astype(np.float32), t.y, t.classes)))  # 0-255 floats: to_input leaves them as they are
    assert not results["inputs"].passed and "not normalised" in results["inputs"].detail


def test_shuffled_labels_have_no_signal_though_one_batch_is_still_memorised(digits_study):
    path = digits_study()
    shuffled = replace_train(path, lambda t: LabeledArrays(
        t.x, np.random.default_rng(1).permutation(t.y), t.classes))
    results = checks(path, shuffled)
    assert results["overfit_one_batch"].passed  # why the overfit check cannot catch them
    signal = results["label_signal"]
    assert signal.warning and not signal.passed and "no association" in signal.detail
    assert checks(path)["label_signal"].passed  # the same data with its own labels


def test_labels_out_of_range_and_missing_classes_fail(digits_study):
    path = digits_study()
    moved = replace_train(path, lambda t: LabeledArrays(t.x, np.where(t.y == 3, 10, t.y),
                                                        t.classes))
    results = checks(path, moved)
    assert not results["labels_in_range"].passed
    outside = int(np.sum(moved.train.y == 10))
    assert results["labels_in_range"].detail == f"{outside} train labels outside [0, 10)"
    assert not results["classes_present"].passed
    assert results["classes_present"].detail.endswith("have no training example: 3")
    assert "inputs" not in results  # nothing is trained on labels the loss cannot take


def test_a_large_imbalance_is_a_warning_with_the_fixes(digits_study):
    path = digits_study()

    def imbalanced(train):
        keep = np.flatnonzero((train.y != 0) | (np.arange(len(train.y)) % 20 == 0))
        return train.subset(keep)

    result = checks(path, replace_train(path, imbalanced))["class_balance"]
    assert result.warning and result.passed
    assert f">= {IMBALANCE_RATIO:g}" in result.detail and "weighted_cross_entropy" in result.detail


def test_check_command_prints_a_line_per_check_and_exits_0(write_study, capsys):
    assert run_study.main(["check", str(write_study())]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("ok overfit_one_batch: c3d: loss fell") for line in out), out
    assert sum(line.startswith("ok head_size: ") for line in out) == 2  # c3d and convlstm


def test_check_and_run_exit_2_on_a_failure_and_store_nothing(digits_study, tmp_path, capsys):
    path = digits_study("head_128")
    assert run_study.main(["check", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "run_study.py: error: 1 preflight check failed (--skip-checks starts anyway):"
    assert err[1].startswith("head_size: 128 outputs for 10 classes")
    db = tmp_path / "run.db"
    assert run_study.main(["run", str(path), "--storage", f"sqlite:///{db}", "--n-trials",
                           "1", "--max-epochs", "1"]) == 2
    assert not db.exists()
    # --skip-checks starts it anyway, and the 128-way head fails the trial the check foretold
    assert run_study.main(["run", str(path), "--storage", f"sqlite:///{db}", "--n-trials", "1",
                           "--max-epochs", "1", "--skip-checks"]) == 1
    assert sqlite3.connect(db).execute("select count(*) from trials").fetchone() == (1,)


def test_bad_input_to_check_is_one_line(write_study, tmp_path, capsys):
    assert run_study.main(["check", str(tmp_path / "nope.yaml")]) == 2
    assert run_study.main(["check", str(write_study({"data": Replace(kind="image_folder"),
                                                        "space": {"architecture": "cnn2d"},
                                                        "models": ...})),
                           "--data-root", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "study file not found" in err[0] and "does not exist" in err[1]
