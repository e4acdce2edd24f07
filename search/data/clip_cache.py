"""Decode each clip once: a per-clip uint8 cache on disk, shared by every trial and every later study.

Decoding video is the slow part of a video study (R(2+1)D on HMDB51 spends more time in FFmpeg than in
the model on a CPU), and every trial would decode the same clips again. So each clip is decoded once
into ``<cache_dir>/<dataset>-t<frames>-s<size>/<clip key>.npy``:

- the folder is keyed by what shapes the arrays (dataset, frame count, frame size, cache format);
- a clip's key hashes its path relative to the dataset root, its byte size and its frame range, so an
  edited or re-trimmed clip is decoded again (a folder of frames, as Jester's, is keyed by its path
  alone: after replacing frames, delete the cache folder);
- every file is written to a temporary name and renamed into place (atomic on POSIX), so an interrupted
  build leaves only whole clips, and the next load decodes just the rest; concurrent workers are safe;
- a clip that cannot be decoded is reported by name after all the others were cached.

``cache_dir`` defaults to ``$PLATEAU_CACHE``, else ``~/.cache/plateau``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from search.record.errors import DataError

FORMAT = 1  # bump when the meaning of a cached array changes (sampling, resizing, layout)
CACHE_ENV = "PLATEAU_CACHE"


def default_cache_dir() -> Path:
    """``$PLATEAU_CACHE`` if set, else ``~/.cache/plateau``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "plateau").expanduser()


@dataclass(frozen=True)
class Clip:
    """One clip to cache: its source (a video file or a folder of frames) and the frames to take."""

    source: Path
    relative: str  # source's path relative to the dataset root: the stable part of the key
    start: int = 0  # first frame, 0-based
    end: int | None = None  # one past the last frame; None: to the end

    def key(self) -> str:
        size = self.source.stat().st_size if self.source.is_file() else 0
        text = f"{self.relative}|{size}|{self.start}|{self.end}"
        return hashlib.sha1(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Loaded:
    x: np.ndarray  # uint8 (N, 3, frames, size, size), in the order of the clips given
    decoded: int  # how many clips had to be decoded (0: all came from the cache)


class ClipCache:
    """The cache folder of one dataset at one clip shape."""

    def __init__(self, cache_dir: Path | str, dataset: str, *, frames: int, size: int) -> None:
        base = Path(cache_dir).expanduser() if str(cache_dir) else default_cache_dir()
        self.folder = base / f"{dataset}-t{frames}-s{size}-v{FORMAT}"
        self.shape = (3, frames, size, size)

    def load(self, clips: Sequence[Clip], decode: Callable[[Clip], np.ndarray]) -> Loaded:
        """Every clip's array, from the cache or decoded by ``decode(clip)`` and then cached."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cache folder '{self.folder}' cannot be created ({exc}); set "
                            f"data.cache_dir or ${CACHE_ENV} to a writable folder") from None
        x = np.empty((len(clips), *self.shape), dtype=np.uint8)
        paths = [self.folder / f"{clip.key()}.npy" for clip in clips]
        missing = [i for i, path in enumerate(paths) if not path.is_file()]
        for i in sorted(set(range(len(clips))) - set(missing)):
            x[i] = self._read(paths[i], clips[i])
        failures: list[DataError] = []
        for i in tqdm(missing, desc=f"decoding clips into {self.folder}", unit="clip",
                      disable=None, leave=False):
            try:
                x[i] = self._store(paths[i], decode(clips[i]))
            except DataError as exc:
                failures.append(exc)
        if failures:
            others = f"; {len(failures) - 1} more clip(s) failed too" if len(failures) > 1 else ""
            raise DataError(f"{failures[0]}{others} (the other {len(clips) - len(failures)} clips "
                            f"are cached; the next run decodes only what failed)")
        return Loaded(x, len(missing))

    def _read(self, path: Path, clip: Clip) -> np.ndarray:
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
            raise DataError(f"cached clip '{path}' (of '{clip.source}') is damaged ({exc}); "
                            f"delete it and run again to decode it anew") from None
        if array.shape != self.shape or array.dtype != np.uint8:
            raise DataError(f"cached clip '{path}' (of '{clip.source}') has shape {array.shape}, "
                            f"not {self.shape}; delete it and run again to decode it anew")
        return array

    def _store(self, path: Path, array: np.ndarray) -> np.ndarray:
        if array.shape != self.shape or array.dtype != np.uint8:
            raise ValueError(f"decoded clip has shape {array.shape} {array.dtype}, "
                             f"expected {self.shape} uint8")
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-", suffix=".npy")
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, array, allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return array
