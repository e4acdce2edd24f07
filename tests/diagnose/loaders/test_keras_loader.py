"""Keras CSVLogger files: a real Keras 3 run, old-Keras names, the DeepDiagnosis logs, and bad input."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable

import pytest

from diagnose.loaders.keras import load_keras
from search.record.errors import LogError

EXTERNAL = Path(__file__).parents[2] / "fixtures" / "external" / "deepdiagnosis"
KERAS_TO_PLATEAU = {"loss": "train_loss", "accuracy": "train_accuracy", "val_loss": "val_loss",
                    "val_accuracy": "val_accuracy"}


def _rewrite(source: Path, target: Path, edit: Callable[[list[list[str]]], list[list[str]]],
             delimiter: str = ",") -> Path:
    with source.open(newline="") as f:
        rows = list(csv.reader(f))
    with target.open("w", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(edit(rows))
    return target


def _rename(names: dict[str, str]) -> Callable[[list[list[str]]], list[list[str]]]:
    return lambda rows: [[names.get(c, c) for c in rows[0]], *rows[1:]]


def _scale(columns: tuple[str, ...], factor: float) -> Callable[[list[list[str]]], list[list[str]]]:
    def edit(rows: list[list[str]]) -> list[list[str]]:
        idx = [rows[0].index(c) for c in columns]
        return [rows[0]] + [[repr(float(v) * factor) if i in idx else v for i, v in enumerate(r)]
                            for r in rows[1:]]
    return edit


def _add_columns(extra: dict[str, list[str]]) -> Callable[[list[list[str]]], list[list[str]]]:
    return lambda rows: [rows[0] + list(extra)] + [
        r + [values[i] for values in extra.values()] for i, r in enumerate(rows[1:])]


def _reverse_columns(rows: list[list[str]]) -> list[list[str]]:
    return [r[::-1] for r in rows]


def _drop_epoch(rows: list[list[str]]) -> list[list[str]]:
    return [r[1:] for r in rows]


def test_reads_the_numbers_keras_reported(keras_run):
    history = load_keras(keras_run.csv)
    assert history.source.format == "keras" and history.source.ignored_columns == []
    assert history.column("epoch") == [1, 2, 3]  # Keras' 0-based epochs, stored 1-based
    for keras_name, column in KERAS_TO_PLATEAU.items():
        assert history.column(column) == pytest.approx(keras_run.history[keras_name], rel=1e-12)


# (case, how the real Keras 3 file is rewritten, delimiter, expected format, expected LogSource
# fields)
VARIANTS = [
    # Keras 3 cannot write old Keras' names: this is the Keras-3 run's file with the header renamed
    # to Keras <= 2.2's layout (epoch,acc,loss,val_acc,val_loss).
    ("legacy acc/val_acc", _rename({"accuracy": "acc", "val_accuracy": "val_acc"}), ",", "keras_legacy",
     {}),
    ("semicolon separator", lambda rows: rows, ";", "keras", {}),
    ("tab separator", lambda rows: rows, "\t", "keras", {}),
    ("columns in another order", _reverse_columns, ",", "keras", {}),
    ("no epoch column", _drop_epoch, ",", "keras", {}),
    ("percent accuracy", _scale(("accuracy", "val_accuracy"), 100.0), ",", "keras",
     {"accuracy_scale": "percent"}),
    ("sparse_categorical_accuracy names",
     _rename({"accuracy": "sparse_categorical_accuracy",
              "val_accuracy": "val_sparse_categorical_accuracy"}),
     ",", "keras", {}),
    ("extra columns", _add_columns({"learning_rate": ["0.001"] * 3, "grad_norm": ["1", "2", "3"]}), ",",
     "keras", {"ignored_columns": ["grad_norm"]}),
]


@pytest.mark.parametrize("case, edit, delimiter, fmt, facts", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_layout_variants_read_the_same_numbers(keras_run, tmp_path, case, edit, delimiter, fmt, facts):
    history = load_keras(_rewrite(keras_run.csv, tmp_path / "log.csv", edit, delimiter))
    assert history.source.format == fmt
    assert facts.items() <= vars(history.source).items()
    assert history.column("epoch") == [1, 2, 3]
    for keras_name, column in KERAS_TO_PLATEAU.items():
        assert history.column(column) == pytest.approx(keras_run.history[keras_name], rel=1e-12)


def test_epochs_without_validation_are_missing_values(keras_run):
    """Keras' CSVLogger writes "NA" for the epochs ``validation_freq`` skips."""
    assert "NA" in keras_run.sparse_csv.read_text()
    history = load_keras(keras_run.sparse_csv)
    assert history.column("train_loss") == pytest.approx(keras_run.sparse_history["loss"], rel=1e-12)
    val_loss = keras_run.sparse_history["val_loss"]  # Keras' History has validated epochs only
    assert history.column("val_loss") == [None, pytest.approx(val_loss[0]), None]


