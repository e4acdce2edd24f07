"""Metric names of Keras, Lightning and TensorBoard logs, mapped onto plateau's history columns.

Every tool spells the same curve differently (``val_acc``, ``val/accuracy``, ``Accuracy/val``,
``train_loss_epoch``, a Keras ``epoch_loss`` tag in a ``validation/`` folder). One table of patterns
reads them all, so each loader only says where values sit in its file, never what a name means.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from search.record.errors import LogError
from search.record.history import COLUMNS, LogSource

# Split words, as prefixes (``val_loss``), suffixes (``loss/val``) or folder names (``validation/``).
SPLITS: Mapping[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val",
}

# Metric words -> (plateau metric, rank): among names filling the same column, the lowest rank wins,
# so a log with both ``accuracy`` and ``sparse_categorical_accuracy`` reads the plain one.
METRICS: Mapping[str, tuple[str, int]] = {
    "loss": ("loss", 0),
    "accuracy": ("accuracy", 0),
    "acc": ("accuracy", 0),
    "sparse_categorical_accuracy": ("accuracy", 1),
    "categorical_accuracy": ("accuracy", 1),
    "binary_accuracy": ("accuracy", 1),
    "precision": ("precision", 0),  # Keras' Precision() and Recall(): of the positive class
    "recall": ("recall", 0),
    # Keras' F1Score(): one value per class by default, written by CSVLogger as "[0.7, 0.1, 0.0]"
    # (keras.py reads it as per-class columns f1_0, f1_1, ... and their mean, the macro-F1)
    "f1_score": ("f1", 0),
}

# Lightning's suffixes for ``self.log(..., on_step=True, on_epoch=True)``.
VARIANTS: tuple[str, ...] = ("epoch", "step")

CSV_EXPECTED = ("expected Keras CSVLogger columns (epoch, loss, accuracy, val_loss, val_accuracy) or a "
                "Lightning metrics.csv (epoch, step, train_loss_epoch, val_loss, val_acc, ...)")

# Old Keras names: a log using them is reported as format "keras_legacy".
LEGACY_NAMES: frozenset[str] = frozenset({"acc", "val_acc"})

_SPLIT = "|".join(sorted(SPLITS, key=len, reverse=True))
_METRIC = "|".join(sorted(METRICS, key=len, reverse=True))
_SEP = r"[_/.\-]"
_VARIANT = rf"(?:_(?P<variant>{'|'.join(VARIANTS)}))?"
_NUMBERED = r"(?:_\d+)?"  # Keras numbers a second metric of one kind: precision_1, val_recall_2

# (pattern, what it reads, whether the TensorBoard step is the 0-based epoch). Tried in order on the
# lower-cased name; the first match wins. "metric" patterns name the metric and maybe the split.
PATTERNS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(pattern), kind, step_is_epoch) for pattern, kind, step_is_epoch in (
        (r"^epoch$", "epoch", False),  # Keras' and Lightning's epoch column (0-based)
        (r"^(?:step|global_step)$", "step", False),  # Lightning's step column
        # lr, learning_rate, Lightning's LearningRateMonitor lr-Adam, lr-SGD/pg1
        (r"^(?:lr|learning_rate)(?:-[a-z0-9_]+)?(?:/pg\d+)?$", "lr", False),
        (r"^epoch_(?:lr|learning_rate)$", "lr", True),  # Keras' TensorBoard tag
        (rf"^(?P<split>{_SPLIT}){_SEP}(?P<metric>{_METRIC}){_NUMBERED}{_VARIANT}$", "metric",
         False),  # val_loss
        (rf"^(?P<metric>{_METRIC}){_SEP}(?P<split>{_SPLIT})$", "metric", False),  # Loss/val
        (rf"^epoch_(?P<metric>{_METRIC})$", "metric", True),  # Keras' TensorBoard tags: split = folder
        (rf"^(?P<metric>{_METRIC}){_NUMBERED}{_VARIANT}$", "metric", False),  # Keras loss: training
    ))


@dataclass(frozen=True)
class Name:
    """What a log's column or tag holds."""

    column: str  # the plateau column it fills: train_loss, val_accuracy, lr, epoch or step
    variant: str = ""  # "epoch", "step" (Lightning's on_epoch / on_step suffix) or ""
    rank: int = 0  # among names filling the same column, the lowest rank is preferred
    source: str = ""  # the name as written in the log
    step_is_epoch: bool = False  # its TensorBoard step is the 0-based epoch (Keras' epoch_* tags)


