"""20BN-Jester: label/train/validation CSVs and 20bn-jester-v1/<id>/00001.jpg frame folders."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import published_layouts as layouts
from cache_checks import whole_clips
from published_layouts import expected_green, green_levels, red_level
from search.data.clip_cache import FORMAT
from search.data.jester import jester
from search.data.labeled import TRAIN, VAL
from search.data.splits import shipped_split
from search.data.video import uniform_indices
from search.record.errors import DataError

# The module, not the function of the same name that search.data re-exports over it.
jester_module = importlib.import_module("search.data.jester")
LABELS = ("Swiping Left", "Swiping Right", "No gesture")
N_FRAMES = 6
# The fixture lists, per round, one clip of each label: train ids 1..9, then validation ids 10..15.
TRAIN_Y, VAL_Y = [0, 1, 2] * 3, [0, 1, 2] * 2



@pytest.fixture
def root(tmp_path: Path) -> Path:
    return layouts.jester(tmp_path / "jester", LABELS, 3, 2, n_frames=N_FRAMES)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """One clip of 2 frames per class in each list (ids 1..3 train, 4..6 validation)."""
    return layouts.jester(tmp_path / "small", LABELS, 1, 1, n_frames=2)


def read(root: Path, tmp_path: Path, **knobs):
    return jester(root, **{"frames": 4, "image_size": 16, "cache_dir": str(tmp_path / "cache"),
                           **knobs})


def cached(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / f"jester-t4-s16-v{FORMAT}").iterdir())


def count_reads(monkeypatch) -> list[list[Path]]:
    """Record every clip read_frames is asked for (and still read it)."""
    calls: list[list[Path]] = []
    real = jester_module.read_frames

    def spy(files, *args, **kwargs):
        calls.append(list(files))
        return real(files, *args, **kwargs)

    monkeypatch.setattr(jester_module, "read_frames", spy)
    return calls


def test_reads_the_labelled_clips_with_the_shipped_split(root, tmp_path):
    data = read(root, tmp_path)
    assert data.classes == LABELS  # the labels file's order, not sorted
    assert data.x.shape == (15, 3, 4, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == TRAIN_Y + VAL_Y and data.y.dtype == np.int64
    assert data.split.tolist() == [TRAIN] * 9 + [VAL] * 6  # the test list, unlabelled, is not read
    wanted = expected_green(uniform_indices(N_FRAMES, 4))  # 00001.jpg, 00003.jpg, 00004.jpg, 00006.jpg
    for clip, label in zip(data.x, data.y):
        assert np.abs(green_levels(clip) - wanted).max() <= 2  # JPEG at quality 95
        assert abs(clip[0].mean() - red_level(label)) <= 2
    splits = shipped_split(data)
    assert len(splits.train) == 9 and len(splits.val) == 6 and splits.test is None


@pytest.mark.parametrize("limit, ids", [
    (0, list(range(1, 16))),  # 0: every clip
    (1, [1, 2, 3, 10, 11, 12]),  # the first of each class in each list
    (2, [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15]),
    (5, list(range(1, 16))),  # more than there are
])
def test_max_clips_per_class_keeps_the_first_of_each_class_in_each_list(root, tmp_path, limit, ids):
    everything = read(root, tmp_path)
    data = read(root, tmp_path, max_clips_per_class=limit)
    rows = [i - 1 for i in ids]
    assert data.y.tolist() == everything.y[rows].tolist()
    assert data.split.tolist() == everything.split[rows].tolist()
    assert np.array_equal(data.x, everything.x[rows])
    assert set(data.split.tolist()) == {TRAIN, VAL}


def test_max_clips_per_class_counts_each_class_not_the_first_rows(root, tmp_path):
    path = root / "jester-v1-train.csv"
    by_label = sorted(path.read_text().splitlines(), key=lambda line: LABELS.index(line.split(";")[1]))
    path.write_text("\n".join(by_label) + "\n")  # ids 1, 4, 7 (Swiping Left), 2, 5, 8, 3, 6, 9
    data = read(root, tmp_path, max_clips_per_class=2)
    assert data.y.tolist() == [0, 0, 1, 1, 2, 2] + VAL_Y
    everything = read(root, tmp_path)  # the same clips in the file's new order
    assert np.array_equal(data.x[:6], everything.x[[0, 1, 3, 4, 6, 7]])


def test_the_second_load_reads_no_frames_and_returns_the_same_arrays(root, tmp_path, monkeypatch):
    first = read(root, tmp_path)
    assert whole_clips(cached(tmp_path)) == 15

    def fail(*args, **kwargs):
        raise AssertionError("read_frames called although every clip is cached")

    monkeypatch.setattr(jester_module, "read_frames", fail)
    second = read(root, tmp_path)
    assert np.array_equal(second.x, first.x) and np.array_equal(second.y, first.y)
    assert np.array_equal(second.split, first.split)


def test_an_interrupted_build_reads_only_the_missing_clips(root, tmp_path, monkeypatch):
    first = read(root, tmp_path)
    for path in cached(tmp_path)[:3]:
        path.unlink()
    calls = count_reads(monkeypatch)
    second = read(root, tmp_path)
    assert len(calls) == 3 and np.array_equal(second.x, first.x)


def test_a_clip_folder_without_frames_is_named_after_the_others_are_cached(root, tmp_path,
                                                                           monkeypatch):
    empty = root / "20bn-jester-v1" / "7"
    shutil.rmtree(empty)
    empty.mkdir()
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{empty}'" in message and "has no frames" in message and "\n" not in message
    assert "the other 14 clips are cached" in message
    assert whole_clips(cached(tmp_path)) == 14  # and no ".partial-" files
    layouts.write_frames(empty, 0, N_FRAMES)
    calls = count_reads(monkeypatch)
    assert len(read(root, tmp_path)) == 15 and len(calls) == 1


def test_an_unreadable_frame_is_named(root, tmp_path):
    bad = root / "20bn-jester-v1" / "12" / "00001.jpg"
    bad.write_bytes(b"\xff\xd8\xff cut short")
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{bad}'" in message and "cannot be read" in message and "\n" not in message
    assert whole_clips(cached(tmp_path)) == 14


def remove(relative: str):
    def make(root: Path) -> Path:
        path = root / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        return path

    make.__name__ = f"remove {relative}"
    return make


def make_missing_root(root: Path) -> Path:
    shutil.rmtree(root)
    return root


def make_root_a_file(root: Path) -> Path:
    shutil.rmtree(root)
    root.write_text("jester.tgz, not unpacked")
    return root


def make_labels_empty(root: Path) -> Path:
    (root / "jester-v1-labels.csv").write_text("\n \n")
    return root / "jester-v1-labels.csv"


@pytest.mark.parametrize("make, words", [
    (make_missing_root, "does not exist"),
    (make_root_a_file, "does not exist"),
    (remove("jester-v1-labels.csv"), "is missing"),
    (remove("jester-v1-train.csv"), "is missing"),
    (remove("jester-v1-validation.csv"), "is missing"),
    (remove("20bn-jester-v1"), "is missing"),
    (remove("20bn-jester-v1/5"), "is missing (listed in the CSVs)"),
    (make_labels_empty, "no labels in it"),
], ids=lambda value: getattr(value, "__name__", value))
def test_wrong_layouts_raise_one_line_naming_the_path(small, tmp_path, make, words):
    offender = make(small)
    with pytest.raises(DataError) as error:
        read(small, tmp_path)
    message = str(error.value)
    assert str(offender) in message and words in message and "\n" not in message
    assert not (tmp_path / "cache").exists() or not cached(tmp_path)  # nothing read yet


@pytest.mark.parametrize("list_name, bad_line", [
    ("jester-v1-train.csv", "34870"),  # no label: the test list's format
    ("jester-v1-train.csv", ";Swiping Left"),  # no id
    ("jester-v1-validation.csv", "9;Swiping Up"),  # not a label of jester-v1-labels.csv
    ("jester-v1-validation.csv", "9,Swiping Left"),  # comma, not semicolon
    ("jester-v1-train.csv", "9;swiping left"),
])
def test_a_bad_list_line_raises_naming_the_file_and_line(small, tmp_path, list_name, bad_line):
    path = small / list_name
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "", bad_line, *lines[1:]]) + "\n")
    with pytest.raises(DataError) as error:
        read(small, tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}, line 3: ") and repr(bad_line) in message
    assert "\n" not in message


def test_windows_line_endings_and_blank_lines_are_read(small, tmp_path):
    for name in ("jester-v1-labels.csv", "jester-v1-train.csv", "jester-v1-validation.csv"):
        text = (small / name).read_text()
        (small / name).write_text("\n" + text.replace("\n", "\r\n") + "\r\n")
    data = read(small, tmp_path)
    assert data.classes == LABELS and data.y.tolist() == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("knobs, name", [
    ({"max_clips_per_class": -1}, "max_clips_per_class"),
    ({"max_clips_per_class": 1.5}, "max_clips_per_class"),
    ({"max_clips_per_class": True}, "max_clips_per_class"),
    ({"max_clips_per_class": "10"}, "max_clips_per_class"),
    ({"frames": 0}, "frames"), ({"frames": 600}, "frames"),
    ({"image_size": 4}, "image_size"), ({"image_size": 16.0}, "image_size"),
])
def test_bad_knobs_raise_one_line(tmp_path, knobs, name):
    with pytest.raises(DataError) as error:
        read(tmp_path / "not even read", tmp_path, **knobs)
    message = str(error.value)
    assert f"'{name}' parameter of jester" in message and "\n" not in message
