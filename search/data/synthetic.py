"""Synthetic gesture clips: the built-in dataset, generated from a seed, that needs temporal modelling.

Each clip shows one filled disk (random size, random colour) moving in its class's way over a noisy,
cluttered background. The classes come in pairs -- left/right, up/down, clockwise/counterclockwise,
in/out -- and each class's clips are *drawn as its partner's clips played backwards*. So the two
classes of a pair have the same distribution of single frames; only the order of the frames tells them
apart, and a model that ignores time cannot beat chance within a pair.

Class sizes follow the exponential long-tail profile of Cui et al. (CVPR 2019, "Class-Balanced Loss
Based on Effective Number of Samples"): class c gets clips_per_class * imbalance_ratio^(-c / (k - 1)).

Geometry is drawn in frame units (0..1, y pointing down as in images) and rendered with numpy
broadcasting over (clips, frames, rows, columns).
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from search.data.labeled import LabeledArrays
from search.record.errors import DataError

# A motion draws n clips' disk centres (n, T, 2) as (x, y) and disk radii (n, T), in frame units,
# at the times s (T,) in [0, 1].
Motion = Callable[[np.random.Generator, int, np.ndarray], tuple[np.ndarray, np.ndarray]]

MARGIN = 0.15  # keeps the disk (radius <= 0.14) inside the frame on swipes and circles
CHUNK = 256  # clips rendered at once; bounds the memory of the float intermediates


def _disk_radius(rng: np.random.Generator, n: int, frames: int) -> np.ndarray:
    return np.repeat(rng.uniform(0.08, 0.14, (n, 1)), frames, axis=1)


def _swipe(rng: np.random.Generator, n: int, s: np.ndarray, *,
           axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Straight line towards +axis (right for x, down for y), random length, tilt and position."""
    length = rng.uniform(0.3, 0.55, (n, 1))
    tilt = rng.uniform(-0.3, 0.3, (n, 1))  # symmetric, so a reversed swipe is a valid swipe
    along_mid = rng.uniform(MARGIN + length / 2, 1 - MARGIN - length / 2)
    across_mid = rng.uniform(0.25, 0.75, (n, 1))
    along = along_mid + (s - 0.5) * length
    across = across_mid + (s - 0.5) * tilt * length
    centres = np.stack([along, across] if axis == 0 else [across, along], axis=-1)
    return centres, _disk_radius(rng, n, len(s))


def _circle(rng: np.random.Generator, n: int, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clockwise on screen (angle grows with y pointing down), random centre, radius and phase."""
    orbit = rng.uniform(0.15, 0.25, (n, 1))
    # Less than half a turn between frames, so the direction is never ambiguous.
    turns = np.minimum(rng.uniform(0.5, 0.9, (n, 1)), 0.4 * (len(s) - 1))
    phase = rng.uniform(0, 2 * math.pi, (n, 1))
    centre = rng.uniform(MARGIN + orbit, 1 - MARGIN - orbit, (n, 2))
    angle = phase + 2 * math.pi * turns * s
    centres = centre[:, None, :] + orbit[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)
    return centres, _disk_radius(rng, n, len(s))


def _zoom(rng: np.random.Generator, n: int, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The disk grows (it comes closer) around a fixed random centre."""
    centre = rng.uniform(0.35, 0.65, (n, 1, 2))
    small, big = rng.uniform(0.05, 0.09, (n, 1)), rng.uniform(0.2, 0.3, (n, 1))
    return np.repeat(centre, len(s), axis=1), small + (big - small) * s


# name -> (motion, played backwards?); the order is the class ids', and num_classes takes a prefix.
CLASSES: tuple[tuple[str, Motion, bool], ...] = (
    ("swipe_left", functools.partial(_swipe, axis=0), True),
    ("swipe_right", functools.partial(_swipe, axis=0), False),
    ("swipe_up", functools.partial(_swipe, axis=1), True),
    ("swipe_down", functools.partial(_swipe, axis=1), False),
    ("circle_clockwise", _circle, False),
    ("circle_counterclockwise", _circle, True),
    ("zoom_in", _zoom, False),
    ("zoom_out", _zoom, True),
)


def class_sizes(num_classes: int, clips_per_class: int, imbalance_ratio: float) -> list[int]:
    """Clips per class on the exponential long-tail profile; class 0 is the largest, each gets >= 1."""
    return [max(1, round(clips_per_class * imbalance_ratio ** (-c / (num_classes - 1))))
            for c in range(num_classes)]


def _check(name: str, value: object, kind: type, low: float, high: float | None = None) -> None:
    """Raise DataError, scikit-learn style, unless ``value`` is a ``kind`` in [low, high]."""
    is_kind = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else kind)
    if is_kind and low <= value and (high is None or value <= high):  # NaN fails both comparisons
        return
    limits = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
    raise DataError(f"The '{name}' parameter of synthetic_gestures must be "
                    f"{'an int' if kind is int else 'a float'} {limits}. Got {value!r} instead.")