def parse_name(name: str, default_split: str = "train") -> Name | None:
    """The plateau column ``name`` fills, or None when plateau does not use it.

    ``default_split`` is the split of names that carry none (Keras ``loss``; ``epoch_loss`` in a
    TensorBoard ``validation/`` folder)."""
    for pattern, kind, step_is_epoch in PATTERNS:
        match = pattern.match(name.strip().lower())
        if match is None:
            continue
        if kind != "metric":
            return Name(kind, source=name, step_is_epoch=step_is_epoch)
        groups = match.groupdict()
        metric, rank = METRICS[groups["metric"]]
        split = SPLITS[groups["split"]] if groups.get("split") else default_split
        return Name(f"{split}_{metric}", groups.get("variant") or "", rank, name, step_is_epoch)
    return None


def split_of_folder(folder: str) -> str | None:
    """The split a TensorBoard sub-folder holds (Keras writes ``train/`` and ``validation/``)."""
    return SPLITS.get(folder.lower())


def classify(names: Iterable[str], default_split: str = "train") -> tuple[dict[str, Name], list[str]]:
    """The names plateau reads (name -> ``Name``) and the ones it ignores, in the given order."""
    known: dict[str, Name] = {}
    ignored: list[str] = []
    for name in names:
        parsed = parse_name(name, default_split)
        if parsed is None:
            ignored.append(name)
        else:
            known[name] = parsed
    return known, ignored


def index_of(header: list[str], known: Mapping[str, Name], column: str) -> int | None:
    """The position in ``header`` of the first name filling ``column`` (``epoch``, ``step``), if any."""
    return next((i for i, name in enumerate(header) if name in known and known[name].column == column),
                None)


def has_metrics(names: Iterable[Name]) -> bool:
    """Whether any name is a loss or an accuracy (an ``epoch`` or ``lr`` column alone is no curve)."""
    return any(n.column.endswith(("_loss", "_accuracy")) for n in names)


def require_metrics(path: Path, names: list[str], known: Mapping[str, Name]) -> None:
    """A one-line ``LogError`` unless some column of a CSV log is a loss or an accuracy."""
    if not has_metrics(known.values()):
        raise LogError(f"{path}: no loss or accuracy column found (columns: {', '.join(names)}); "
                       f"{CSV_EXPECTED}.")


def preferred(candidates: Iterable[Name]) -> list[Name]:
    """Names filling the same column, best first: plain alias before variants, ``_epoch`` before
    ``_step`` before no suffix (Lightning's epoch aggregate is the value it reports for the epoch)."""
    order = {"epoch": 0, "step": 1, "": 2}
    return sorted(candidates, key=lambda n: (n.rank, order[n.variant]))


def column_order(column: str) -> tuple[int, str]:
    """Sort key putting a row's columns in plateau's order (``COLUMNS``), unknown ones after."""
    return (COLUMNS.index(column) if column in COLUMNS else len(COLUMNS), column)


def accuracy_out_of_range(name: str, value: float) -> bool:
    """Whether ``value``, logged under ``name``, is an accuracy no fraction or percentage can be
    (below 0 or above 100; NaN is left to the rules): such a log is refused, not diagnosed."""
    if 0.0 <= value <= 100.0 or math.isnan(value):  # the usual case first: no name parsing
        return False
    parsed = parse_name(name)
    return parsed is not None and parsed.column.endswith("_accuracy")


def scale_percent(rows: list[dict[str, float | None]], source: LogSource) -> None:
    """Accuracies logged in percent (some value above 1) become fractions, in place. (The CSV
    loaders refuse accuracies outside [0, 100] as they read them: ``accuracy_out_of_range``.)"""
    columns = {c for row in rows for c in row if c.endswith("accuracy")}
    values = [v for row in rows for c in columns if (v := row.get(c)) is not None and math.isfinite(v)]
    if not values or max(values) <= 1.0 or max(values) > 100.0:
        return
    for row in rows:
        for c in columns & row.keys():
            value = row[c]
            if value is not None:
                row[c] = value / 100.0
    source.accuracy_scale = "percent"
