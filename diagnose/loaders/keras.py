"""Keras ``CSVLogger`` files: one row per epoch, a 0-based ``epoch`` column, metric columns by name.

Keras 2.3+ and 3 write ``epoch,accuracy,loss,val_accuracy,val_loss``; older Keras ``acc``/``val_acc``.
Extra columns (``learning_rate``, other metrics) may sit anywhere, and logs saved by hand from
``history.history`` have no ``epoch`` column at all: their rows are epochs 1..n.
"""

from __future__ import annotations

from pathlib import Path

from diagnose.loaders.columns import (LEGACY_NAMES, Name, classify, column_order, index_of, preferred,
                                      require_metrics, scale_percent)
from diagnose.loaders.csvfile import Table, parse_float, parse_int, read_table
from search.record.history import History, LogSource

WHAT = "a Keras CSVLogger log (columns epoch, loss, accuracy, val_loss, val_accuracy)"


def load_keras(path: Path, table: Table | None = None) -> History:
    """Read a Keras CSV log; epochs become 1-based, ``nan``/``inf`` stay (they show divergence)."""
    table = table if table is not None else read_table(path, WHAT)
    known, ignored = classify(table.header)
    require_metrics(path, table.header, known)
    epoch_column = index_of(table.header, known, "epoch")
    columns: dict[str, list[Name]] = {}
    for name in known.values():
        if name.column not in ("epoch", "step"):
            columns.setdefault(name.column, []).append(name)
    sources = {column: preferred(columns[column]) for column in sorted(columns, key=column_order)}

    rows: list[dict[str, float | None]] = []
    for i, cells in enumerate(table.rows):
        epoch = parse_int(cells[epoch_column], table, i, "epoch") if epoch_column is not None else None
        row: dict[str, float | None] = {"epoch": epoch + 1 if epoch is not None else i + 1}
        for column, names in sources.items():
            for name in names:  # the best name with a value in this row
                cell = cells[table.header.index(name.source)]
                if cell.strip('"').startswith("[") and column.endswith("_f1"):  # one per class
                    row.update(per_class_f1(column, cell, table, i, name.source))
                    break
                value = parse_float(cell, table, i, name.source)
                if value is not None:
                    row[column] = value
                    break
        rows.append(row)

    used = {names[0].source for names in sources.values()}
    legacy = bool(used & LEGACY_NAMES) and not used & {"accuracy", "val_accuracy"}
    source = LogSource(str(path), "keras_legacy" if legacy else "keras", ignored)
    if epoch_column is None:
        source.epochs_from = "row order (the log has no epoch column)"
    scale_percent(rows, source)
    return History(rows=rows, source=source)


def per_class_f1(column: str, cell: str, table: Table, row: int,
                 source: str) -> dict[str, float]:
    """A CSVLogger cell of per-class F1 scores, "[0.7, 0.1, 0.0]" (Keras 3 writes it quoted once
    more), as columns ``val_f1_0``, ``val_f1_1``, ... and their mean, ``val_macro_f1``
    (scikit-learn's macro average)."""
    values = [parse_float(part.strip(), table, row, source)
              for part in cell.strip('"[]').replace(",", " ").split()]
    scores = {f"{column}_{k}": v for k, v in enumerate(values) if v is not None}
    if scores and len(scores) == len(values):
        scores[column.removesuffix("_f1") + "_macro_f1"] = sum(scores.values()) / len(scores)
    return scores
