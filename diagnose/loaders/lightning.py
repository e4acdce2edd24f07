"""PyTorch Lightning ``CSVLogger`` files (``lightning_logs/version_N/metrics.csv``), and the folding of
step-wise logged values into one row per epoch, which Lightning's TensorBoard logs need too.

Lightning writes one row per ``log_metrics`` call: per-step training values (``train_loss_step``), the
epoch aggregate (``train_loss_epoch``) and validation values (``val_loss``) land on separate rows of
the same 0-based ``epoch``, with empty cells for what a row lacks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from diagnose.loaders.columns import (Name, classify, column_order, has_metrics, index_of, preferred,
                                      require_metrics, scale_percent)
from diagnose.loaders.csvfile import MISSING, Table, parse_float, parse_int, read_table
from search.record.history import History, LogSource

WHAT = "a Lightning CSVLogger metrics.csv"


@dataclass(frozen=True)
class Point:
    """One logged value: its name, and the step and 0-based epoch it was logged at (when known)."""

    name: Name
    value: float
    step: int | None
    epoch: int | None  # 0-based, as Lightning and Keras count


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# How one epoch's several values of a name become the epoch's value, by (split, Lightning suffix).
# Epoch aggregates and validation values: the last one logged (the end of the epoch). Per-step training
# values: their mean, like Lightning's own on_epoch aggregate. The learning rate: the epoch's first.
REDUCE: dict[tuple[str, str], Callable[[Sequence[float]], float]] = {
    ("train", "step"): _mean, ("train", ""): _mean, ("train", "epoch"): lambda v: v[-1],
    ("val", "step"): _mean, ("val", ""): lambda v: v[-1], ("val", "epoch"): lambda v: v[-1],
    ("lr", ""): lambda v: v[0],
}


def load_lightning(path: Path, table: Table | None = None) -> History:
    """Read a Lightning metrics.csv into one row per epoch."""
    table = table if table is not None else read_table(path, WHAT)
    known, ignored = classify(table.header)
    require_metrics(path, table.header, known)
    epoch_column, step_column = (index_of(table.header, known, c) for c in ("epoch", "step"))
    points = []
    for i, cells in enumerate(table.rows):
        epoch = parse_int(cells[epoch_column], table, i, "epoch") if epoch_column is not None else None
        step = parse_int(cells[step_column], table, i, "step") if step_column is not None else None
        for source, name in known.items():
            if name.column not in ("epoch", "step"):
                value = parse_float(cells[table.header.index(source)], table, i, source)
                if value is not None:
                    points.append(Point(name, value, step, epoch))
    source = LogSource(str(path), "lightning", ignored)
    return History(rows=epoch_rows(points, source), source=source)


def looks_like_lightning(table: Table, known: dict[str, Name]) -> bool:
    """Whether a CSV log is Lightning's: a ``step`` column, ``_step``/``_epoch`` suffixes, or training
    and validation values on separate rows (a Keras row holds both)."""
    if any(n.column == "step" or n.variant for n in known.values()):
        return True
    split_of = {i: n.column.split("_", 1)[0] for i, column in enumerate(table.header)
                if (n := known.get(column)) is not None and n.column.endswith(("_loss", "_accuracy"))}
    row_splits = [{split for i, split in split_of.items() if cells[i] not in MISSING}
                  for cells in table.rows]
    return {"train"} in row_splits and {"val"} in row_splits


def epoch_rows(points: Iterable[Point], source: LogSource) -> list[dict[str, float | None]]:
    """One row per epoch (1-based) from logged points; notes in ``source`` how epochs were found."""
    points = list(points)
    epochs = _epochs(points, source)
    values: dict[int, dict[Name, list[float]]] = {}
    for point, epoch in zip(points, epochs):
        if epoch is not None and point.name.column not in ("epoch", "step"):
            values.setdefault(epoch, {}).setdefault(point.name, []).append(point.value)
    rows = []
    for epoch in sorted(values):
        if not has_metrics(values[epoch]):  # e.g. only the learning rate, logged as an epoch began
            continue
        by_column: dict[str, list[Name]] = {}
        for name in values[epoch]:
            by_column.setdefault(name.column, []).append(name)
        row: dict[str, float | None] = {"epoch": epoch + 1}
        for column in sorted(by_column, key=column_order):
            best = preferred(by_column[column])[0]
            split = "lr" if column == "lr" else column.split("_", 1)[0]
            row[column] = REDUCE[(split, best.variant)](values[epoch][best])
        rows.append(row)
    scale_percent(rows, source)
    return rows


def _epochs(points: list[Point], source: LogSource) -> list[int | None]:
    """Each point's 0-based epoch: as logged; else from the epoch logged at the nearest earlier step;
    else by bucketing steps between consecutive validation steps (the k-th bucket is epoch k)."""
    known = sorted({(p.step, p.epoch) for p in points if p.step is not None and p.epoch is not None})
    if known:
        steps = [s for s, _ in known]

        def at(step: int | None) -> int | None:
            i = bisect.bisect_right(steps, step) - 1 if step is not None else -1
            return known[i][1] if i >= 0 else None

        if any(p.epoch is None for p in points):
            source.epochs_from = "the epoch logged at each step"
        return [p.epoch if p.epoch is not None else at(p.step) for p in points]
    if any(p.epoch is not None for p in points):
        dropped = sum(p.epoch is None for p in points)
        if dropped:
            source.dropped_values = f"{dropped} values logged without an epoch"
        return [p.epoch for p in points]

    stepped = [p.step for p in points if p.step is not None]
    val_steps = sorted({p.step for p in points
                        if p.step is not None and p.name.column.startswith("val_")})
    bounds = val_steps or sorted(set(stepped))
    source.epochs_from = ("steps, bucketed between validation steps" if val_steps
                            else "steps (each logged step is an epoch)")
    return [bisect.bisect_left(bounds, p.step) if p.step is not None else None for p in points]
