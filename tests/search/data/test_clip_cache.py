"""The per-clip .npy cache: decode once, atomic writes, resuming, and what a damaged cache says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.data.clip_cache import CACHE_ENV, FORMAT, Clip, ClipCache, default_cache_dir
from search.record.errors import DataError

SHAPE = (3, 2, 8, 8)  # (channels, frames, size, size) of the caches below



def make_clips(root: Path, count: int) -> list[Clip]:
    """``count`` source files of different sizes (so different keys) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        (root / f"clip{i}.avi").write_bytes(b"x" * (i + 1))
        clips.append(Clip(root / f"clip{i}.avi", f"clip{i}.avi"))
    return clips


def fake_array(clip: Clip) -> np.ndarray:
    """A distinct array per clip, from its byte size."""
    return np.full(SHAPE, clip.source.stat().st_size, dtype=np.uint8)


class Decoder:
    """decode(clip) that counts its calls and fails for the clips named in ``fail``."""

    def __init__(self, fail: tuple[str, ...] = (), interrupt_after: int | None = None) -> None:
        self.calls: list[str] = []
        self.fail, self.interrupt_after = fail, interrupt_after

    def __call__(self, clip: Clip) -> np.ndarray:
        if self.interrupt_after is not None and len(self.calls) == self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(clip.relative)
        if clip.relative in self.fail:
            raise DataError(f"video '{clip.source}' cannot be decoded (garbage)")
        return fake_array(clip)


def npy_files(cache: ClipCache) -> list[Path]:
    """The whole clips cached (a temporary ".partial-*.npy" is not one)."""
    return sorted(p for p in cache.folder.glob("*.npy") if not p.name.startswith("."))


def partial_files(cache: ClipCache) -> list[Path]:
    return sorted(cache.folder.glob(".partial-*"))


def new_cache(tmp_path: Path, dataset: str = "videos", frames: int = 2, size: int = 8) -> ClipCache:
    return ClipCache(str(tmp_path / "cache"), dataset, frames=frames, size=size)


def test_folder_is_keyed_by_dataset_frames_size_and_format(tmp_path):
    cache = ClipCache(tmp_path / "cache", "hmdb51", frames=16, size=112)
    assert cache.folder == tmp_path / "cache" / f"hmdb51-t16-s112-v{FORMAT}"
    assert cache.shape == (3, 16, 112, 112)
    folders = {ClipCache(tmp_path, dataset, frames=frames, size=size).folder
               for dataset, frames, size in [("a", 4, 16), ("a", 5, 16), ("a", 4, 17), ("b", 4, 16)]}
    assert len(folders) == 4


