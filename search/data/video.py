"""Clips of fixed length and frame size, from a video file (decoded with PyAV) or a folder of frames.

torchvision 0.29 no longer reads video, so files are decoded with PyAV (FFmpeg's Python binding). A
clip is ``frames`` frames sampled **uniformly over the clip** (the first and last frame included; a
clip shorter than that repeats frames), each resized to ``size`` x ``size`` RGB (squashed, not cropped:
a sign or a gesture near the frame's edge stays in). Random temporal windows for training are drawn
per batch by the ``random_window`` augmentation, from these cached frames.

Both readers return uint8 (3, frames, size, size) and raise ``DataError`` naming the file that could
not be read. This module imports numpy, PIL and PyAV, never torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from search.data.image_folder import read_image
from search.record.errors import DataError

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")
FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png")
MAX_FRAMES = 512
SIZE_RANGE = (8, 1024)


def check_clip_shape(reader: str, frames: int, image_size: int) -> None:
    """The ``frames`` and ``image_size`` knobs every video reader takes, checked once."""
    for name, value, (low, high) in (("frames", frames, (1, MAX_FRAMES)),
                                     ("image_size", image_size, SIZE_RANGE)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DataError(f"The '{name}' parameter of {reader} must be an int in [{low}, {high}]. "
                            f"Got {value!r} instead.")


def uniform_indices(available: int, frames: int) -> np.ndarray:
    """``frames`` indices spread evenly over ``range(available)``, first and last included."""
    if available < 1:
        raise ValueError("a clip needs at least one frame")
    return np.linspace(0, available - 1, frames).round().astype(np.int64)


def decode_video(path: Path, frames: int, size: int, start: int = 0, end: int | None = None
                 ) -> np.ndarray:
    """Frames ``start`` (0-based) up to ``end`` (exclusive; None: to the end) of the video at
    ``path``, sampled uniformly: uint8 (3, frames, size, size)."""
    import av  # imported here: reading images or a cache does not need FFmpeg loaded

    kept: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"video '{path}' has no video stream; replace it with a valid video "
                                f"or delete it")
            stream = container.streams.video[0]  # FFmpeg's default threading: "AUTO" was slower
            for index, frame in enumerate(container.decode(stream)):
                if end is not None and index >= end:
                    break
                if index >= start:
                    # Frames are small once resized, so every frame of the range is kept; the
                    # range's length is known only at its end (containers' frame counts lie).
                    kept.append(frame.to_ndarray(width=size, height=size, format="rgb24"))
    except DataError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        reason = str(exc).replace(f": '{path}'", "")  # FFmpeg's messages repeat the file name
        raise DataError(f"video '{path}' cannot be decoded ({type(exc).__name__}: {reason}); "
                        f"replace it with a valid video or delete it") from None
    if not kept:
        where = f"frames {start + 1}..{'end' if end is None else end}"
        raise DataError(f"video '{path}' has no frames in {where}; check the file (and the frame "
                        f"range given for it) or delete it")
    clip = np.stack([kept[i] for i in uniform_indices(len(kept), frames)])  # (T, H, W, 3)
    return np.ascontiguousarray(clip.transpose(3, 0, 1, 2))


def frame_files(folder: Path) -> list[Path]:
    """The frame images of a clip folder (00001.jpg, 00002.jpg, ...), in name order."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in FRAME_EXTENSIONS and not p.name.startswith("."))


def read_frames(files: Sequence[Path], frames: int, size: int) -> np.ndarray:
    """A clip from its frame images (in order), sampled uniformly: uint8 (3, frames, size, size)."""
    if not files:
        raise DataError("a clip folder has no frames")
    clip = np.empty((3, frames, size, size), dtype=np.uint8)
    for t, index in enumerate(uniform_indices(len(files), frames)):
        clip[:, t] = read_image(files[index], size)
    return clip
