"""The history's stored form (plain JSON that round-trips, NaN and infinities included) and its
DataFrame form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from search.record.history import COLUMNS, History, PerClass, decode_float, encode_float, objective_column


@pytest.mark.parametrize("value, encoded", [
    (0.5, 0.5), (np.float32(0.25), 0.25), (3, 3.0), (None, None),
    (math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"),
])
def test_floats_encode_to_plain_json_and_back(value, encoded):
    assert encode_float(value) == encoded
    assert type(encode_float(value)) in (float, str, type(None))
    back = decode_float(encoded)
    if value is not None and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == (None if value is None else float(value))


def make_history() -> History:
    rows = [{"epoch": 1, "train_loss": 2.0, "val_loss": 1.9, "val_accuracy": 0.3, "lr": 0.01},
            {"epoch": 2, "train_loss": math.nan, "lr": 0.01, "custom": 7.0}]
    per_class = PerClass(classes=["a", "b"], precision=[1.0, 0.5], recall=[0.5, 1.0],
                         f1=[0.67, 0.67], support=[2, 1], confusion_matrix=[[1, 1], [0, 1]],
                         train_counts=[8, 4], epoch=1)
    return History(rows, per_class)


def test_rows_round_trip_through_strict_json():
    history = make_history()
    text = json.dumps(history.rows_to_json(), allow_nan=False)  # raises if a NaN slipped through
    back = History.rows_from_json(json.loads(text))
    assert back[0] == history.rows[0]
    assert math.isnan(back[1]["train_loss"]) and "val_loss" not in back[1]
    assert back[1]["custom"] == 7.0
    per_class = json.loads(json.dumps(history.per_class.to_json(), allow_nan=False))
    assert PerClass.from_json(per_class) == history.per_class


def test_stored_columns_follow_the_documented_order_then_extras():
    stored = make_history().rows_to_json()
    assert stored["format"] == 1
    known = [c for c in stored["columns"] if c in COLUMNS]
    assert known == [c for c in COLUMNS if c in known]
    assert stored["columns"][-1] == "custom"
    assert stored["rows"][1][stored["columns"].index("train_loss")] == "NaN"


def test_column_reads_one_metric_with_gaps():
    assert make_history().column("val_loss") == [1.9, None]


def test_a_history_of_another_format_is_refused():
    with pytest.raises(ValueError, match="format 99 is not supported"):
        History.rows_from_json({"format": 99, "columns": [], "rows": []})


def test_a_frame_has_one_row_per_epoch_and_the_stored_columns():
    history = make_history()
    frame = history.to_frame()
    assert list(frame.columns) == history.columns() == history.rows_to_json()["columns"]
    assert len(frame) == 2 and frame["val_loss"].isna().tolist() == [False, True]
    assert frame.loc[0, "val_accuracy"] == 0.3


def test_a_frame_converts_back_to_the_rows_without_missing_cells():
    history = History([{"epoch": 1, "train_loss": 2.0, "val_loss": 1.9},
                       {"epoch": 2, "train_loss": 1.5}])
    back = History.from_frame(history.to_frame(), history.per_class)
    assert back.rows == history.rows
    assert type(back.rows[0]["epoch"]) is int
    assert History.from_frame(History().to_frame()).rows == []


@pytest.mark.parametrize("stored, column", [
    ("val macro-F1", "val_macro_f1"), ("val accuracy", "val_accuracy"), ("val loss", "val_loss"),
    ("val balanced accuracy", "val_balanced_accuracy"),
    ("val_macro_f1", "val_macro_f1"),  # as studies stored it before the dashboard names
    ("Objective 0", None), (None, None), ("val_macro_F1", None),
])
def test_objective_column_reads_the_dashboard_name_and_the_column_name(stored, column):
    assert objective_column(stored) == column
