"""WLASL: WLASL_v0.3.json and videos/<video_id>.mp4, frame ranges, top_k, splits, dead links."""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import published_layouts as layouts
from cache_checks import forbid, warm_copy, whole_clips
from published_layouts import LEVEL_TOLERANCE, expected_green, green_levels, red_level
from search.data.clip_cache import FORMAT
from search.data.labeled import TEST, TRAIN, VAL
from search.data.splits import shipped_split
from search.data.video import uniform_indices
from search.data.wlasl import wlasl
from search.record.errors import DataError

# The module, not the function of the same name that search.data re-exports over it.
wlasl_module = importlib.import_module("search.data.wlasl")
GLOSSES = ("book", "drink", "computer")
N_FRAMES = 14
# Video ids: book 01000..01004, drink 01005..01009, computer 01010..01014; per gloss the instances
# are train, train, train, val, test, and the first has frames 3..10 (1-based, inclusive).
SPLITS = [TRAIN, TRAIN, TRAIN, VAL, TEST]
RANGE_GREEN = expected_green(2 + uniform_indices(8, 4))  # frames 3..10: 0-based 2, 4, 7, 9
WHOLE_GREEN = expected_green(uniform_indices(N_FRAMES, 4))  # 0-based 0, 4, 9, 13



def read(root: Path, tmp_path: Path, **knobs):
    return wlasl(root, **{"frames": 4, "image_size": 16, "top_k": 0,
                          "cache_dir": str(tmp_path / "cache"), **knobs})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, object]:
    """The dataset written and read once (decoding is the slow part); tests get copies of both."""
    where = tmp_path_factory.mktemp("wlasl")
    root = layouts.wlasl(where / "WLASL", GLOSSES, n_frames=N_FRAMES)
    return root, read(root, where)


@pytest.fixture
def root(tmp_path: Path, built) -> Path:
    """A copy of the dataset, its cache warm."""
    return warm_copy(built[0], tmp_path)


def cached(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / f"wlasl-t4-s16-v{FORMAT}").iterdir())


def count_decodes(monkeypatch) -> list[tuple]:
    """Record (video name, start, end) of every decode (and still decode it)."""
    calls: list[tuple] = []
    real = wlasl_module.decode_video

    def spy(path, frames, size, start=0, end=None):
        calls.append((path.name, start, end))
        return real(path, frames, size, start, end)

    monkeypatch.setattr(wlasl_module, "decode_video", spy)
    return calls


def forbid_decoding(monkeypatch) -> None:
    forbid(monkeypatch, wlasl_module, "decode_video")


def edit_index(root: Path, edit) -> Path:
    path = root / "WLASL_v0.3.json"
    entries = json.loads(path.read_text())
    edit(entries)
    path.write_text(json.dumps(entries))
    return path


def test_reads_every_instance_with_its_split_and_frame_range(built):
    root, data = built
    assert data.classes == GLOSSES  # the JSON's order (most instances first), not sorted
    assert data.x.shape == (15, 3, 4, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0] * 5 + [1] * 5 + [2] * 5 and data.y.dtype == np.int64
    assert data.split.tolist() == SPLITS * 3 and data.split.dtype == np.int64
    for i, (clip, label) in enumerate(zip(data.x, data.y)):
        # The first instance of each gloss decodes only frames 3..10; the others the whole video.
        wanted = RANGE_GREEN if i % 5 == 0 else WHOLE_GREEN
        assert np.abs(green_levels(clip) - wanted).max() <= LEVEL_TOLERANCE, i
        assert abs(clip[0].mean() - red_level(label)) <= LEVEL_TOLERANCE
    assert whole_clips(cached(root.parent)) == 15
    splits = shipped_split(data)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (9, 3, 3)


def test_the_frame_range_is_what_is_decoded(root, tmp_path, monkeypatch):
    calls = count_decodes(monkeypatch)
    for path in cached(tmp_path):
        path.unlink()
    read(root, tmp_path)
    assert ("01000.mp4", 2, 10) in calls and ("01001.mp4", 0, None) in calls  # 0-based, end exclusive
    assert len(calls) == 15


def test_missing_frame_fields_mean_the_whole_video(root, tmp_path):
    def drop_range(entries):
        del entries[0]["instances"][0]["frame_start"], entries[0]["instances"][0]["frame_end"]

    edit_index(root, drop_range)
    data = read(root, tmp_path)
    assert np.abs(green_levels(data.x[0]) - WHOLE_GREEN).max() <= LEVEL_TOLERANCE


