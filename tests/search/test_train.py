"""The training loop on real data (scikit-learn's digits, a tiny CNN): what one run records."""

from __future__ import annotations

import dataclasses
import math

import pytest

from search.data import load_dataset
from search.data.splits import stratified_split
from search.device import pick_device, seed_everything
from search.record.history import COLUMNS
from search.models import build_model
from search.train import Stop, fit
from tiny import HP

DIGITS_HP = dataclasses.replace(HP, architecture="cnn2d", batch_size=64, lr=0.01)


@pytest.fixture(scope="module")
def splits():
    return stratified_split(load_dataset("digits"), val_fraction=0.2, test_fraction=0.1, seed=0)


def run(splits, hp=DIGITS_HP, epochs=2, on_epoch=lambda history: None, **knobs):
    seed_everything(0)
    knobs = {"width": 8, "depth": 1, **knobs}
    model = build_model("cnn2d", num_classes=10, in_channels=1, dropout=0.0, **knobs)
    return fit(model, splits, hp, max_epochs=epochs, device=pick_device("cpu"),
               objective="val_macro_f1", maximize=True, seed=0, on_epoch=on_epoch)


def test_a_run_records_every_column_per_epoch_and_results_at_the_best_epoch(splits):
    result = run(splits, epochs=3)
    history = result.history
    assert [row["epoch"] for row in history.rows] == [1, 2, 3]
    assert all(set(row) == set(COLUMNS) for row in history.rows)
    assert all(0 <= row["val_accuracy"] <= 1 and row["samples_per_s"] > 0 for row in history.rows)
    values = history.column("val_macro_f1")
    assert result.best_value == max(values)
    assert result.best_epoch == values.index(max(values)) + 1
    assert result.stop_reason == "completed 3 epochs"
    per_class = history.per_class
    assert per_class.epoch == result.best_epoch
    assert per_class.train_counts == splits.train.class_counts().tolist()
    assert per_class.support == splits.val.class_counts().tolist()
    assert sum(map(sum, per_class.confusion_matrix)) == len(splits.val)
    # The test split is scored with the best epoch's weights.
    assert set(result.test) == {"loss", "accuracy", "macro_f1", "balanced_accuracy"}
    assert result.param_count == sum(result.param_counts.values()) > 0


def test_the_same_seed_trains_the_same_run(splits):
    first, second = run(splits), run(splits)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("epoch_time_s", "samples_per_s")}
                          for r in rows]
    assert strip(first.history.rows) == strip(second.history.rows)


def test_a_stop_from_on_epoch_ends_the_run_after_that_epoch(splits):
    result = run(splits, epochs=5, on_epoch=lambda history: Stop("plateau", "flat") if len(
        history.rows) == 2 else None)
    assert len(result.history.rows) == 2
    assert result.stop == Stop("plateau", "flat")
    assert result.stop_reason == "flat"


def test_a_nan_loss_ends_the_run_as_diverged_in_that_epoch(splits):
    # Without batch norm, two ReLU layers' weights multiply up past float32's range within steps.
    result = run(splits, hp=dataclasses.replace(DIGITS_HP, lr=1e20, optimizer="sgd", momentum=0.9),
                 epochs=3, depth=2, width=4, batch_norm=False)
    assert result.stop.kind == "diverged"
    assert result.stop.reason.startswith("diverged at epoch 1: training loss is")
    (row,) = result.history.rows
    assert not math.isfinite(row["train_loss"]) and "val_loss" not in row
    assert result.best_value is None and result.history.per_class is None


def test_cosine_schedule_is_recorded_in_the_lr_column(splits):
    result = run(splits, hp=dataclasses.replace(DIGITS_HP, lr_schedule="cosine"), epochs=3)
    lrs = result.history.column("lr")
    assert lrs[0] == pytest.approx(0.01) and lrs[0] > lrs[1] > lrs[2] > 0
