"""A folder of videos, one sub-folder per class: UCF101's layout, HMDB51's, and most others'.

    ROOT/<class>/<clip>.avi|mp4|...

Classes are the sub-folders that hold videos, sorted by name (a split-file folder such as HMDB51's
``testTrainMulti_7030_splits`` or UCF101's ``ucfTrainTestlist`` is not a class). Each clip is decoded
once into the clip cache (``search.data.clip_cache``) at ``frames`` x ``image_size``; later loads, by
any trial or study, read the cache. The set is split stratified, as the study file says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.data.clip_cache import Clip, ClipCache
from search.data.labeled import LabeledArrays
from search.data.video import VIDEO_EXTENSIONS, check_clip_shape, decode_video
from search.record.errors import DataError

SPLIT_FOLDERS = ("testTrainMulti_7030_splits", "ucfTrainTestlist")  # shipped beside the classes


def layout(root: Path) -> str:
    return f"put one sub-folder per class with its videos in it: {root}/<class>/<clip>.avi"


def scan(root: Path, reader: str) -> tuple[tuple[str, ...], list[list[Path]]]:
    """(class names, each class's video files), both sorted by name."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root: folder '{root}' does not exist; {layout(root)}")
    folders = sorted(p for p in root.iterdir()
                     if p.is_dir() and not p.name.startswith(".") and p.name not in SPLIT_FOLDERS)
    videos = [sorted(p for p in folder.iterdir()
                     if p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."))
              for folder in folders]
    empty = [folder for folder, files in zip(folders, videos) if not files]
    if not folders:
        raise DataError(f"data.root: folder '{root}' has no class sub-folders ({reader}); "
                        f"{layout(root)}")
    if empty:
        raise DataError(f"data.root: class folder '{empty[0]}' has no videos "
                        f"({', '.join(VIDEO_EXTENSIONS)}); put that class's clips in it or remove it")
    return tuple(folder.name for folder in folders), videos


def read_clips(root: Path, dataset: str, files: list[Path], *, frames: int, image_size: int,
               cache_dir: str) -> np.ndarray:
    """The clips of ``files`` (under ``root``) through the cache: uint8 (N, 3, T, S, S)."""
    cache = ClipCache(cache_dir, dataset, frames=frames, size=image_size)
    clips = [Clip(path, path.relative_to(root).as_posix()) for path in files]
    return cache.load(clips, lambda clip: decode_video(clip.source, frames, image_size)).x


def video_folder(root: Path, *, frames: int = 16, image_size: int = 64,
                 cache_dir: str = "") -> LabeledArrays:
    """Read ROOT/<class>/<clip> videos: uint8 x (N, 3, frames, image_size, image_size)."""
    check_clip_shape("video_folder", frames, image_size)
    root = Path(root).expanduser()
    classes, videos = scan(root, "video_folder")
    files = [path for class_files in videos for path in class_files]
    x = read_clips(root, "video_folder", files, frames=frames, image_size=image_size,
                   cache_dir=cache_dir)
    y = np.repeat(np.arange(len(classes), dtype=np.int64), [len(v) for v in videos])
    return LabeledArrays(x, y, classes)
