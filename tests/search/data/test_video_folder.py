"""UCF101-style ROOT/<class>/<clip>.avi folders: what is read, the cache behind it, and the errors."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import published_layouts as layouts
from cache_checks import forbid, warm_copy, whole_clips
from published_layouts import LEVEL_TOLERANCE, expected_green, green_levels, red_level
from search.data.clip_cache import FORMAT
from search.data.video import uniform_indices
from search.data.video_folder import video_folder
from search.record.errors import DataError

# The module, not the function of the same name that search.data re-exports over it.
video_folder_module = importlib.import_module("search.data.video_folder")
CLASSES = ("ApplyEyeMakeup", "Archery")
N_FRAMES = 10



def read(root: Path, tmp_path: Path, **knobs):
    return video_folder(root, **{"frames": 4, "image_size": 16,
                                 "cache_dir": str(tmp_path / "cache"), **knobs})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, object]:
    """The dataset written and read once (decoding is the slow part); tests get copies of both."""
    where = tmp_path_factory.mktemp("ucf")
    root = layouts.video_folder(where / "UCF101", CLASSES, 3, n_frames=N_FRAMES)
    return root, read(root, where)


@pytest.fixture
def root(tmp_path: Path, built) -> Path:
    """A copy of the dataset, its cache warm."""
    return warm_copy(built[0], tmp_path)


@pytest.fixture
def cold(tmp_path: Path) -> Path:
    """A smaller copy of the layout, 2 clips per class, never read: its cache is empty."""
    return layouts.video_folder(tmp_path / "cold", CLASSES, 2, n_frames=N_FRAMES)


def cached(tmp_path: Path, frames: int = 4, size: int = 16) -> list[Path]:
    return sorted((tmp_path / "cache" / f"video_folder-t{frames}-s{size}-v{FORMAT}").glob("*"))


def count_decodes(monkeypatch) -> list[Path]:
    """Record every video decode_video is asked for (and still decode it)."""
    calls: list[Path] = []
    real = video_folder_module.decode_video

    def spy(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(video_folder_module, "decode_video", spy)
    return calls


def forbid_decoding(monkeypatch) -> None:
    forbid(monkeypatch, video_folder_module, "decode_video")


def test_reads_every_clip_with_classes_sorted_by_name(built):
    root, data = built
    assert data.classes == CLASSES
    assert data.x.shape == (6, 3, 4, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0, 0, 0, 1, 1, 1] and data.y.dtype == np.int64
    assert data.split is None  # no shipped split: plateau splits it stratified
    wanted = expected_green(uniform_indices(N_FRAMES, 4))  # frames 0, 3, 6, 9
    for clip, label in zip(data.x, data.y):
        assert np.abs(green_levels(clip) - wanted).max() <= LEVEL_TOLERANCE
        assert abs(clip[0].mean() - red_level(label)) <= LEVEL_TOLERANCE
    assert whole_clips(cached(root.parent)) == 6


@pytest.mark.parametrize("frames, image_size", [(1, 8), (7, 12), (12, 16)])
def test_clip_shape_follows_the_knobs(tmp_path, frames, image_size):
    root = layouts.video_folder(tmp_path / "UCF101", CLASSES[:1], 1, n_frames=N_FRAMES)
    data = read(root, tmp_path, frames=frames, image_size=image_size)
    assert data.x.shape == (1, 3, frames, image_size, image_size)
    wanted = expected_green(uniform_indices(N_FRAMES, frames))
    assert np.abs(green_levels(data.x[0]) - wanted).max() <= LEVEL_TOLERANCE


def test_split_folders_other_files_and_hidden_entries_are_not_clips_or_classes(root, tmp_path):
    (root / "ucfTrainTestlist").mkdir()
    (root / "ucfTrainTestlist" / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (root / "testTrainMulti_7030_splits").mkdir()
    (root / ".thumbnails").mkdir()
    (root / "README.txt").write_text("UCF101")
    (root / "Archery" / "notes.txt").write_text("not a clip")
    (root / "Archery" / "._v_Archery_g01_c01.avi").write_bytes(b"macOS metadata")
    layouts.write_video(root / "Archery" / "v_Archery_g02_c01.MP4", 1, N_FRAMES)  # any case
    data = read(root, tmp_path)
    assert data.classes == CLASSES and data.y.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_the_second_load_decodes_nothing_and_returns_the_same_arrays(cold, tmp_path, monkeypatch):
    calls = count_decodes(monkeypatch)
    first = read(cold, tmp_path)
    assert len(calls) == 4 and len(cached(tmp_path)) == 4
    forbid_decoding(monkeypatch)
    second = read(cold, tmp_path)
    assert np.array_equal(second.x, first.x) and np.array_equal(second.y, first.y)
    assert second.classes == first.classes


def test_cache_folder_is_keyed_by_frames_and_image_size(cold, tmp_path, monkeypatch):
    read(cold, tmp_path)
    calls = count_decodes(monkeypatch)
    read(cold, tmp_path, frames=5)
    read(cold, tmp_path, image_size=12)
    assert len(calls) == 8  # neither shape could use the frames=4, image_size=16 cache
    read(cold, tmp_path, frames=5)
    read(cold, tmp_path, image_size=12)
    assert len(calls) == 8  # but each has its own
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        f"video_folder-t4-s12-v{FORMAT}", f"video_folder-t4-s16-v{FORMAT}",
        f"video_folder-t5-s16-v{FORMAT}"]


def test_an_interrupted_build_decodes_only_the_missing_clips(root, tmp_path, monkeypatch):
    first = read(root, tmp_path)
    for path in cached(tmp_path)[:2]:
        path.unlink()
    calls = count_decodes(monkeypatch)
    second = read(root, tmp_path)
    assert len(calls) == 2 and np.array_equal(second.x, first.x)


def test_a_build_interrupted_partway_resumes(cold, tmp_path, monkeypatch):
    real = video_folder_module.decode_video
    calls: list[Path] = []

    def interrupted(path, *args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(video_folder_module, "decode_video", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read(cold, tmp_path)
    assert whole_clips(cached(tmp_path)) == 3  # whole clips only, no temporary files
    monkeypatch.setattr(video_folder_module, "decode_video", real)
    resumed = count_decodes(monkeypatch)
    assert read(cold, tmp_path).x.shape == (4, 3, 4, 16, 16)
    assert resumed == [cold / "Archery" / "v_Archery_g01_c02.avi"]


def test_an_undecodable_video_is_named_after_every_other_clip_is_cached(cold, tmp_path, monkeypatch):
    bad = cold / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi"
    bad.write_bytes(b"\x00garbage, not an AVI\xff" * 40)
    with pytest.raises(DataError) as error:
        read(cold, tmp_path)
    message = str(error.value)
    assert f"'{bad}'" in message and "cannot be decoded" in message and "\n" not in message
    assert "the other 3 clips are cached" in message
    assert whole_clips(cached(tmp_path)) == 3  # and no ".partial-" files
    # Replaced by a valid clip, it alone is decoded.
    layouts.write_video(bad, 0, N_FRAMES)
    calls = count_decodes(monkeypatch)
    assert read(cold, tmp_path).x.shape[0] == 4 and calls == [bad]


def test_a_damaged_cache_file_raises_telling_to_delete_it(root, tmp_path):
    read(root, tmp_path)
    damaged = cached(tmp_path)[3]
    damaged.write_bytes(damaged.read_bytes()[:60])
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{damaged}'" in message and "delete it" in message and "\n" not in message


def make_missing_root(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "nowhere", tmp_path / "nowhere"


def make_root_without_classes(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "data" / "ucfTrainTestlist").mkdir(parents=True)  # a split folder is no class
    (tmp_path / "data" / "clip.avi").write_bytes(b"a clip beside, not inside, a class folder")
    return tmp_path / "data", tmp_path / "data"


def make_class_without_videos(tmp_path: Path) -> tuple[Path, Path]:
    layouts.write_video(tmp_path / "data" / "Archery" / "a.avi", 0, 4)
    (tmp_path / "data" / "Basketball").mkdir()
    (tmp_path / "data" / "Basketball" / "frames.jpg").write_bytes(b"not a video")
    return tmp_path / "data", tmp_path / "data" / "Basketball"


@pytest.mark.parametrize("make, words", [
    (make_missing_root, "does not exist"),
    (make_root_without_classes, "no class sub-folders"),
    (make_class_without_videos, "has no videos"),
])
def test_wrong_layouts_raise_one_line_naming_the_folder(tmp_path, make, words):
    root, offender = make(tmp_path)
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{offender}'" in message and words in message and "\n" not in message
    assert "<class>/<clip>" in message or "put that class's clips in it" in message


@pytest.mark.parametrize("knobs, name", [
    ({"frames": 0}, "frames"), ({"frames": 513}, "frames"), ({"frames": 2.5}, "frames"),
    ({"image_size": 4}, "image_size"), ({"image_size": 2048}, "image_size"),
    ({"image_size": True}, "image_size"),
])
def test_bad_knobs_raise_before_reading(tmp_path, knobs, name):
    with pytest.raises(DataError) as error:
        read(tmp_path / "not even read", tmp_path, **knobs)
    message = str(error.value)
    assert f"'{name}' parameter of video_folder" in message and "\n" not in message