def test_one_video_can_hold_several_instances(root, tmp_path, built):
    def add_instance(entries):
        entries[0]["instances"].append({"video_id": "01001", "split": "test", "frame_start": 6,
                                        "frame_end": 9})

    edit_index(root, add_instance)
    data = read(root, tmp_path)
    assert data.y.tolist() == [0] * 6 + [1] * 5 + [2] * 5
    assert data.split.tolist()[:6] == SPLITS + [TEST]
    # Frames 6..9 (0-based 5..8) of the video that instance 1 takes whole.
    assert np.abs(green_levels(data.x[5]) - expected_green([5, 6, 7, 8])).max() <= LEVEL_TOLERANCE
    assert np.array_equal(data.x[1], built[1].x[1])
    assert whole_clips(cached(tmp_path)) == 16


@pytest.mark.parametrize("top_k, glosses", [
    (1, GLOSSES[:1]), (2, GLOSSES[:2]), (3, GLOSSES), (100, GLOSSES), (0, GLOSSES),
])
def test_top_k_keeps_the_first_glosses(root, tmp_path, monkeypatch, built, top_k, glosses):
    forbid_decoding(monkeypatch)  # a subset of what is cached
    data = read(root, tmp_path, top_k=top_k)
    assert data.classes == glosses and len(data) == 5 * len(glosses)
    assert np.array_equal(data.x, built[1].x[:len(data)])
    assert data.y.tolist() == built[1].y[:len(data)].tolist()


def test_the_second_load_decodes_nothing(tmp_path, monkeypatch, built):
    root = layouts.wlasl(tmp_path / "cold", GLOSSES[:1], ("train", "val"), n_frames=N_FRAMES)
    calls = count_decodes(monkeypatch)
    first = read(root, tmp_path)
    assert len(calls) == 2
    forbid_decoding(monkeypatch)
    second = read(root, tmp_path)
    assert np.array_equal(second.x, first.x) and np.array_equal(second.split, first.split)
    assert second.split.tolist() == [TRAIN, VAL]
    assert np.array_equal(first.x, built[1].x[:2])


def test_an_interrupted_build_decodes_only_the_missing_clips(root, tmp_path, monkeypatch, built):
    for path in cached(tmp_path)[::4]:
        path.unlink()
    calls = count_decodes(monkeypatch)
    data = read(root, tmp_path)
    assert len(calls) == 4 and np.array_equal(data.x, built[1].x)


def test_missing_videos_are_skipped_with_one_warning(root, tmp_path, caplog, built):
    # One "book" (a train clip), every "drink", one "computer" (the test clip).
    missing = ["01001", "01005", "01006", "01007", "01008", "01009", "01014"]
    for video_id in missing:
        (root / "videos" / f"{video_id}.mp4").unlink()
    with caplog.at_level(logging.WARNING, logger="search.data.wlasl"):
        data = read(root, tmp_path)
    assert data.classes == ("book", "computer")  # a gloss with no video left is dropped
    assert data.y.tolist() == [0] * 4 + [1] * 4  # and the labels stay 0..k-1
    assert data.split.tolist() == [TRAIN, TRAIN, VAL, TEST, TRAIN, TRAIN, TRAIN, VAL]
    assert np.array_equal(data.x, built[1].x[[0, 2, 3, 4, 10, 11, 12, 13]])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "7 of the 15 videos" in message and "3 glosses" in message
    assert "(2 glosses kept)" in message and str(root / "videos") in message


def test_dead_links_drop_their_gloss(tmp_path, caplog):
    root = layouts.wlasl(tmp_path / "cold", GLOSSES[:2], ("train", "val"), n_frames=N_FRAMES,
                         missing=("01000", "01001"))  # both "book" videos never downloaded
    with caplog.at_level(logging.WARNING, logger="search.data.wlasl"):
        data = read(root, tmp_path)
    assert data.classes == ("drink",) and data.y.tolist() == [0, 0]
    assert abs(data.x[:, 0].mean() - red_level(1)) <= LEVEL_TOLERANCE  # drink's own clips
    assert "2 of the 4 videos listed for the 2 glosses" in caplog.text
    assert "(1 glosses kept)" in caplog.text


def test_top_k_counts_glosses_before_dropping_those_without_videos(root, tmp_path, caplog):
    for video_id in ("01005", "01006", "01007", "01008", "01009"):
        (root / "videos" / f"{video_id}.mp4").unlink()
    with caplog.at_level(logging.WARNING, logger="search.data.wlasl"):
        data = read(root, tmp_path, top_k=2)
    assert data.classes == ("book",)  # WLASL100 means the first 100 entries, not 100 kept ones
    assert "5 of the 10 videos listed for the 2 glosses" in caplog.text


def test_no_warning_when_every_video_is_there(root, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="search.data.wlasl"):
        read(root, tmp_path)
    assert caplog.records == []


def test_no_videos_at_all_raises_naming_the_folder(root, tmp_path):
    for path in (root / "videos").iterdir():
        path.unlink()
    with pytest.raises(DataError) as error:
        read(root, tmp_path, top_k=2)
    message = str(error.value)
    assert "none of the 10 videos" in message and "2 glosses" in message
    assert f"'{root / 'videos'}'" in message and "\n" not in message


