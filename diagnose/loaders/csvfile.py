"""Reading a delimited text file (a training log or a predictions file) with one-line errors.

With the csv module, not pandas: ``import pandas`` alone takes about 0.5 s (0.13 s for numpy), and a
log must be diagnosed in well under a second from process start (``bench/diagnose_speed.py``).

Every loader of a CSV needs the same checks before it can look at columns: the file exists, is text,
is not empty and has rows. They live here so that each problem is worded the same way everywhere.
"""

from __future__ import annotations

import codecs
import csv
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from diagnose.loaders.columns import accuracy_out_of_range
from search.record.errors import LogError

# Cells that mean "not measured": empty (Lightning, pandas) and Keras CSVLogger's "NA" (an epoch
# without validation, with ``validation_freq`` > 1).
MISSING: frozenset[str] = frozenset({"", "NA"})

# Separators a log may use: CSVLogger's default, its ``separator=";"`` (European spreadsheets), tabs.
DELIMITERS: tuple[str, ...] = (",", ";", "\t")

# Byte-order marks and the encodings they announce, longest first (UTF-32 LE's starts with UTF-16
# LE's): Excel's "Unicode text" and Windows PowerShell's ``>`` / ``Out-File`` write UTF-16 with a BOM.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


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


def decode(data: bytes) -> str:
    """``data`` as text in the encoding its byte-order mark names, else UTF-8. Raises
    ``UnicodeDecodeError`` for anything else (a NUL byte outside UTF-16/32 included)."""
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), "utf-8")
    if encoding.startswith("utf-8") and b"\x00" in data:
        raise UnicodeDecodeError(encoding, data, data.index(b"\x00"), len(data), "NUL byte")
    return data.decode(encoding)


def read_text(path: Path, what: str) -> str:
    """The text of ``path``, which should be ``what``: a missing, binary or empty file is a LogError.
    UTF-8 (with or without a BOM), or UTF-16/32 with a BOM (Excel, PowerShell)."""
    if not path.exists():
        raise LogError(f"{path}: no such file or folder; give the path of {what}.")
    if path.is_dir():
        raise LogError(f"{path}: is a folder; give the path of {what}.")
    try:
        text = decode(path.read_bytes())
    except UnicodeDecodeError as exc:
        if not exc.encoding.startswith("utf-8"):  # utf-16-le, utf-32-be, ...: its BOM said so
            name = exc.encoding[:6].upper()
            raise LogError(f"{path}: starts with a {name} byte-order mark but is not valid {name} "
                           f"text (byte {exc.start}); save it again as UTF-8 CSV, or give the path "
                           f"of {what}.") from None
        raise LogError(f"{path}: is a binary file, not a CSV text file; give the path of "
                       f"{what}.") from None
    if not text.strip():
        raise LogError(f"{path}: is empty; give the path of {what}.")
    return text


@contextmanager
def field_limit(size: int) -> Iterator[None]:
    """Let the csv module read fields up to ``size`` characters while inside (its default, 128 KiB,
    would refuse a log with one long cell); the process-wide limit is restored on leaving."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, min(size, 2**31 - 1)))  # a C long, even on Windows
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_table(path: Path, what: str) -> Table:
    """Parse ``path`` as CSV, guessing the separator from the header line."""
    text = read_text(path, what)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip())
    delimiter = max(DELIMITERS, key=lambda d: lines[first].count(d))
    rows, numbers = [], []
    with field_limit(len(text) + 1):  # no field is longer than the file
        reader = csv.reader(lines[first:], delimiter=delimiter)
        header = [cell.strip() for cell in next(reader)]
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
        value = float(cell)
    except ValueError:
        raise LogError(f"{table.path}: line {table.lines[row]}, column '{column}': '{cell}' is not a "
                       f"number; fix that cell or remove the line.") from None
    if accuracy_out_of_range(column, value):
        raise LogError(f"{table.path}: line {table.lines[row]}, column '{column}': an accuracy must "
                       f"be in [0, 1], or [0, 100] in percent. Got {cell} instead; fix that cell or "
                       f"remove the line.")
    return value


def parse_int(cell: str, table: Table, row: int, column: str) -> int | None:
    """A cell holding a whole number (``3`` or ``3.0``); missing is None."""
    value = parse_float(cell, table, row, column)
    if value is None:
        return None
    if not math.isfinite(value) or value != int(value):
        raise LogError(f"{table.path}: line {table.lines[row]}, column '{column}': '{cell}' is not a "
                       f"whole number; fix that cell or remove the line.")
    return int(value)
