"""The datasets plateau can read, by name: ``kind`` in a study file's ``data`` section.

Each entry is a loader returning ``LabeledArrays`` whose keyword-only, type-hinted arguments are the
dataset's knobs: the study-file validator reads them from the signature (``knobs``), so adding a dataset
is writing one loader and adding one line to ``DATASETS``. This package imports numpy, never torch.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from search.data.digits import digits
from search.data.hmdb51 import hmdb51
from search.data.image_folder import image_folder
from search.data.jester import jester
from search.data.labeled import LabeledArrays
from search.data.synthetic import synthetic_gestures
from search.data.vehicles import vehicles
from search.data.video_folder import video_folder
from search.data.wlasl import wlasl
from search.record.errors import DataError
from search.signature import knobs_of


@dataclass(frozen=True)
class DatasetEntry:
    load: Callable[..., LabeledArrays]
    input: str  # "video" (N, C, T, H, W) or "image" (N, C, H, W)
    takes_root: bool  # whether load() needs a `root: Path` argument (a folder the user provides)
    layout: str = ""  # what that folder holds, for error messages


DATASETS: Mapping[str, DatasetEntry] = types.MappingProxyType({
    "synthetic_gestures": DatasetEntry(synthetic_gestures, "video", takes_root=False),
    "digits": DatasetEntry(digits, "image", takes_root=False),
    "image_folder": DatasetEntry(image_folder, "image", True, "<class>/*.jpg"),
    "vehicles": DatasetEntry(vehicles, "image", True,
                             "train.csv and images/<image_names>, or <class>/*.jpg"),
    "video_folder": DatasetEntry(video_folder, "video", True, "<class>/<clip>.avi"),
    "hmdb51": DatasetEntry(hmdb51, "video", True,
                           "<class>/<clip>.avi and, optionally, testTrainMulti_7030_splits/"),
    "jester": DatasetEntry(jester, "video", True, "jester-v1-labels.csv, jester-v1-train.csv, "
                           "jester-v1-validation.csv and 20bn-jester-v1/<id>/00001.jpg, ..."),
    "wlasl": DatasetEntry(wlasl, "video", True, "WLASL_v0.3.json and videos/<video_id>.mp4"),
})


def _entry(kind: str) -> DatasetEntry:
    if kind not in DATASETS:
        raise DataError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(sorted(DATASETS))}")
    return DATASETS[kind]


def knobs(kind: str) -> dict[str, tuple[type, Any]]:
    """The loader's keyword-only arguments except ``root``: {name: (type, default)}, in order."""
    return knobs_of(_entry(kind).load, skip=("root",), keyword_only=True)


def load_dataset(kind: str, *, root: Path | None = None, **knob_values: Any) -> LabeledArrays:
    """Read (or generate) dataset ``kind``; ``root`` is the folder for kinds that read one."""
    entry = _entry(kind)
    unknown = sorted(set(knob_values) - set(knobs(kind)))
    if unknown:
        raise DataError(f"dataset kind '{kind}' has no knob {unknown[0]!r}; its knobs are: "
                        f"{', '.join(knobs(kind)) or 'none'}")
    if entry.takes_root and root is None:
        raise DataError(f"dataset kind '{kind}' reads a folder: pass root=<folder>")
    if not entry.takes_root and root is not None:
        raise DataError(f"dataset kind '{kind}' reads no folder, but root='{root}' was given; "
                        f"leave root out")
    return entry.load(Path(root), **knob_values) if entry.takes_root else entry.load(**knob_values)