def test_an_undecodable_video_is_named_after_the_others_are_cached(tmp_path):
    root = layouts.wlasl(tmp_path / "cold", GLOSSES[:2], ("train", "val"), n_frames=N_FRAMES)
    bad = root / "videos" / "01002.mp4"
    bad.write_bytes(b"<html>404 Not Found</html>")  # what a dead link downloads
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{bad}'" in message and "cannot be decoded" in message and "\n" not in message
    assert "the other 3 clips are cached" in message
    assert whole_clips(cached(tmp_path)) == 3  # and no ".partial-" files


def test_a_frame_range_past_the_video_is_named(root, tmp_path):
    def past_the_end(entries):
        entries[1]["instances"][2].update(frame_start=20, frame_end=30)

    edit_index(root, past_the_end)
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert f"'{root / 'videos' / '01007.mp4'}'" in message and "frames 20..30" in message
    assert "\n" not in message


def make_missing_root(root: Path) -> Path:
    shutil.rmtree(root)
    return root


def make_missing_index(root: Path) -> Path:
    (root / "WLASL_v0.3.json").unlink()
    return root / "WLASL_v0.3.json"


def make_missing_videos(root: Path) -> Path:
    shutil.rmtree(root / "videos")
    return root / "videos"


def write_index(text: str):
    def make(root: Path) -> Path:
        (root / "WLASL_v0.3.json").write_text(text)
        return root / "WLASL_v0.3.json"

    make.__name__ = f"index {text[:30]}"
    return make


def edit_instance(**changes):
    """The second instance of "drink" changed (None: the key removed)."""
    def make(root: Path) -> Path:
        def edit(entries):
            instance = entries[1]["instances"][1]
            for key, value in changes.items():
                if value is None:
                    instance.pop(key)
                else:
                    instance[key] = value

        return edit_index(root, edit)

    make.__name__ = f"instance {changes}"
    return make


def replace_instance(value):
    def make(root: Path) -> Path:
        return edit_index(root, lambda entries: entries[1]["instances"].__setitem__(1, value))

    make.__name__ = f"instance {value!r}"
    return make


@pytest.mark.parametrize("make, words", [
    (make_missing_root, "does not exist"),
    (make_missing_index, "is missing"),
    (make_missing_videos, "is missing"),
    (write_index(""), "cannot be read as JSON"),
    (write_index('[{"gloss": "book", "instances": [}]'), "cannot be read as JSON"),
    (write_index('{"book": []}'), "expected a list of"),
    (write_index('[{"gloss": "book"}]'), "expected a list of"),
    (write_index('[{"gloss": 7, "instances": []}]'), "expected a list of"),
    (write_index('["book"]'), "expected a list of"),
    (replace_instance("01006"), "gloss 'drink', instance 1: expected an object"),
    (edit_instance(video_id=""), "gloss 'drink', instance 1: 'video_id' must be"),
    (edit_instance(video_id=1006), "'video_id' must be a non-empty string; got 1006"),
    (edit_instance(video_id=None), "'video_id' must be a non-empty string; got None"),
    (edit_instance(split="dev"), "'split' must be one of train, val, test; got 'dev'"),
    (edit_instance(split=None), "'split' must be one of train, val, test; got None"),
    (edit_instance(frame_start=0), "'frame_start' must be >= 1"),
    (edit_instance(frame_start="1"), "'frame_start' must be >= 1"),
    (edit_instance(frame_start=5, frame_end=4), "got 5, 4"),
    (edit_instance(frame_end=-2), "got 1, -2"),
    (edit_instance(frame_end=10.0), "got 1, 10.0"),
], ids=lambda value: getattr(value, "__name__", value))
def test_wrong_layouts_raise_one_line_naming_the_file(root, tmp_path, make, words):
    offender = make(root)
    with pytest.raises(DataError) as error:
        read(root, tmp_path)
    message = str(error.value)
    assert str(offender) in message and words in message and "\n" not in message


@pytest.mark.parametrize("knobs, name", [
    ({"top_k": -1}, "top_k"), ({"top_k": True}, "top_k"), ({"top_k": 1.5}, "top_k"),
    ({"top_k": "100"}, "top_k"),
    ({"frames": 0}, "frames"), ({"image_size": 4}, "image_size"), ({"image_size": 7}, "image_size"),
])
def test_bad_knobs_raise_one_line(tmp_path, knobs, name):
    with pytest.raises(DataError) as error:
        read(tmp_path / "not even read", tmp_path, **knobs)
    message = str(error.value)
    assert f"'{name}' parameter of wlasl" in message and "\n" not in message
