"""Per-class results from a predictions file: a CSV with ``y_true`` and ``y_pred`` columns.

A training log has no per-class numbers, so the imbalance rule cannot judge it; the validation
predictions give them, computed by ``search.record.measures`` as every per-class result plateau shows
(numpy: scikit-learn's import alone takes over a second and a half). Labels are class indices
(``0..k-1``) or class names; other columns (probabilities, ids) are ignored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from diagnose.loaders.csvfile import Table, read_table
from search.record.errors import LogError
from search.record.history import PerClass
from search.record.measures import per_class_results

REQUIRED = ("y_true", "y_pred")
WHAT = "a predictions CSV with columns y_true,y_pred (class indices or names, one row per example)"


def load_per_class(path: Path, class_names: Sequence[str] | None = None) -> PerClass:
    """Precision, recall, F1, support and the confusion matrix of the predictions in ``path``."""
    path = Path(path)
    table = read_table(path, WHAT)
    missing = [c for c in REQUIRED if c not in table.header]
    if missing:
        raise LogError(f"{path}: no {' or '.join(missing)} column (columns: "
                       f"{', '.join(table.header)}); give {WHAT}.")
    labels = {c: table.column(c) for c in REQUIRED}
    for column, values in labels.items():
        for i, value in enumerate(values):
            if value == "":
                raise LogError(f"{path}: line {table.lines[i]} has no {column} value; every row needs "
                               f"both y_true and y_pred.")
    classes, codes = _encode(table, labels["y_true"] + labels["y_pred"], class_names)
    n = len(table.rows)
    return per_class_results(codes[:n], codes[n:], classes)


def _encode(table: Table, labels: list[str], class_names: Sequence[str] | None
            ) -> tuple[list[str], np.ndarray]:
    """Class names and each label's index. Integer labels are indices; other labels are names."""
    rows = len(table.rows)

    def where(i: int) -> str:
        return f"{table.path}: line {table.lines[i % rows]}, {REQUIRED[i // rows]}"

    numbers = [_as_number(label) for label in labels]
    if all(n is not None for n in numbers):
        for i, n in enumerate(numbers):
            if n is None or not math.isfinite(n) or n != int(n) or n < 0:
                raise LogError(f"{where(i)}: label '{labels[i]}' is not a class index (a whole number "
                               f"from 0); give class indices or class names, not scores.")
        indices = np.array([int(n) for n in numbers if n is not None], dtype=np.int64)
        k = len(class_names) if class_names is not None else int(indices.max()) + 1
        if indices.max() >= k:
            i = int(np.argmax(indices >= k))
            raise LogError(f"{where(i)}: label {indices[i]} is out of range for the {k} classes "
                           f"expected ({', '.join(class_names or [])}); labels must be 0..{k - 1}.")
        return list(class_names) if class_names is not None else [str(c) for c in range(k)], indices
    if any(n is not None for n in numbers) and class_names is None:
        i = next(i for i, n in enumerate(numbers) if n is not None)
        raise LogError(f"{where(i)}: label '{labels[i]}' is a number but other labels are names; "
                       f"use class indices or class names throughout.")
    names = list(class_names) if class_names is not None else sorted(set(labels))
    index = {name: c for c, name in enumerate(names)}
    for i, label in enumerate(labels):
        if label not in index:
            raise LogError(f"{where(i)}: unknown class '{label}'; the classes are {', '.join(names)}.")
    return names, np.array([index[label] for label in labels], dtype=np.int64)


def _as_number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None
