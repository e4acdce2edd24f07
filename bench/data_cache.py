"""Epoch time reading clips from the clip cache vs decoding every clip every epoch.

A temporary folder of real videos is written first (not timed): ``--classes`` x ``--clips-per-class``
clips in the video-folder layout (ROOT/<class>/<clip>.avi), each ``--seconds`` s at 25 fps and 320x240,
MPEG-4 Part 2 in .avi at about 1 Mbit/s (HMDB51's kind of file), showing a textured scene that pans,
a moving blob and sensor-like noise, so the codec has real work to do. Then, in the same run and on the
same clips:

- decode every epoch: ``decode_video(path, frames, size)`` for each clip into one (N, 3, T, S, S)
  array, which is what a loader without a cache does every epoch;
- first build: one ``ClipCache.load`` on an empty temporary cache (decodes and writes every clip);
- from the cache: ``ClipCache.load`` with a decode function that raises, so no clip can be decoded
  (and ``Loaded.decoded`` is checked to be 0); the arrays must equal the decoded ones.

Epochs alternate (decode, cache, decode, cache, ...) so that drift of a noisy machine hits both; each
figure is the median over ``--epochs``. Videos and cache files were just written, so both sides read
from the OS page cache: the figure is decoding vs loading arrays, not disk speed.

    python bench/data_cache.py [--classes 4] [--clips-per-class 6] [--seconds 3] [--frames 16]
                               [--size 112] [--epochs 3]

The last line reads ``cache/decode speed-up: Rx (goal >= 10x)``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.data.clip_cache import Clip, ClipCache  # noqa: E402
from search.data.video import decode_video  # noqa: E402

WIDTH, HEIGHT, FPS = 320, 240, 25
BIT_RATE = 1_000_000


def scene(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """(n_frames, HEIGHT, WIDTH, 3) uint8: a smooth random texture the camera pans over, a bright
    blob crossing it, and per-frame noise."""
    pan = rng.uniform(1.0, 3.0, size=2) * rng.choice([-1, 1], size=2)  # pixels per frame (x, y)
    margin = np.ceil(np.abs(pan) * n_frames).astype(int) + 1
    canvas_h, canvas_w = HEIGHT + margin[1], WIDTH + margin[0]
    coarse = rng.integers(0, 256, size=(canvas_h // 16 + 2, canvas_w // 16 + 2, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(coarse).resize((canvas_w, canvas_h),
                                                        Image.Resampling.BICUBIC), dtype=np.int16)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    colour = rng.integers(0, 256, size=3)
    start, velocity = rng.uniform([40, 40], [WIDTH - 40, HEIGHT - 40]), rng.uniform(-4, 4, size=2)
    video = np.empty((n_frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for t in range(n_frames):
        x0 = int(round(t * pan[0])) if pan[0] > 0 else int(round(margin[0] - 1 + t * pan[0]))
        y0 = int(round(t * pan[1])) if pan[1] > 0 else int(round(margin[1] - 1 + t * pan[1]))
        frame = texture[y0:y0 + HEIGHT, x0:x0 + WIDTH].copy()
        cx, cy = (start + velocity * t) % [WIDTH, HEIGHT]
        blob = ((xs - cx) / 30) ** 2 + ((ys - cy) / 45) ** 2 <= 1
        frame[blob] = colour
        frame += rng.normal(0, 4, size=frame.shape).astype(np.int16)
        video[t] = np.clip(frame, 0, 255)
    return video


def write_video(path: Path, video: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = BIT_RATE
        for frame in video:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def write_dataset(root: Path, classes: int, clips_per_class: int, seconds: float) -> list[Clip]:
    """The video folder, and its clips as the video_folder reader would give them to the cache."""
    rng = np.random.default_rng(0)
    n_frames = max(1, round(seconds * FPS))
    clips = []
    for label in range(classes):
        for i in range(clips_per_class):
            path = root / f"class_{label:02d}" / f"class_{label:02d}_clip_{i:03d}.avi"
            write_video(path, scene(rng, n_frames))
            clips.append(Clip(path, path.relative_to(root).as_posix()))
    return clips


def decode_epoch(clips: list[Clip], frames: int, size: int) -> np.ndarray:
    x = np.empty((len(clips), 3, frames, size, size), dtype=np.uint8)
    for i, clip in enumerate(clips):
        x[i] = decode_video(clip.source, frames, size)
    return x


def no_decode(clip: Clip) -> np.ndarray:
    raise AssertionError(f"the cache decoded '{clip.relative}' again")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--clips-per-class", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each video (25 fps)")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip (HMDB51 study: 16)")
    parser.add_argument("--size", type=int, default=112, help="frame size (HMDB51 study: 112)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs of each kind")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="plateau-bench-") as tmp:
        root, cache_dir = Path(tmp) / "videos", Path(tmp) / "cache"
        clips = write_dataset(root, args.classes, args.clips_per_class, args.seconds)
        megabytes = sum(clip.source.stat().st_size for clip in clips) / 1e6
        print(f"{len(clips)} clips: {args.seconds:g} s at {FPS} fps, {WIDTH}x{HEIGHT} mpeg4 .avi "
              f"({megabytes:.1f} MB); {args.epochs} epochs of each kind, alternating")

        cache = ClipCache(cache_dir, "bench", frames=args.frames, size=args.size)
        started = time.perf_counter()
        built = cache.load(clips, lambda clip: decode_video(clip.source, args.frames, args.size))
        first_build = time.perf_counter() - started
        assert built.decoded == len(clips), built.decoded

        decode_times, cache_times = [], []
        for _ in range(args.epochs):
            started = time.perf_counter()
            decoded = decode_epoch(clips, args.frames, args.size)
            decode_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            loaded = cache.load(clips, no_decode)
            cache_times.append(time.perf_counter() - started)
            assert loaded.decoded == 0, loaded.decoded
            assert np.array_equal(loaded.x, decoded), "cached clips differ from decoded ones"
        cache_mb = sum(p.stat().st_size for p in cache.folder.glob("*.npy")) / 1e6

    decode_s, cache_s = statistics.median(decode_times), statistics.median(cache_times)
    header = (f"{'clips':>5}  {'frames x size':<13}  {'first build s':>13}  "
              f"{'decode s/epoch':>14}  {'cache s/epoch':>13}  {'cache MB':>8}")
    print(header)
    print("-" * len(header))
    print(f"{len(clips):>5}  {f'{args.frames} x {args.size}':<13}  {first_build:>13.3f}  "
          f"{decode_s:>14.3f}  {cache_s:>13.4f}  {cache_mb:>8.1f}")
    print(f"runs: decode {', '.join(f'{t:.3f}' for t in decode_times)} s; "
          f"cache {', '.join(f'{t:.4f}' for t in cache_times)} s")
    print(f"cache/decode speed-up: {decode_s / cache_s:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
