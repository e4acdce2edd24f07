"""The synthetic gesture clips: shape, determinism, class sizes, and that only frame order
tells the classes of a pair apart."""

from __future__ import annotations

import numpy as np
import pytest

from search.data.synthetic import synthetic_gestures
from search.record.errors import DataError

SIZE = 32


@pytest.fixture(scope="module")
def clean() -> dict[str, np.ndarray]:
    """All 8 classes, no noise or clutter, so the disk is exactly the non-black pixels: name -> x."""
    data = synthetic_gestures(num_classes=8, clips_per_class=300, clip_length=8, frame_size=SIZE,
                              noise=0.0, clutter=0, seed=1)
    return {name: data.x[data.y == label] for label, name in enumerate(data.classes)}


def disk(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per clip and frame: the disk's centroid (N, T, 2) as (x, y) in pixels, and its area (N, T)."""
    mask = x.max(axis=1) > 0  # (N, T, H, W)
    area = mask.sum(axis=(2, 3))
    rows, cols = np.arange(SIZE)[:, None], np.arange(SIZE)[None, :]
    centroid = np.stack([(mask * cols).sum(axis=(2, 3)), (mask * rows).sum(axis=(2, 3))], -1)
    return centroid / area[..., None], area


@pytest.mark.parametrize("knobs, shape", [
    ({}, (6 * 40, 3, 8, 32, 32)),
    ({"num_classes": 2, "clips_per_class": 5, "clip_length": 4, "frame_size": 16}, (10, 3, 4, 16, 16)),
    ({"num_classes": 8, "clips_per_class": 1, "clip_length": 2, "frame_size": 8}, (8, 3, 2, 8, 8)),
])
def test_shape_and_dtypes(knobs, shape):
    data = synthetic_gestures(**knobs)
    assert data.x.shape == shape and data.x.dtype == np.uint8
    assert data.y.shape == (shape[0],) and data.y.dtype == np.int64
    assert data.classes == ("swipe_left", "swipe_right", "swipe_up", "swipe_down", "circle_clockwise",
                            "circle_counterclockwise", "zoom_in", "zoom_out")[:len(data.classes)]


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, b = synthetic_gestures(seed=3), synthetic_gestures(seed=3)
    assert a.x.tobytes() == b.x.tobytes() and np.array_equal(a.y, b.y)
    c = synthetic_gestures(seed=4)
    assert a.x.tobytes() != c.x.tobytes() and not np.array_equal(a.y, c.y)


def test_clips_are_shuffled():
    y = synthetic_gestures(num_classes=3, clips_per_class=20).y
    assert not np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("num_classes, clips_per_class, ratio, counts", [
    (6, 40, 1.0, [40, 40, 40, 40, 40, 40]),
    (6, 40, 4.0, [40, 30, 23, 17, 13, 10]),  # 40 * 4^(-c/5), rounded
    (3, 2, 100, [2, 1, 1]),  # never below one clip
])
def test_class_counts_follow_the_long_tail_profile(num_classes, clips_per_class, ratio, counts):
    data = synthetic_gestures(num_classes=num_classes, clips_per_class=clips_per_class,
                              imbalance_ratio=ratio, clip_length=2, frame_size=8)
    assert data.class_counts().tolist() == counts


def test_background_noise_and_clutter():
    quiet = synthetic_gestures(noise=0.0, clutter=0, clips_per_class=5)
    covered = (quiet.x.max(axis=1) > 0).mean()
    assert 0 < covered < 0.2  # only the disk is not black
    noisy = synthetic_gestures(noise=0.2, clutter=0, clips_per_class=5)
    assert (noisy.x.max(axis=1) > 0).mean() > 0.5
    cluttered = synthetic_gestures(noise=0.0, clutter=3, clips_per_class=5)
    assert (cluttered.x.max(axis=1) > 0).mean() > 2 * covered


@pytest.mark.parametrize("forward, backward, axis", [
    ("swipe_right", "swipe_left", 0),
    ("swipe_down", "swipe_up", 1),
])
def test_swipes_move_their_way(clean, forward, backward, axis):
    for name, sign in ((forward, 1), (backward, -1)):
        centroid, _ = disk(clean[name])
        travel = centroid[:, -1] - centroid[:, 0]
        assert np.all(sign * travel[:, axis] > 5)  # at least 0.3 * 32 px minus rounding
        assert np.all(np.abs(travel[:, 1 - axis]) < 0.5 * np.abs(travel[:, axis]))
        assert np.mean(sign * np.diff(centroid[..., axis], axis=1) > 0) > 0.95


def signed_area(centroid: np.ndarray) -> np.ndarray:
    """Shoelace area of each clip's centroid path; > 0 is clockwise on screen (y points down)."""
    xs, ys = centroid[..., 0], centroid[..., 1]
    return 0.5 * (xs * np.roll(ys, -1, axis=1) - np.roll(xs, -1, axis=1) * ys).sum(axis=1)


def test_circles_turn_opposite_ways(clean):
    assert np.all(signed_area(disk(clean["circle_clockwise"])[0]) > 0)
    assert np.all(signed_area(disk(clean["circle_counterclockwise"])[0]) < 0)


def test_zooms_grow_and_shrink(clean):
    grow, shrink = disk(clean["zoom_in"])[1], disk(clean["zoom_out"])[1]
    assert np.all(grow[:, -1] > 3 * grow[:, 0]) and np.all(np.diff(grow, axis=1) >= 0)
    assert np.all(shrink[:, 0] > 3 * shrink[:, -1]) and np.all(np.diff(shrink, axis=1) <= 0)


PAIRS = [("swipe_left", "swipe_right"), ("swipe_up", "swipe_down"),
         ("circle_clockwise", "circle_counterclockwise"), ("zoom_in", "zoom_out")]


@pytest.mark.parametrize("first, second", PAIRS)
def test_partners_have_the_same_single_frames(clean, first, second):
    """Pooled over all frames, a class and its partner look alike: position, spread, size, colour."""
    (c1, a1), (c2, a2) = disk(clean[first]), disk(clean[second])
    np.testing.assert_allclose(c1.reshape(-1, 2).mean(0), c2.reshape(-1, 2).mean(0), atol=1.0)
    np.testing.assert_allclose(c1.reshape(-1, 2).std(0), c2.reshape(-1, 2).std(0), rtol=0.15)
    np.testing.assert_allclose(a1.mean(), a2.mean(), rtol=0.1)
    np.testing.assert_allclose(clean[first].mean(), clean[second].mean(), rtol=0.1)


@pytest.mark.parametrize("first, second", PAIRS)
def test_a_clip_played_backwards_looks_like_its_partner(clean, first, second):
    """Reversed in time, one class's clips move like the other's: only frame order separates them."""
    reversed_first = clean[first][:, :, ::-1]
    (cr, ar), (c2, a2) = disk(reversed_first), disk(clean[second])
    np.testing.assert_allclose((cr[:, -1] - cr[:, 0]).mean(0), (c2[:, -1] - c2[:, 0]).mean(0),
                               atol=1.5)
    np.testing.assert_allclose(np.diff(ar, axis=1).mean(0), np.diff(a2, axis=1).mean(0), rtol=0.2,
                               atol=1)
    if first.startswith("circle"):
        assert set(np.sign(signed_area(cr))) == set(np.sign(signed_area(c2)))  # one way, the same


def test_knobs_of_type_float_take_ints():
    data = synthetic_gestures(noise=0, imbalance_ratio=2, num_classes=2, clips_per_class=4)
    assert data.class_counts().tolist() == [4, 2]


@pytest.mark.parametrize("knob, value", [
    ("num_classes", 1), ("num_classes", 9), ("num_classes", 2.0), ("num_classes", True),
    ("clips_per_class", 0), ("clip_length", 1), ("frame_size", 4), ("noise", -0.1), ("noise", 1.5),
    ("noise", "0.1"), ("noise", float("nan")), ("clutter", -1), ("imbalance_ratio", 0.5),
    ("seed", -1),
])
def test_bad_knob_values_raise_data_error(knob, value):
    with pytest.raises(DataError) as error:
        synthetic_gestures(**{knob: value})
    message = str(error.value)
    assert f"'{knob}' parameter of synthetic_gestures" in message and f"Got {value!r}" in message
    assert "\n" not in message
