"""20BN-Jester v1 as unpacked: CSV lists and one folder of JPEG frames per clip.

    ROOT/jester-v1-labels.csv        one gesture name per line (27 lines); line order = class id
    ROOT/jester-v1-train.csv         "<id>;<label>" per line
    ROOT/jester-v1-validation.csv    "<id>;<label>" per line
    ROOT/20bn-jester-v1/<id>/00001.jpg, 00002.jpg, ...

The shipped train and validation lists are plateau's train and validation splits (the test list has no
labels, so it is not read). Frames are sampled uniformly over each clip and cached once
(``search.data.clip_cache``). Jester has 148,092 clips; ``max_clips_per_class`` keeps the first N of
each class in each list, for a study that must fit a small machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.data.clip_cache import Clip, ClipCache
from search.data.labeled import TRAIN, VAL, LabeledArrays
from search.data.video import check_clip_shape, frame_files, read_frames
from search.record.errors import DataError

LABELS, FRAMES = "jester-v1-labels.csv", "20bn-jester-v1"
LISTS = {"jester-v1-train.csv": TRAIN, "jester-v1-validation.csv": VAL}
LAYOUT = (f"unpack Jester there: {LABELS}, {', '.join(LISTS)} and {FRAMES}/<id>/00001.jpg, ...")


def _required(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"data.root: '{path}' is missing; {LAYOUT}")
    return path


def read_labels(path: Path) -> tuple[str, ...]:
    labels = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip())
    if not labels:
        raise DataError(f"{path}: no labels in it; it should list one gesture name per line")
    return labels


def read_list(path: Path, classes: tuple[str, ...]) -> list[tuple[str, int]]:
    """[(clip id, class id)] from "<id>;<label>" lines."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        clip_id, sep, label = line.strip().partition(";")
        if not sep or not clip_id or label not in classes:
            raise DataError(f"{path}, line {number}: expected '<id>;<label>' with a label of "
                            f"{LABELS}; got {line!r}")
        rows.append((clip_id, classes.index(label)))
    return rows


def _first_per_class(rows: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    if limit == 0:
        return rows
    seen: dict[int, int] = {}
    kept = []
    for clip_id, label in rows:
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= limit:
            kept.append((clip_id, label))
    return kept


def jester(root: Path, *, frames: int = 16, image_size: int = 64, max_clips_per_class: int = 0,
           cache_dir: str = "") -> LabeledArrays:
    """Read Jester's labelled clips: uint8 x (N, 3, frames, image_size, image_size), its own split."""
    check_clip_shape("jester", frames, image_size)
    if isinstance(max_clips_per_class, bool) or not isinstance(max_clips_per_class, int) \
            or max_clips_per_class < 0:
        raise DataError(f"The 'max_clips_per_class' parameter of jester must be an int >= 0 (0: all "
                        f"clips). Got {max_clips_per_class!r} instead.")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root: folder '{root}' does not exist; {LAYOUT}")
    classes = read_labels(_required(root / LABELS))
    frames_root = _required(root / FRAMES)
    rows, split = [], []
    for name, part in LISTS.items():
        listed = _first_per_class(read_list(_required(root / name), classes), max_clips_per_class)
        rows += listed
        split += [part] * len(listed)
    clips = []
    for clip_id, _ in rows:
        folder = frames_root / clip_id
        if not folder.is_dir():
            raise DataError(f"data.root: clip folder '{folder}' is missing (listed in the CSVs); "
                            f"{LAYOUT}")
        clips.append(Clip(folder, f"{FRAMES}/{clip_id}"))

    def decode(clip: Clip) -> np.ndarray:
        files = frame_files(clip.source)
        if not files:
            raise DataError(f"clip folder '{clip.source}' has no frames (00001.jpg, ...)")
        return read_frames(files, frames, image_size)

    x = ClipCache(cache_dir, "jester", frames=frames, size=image_size).load(clips, decode).x
    y = np.array([label for _, label in rows], dtype=np.int64)
    return LabeledArrays(x, y, classes, np.array(split, dtype=np.int64))
