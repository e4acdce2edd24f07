"""Clips from video files (PyAV) and frame folders: shapes, which frames are sampled, and the errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import published_layouts as layouts
from published_layouts import LEVEL_TOLERANCE, expected_green, green_levels, red_level
from search.data.video import (MAX_FRAMES, check_clip_shape, decode_video, frame_files, read_frames,
                               uniform_indices)
from search.record.errors import DataError


@pytest.mark.parametrize("available, frames, expected", [
    (10, 4, [0, 3, 6, 9]),  # first and last frame included, evenly spread
    (14, 4, [0, 4, 9, 13]),
    (8, 8, list(range(8))),  # as many as there are: every frame once
    (3, 6, [0, 0, 1, 1, 2, 2]),  # a short clip repeats frames, in order
    (1, 3, [0, 0, 0]),
    (9, 1, [0]),
    (100, 2, [0, 99]),
])
def test_uniform_indices(available, frames, expected):
    indices = uniform_indices(available, frames)
    assert indices.tolist() == expected and indices.dtype == np.int64


def test_uniform_indices_needs_a_frame():
    with pytest.raises(ValueError, match="at least one frame"):
        uniform_indices(0, 4)


@pytest.mark.parametrize("frames, image_size", [(1, 8), (MAX_FRAMES, 1024), (4, 16)])
def test_check_clip_shape_accepts(frames, image_size):
    check_clip_shape("some_reader", frames, image_size)


@pytest.mark.parametrize("frames, image_size, name", [
    (0, 16, "frames"), (-1, 16, "frames"), (MAX_FRAMES + 1, 16, "frames"), (4.0, 16, "frames"),
    (True, 16, "frames"), ("4", 16, "frames"), (None, 16, "frames"),
    (4, 4, "image_size"), (4, 7, "image_size"), (4, 1025, "image_size"), (4, 16.0, "image_size"),
    (4, False, "image_size"),
])
def test_check_clip_shape_rejects_with_one_line_naming_the_knob_and_reader(frames, image_size, name):
    with pytest.raises(DataError) as error:
        check_clip_shape("some_reader", frames, image_size)
    message = str(error.value)
    assert f"'{name}' parameter of some_reader" in message and "\n" not in message


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])  # MPEG-4 Part 2 and H.264
@pytest.mark.parametrize("n_frames, frames, size", [(10, 4, 16), (14, 4, 8), (5, 5, 16), (3, 6, 12)])
def test_decode_video_samples_uniformly_and_resizes(tmp_path, suffix, n_frames, frames, size):
    path = layouts.write_video(tmp_path / f"clip{suffix}", 2, n_frames)
    clip = decode_video(path, frames, size)
    assert clip.shape == (3, frames, size, size) and clip.dtype == np.uint8
    assert clip.flags["C_CONTIGUOUS"]
    wanted = expected_green(uniform_indices(n_frames, frames))
    assert np.abs(green_levels(clip) - wanted).max() <= LEVEL_TOLERANCE
    assert np.abs(clip[0].astype(int) - red_level(2)).max() <= LEVEL_TOLERANCE
    assert np.abs(clip[2].astype(int) - 128).max() <= LEVEL_TOLERANCE


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_decode_video_sampling_picks_exactly_the_uniform_frames(tmp_path, suffix):
    """Against the decoder's own full decode: no tolerance needed to tell neighbouring frames apart."""
    path = layouts.write_video(tmp_path / f"clip{suffix}", 1, 13)
    every = decode_video(path, 13, 16)
    assert np.all(np.diff(green_levels(every)) > 0)  # 13 distinct frames, in order
    for frames in (2, 4, 7):
        assert np.array_equal(decode_video(path, frames, 16),
                              every[:, uniform_indices(13, frames)])


@pytest.mark.parametrize("start, end, frames, first_frames", [
    (2, 10, 4, [2, 4, 7, 9]),  # WLASL's frames 3..10 (1-based, inclusive)
    (0, 5, 5, [0, 1, 2, 3, 4]),
    (5, None, 3, [5, 9, 13]),  # to the end
    (13, None, 2, [13, 13]),  # the last frame only
    (0, 100, 2, [0, 13]),  # an end past the video stops at the video's end
])
def test_decode_video_takes_only_the_frame_range(tmp_path, start, end, frames, first_frames):
    path = layouts.write_video(tmp_path / "clip.mp4", 0, 14)
    clip = decode_video(path, frames, 16, start, end)
    assert clip.shape == (3, frames, 16, 16)
    assert np.abs(green_levels(clip) - expected_green(first_frames)).max() <= LEVEL_TOLERANCE


def write_garbage(path: Path) -> Path:
    path.write_bytes(b"RIFF\x00\x00not a video" * 50)
    return path


def write_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_truncated(path: Path) -> Path:
    layouts.write_video(path, 0, 10)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    return path


@pytest.mark.parametrize("make", [write_garbage, write_empty, write_truncated])
def test_undecodable_video_raises_one_line_naming_the_file(tmp_path, make):
    path = make(tmp_path / "bad.avi")
    with pytest.raises(DataError) as error:
        decode_video(path, 4, 16)
    message = str(error.value)
    assert f"'{path}'" in message and "cannot be decoded" in message and "\n" not in message


def test_missing_video_raises_naming_it(tmp_path):
    with pytest.raises(DataError, match="nowhere.mp4"):
        decode_video(tmp_path / "nowhere.mp4", 4, 16)


def test_frame_range_past_the_video_raises_naming_the_file_and_range(tmp_path):
    path = layouts.write_video(tmp_path / "clip.mp4", 0, 6)
    with pytest.raises(DataError) as error:
        decode_video(path, 4, 16, start=20, end=30)
    message = str(error.value)
    assert f"'{path}'" in message and "no frames in frames 21..30" in message
    assert "\n" not in message


def test_frame_files_are_the_images_in_name_order(tmp_path):
    folder = layouts.write_frames(tmp_path / "clip", 0, 3)
    (folder / "notes.txt").write_text("not a frame")
    (folder / ".00000.jpg").write_bytes(b"hidden")
    Image.new("RGB", (4, 4)).save(folder / "00004.PNG")
    assert [p.name for p in frame_files(folder)] == ["00001.jpg", "00002.jpg", "00003.jpg",
                                                     "00004.PNG"]


@pytest.mark.parametrize("n_frames, frames, size", [(12, 4, 16), (5, 5, 8), (3, 7, 16), (20, 1, 16)])
def test_read_frames_samples_uniformly(tmp_path, n_frames, frames, size):
    folder = layouts.write_frames(tmp_path / "clip", 3, n_frames)
    clip = read_frames(frame_files(folder), frames, size)
    assert clip.shape == (3, frames, size, size) and clip.dtype == np.uint8
    wanted = expected_green(uniform_indices(n_frames, frames))
    assert np.abs(green_levels(clip) - wanted).max() <= 2  # JPEG at quality 95: nearly exact
    assert np.abs(clip[0].astype(int) - red_level(3)).max() <= 2


def test_read_frames_of_nothing_raises():
    with pytest.raises(DataError, match="no frames"):
        read_frames([], 4, 16)


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff not really a jpeg", b"GIF89a"])
def test_unreadable_frame_raises_one_line_naming_it(tmp_path, content):
    folder = layouts.write_frames(tmp_path / "clip", 0, 4)
    (folder / "00003.jpg").write_bytes(content)
    with pytest.raises(DataError) as error:
        read_frames(frame_files(folder), 4, 16)  # 4 of 4: every frame is read
    message = str(error.value)
    assert f"'{folder / '00003.jpg'}'" in message and "\n" not in message
