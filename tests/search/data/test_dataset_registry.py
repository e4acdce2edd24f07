"""The dataset registry: knobs read from loader signatures, and load_dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import published_layouts
from search.data import DATASETS, knobs, load_dataset
from search.record.errors import DataError


@pytest.mark.parametrize("kind, expected", [
    ("synthetic_gestures", {"num_classes": (int, 6), "clips_per_class": (int, 40),
                            "clip_length": (int, 8), "frame_size": (int, 32), "noise": (float, 0.1),
                            "clutter": (int, 2), "imbalance_ratio": (float, 1.0), "seed": (int, 0)}),
    ("digits", {}),
    ("image_folder", {"image_size": (int, 64)}),  # root is not a knob
    ("vehicles", {"image_size": (int, 64)}),
    ("video_folder", {"frames": (int, 16), "image_size": (int, 64), "cache_dir": (str, "")}),
    ("hmdb51", {"frames": (int, 16), "image_size": (int, 112), "split": (int, 1),
                "cache_dir": (str, "")}),
    ("jester", {"frames": (int, 16), "image_size": (int, 64), "max_clips_per_class": (int, 0),
                "cache_dir": (str, "")}),
    ("wlasl", {"frames": (int, 16), "image_size": (int, 64), "top_k": (int, 100),
               "cache_dir": (str, "")}),
])
def test_knobs_are_the_loaders_keyword_arguments(kind, expected):
    assert knobs(kind) == expected
    assert list(knobs(kind)) == list(expected)  # in signature order


@pytest.mark.parametrize("kind, input, takes_root", [
    ("synthetic_gestures", "video", False), ("digits", "image", False), ("image_folder", "image", True),
    ("vehicles", "image", True), ("video_folder", "video", True), ("hmdb51", "video", True),
    ("jester", "video", True), ("wlasl", "video", True),
])
def test_entries(kind, input, takes_root):
    assert DATASETS[kind].input == input and DATASETS[kind].takes_root is takes_root


def test_every_kind_is_listed():
    assert sorted(DATASETS) == ["digits", "hmdb51", "image_folder", "jester", "synthetic_gestures",
                                "vehicles", "video_folder", "wlasl"]


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


def test_load_dataset_reads_a_video_root_through_its_cache(tmp_path: Path):
    root = published_layouts.video_folder(tmp_path / "ucf", ("a", "b"), 1, n_frames=4)
    data = load_dataset("video_folder", root=root, frames=2, image_size=8,
                        cache_dir=str(tmp_path / "cache"))
    assert data.x.shape == (2, 3, 2, 8, 8) and data.classes == ("a", "b")
    assert len(list((tmp_path / "cache").glob("video_folder-t2-s8-*/*.npy"))) == 2


@pytest.mark.parametrize("call, words", [
    (lambda: load_dataset("kinetics"), "known kinds: digits, hmdb51, image_folder, jester, "
                                       "synthetic_gestures, vehicles, video_folder, wlasl"),
    (lambda: knobs("kinetics"), "unknown dataset kind 'kinetics'"),
    (lambda: load_dataset("digits", seed=1), "has no knob 'seed'"),
    (lambda: load_dataset("image_folder"), "reads a folder"),
    (lambda: load_dataset("digits", root=Path("/tmp")), "reads no folder"),
    (lambda: load_dataset("wlasl"), "reads a folder"),
    (lambda: load_dataset("jester", root=Path("/tmp"), top_k=5), "has no knob 'top_k'"),
])
def test_misuse_raises_data_error(call, words):
    with pytest.raises(DataError, match=words):
        call()
