"""HMDB51: ROOT/<class>/<clip>.avi and the official testTrainMulti_7030_splits split files."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import published_layouts as layouts
from cache_checks import forbid, warm_copy, whole_clips
from published_layouts import LEVEL_TOLERANCE, expected_green, green_levels, red_level
from search.data.clip_cache import FORMAT
from search.data.hmdb51 import hmdb51, read_split_file
from search.data.labeled import TRAIN, UNUSED, VAL
from search.data.splits import shipped_split
from search.data.video import uniform_indices
from search.record.errors import DataError

# The module, not the function of the same name that search.data re-exports over it.
video_folder_module = importlib.import_module("search.data.video_folder")
CLASSES = ("brush_hair", "cartwheel", "catch")
N_FRAMES = 8
SPLIT_FOLDER = "testTrainMulti_7030_splits"
# Per class (clips in name order), as the fixture writes them: split 2 swaps the test and unused clip.
SPLIT_1 = [TRAIN, TRAIN, VAL, UNUSED] * 3
SPLIT_2 = [TRAIN, TRAIN, UNUSED, VAL] * 3



def read(root: Path, tmp_path: Path, **knobs):
    return hmdb51(root, **{"frames": 4, "image_size": 16, "cache_dir": str(tmp_path / "cache"),
                           **knobs})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, object]:
    """The dataset written and read once (decoding is the slow part); tests get copies of both."""
    where = tmp_path_factory.mktemp("hmdb51")
    root = layouts.hmdb51(where / "hmdb51", CLASSES, 4, n_frames=N_FRAMES)
    return root, read(root, where)


@pytest.fixture
def root(tmp_path: Path, built) -> Path:
    """A copy of the dataset, its cache warm."""
    return warm_copy(built[0], tmp_path)


def forbid_decoding(monkeypatch) -> None:
    forbid(monkeypatch, video_folder_module, "decode_video")


def test_reads_the_clips_and_the_official_split(built, tmp_path):
    root, data = built
    assert data.classes == CLASSES  # the split folder is not a class
    assert data.x.shape == (12, 3, 4, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and data.y.dtype == np.int64
    assert data.split.tolist() == SPLIT_1 and data.split.dtype == np.int64
    wanted = expected_green(uniform_indices(N_FRAMES, 4))
    for clip, label in zip(data.x, data.y):
        assert np.abs(green_levels(clip) - wanted).max() <= LEVEL_TOLERANCE
        assert abs(clip[0].mean() - red_level(label)) <= LEVEL_TOLERANCE
    assert whole_clips((root.parent / "cache" / f"hmdb51-t4-s16-v{FORMAT}").iterdir()) == 12


def test_a_second_load_decodes_nothing(built, tmp_path, monkeypatch):
    """Cold: the first load decodes every clip; the next, with decoding made to fail, reads them all."""
    root = layouts.hmdb51(tmp_path / "cold", CLASSES[:2], 2, n_frames=N_FRAMES)
    first = read(root, tmp_path)
    forbid_decoding(monkeypatch)
    second = read(root, tmp_path)
    assert np.array_equal(second.x, first.x) and np.array_equal(second.split, first.split)
    assert np.array_equal(first.x, built[1].x[[0, 1, 4, 5]])  # the same clips as the bigger set's


@pytest.mark.parametrize("split, expected", [(1, SPLIT_1), (2, SPLIT_2), (3, SPLIT_1)])
def test_each_split_marks_its_own_clips_from_the_same_cache(built, root, tmp_path, monkeypatch,
                                                            split, expected):
    forbid_decoding(monkeypatch)  # the cache that split 1 filled serves every split
    data = read(root, tmp_path, split=split)
    assert data.split.tolist() == expected
    assert np.array_equal(data.x, built[1].x) and np.array_equal(data.y, built[1].y)


def test_split_1_and_split_2_differ_only_in_the_swapped_test_and_unused_clips(root, tmp_path):
    one, two = read(root, tmp_path, split=1).split, read(root, tmp_path, split=2).split
    differ = np.flatnonzero(one != two)
    assert differ.tolist() == [2, 3, 6, 7, 10, 11]  # the last two clips of each class
    assert sorted(one[differ].tolist()) == sorted(two[differ].tolist())


def test_the_official_split_feeds_shipped_split(root, tmp_path):
    splits = shipped_split(read(root, tmp_path, split=2))
    assert len(splits.train) == 6 and len(splits.val) == 3 and splits.test is None
    assert splits.val.y.tolist() == [0, 1, 2]  # the fourth clip of each class
    assert splits.train.class_counts().tolist() == [2, 2, 2]


def test_without_the_split_folder_the_split_is_none(root, tmp_path):
    shutil.rmtree(root / SPLIT_FOLDER)
    data = read(root, tmp_path)
    assert data.split is None and data.classes == CLASSES and len(data) == 12


def test_a_clip_missing_from_the_split_file_is_unused(root, tmp_path):
    path = root / SPLIT_FOLDER / "cartwheel_test_split1.txt"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[1:]) + "\n\n")  # first clip unlisted; blank lines are ignored
    assert read(root, tmp_path).split.tolist()[4:8] == [UNUSED, TRAIN, VAL, UNUSED]


def test_a_split_folder_missing_a_class_file_raises_naming_it(root, tmp_path):
    (root / SPLIT_FOLDER / "catch_test_split2.txt").unlink()
    assert read(root, tmp_path, split=1).split is not None  # split 1 is whole
    with pytest.raises(DataError) as error:
        read(root, tmp_path, split=2)
    message = str(error.value)
    assert "'catch_test_split2.txt'" in message and f"'{root / SPLIT_FOLDER}'" in message
    assert "\n" not in message


@pytest.mark.parametrize("bad_line", [
    "catch_clip_u_nm_np1_fr_goo_2.avi 3",  # not a mark
    "catch_clip_u_nm_np1_fr_goo_2.avi",  # no mark
    "catch_clip_u_nm_np1_fr_goo_2.avi 1 2",  # one field too many
    "catch_clip_u_nm_np1_fr_goo_2.avi train",
    "catch clip 1",
])
def test_a_bad_split_file_line_raises_naming_the_file_and_line(root, tmp_path, bad_line):
    path = root / SPLIT_FOLDER / "catch_test_split1.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "", bad_line, *lines[3:]]) + "\n")
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}, line 3: ") and repr(bad_line) in message
    assert "\n" not in message


def test_read_split_file(tmp_path):
    path = tmp_path / "x_test_split1.txt"
    path.write_text("a.avi 1 \nb.avi 2\n\n  c.avi   0\r\n")
    assert read_split_file(path) == {"a.avi": TRAIN, "b.avi": VAL, "c.avi": UNUSED}


@pytest.mark.parametrize("knobs, name", [
    ({"split": 0}, "split"), ({"split": 4}, "split"), ({"split": True}, "split"),
    ({"split": "1"}, "split"), ({"split": 1.0}, "split"),
    ({"frames": 0}, "frames"), ({"image_size": 4}, "image_size"),
])
def test_bad_knobs_raise_one_line(tmp_path, knobs, name):
    with pytest.raises(DataError) as error:
        read(tmp_path / "not even read", tmp_path, **knobs)
    message = str(error.value)
    assert f"'{name}' parameter of hmdb51" in message and "\n" not in message


def make_missing_root(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "nowhere", tmp_path / "nowhere"


def make_only_split_files(tmp_path: Path) -> tuple[Path, Path]:
    root = layouts.hmdb51(tmp_path / "hmdb51", CLASSES[:1], 3, n_frames=N_FRAMES)
    for clip in (root / CLASSES[0]).iterdir():
        clip.unlink()
    (root / CLASSES[0]).rmdir()
    return root, root


def make_class_without_videos(tmp_path: Path) -> tuple[Path, Path]:
    root = layouts.hmdb51(tmp_path / "hmdb51", CLASSES[:2], 3, n_frames=N_FRAMES)
    for clip in (root / CLASSES[1]).iterdir():
        clip.rename(clip.with_suffix(".rar"))  # still packed
    return root, root / CLASSES[1]


@pytest.mark.parametrize("make, words", [
    (make_missing_root, "does not exist"),
    (make_only_split_files, "no class sub-folders"),
    (make_class_without_videos, "has no videos"),
])
def test_wrong_layouts_raise_one_line_naming_the_folder(tmp_path, make, words):
    root, offender = make(tmp_path)
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{offender}'" in message and words in message and "\n" not in message


def test_an_undecodable_clip_is_named_and_the_rest_cached(tmp_path):
    root = layouts.hmdb51(tmp_path / "cold", CLASSES[:2], 3, n_frames=N_FRAMES)
    bad = root / "cartwheel" / "cartwheel_clip_u_nm_np1_fr_goo_1.avi"
    bad.write_bytes(b"\x00\x01 truncated download" * 30)
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{bad}'" in message and "\n" not in message
    assert "the other 5 clips are cached" in message
    assert whole_clips((tmp_path / "cache" / f"hmdb51-t4-s16-v{FORMAT}").iterdir()) == 5
