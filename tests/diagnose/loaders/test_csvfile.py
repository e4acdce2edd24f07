"""Reading a CSV log as spreadsheets and shells save it: UTF-16/32 and UTF-8 with a byte-order mark,
a cell longer than the csv module's default limit, and accuracies no log can hold."""

from __future__ import annotations

import codecs
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import run_study
from diagnose.loaders import load_history
from search.record.errors import LogError

ROOT = Path(__file__).parents[3]
LOG = ("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.2,0.45,1.3\n1,0.6,1.0,0.55,1.1\n"
       "2,0.7,0.8,0.6,0.95\n3,0.75,0.7,0.62,0.9\n")
EXPECTED = [  # LOG's rows as plateau reads them
    {"epoch": e + 1, "train_loss": loss, "train_accuracy": acc, "val_loss": vloss,
     "val_accuracy": vacc}
    for e, (acc, loss, vacc, vloss) in enumerate([(0.5, 1.2, 0.45, 1.3), (0.6, 1.0, 0.55, 1.1),
                                                  (0.7, 0.8, 0.6, 0.95), (0.75, 0.7, 0.62, 0.9)])]

# LOG with a "note" column whose first cell is longer than the csv module's default limit (128 KiB).
LONG_CELL = LOG.replace("val_loss\n", "val_loss,note\n", 1).replace(
    "0,0.5,1.2,0.45,1.3\n", f'0,0.5,1.2,0.45,1.3,"{"x" * 200_000}"\n')

# (case, the file's bytes): each must read as LOG does.
ENCODED = {
    "utf-8": LOG.encode(),
    "utf-8 with a BOM (Excel's CSV UTF-8)": codecs.BOM_UTF8 + LOG.encode(),
    "utf-16 LE with a BOM (PowerShell 5's > and Out-File)": LOG.encode("utf-16"),
    "utf-16 BE with a BOM": codecs.BOM_UTF16_BE + LOG.encode("utf-16-be"),
    "utf-16 LE, tab separated, CRLF (Excel's Unicode text)": codecs.BOM_UTF16_LE + LOG.replace(
        ",", "\t").replace("\n", "\r\n").encode("utf-16-le"),
    "utf-32 with a BOM": LOG.encode("utf-32"),
    "a cell of 200,000 characters in an extra column": LONG_CELL.encode(),
}


def _rows(path: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k in EXPECTED[0]} for row in load_history(path).rows]


@pytest.mark.parametrize("case", ENCODED)
def test_a_log_reads_the_same_in_any_encoding_and_with_long_cells(case, tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(ENCODED[case])
    assert _rows(path) == EXPECTED
    assert csv.field_size_limit() == 131072  # raised for plateau's read only, then restored


def test_a_utf16_log_is_diagnosed_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_bytes(ENCODED["utf-16 LE with a BOM (PowerShell 5's > and Out-File)"])
    assert run_study.main(["diagnose", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out)["epochs"] == 4


def test_a_long_cell_does_not_raise_the_limit_for_everyone():
    code = ("import csv, sys; from diagnose.loaders.csvfile import field_limit\n"
            "with field_limit(10**6): inside = csv.field_size_limit()\n"
            "print(inside, csv.field_size_limit())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["1000000", "131072"]


# (case, the file's text or bytes, what the one line says)
BAD = {
    "negative accuracy": (LOG.replace("1,0.6,", "1,-0.5,"),
                          "line 3, column 'accuracy': an accuracy must be in [0, 1], or [0, 100] in "
                          "percent. Got -0.5 instead"),
    "accuracy over 100": (LOG.replace(",0.55,", ",155,"), "line 3, column 'val_accuracy'"),
    "infinite accuracy": (LOG.replace(",0.62,", ",inf,"), "line 5, column 'val_accuracy'"),
    "broken utf-16": (codecs.BOM_UTF16_LE + b"e\x00p\x00\x00\xd8", "byte-order mark but is not "
                                                                     "valid UTF-16 text"),
    "binary with a NUL byte": (b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_logs_are_one_line(case, tmp_path, capsys):
    content, says = BAD[case]
    path = tmp_path / "log.csv"
    (path.write_text if isinstance(content, str) else path.write_bytes)(content)
    with pytest.raises(LogError) as error:
        load_history(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    assert says in str(error.value)
    assert run_study.main(["diagnose", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"run_study.py: error: {error.value}\n"


def test_a_nan_accuracy_is_not_refused(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG.replace("1,0.6,", "1,nan,"))
    assert math.isnan(load_history(path).rows[1]["train_accuracy"])
