"""The vehicle-photo setup: emergency vs non-emergency vehicles, in the layout the dataset ships in.

    ROOT/train.csv          image_names,emergency_or_not   (one row per labelled photo)
    ROOT/images/<image_names>

(Analytics Vidhya's "Emergency vs Non-Emergency Vehicle Classification" set, the seed article's.) Any
CSV whose first column names files in ``images/`` and whose second column is the label reads the same
way. A ROOT without ``train.csv`` is read as an image folder, ``ROOT/<class>/*.jpg``. The set ships no
validation split: plateau splits it stratified.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from search.data.image_folder import check_image_size, image_folder, read_image
from search.data.labeled import LabeledArrays
from search.record.errors import DataError

LAYOUT = ("put train.csv (columns image_names,emergency_or_not) and images/<image_names> there, or "
          "one folder per class: <root>/<class>/*.jpg")


def vehicles(root: Path, *, image_size: int = 64) -> LabeledArrays:
    """Read the labelled photos: uint8 x (N, 3, image_size, image_size); classes sorted by label."""
    check_image_size("vehicles", image_size)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root: folder '{root}' does not exist; {LAYOUT}")
    table = root / "train.csv"
    if not table.is_file():
        return image_folder(root, image_size=image_size)
    names, labels = _read_table(table)
    images = root / "images"
    if not images.is_dir():
        raise DataError(f"data.root: '{root}' has train.csv but no images/ folder; {LAYOUT}")
    classes = tuple(sorted(set(labels)))
    x = np.stack([read_image(images / name, image_size) for name in names])
    y = np.array([classes.index(label) for label in labels], dtype=np.int64)
    return LabeledArrays(x, y, classes)


def _read_table(path: Path) -> tuple[list[str], list[str]]:
    """(file names, labels) from the CSV's first two columns; a header row is expected."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(line, row) for line, row in enumerate(csv.reader(handle), start=1)
                if any(cell.strip() for cell in row)]  # blank lines (a trailing one, say) skipped
    if len(rows) < 2 or len(rows[0][1]) < 2:
        raise DataError(f"{path}: expected a header and rows of <image file>,<label>; {LAYOUT}")
    names, labels = [], []
    for line, row in rows[1:]:
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise DataError(f"{path}, line {line}: expected <image file>,<label>; got {row!r}")
        names.append(row[0].strip())
        labels.append(row[1].strip())
    return names, labels