def _background(rng: np.random.Generator, n: int, clutter: int, size: int) -> np.ndarray:
    """Black frames with ``clutter`` static rectangles of random colours: (n, 3, H, W) float32."""
    background = np.zeros((n, 3, size, size), np.float32)
    rows, cols = np.arange(size)[:, None], np.arange(size)[None, :]
    for _ in range(clutter):  # a later rectangle covers an earlier one
        width, height = rng.uniform(0.1, 0.3, (2, n)) * size
        left, top = rng.uniform(0, size - width), rng.uniform(0, size - height)
        inside = ((cols >= left[:, None, None]) & (cols < (left + width)[:, None, None])
                  & (rows >= top[:, None, None]) & (rows < (top + height)[:, None, None]))
        colour = rng.uniform(0.25, 1.0, (n, 3)).astype(np.float32)
        background = np.where(inside[:, None], colour[:, :, None, None], background)
    return background


def _render(centres: np.ndarray, radii: np.ndarray, colours: np.ndarray, background: np.ndarray,
            noise: float, rng: np.random.Generator) -> np.ndarray:
    """Paint anti-aliased disks over the backgrounds and add pixel noise: uint8 (n, 3, T, H, W)."""
    size = background.shape[-1]
    pixel = np.arange(size, dtype=np.float32)
    centres_px = (centres * size - 0.5).astype(np.float32)  # frame units -> pixel-centre coordinates
    radii_px = (radii * size + 0.5).astype(np.float32)  # + half a pixel: the edge's ramp is centred
    dx = pixel[None, None, None, :] - centres_px[:, :, 0, None, None]
    dy = pixel[None, None, :, None] - centres_px[:, :, 1, None, None]
    # Coverage of each pixel by the disk: 1 inside, 0 outside, a linear ramp one pixel wide between.
    alpha = np.clip(radii_px[..., None, None] - np.sqrt(dx**2 + dy**2), 0, 1)[:, None]
    frames = background[:, :, None] * (1 - alpha) + colours[:, :, None, None, None] * alpha
    if noise > 0:
        frames += rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(noise)
    return np.round(np.clip(frames, 0, 1) * 255).astype(np.uint8)


def synthetic_gestures(*, num_classes: int = 6, clips_per_class: int = 40, clip_length: int = 8,
                       frame_size: int = 32, noise: float = 0.1, clutter: int = 2,
                       imbalance_ratio: float = 1.0, seed: int = 0) -> LabeledArrays:
    """Generate the gesture clips: uint8 x (N, 3, clip_length, frame_size, frame_size), shuffled.

    Deterministic: the same arguments give the same bytes.
    """
    _check("num_classes", num_classes, int, 2, len(CLASSES))
    _check("clips_per_class", clips_per_class, int, 1)
    _check("clip_length", clip_length, int, 2, 256)
    _check("frame_size", frame_size, int, 8, 512)
    _check("noise", noise, float, 0, 1)
    _check("clutter", clutter, int, 0, 20)
    _check("imbalance_ratio", imbalance_ratio, float, 1)
    _check("seed", seed, int, 0)

    rng = np.random.default_rng(seed)
    s = np.linspace(0, 1, clip_length)
    sizes = class_sizes(num_classes, clips_per_class, imbalance_ratio)
    centres, radii = [], []
    for (_, motion, backwards), n in zip(CLASSES, sizes):
        class_centres, class_radii = motion(rng, n, s)
        if backwards:  # the partner class's clips, played from the last frame to the first
            class_centres, class_radii = class_centres[:, ::-1], class_radii[:, ::-1]
        centres.append(class_centres)
        radii.append(class_radii)
    y = np.repeat(np.arange(num_classes, dtype=np.int64), sizes)
    order = rng.permutation(len(y))
    y, centres, radii = y[order], np.concatenate(centres)[order], np.concatenate(radii)[order]

    chunks = []
    for start in range(0, len(y), CHUNK):  # colours and clutter are drawn per clip, blind to class
        n = min(CHUNK, len(y) - start)
        colours = rng.uniform(0.25, 1.0, (n, 3)).astype(np.float32)
        background = _background(rng, n, clutter, frame_size)
        chunks.append(_render(centres[start:start + CHUNK], radii[start:start + CHUNK], colours,
                              background, noise, rng))
    x = np.concatenate(chunks)
    return LabeledArrays(x, y, tuple(name for name, _, _ in CLASSES[:num_classes]))
