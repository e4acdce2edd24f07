"""Reading a delimited text file (a training log or a predictions file) with one-line errors.

With the csv module, not pandas: ``import pandas`` alone takes about 0.5 s (0.13 s for numpy), and a
log must be diagnosed in well under a second from process start (``bench/diagnose_speed.py``).

Every loader of a CSV needs the same checks before it can look at columns: the file exists, is text,
is not empty and has rows. They live here so that each problem is worded the same way everywhere.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from search.record.errors import LogError

# Cells that mean "not measured": empty (Lightning, pandas) and Keras CSVLogger's "NA" (an epoch
# without validation, with ``validation_freq`` > 1).
MISSING: frozenset[str] = frozenset({"", "NA"})

# Separators a log may use: CSVLogger's default, its ``separator=";"`` (European spreadsheets), tabs.
DELIMITERS: tuple[str, ...] = (",", ";", "\t")


@dataclass(frozen=True)
class Table:
    """A CSV file's header and data rows (cells stripped; short rows padded with empty cells)."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the 1-based line number of each row, for error messages

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]


def read_text(path: Path, what: str) -> str:
    """The text of ``path``, which should be ``what``: a missing, binary or empty file is a LogError."""
    if not path.exists():
        raise LogError(f"{path}: no such file or folder; give the path of {what}.")
    if path.is_dir():
        raise LogError(f"{path}: is a folder; give the path of {what}.")
    data = path.read_bytes()
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), len(data), "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LogError(f"{path}: is a binary file, not a CSV text file; give the path of "
                       f"{what}.") from None
    if not text.strip():
        raise LogError(f"{path}: is empty; give the path of {what}.")
    return text


def read_table(path: Path, what: str) -> Table:
    """Parse ``path`` as CSV, guessing the separator from the header line."""
    text = read_text(path, what)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    delimiter = max(DELIMITERS, key=lambda d: lines[first].count(d))
    reader = csv.reader(lines[first:], delimiter=delimiter)
    header = [cell.strip() for cell in next(reader)]
    rows, numbers = [], []
    for row in reader:
        line = first + reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise LogError(f"{path}: line {line} has {len(row)} values but the header has "
                           f"{len(header)} columns; fix or remove that line.")
        rows.append([cell.strip() for cell in row] + [""] * (len(header) - len(row)))
        numbers.append(line)
    if not rows:
        raise LogError(f"{path}: has a header ({', '.join(header)}) but no rows; the run logged no "
                       f"epoch yet, or this is not {what}.")
    return Table(path, header, rows, numbers)


def parse_float(cell: str, table: Table, row: int, column: str) -> float | None:
    """A cell as a float (``nan``, ``inf`` kept: they are evidence of divergence); missing is None."""
    if cell in MISSING:
        return None
    try:
        return float(cell)
    except ValueError:
        raise LogError(f"{table.path}: line {table.lines[row]}, column '{column}': '{cell}' is not a "
                       f"number; fix that cell or remove the line.") from None


def parse_int(cell: str, table: Table, row: int, column: str) -> int | None:
    """A cell holding a whole number (``3`` or ``3.0``); missing is None."""
    value = parse_float(cell, table, row, column)
    if value is None:
        return None
    if not math.isfinite(value) or value != int(value):
        raise LogError(f"{table.path}: line {table.lines[row]}, column '{column}': '{cell}' is not a "
                       f"whole number; fix that cell or remove the line.")
    return int(value)
