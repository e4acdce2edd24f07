"""HMDB51 as unpacked: ``ROOT/<class>/<clip>.avi``, and its official splits when they are there.

    ROOT/<class>/<clip>.avi                                  (51 classes, 6,766 clips)
    ROOT/testTrainMulti_7030_splits/<class>_test_split<k>.txt  lines "<clip>.avi <0|1|2>"

In a split file, 1 marks a training clip, 2 a test clip and 0 a clip left out of that split (70/30 of
each class, three splits). HMDB51 ships no validation set, and its papers (the seed's ablation
included) report accuracy on the test clips, so here **2 is the validation split** and 0 is unused.
Without the split folder the clips are split stratified, as for any video folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.data.labeled import TRAIN, UNUSED, VAL, LabeledArrays
from search.data.video import check_clip_shape
from search.data.video_folder import read_clips, scan
from search.record.errors import DataError

SPLIT_FOLDER = "testTrainMulti_7030_splits"
SPLIT_MARKS = {"0": UNUSED, "1": TRAIN, "2": VAL}  # the split files' marks -> plateau's splits


def read_split_file(path: Path) -> dict[str, int]:
    """{clip file name: TRAIN | VAL | UNUSED} from one ``<class>_test_split<k>.txt``."""
    marks: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in SPLIT_MARKS:
            raise DataError(f"{path}, line {number}: expected '<clip>.avi <0|1|2>'; got {line!r}")
        marks[fields[0]] = SPLIT_MARKS[fields[1]]
    return marks


def hmdb51(root: Path, *, frames: int = 16, image_size: int = 112, split: int = 1,
           cache_dir: str = "") -> LabeledArrays:
    """Read HMDB51: uint8 x (N, 3, frames, image_size, image_size); official split ``split`` (1-3)
    when ``testTrainMulti_7030_splits/`` is present."""
    check_clip_shape("hmdb51", frames, image_size)
    if isinstance(split, bool) or not isinstance(split, int) or split not in (1, 2, 3):
        raise DataError(f"The 'split' parameter of hmdb51 must be 1, 2 or 3. Got {split!r} instead.")
    root = Path(root).expanduser()
    classes, videos = scan(root, "hmdb51")
    files = [path for class_files in videos for path in class_files]
    x = read_clips(root, "hmdb51", files, frames=frames, image_size=image_size, cache_dir=cache_dir)
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(v) for v in videos])
    folder = root / SPLIT_FOLDER
    if not folder.is_dir():
        return LabeledArrays(x, y, classes)
    marks: dict[str, int] = {}
    for name in classes:
        path = folder / f"{name}_test_split{split}.txt"
        if not path.is_file():
            raise DataError(f"data.root: '{folder}' has no '{path.name}'; put the official split "
                            f"files there, or remove the folder to split the clips stratified")
        marks.update({f"{name}/{clip}": mark for clip, mark in read_split_file(path).items()})
    split_of = np.array([marks.get(f"{p.parent.name}/{p.name}", UNUSED) for p in files],
                        dtype=np.int64)
    return LabeledArrays(x, y, classes, split_of)
