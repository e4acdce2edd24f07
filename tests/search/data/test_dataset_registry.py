"""The dataset registry: knobs read from loader signatures, and load_dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from search.data import DATASETS, knobs, load_dataset
from search.errors import DataError


@pytest.mark.parametrize("kind, expected", [
    ("synthetic_gestures", {"num_classes": (int, 6), "clips_per_class": (int, 40),
                            "clip_length": (int, 8), "frame_size": (int, 32), "noise": (float, 0.1),
                            "clutter": (int, 2), "imbalance_ratio": (float, 1.0), "seed": (int, 0)}),
    ("digits", {}),
    ("image_folder", {"image_size": (int, 64)}),  # root is not a knob
])
def test_knobs_are_the_loaders_keyword_arguments(kind, expected):
    assert knobs(kind) == expected
    assert list(knobs(kind)) == list(expected)  # in signature order


@pytest.mark.parametrize("kind, input, takes_root", [
    ("synthetic_gestures", "video", False), ("digits", "image", False), ("image_folder", "image", True),
])
def test_entries(kind, input, takes_root):
    assert DATASETS[kind].input == input and DATASETS[kind].takes_root is takes_root


def test_load_dataset_passes_knobs_through():
    data = load_dataset("synthetic_gestures", num_classes=3, clips_per_class=4, clip_length=5,
                        frame_size=12, seed=7)
    assert data.x.shape == (12, 3, 5, 12, 12) and len(data.classes) == 3
    same = load_dataset("synthetic_gestures", num_classes=3, clips_per_class=4, clip_length=5,
                        frame_size=12, seed=7)
    assert np.array_equal(data.x, same.x)
    assert load_dataset("digits").x.shape == (1797, 1, 8, 8)


def test_load_dataset_passes_root(tmp_path: Path):
    (tmp_path / "cat").mkdir()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(tmp_path / "cat" / "1.png")
    data = load_dataset("image_folder", root=tmp_path, image_size=10)
    assert data.x.shape == (1, 3, 10, 10) and data.classes == ("cat",)


@pytest.mark.parametrize("call, words", [
    (lambda: load_dataset("kinetics"), "known kinds: digits, image_folder, synthetic_gestures"),
    (lambda: knobs("kinetics"), "unknown dataset kind 'kinetics'"),
    (lambda: load_dataset("digits", seed=1), "has no knob 'seed'"),
    (lambda: load_dataset("image_folder"), "reads a folder"),
    (lambda: load_dataset("digits", root=Path("/tmp")), "reads no folder"),
])
def test_misuse_raises_data_error(call, words):
    with pytest.raises(DataError, match=words):
        call()
