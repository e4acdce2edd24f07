"""A trial's end as scalar user attributes, which optuna-dashboard can filter and sort trials on.

The full history stays in the ``history`` attribute (and the CSV artifact); these are its last epoch,
the diagnosis labels and the facts people sort by. Non-finite numbers are left out: JSON has none.
"""

from __future__ import annotations

import math
from typing import Any

from diagnose.findings import Diagnosis
from diagnose.verdict import labels_text
from search.history import History

FINAL_COLUMNS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_macro_f1")


def last_finite(history: History, column: str) -> float | None:
    """The column's value at the last epoch that has a finite one."""
    for row in reversed(history.rows):
        value = row.get(column)
        if value is not None and math.isfinite(value):
            return value
    return None


def generalization_gap(history: History) -> float | None:
    """Training minus validation accuracy at the last epoch that has both (positive: overfitting)."""
    for row in reversed(history.rows):
        train, val = row.get("train_accuracy"), row.get("val_accuracy")
        if train is not None and val is not None and math.isfinite(train) and math.isfinite(val):
            return train - val
    return None


def trial_attrs(history: History, diagnosis: Diagnosis) -> dict[str, Any]:
    """``diagnosis`` (the labels, comma-separated), ``final_<column>``, ``generalization_gap``,
    ``epochs_run``, and ``stop_reason`` / ``param_count`` when the history has them."""
    attrs: dict[str, Any] = {"diagnosis": labels_text(diagnosis)}
    for column in FINAL_COLUMNS:
        value = last_finite(history, column)
        if value is not None:
            attrs[f"final_{column}"] = round(value, 6)
    gap = generalization_gap(history)
    if gap is not None:
        attrs["generalization_gap"] = round(gap, 6)
    attrs["epochs_run"] = len(history.rows)
    for fact in ("stop_reason", "param_count"):
        if fact in history.facts:
            attrs[fact] = history.facts[fact]
    return attrs