def test_plain_accuracy_is_preferred_over_metric_variants(keras_run, tmp_path):
    edit = _add_columns({"sparse_categorical_accuracy": ["0.9"] * 3,
                         "val_binary_accuracy": ["0.8"] * 3})
    history = load_keras(_rewrite(keras_run.csv, tmp_path / "log.csv", edit))
    assert history.column("train_accuracy") == pytest.approx(keras_run.history["accuracy"])
    assert history.column("val_accuracy") == pytest.approx(keras_run.history["val_accuracy"])


def test_learning_rate_column_is_read(keras_run, tmp_path):
    edit = _add_columns({"lr": ["0.01", "0.005", "0.001"]})
    history = load_keras(_rewrite(keras_run.csv, tmp_path / "log.csv", edit))
    assert history.column("lr") == [0.01, 0.005, 0.001]


@pytest.mark.parametrize("name", sorted(p.name for p in EXTERNAL.glob("*.csv")))
def test_deepdiagnosis_logs_without_epoch_column(name):
    path = EXTERNAL / name
    with path.open(newline="") as f:
        expected = list(csv.DictReader(f))
    history = load_keras(path)
    assert history.column("epoch") == list(range(1, len(expected) + 1))
    for keras_name, column in KERAS_TO_PLATEAU.items():
        assert history.column(column) == [float(r[keras_name]) for r in expected]
    assert "row order" in history.source.epochs_from


def test_single_epoch_log():
    history = load_keras(EXTERNAL / "motivating_31880720_gradient_vanish.csv")
    assert history.rows == [{"epoch": 1, "train_loss": 7.666619300842285, "train_accuracy": 0.5,
                             "val_loss": 7.666619300842285, "val_accuracy": 0.5}]


def test_nan_and_inf_are_kept_as_evidence_of_divergence(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,accuracy,val_loss,val_accuracy\n0,2.3,0.1,2.2,0.1\n1,inf,0.1,nan,0.1\n"
                    "2,nan,0.1,NaN,0.1\n3,-inf,,,\n")
    history = load_keras(path)
    assert history.column("train_loss")[1] == math.inf and math.isnan(history.column("train_loss")[2])
    assert math.isnan(history.column("val_loss")[1]) and history.column("train_loss")[3] == -math.inf
    assert "val_loss" not in history.rows[3]  # an empty cell is a missing value, not a zero


# (case, file bytes or None for no file, words the one-line message must hold)
BAD = [
    ("missing", None, ["no such file"]),
    ("empty", b"", ["is empty"]),
    ("blank lines only", b"\n \n", ["is empty"]),
    ("header only", b"epoch,loss,accuracy,val_loss,val_accuracy\n", ["no rows", "epoch, loss"]),
    ("binary with NUL bytes", bytes(range(256)) * 4, ["binary"]),
    ("not UTF-8", "epoch,loss\n0,\u00e9\u00e9\n".encode("latin-1"), ["binary"]),
    ("no loss or accuracy column", b"step,foo,bar\n0,1,2\n", ["no loss or accuracy column", "foo, bar",
                                                              "CSVLogger"]),
    ("a cell is not a number", b"epoch,loss\n0,1.0\n1,oops\n", ["line 3", "'loss'", "oops"]),
    ("a row is too long", b"epoch,loss\n0,1.0,7\n", ["line 2", "3 values"]),
    ("a fractional epoch", b"epoch,loss\n0.5,1.0\n", ["line 2", "'epoch'", "whole number"]),
]


@pytest.mark.parametrize("case, content, words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_log_error(tmp_path, case, content, words):
    path = tmp_path / "log.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LogError) as error:
        load_keras(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message


def test_per_class_f1_scores_are_read_as_columns_and_their_mean(tmp_path):
    """A real Keras 3 run with F1Score() (one score per class), logged by CSVLogger: each class's
    score becomes val_f1_<k>, and their mean val_macro_f1, exactly as Keras reported them."""
    import os
    import warnings

    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy", keras.metrics.F1Score()])
    onehot = keras.utils.to_categorical(y, 10)
    log = tmp_path / "log.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        fit = model.fit(x[:300] / 16, onehot[:300], validation_data=(x[300:500] / 16, onehot[300:500]),
                        epochs=2, batch_size=64, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(log))])
    history = load_keras(log)
    reported = np.array([np.asarray(v, dtype=float) for v in fit.history["val_f1_score"]])
    for k in range(10):
        assert history.column(f"val_f1_{k}") == pytest.approx(reported[:, k], abs=1e-7)
    assert history.column("val_macro_f1") == pytest.approx(reported.mean(axis=1), abs=1e-7)
    assert history.column("train_macro_f1") == pytest.approx(
        [np.mean(np.asarray(v, dtype=float)) for v in fit.history["f1_score"]], abs=1e-7)
