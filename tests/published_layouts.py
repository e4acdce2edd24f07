"""Tiny datasets written in the exact layouts their real counterparts are published in.

Videos are real files encoded with PyAV (MPEG-4 Part 2 in .avi, H.264 in .mp4), frames real JPEGs, and
the CSV / JSON / split files have the published names and line formats. Every frame is one flat colour:
the red channel carries the class (so a model can learn it), the green channel the frame's index (so a
test can tell which frames were sampled), blue is constant. Codecs are lossy; tests compare levels with
a tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import av
import numpy as np
from PIL import Image

SIZE = (48, 32)  # (width, height) of the written frames; readers resize to their image_size
GREEN_STEP = 8  # green level of frame i is GREEN_STEP * i (so up to 31 frames stay distinct)


def frame_colour(label: int, index: int) -> tuple[int, int, int]:
    return (40 + 60 * (label % 4), min(255, GREEN_STEP * index), 128)


def frame_array(label: int, index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """One (height, width, 3) uint8 frame of flat colour."""
    return np.broadcast_to(np.array(frame_colour(label, index), dtype=np.uint8),
                           (size[1], size[0], 3)).copy()


def write_video(path: Path, label: int, n_frames: int, *, fps: int = 25) -> Path:
    """A real video file: .avi as MPEG-4 Part 2 (HMDB51's codec family), .mp4 as H.264."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "libx264" if path.suffix == ".mp4" else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "10", "preset": "ultrafast"}
        else:
            stream.options = {"qscale": "2"}
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(frame_array(label, index), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_frames(folder: Path, label: int, n_frames: int) -> Path:
    """A clip as a folder of JPEG frames 00001.jpg, 00002.jpg, ... (Jester's layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(n_frames):
        Image.fromarray(frame_array(label, index)).save(folder / f"{index + 1:05d}.jpg", quality=95)
    return folder


def hmdb51(root: Path, classes: Sequence[str] = ("brush_hair", "cartwheel", "catch"),
           clips_per_class: int = 4, *, n_frames: int = 12, split_files: bool = True) -> Path:
    """ROOT/<class>/<clip>.avi, and testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt whose
    lines mark each class's clips 1 (train), 2 (test) and 0 (unused): per class, clips 0..n-3 train,
    n-2 test, n-1 unused in split 1; split 2 swaps the test and the unused clip."""
    for label, name in enumerate(classes):
        clips = [f"{name}_clip_u_nm_np1_fr_goo_{i}.avi" for i in range(clips_per_class)]
        for clip in clips:
            write_video(root / name / clip, label, n_frames)
        if split_files:
            folder = root / "testTrainMulti_7030_splits"
            folder.mkdir(parents=True, exist_ok=True)
            for k in (1, 2, 3):
                marks = [1] * (clips_per_class - 2) + ([2, 0] if k != 2 else [0, 2])
                (folder / f"{name}_test_split{k}.txt").write_text(
                    "".join(f"{clip} {mark} \n" for clip, mark in zip(clips, marks)))
    return root


def video_folder(root: Path, classes: Sequence[str] = ("ApplyEyeMakeup", "Archery"),
                 clips_per_class: int = 3, *, n_frames: int = 10) -> Path:
    """UCF101's layout: ROOT/<class>/v_<class>_g01_c0<i>.avi."""
    for label, name in enumerate(classes):
        for i in range(clips_per_class):
            write_video(root / name / f"v_{name}_g01_c{i + 1:02d}.avi", label, n_frames)
    return root


def jester(root: Path, labels: Sequence[str] = ("Swiping Left", "Swiping Right", "No gesture"),
           train_per_class: int = 3, val_per_class: int = 2, *, n_frames: int = 12) -> Path:
    """jester-v1-labels.csv, jester-v1-{train,validation}.csv ("<id>;<label>") and
    20bn-jester-v1/<id>/00001.jpg, ...; ids are numbers, as in the real set."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "jester-v1-labels.csv").write_text("".join(f"{label}\n" for label in labels))
    next_id = 1
    for list_name, per_class in (("jester-v1-train.csv", train_per_class),
                                 ("jester-v1-validation.csv", val_per_class)):
        lines = []
        for _ in range(per_class):
            for label, name in enumerate(labels):
                write_frames(root / "20bn-jester-v1" / str(next_id), label, n_frames)
                lines.append(f"{next_id};{name}\n")
                next_id += 1
        (root / list_name).write_text("".join(lines))
    (root / "jester-v1-test.csv").write_text(f"{next_id}\n")  # unlabelled, as shipped
    return root


def wlasl(root: Path, glosses: Sequence[str] = ("book", "drink", "computer"),
          splits: Sequence[str] = ("train", "train", "train", "val", "test"), *,
          n_frames: int = 14, missing: Sequence[str] = ()) -> Path:
    """WLASL_v0.3.json and videos/<video_id>.mp4. Each gloss gets one instance per entry of
    ``splits``; the first instance of each gloss has a frame range (frames 3..10, 1-based inclusive),
    the others frame_end -1. Video ids in ``missing`` are listed but not written (dead links)."""
    entries = []
    next_id = 1000
    for label, gloss in enumerate(glosses):
        instances = []
        for i, split in enumerate(splits):
            video_id = f"{next_id:05d}"
            next_id += 1
            start, end = (3, 10) if i == 0 else (1, -1)
            instances.append({"bbox": [0, 0, SIZE[0], SIZE[1]], "fps": 25, "frame_end": end,
                              "frame_start": start, "instance_id": i, "signer_id": 100 + i,
                              "source": "aslbrick", "split": split, "url": "", "variation_id": 0,
                              "video_id": video_id})
            if video_id not in missing:
                write_video(root / "videos" / f"{video_id}.mp4", label, n_frames)
        entries.append({"gloss": gloss, "instances": instances})
    root.mkdir(parents=True, exist_ok=True)
    (root / "WLASL_v0.3.json").write_text(json.dumps(entries))
    return root


def vehicles(root: Path, per_class: Sequence[int] = (6, 4)) -> Path:
    """train.csv (image_names,emergency_or_not) and images/<n>.jpg, labels 0 and 1."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = ["image_names,emergency_or_not\n"]
    number = 1
    for label, count in enumerate(per_class):
        for _ in range(count):
            Image.fromarray(frame_array(label, 0)).save(root / "images" / f"{number}.jpg")
            rows.append(f"{number}.jpg,{label}\n")
            number += 1
    (root / "train.csv").write_text("".join(rows))
    return root


# Reading the colours back (helpers for tests; the writers above do not use them).
LEVEL_TOLERANCE = 6  # largest colour error seen after an encode/decode round trip (MPEG-4 Part 2)


def expected_green(indices: Sequence[int]) -> np.ndarray:
    """The green level written into each of the frames ``indices`` (0-based)."""
    return np.minimum(255, GREEN_STEP * np.asarray(indices, dtype=np.float64))


def green_levels(clip: np.ndarray) -> np.ndarray:
    """The mean green level of each frame of a uint8 (3, T, H, W) clip: which frames were sampled."""
    return clip[1].reshape(clip.shape[1], -1).mean(axis=1)


def red_level(label: int) -> int:
    """The red level of every frame of class ``label``."""
    return frame_colour(label, 0)[0]