def test_empty_cache_dir_means_the_environment_variable(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "env-cache"
    assert ClipCache("", "x", frames=2, size=8).folder.parent == tmp_path / "env-cache"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir() == Path.home() / ".cache" / "plateau"


@pytest.mark.parametrize("change, same", [
    (lambda c: c, True),
    (lambda c: Clip(c.source, c.relative, 0, None), True),  # the defaults
    (lambda c: Clip(c.source, "other/" + c.relative), False),  # another path in the dataset
    (lambda c: Clip(c.source, c.relative, start=2), False),  # another frame range
    (lambda c: Clip(c.source, c.relative, end=10), False),
])
def test_clip_key(tmp_path, change, same):
    clip = make_clips(tmp_path / "videos", 1)[0]
    assert (change(clip).key() == clip.key()) is same
    assert len(clip.key()) == 20


def test_key_changes_when_the_file_is_edited(tmp_path):
    clip = make_clips(tmp_path / "videos", 1)[0]
    before = clip.key()
    clip.source.write_bytes(b"a longer, re-encoded clip")
    assert clip.key() != before


def test_first_load_decodes_every_clip_then_the_cache_serves_them(tmp_path):
    clips = make_clips(tmp_path / "videos", 5)
    cache = new_cache(tmp_path)
    decode = Decoder()
    first = cache.load(clips, decode)
    assert first.decoded == 5 and decode.calls == [c.relative for c in clips]
    assert first.x.shape == (5, *SHAPE) and first.x.dtype == np.uint8
    assert [int(a[0, 0, 0, 0]) for a in first.x] == [1, 2, 3, 4, 5]  # in the order given
    assert len(npy_files(cache)) == 5 and not partial_files(cache)

    again = Decoder(fail=tuple(c.relative for c in clips))  # would fail if it were called
    second = cache.load(clips, again)
    assert second.decoded == 0 and again.calls == []
    assert np.array_equal(second.x, first.x)
    # Any subset, in any order, comes from the cache too.
    third = cache.load(clips[::-2], again)
    assert third.decoded == 0 and np.array_equal(third.x, first.x[::-2])


def test_an_edited_clip_alone_is_decoded_again(tmp_path):
    clips = make_clips(tmp_path / "videos", 3)
    cache = new_cache(tmp_path)
    cache.load(clips, Decoder())
    clips[1].source.write_bytes(b"y" * 50)
    decode = Decoder()
    loaded = cache.load(clips, decode)
    assert decode.calls == ["clip1.avi"] and loaded.decoded == 1
    assert int(loaded.x[1, 0, 0, 0, 0]) == 50


def test_other_shapes_and_datasets_do_not_share_entries(tmp_path):
    clips = make_clips(tmp_path / "videos", 2)
    new_cache(tmp_path).load(clips, Decoder())
    assert new_cache(tmp_path, dataset="other").load(clips, Decoder()).decoded == 2
    wider = new_cache(tmp_path, size=9)
    loaded = wider.load(clips, lambda clip: np.zeros((3, 2, 9, 9), dtype=np.uint8))
    assert loaded.decoded == 2 and loaded.x.shape == (2, 3, 2, 9, 9)


@pytest.mark.parametrize("removed", [[0], [1, 3], [0, 1, 2, 3, 4]])
def test_an_interrupted_build_resumes_with_only_the_missing_clips(tmp_path, removed):
    clips = make_clips(tmp_path / "videos", 5)
    cache = new_cache(tmp_path)
    first = cache.load(clips, Decoder())
    for i in removed:
        (cache.folder / f"{clips[i].key()}.npy").unlink()
    decode = Decoder()
    second = cache.load(clips, decode)
    assert decode.calls == [clips[i].relative for i in removed] and second.decoded == len(removed)
    assert np.array_equal(second.x, first.x)


def test_an_interrupt_keeps_the_clips_cached_so_far(tmp_path):
    clips = make_clips(tmp_path / "videos", 5)
    cache = new_cache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        cache.load(clips, Decoder(interrupt_after=2))
    assert len(npy_files(cache)) == 2 and not partial_files(cache)
    decode = Decoder()
    assert cache.load(clips, decode).decoded == 3
    assert decode.calls == ["clip2.avi", "clip3.avi", "clip4.avi"]


def test_a_write_that_fails_leaves_no_file_behind(tmp_path, monkeypatch):
    clips = make_clips(tmp_path / "videos", 1)
    cache = new_cache(tmp_path)

    def save_half(file, array, allow_pickle=False):
        file.write(b"\x93NUMPY half an array")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", save_half)
    with pytest.raises(OSError, match="No space left"):
        cache.load(clips, Decoder())
    assert list(cache.folder.iterdir()) == []  # neither the .npy nor its temporary file


def test_an_undecodable_clip_is_reported_after_the_others_are_cached(tmp_path):
    clips = make_clips(tmp_path / "videos", 5)
    cache = new_cache(tmp_path)
    decode = Decoder(fail=("clip1.avi",))
    with pytest.raises(DataError) as error:
        cache.load(clips, decode)
    message = str(error.value)
    assert f"'{clips[1].source}'" in message and "the other 4 clips are cached" in message
    assert "more clip(s)" not in message and "\n" not in message
    assert len(decode.calls) == 5 and len(npy_files(cache)) == 4 and not partial_files(cache)
    # Once the clip is fixed, only it is decoded.
    retry = Decoder()
    assert cache.load(clips, retry).decoded == 1 and retry.calls == ["clip1.avi"]


def test_several_undecodable_clips_are_counted(tmp_path):
    clips = make_clips(tmp_path / "videos", 5)
    cache = new_cache(tmp_path)
    with pytest.raises(DataError) as error:
        cache.load(clips, Decoder(fail=("clip0.avi", "clip2.avi", "clip4.avi")))
    message = str(error.value)
    assert f"'{clips[0].source}'" in message  # the first one by name
    assert "2 more clip(s) failed too" in message and "the other 2 clips are cached" in message
    assert len(npy_files(cache)) == 2


def write_empty(path: Path) -> None:
    path.write_bytes(b"")


def write_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def write_garbage(path: Path) -> None:
    path.write_bytes(b"this is not an npy file at all")


def write_other_shape(path: Path) -> None:
    np.save(path, np.zeros((3, 2, 8, 9), dtype=np.uint8))


def write_other_dtype(path: Path) -> None:
    np.save(path, np.zeros(SHAPE, dtype=np.float32))


def write_pickle(path: Path) -> None:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("damage", [write_empty, write_truncated, write_garbage, write_other_shape,
                                    write_other_dtype, write_pickle])
def test_a_damaged_cache_file_raises_one_line_telling_to_delete_it(tmp_path, damage):
    clips = make_clips(tmp_path / "videos", 3)
    cache = new_cache(tmp_path)
    cache.load(clips, Decoder())
    damaged = cache.folder / f"{clips[2].key()}.npy"
    damage(damaged)
    with pytest.raises(DataError) as error:
        cache.load(clips, Decoder())
    message = str(error.value)
    assert f"'{damaged}'" in message and f"'{clips[2].source}'" in message
    assert "delete it" in message and "\n" not in message
    damaged.unlink()  # as told: the next load decodes it anew
    assert cache.load(clips, Decoder()).decoded == 1


def test_a_cache_folder_that_cannot_be_created_raises_naming_it(tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    cache = new_cache(tmp_path)
    with pytest.raises(DataError) as error:
        cache.load(make_clips(tmp_path / "videos", 1), Decoder())
    message = str(error.value)
    assert f"'{cache.folder}'" in message and CACHE_ENV in message and "\n" not in message


def test_a_decoded_array_of_the_wrong_shape_is_a_bug_and_not_cached(tmp_path):
    clips = make_clips(tmp_path / "videos", 1)
    cache = new_cache(tmp_path)
    with pytest.raises(ValueError, match="expected"):
        cache.load(clips, lambda clip: np.zeros((3, 2, 8, 8), dtype=np.int64))
    assert list(cache.folder.iterdir()) == []


def test_no_clips_loads_an_empty_array(tmp_path):
    loaded = new_cache(tmp_path).load([], Decoder())
    assert loaded.x.shape == (0, *SHAPE) and loaded.decoded == 0
