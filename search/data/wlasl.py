"""WLASL (Word-Level American Sign Language) as its download scripts leave it.

    ROOT/WLASL_v0.3.json      [{"gloss": "book", "instances": [{"video_id": "69241", "split": "train",
                                 "frame_start": 1, "frame_end": -1, "fps": 25, "bbox": [...]}, ...]}, ...]
    ROOT/videos/<video_id>.mp4

Glosses are listed most-instances first, so WLASL100 / 300 / 1000 / 2000 are the first 100 / 300 / ...
entries: ``top_k`` keeps those (0 keeps all). Each instance's ``split`` (train / val / test) is used
as shipped. ``frame_start`` is 1-based and ``frame_end`` inclusive, -1 meaning to the end of the video;
one video file can hold several instances. Many WLASL links have died, so a video missing from
``videos/`` is skipped with one warning line counting them; a gloss left with no video is dropped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from search.data.clip_cache import Clip, ClipCache
from search.data.labeled import TEST, TRAIN, VAL, LabeledArrays
from search.data.video import check_clip_shape, decode_video
from search.record.errors import DataError

INDEX, VIDEOS = "WLASL_v0.3.json", "videos"
SPLITS = {"train": TRAIN, "val": VAL, "test": TEST}
LAYOUT = f"put {INDEX} and {VIDEOS}/<video_id>.mp4 there (what WLASL's download scripts produce)"
log = logging.getLogger(__name__)


def read_index(path: Path) -> list[dict]:
    """The JSON's gloss entries, checked for the keys this reader uses."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as JSON ({exc}); {LAYOUT}") from None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("gloss"), str)
            and isinstance(e.get("instances"), list) for e in entries):
        raise DataError(f"{path}: expected a list of {{\"gloss\": ..., \"instances\": [...]}}; "
                        f"is this WLASL's index file?")
    for entry in entries:
        for number, instance in enumerate(entry["instances"]):
            problem = _instance_problem(instance)
            if problem:
                raise DataError(f"{path}: gloss '{entry['gloss']}', instance {number}: {problem}")
    return entries


def _instance_problem(instance: object) -> str | None:
    if not isinstance(instance, dict):
        return "expected an object with video_id, split, frame_start, frame_end"
    if not isinstance(instance.get("video_id"), str) or not instance["video_id"]:
        return f"'video_id' must be a non-empty string; got {instance.get('video_id')!r}"
    if instance.get("split") not in SPLITS:
        return f"'split' must be one of train, val, test; got {instance.get('split')!r}"
    start, end = instance.get("frame_start", 1), instance.get("frame_end", -1)
    if not (isinstance(start, int) and start >= 1 and isinstance(end, int)
            and (end == -1 or end >= start)):
        return (f"'frame_start' must be >= 1 and 'frame_end' -1 or >= frame_start; got "
                f"{start!r}, {end!r}")
    return None


def wlasl(root: Path, *, frames: int = 16, image_size: int = 64, top_k: int = 100,
          cache_dir: str = "") -> LabeledArrays:
    """Read WLASL's top-``top_k`` glosses: uint8 x (N, 3, frames, image_size, image_size)."""
    check_clip_shape("wlasl", frames, image_size)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise DataError(f"The 'top_k' parameter of wlasl must be an int >= 0 (0: every gloss; 100 "
                        f"for WLASL100). Got {top_k!r} instead.")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root: folder '{root}' does not exist; {LAYOUT}")
    for required in (root / INDEX, root / VIDEOS):
        if not required.exists():
            raise DataError(f"data.root: '{required}' is missing; {LAYOUT}")
    entries = read_index(root / INDEX)
    entries = entries[:top_k] if top_k else entries

    classes: list[str] = []
    clips, labels, split = [], [], []
    listed = 0
    for entry in entries:
        present = [i for i in entry["instances"]
                   if (root / VIDEOS / f"{i['video_id']}.mp4").is_file()]
        listed += len(entry["instances"])
        if not present:
            continue
        for instance in present:
            end = instance.get("frame_end", -1)
            clips.append(Clip(root / VIDEOS / f"{instance['video_id']}.mp4",
                              f"{VIDEOS}/{instance['video_id']}.mp4",
                              start=instance.get("frame_start", 1) - 1,
                              end=None if end == -1 else end))
            labels.append(len(classes))
            split.append(SPLITS[instance["split"]])
        classes.append(entry["gloss"])
    if not clips:
        raise DataError(f"data.root: none of the {listed} videos that {INDEX} lists for its "
                        f"{len(entries)} glosses is in '{root / VIDEOS}'; {LAYOUT}")
    if len(clips) < listed:
        log.warning("wlasl: %d of the %d videos listed for the %d glosses are missing from %s and "
                    "were skipped (%d glosses kept)", listed - len(clips), listed, len(entries),
                    root / VIDEOS, len(classes))

    def decode(clip: Clip) -> np.ndarray:
        return decode_video(clip.source, frames, image_size, clip.start, clip.end)

    x = ClipCache(cache_dir, "wlasl", frames=frames, size=image_size).load(clips, decode).x
    return LabeledArrays(x, np.array(labels, dtype=np.int64), tuple(classes),
                         np.array(split, dtype=np.int64))
