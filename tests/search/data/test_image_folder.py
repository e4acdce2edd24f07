"""Reading ROOT/<class>/<image> folders, and the messages for every way the layout can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from search.data.image_folder import image_folder
from search.record.errors import DataError


def write_image(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Three classes of flat-coloured images of different sizes and formats; 'notes.txt' is ignored."""
    root = tmp_path / "vehicles"
    write_image(root / "truck" / "a.png", (40, 30), (0, 0, 255))
    write_image(root / "car" / "b.jpg", (20, 20), (255, 0, 0))
    write_image(root / "car" / "a.jpeg", (64, 48), (255, 0, 0))
    write_image(root / "bus" / "x.PNG", (10, 70), (0, 255, 0))
    write_image(root / "bus" / "y.bmp", (33, 17), (0, 255, 0))
    (root / "car" / "notes.txt").write_text("not an image")
    (root / "README").write_text("a file beside the class folders")
    return root


def test_reads_every_image_resized_with_classes_sorted_by_name(root):
    data = image_folder(root, image_size=16)
    assert data.classes == ("bus", "car", "truck")
    assert data.x.shape == (5, 3, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0, 0, 1, 1, 2] and data.y.dtype == np.int64
    # Each class's flat colour survives (JPEG roughly): bus green, car red, truck blue.
    mean_colour = np.stack([data.x[data.y == c].mean(axis=(0, 2, 3)) for c in range(3)])
    assert np.array_equal(mean_colour.argmax(axis=1), [1, 0, 2])
    assert np.all(mean_colour.max(axis=1) > 240)


def test_grey_images_become_rgb(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("L", (12, 9), 100).save(tmp_path / "only" / "grey.png")
    data = image_folder(tmp_path, image_size=8)
    assert data.x.shape == (1, 3, 8, 8) and np.all(data.x == 100)


def make_missing(root: Path) -> Path:
    return root / "nowhere"


def make_file(root: Path) -> Path:
    (root / "file.jpg").write_bytes(b"")
    return root / "file.jpg"


def make_empty_root(root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def make_empty_class(root: Path) -> Path:
    write_image(root / "data" / "cat" / "1.png", (8, 8), (1, 2, 3))
    (root / "data" / "dog").mkdir()
    (root / "data" / "dog" / "readme.txt").write_text("images go here")
    return root / "data" / "dog"


def make_corrupt_image(root: Path) -> Path:
    write_image(root / "data" / "cat" / "1.png", (8, 8), (1, 2, 3))
    (root / "data" / "cat" / "2.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return root / "data" / "cat" / "2.jpg"


def make_truncated_image(root: Path) -> Path:
    write_image(root / "data" / "cat" / "1.jpg", (64, 64), (1, 2, 3))
    whole = (root / "data" / "cat" / "1.jpg").read_bytes()
    (root / "data" / "cat" / "1.jpg").write_bytes(whole[: len(whole) // 2])
    return root / "data" / "cat" / "1.jpg"


@pytest.mark.parametrize("make, read_from, words", [
    (make_missing, "offender", "does not exist"),
    (make_file, "offender", "not a folder"),
    (make_empty_root, "offender", "no class sub-folders"),
    (make_empty_class, "data", "has no images"),
    (make_corrupt_image, "data", "cannot be read"),
    (make_truncated_image, "data", "cannot be read"),
])
def test_bad_layouts_raise_one_line_naming_the_path(tmp_path, make, read_from, words):
    offender = make(tmp_path)
    with pytest.raises(DataError) as error:
        image_folder(offender if read_from == "offender" else tmp_path / "data")
    message = str(error.value)
    assert f"'{offender}'" in message and words in message and "\n" not in message


@pytest.mark.parametrize("image_size", [0, 4, 2000, 16.0, True])
def test_bad_image_size_raises(root, image_size):
    with pytest.raises(DataError, match="'image_size' parameter of image_folder"):
        image_folder(root, image_size=image_size)
