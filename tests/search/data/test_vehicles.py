"""The vehicle photos: train.csv + images/ as shipped, or one folder per class; and the errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import published_layouts as layouts
from published_layouts import red_level
from search.data.vehicles import vehicles
from search.record.errors import DataError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return layouts.vehicles(tmp_path / "vehicles", (6, 4))


def test_reads_the_csv_and_its_images(root):
    data = vehicles(root, image_size=16)
    assert data.classes == ("0", "1")
    assert data.x.shape == (10, 3, 16, 16) and data.x.dtype == np.uint8
    assert data.y.tolist() == [0] * 6 + [1] * 4 and data.y.dtype == np.int64
    assert data.split is None  # no shipped split: plateau splits it stratified
    for image, label in zip(data.x, data.y):
        assert abs(image[0].mean() - red_level(label)) <= 3  # the photo of that row, not another


def test_rows_keep_the_csv_order_and_classes_sort_by_label(tmp_path):
    root = tmp_path / "photos"
    (root / "images").mkdir(parents=True)
    colours = {"a.jpg": 0, "b.png": 1, "c.jpg": 2}
    for name, label in colours.items():
        Image.fromarray(layouts.frame_array(label, 0)).save(root / "images" / name)
    (root / "train.csv").write_text("image_names,emergency_or_not,extra\n"
                                    "c.jpg,truck,x\n b.png , car \na.jpg,ambulance,y\n\n")
    (root / "test.csv").write_text("image_names\nd.jpg\n")  # shipped unlabelled: not read
    data = vehicles(root, image_size=8)
    assert data.classes == ("ambulance", "car", "truck")
    assert data.y.tolist() == [2, 1, 0]
    assert [abs(x[0].mean() - red_level(colours[n])) <= 3
            for x, n in zip(data.x, ["c.jpg", "b.png", "a.jpg"])] == [True] * 3


def test_without_train_csv_it_reads_class_folders(tmp_path):
    for label, name in enumerate(("emergency", "non_emergency")):
        for i in range(label + 2):
            (tmp_path / "v" / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(layouts.frame_array(label, i)).save(tmp_path / "v" / name / f"{i}.jpg")
    data = vehicles(tmp_path / "v", image_size=12)
    assert data.classes == ("emergency", "non_emergency")
    assert data.x.shape == (5, 3, 12, 12) and data.y.tolist() == [0, 0, 1, 1, 1]


def make_missing_root(root: Path) -> Path:
    shutil.rmtree(root)
    return root


def make_no_images_folder(root: Path) -> Path:
    shutil.rmtree(root / "images")
    return root


def make_csv(text: str):
    def make(root: Path) -> Path:
        (root / "train.csv").write_text(text)
        return root / "train.csv"

    make.__name__ = f"csv {text[:30]!r}"
    return make


def make_missing_image(root: Path) -> Path:
    (root / "images" / "7.jpg").unlink()
    return root / "images" / "7.jpg"


def make_corrupt_image(root: Path) -> Path:
    (root / "images" / "3.jpg").write_bytes(b"\xff\xd8\xff half a photo")
    return root / "images" / "3.jpg"


def make_nothing_at_all(root: Path) -> Path:
    shutil.rmtree(root)
    root.mkdir()
    return root


@pytest.mark.parametrize("make, words", [
    (make_missing_root, "does not exist"),
    (make_no_images_folder, "has train.csv but no images/ folder"),
    (make_csv(""), "expected a header and rows"),
    (make_csv("image_names,emergency_or_not\n"), "expected a header and rows"),
    (make_csv("image_names,emergency_or_not\n\n \n"), "expected a header and rows"),
    (make_csv("image_names\n1.jpg\n"), "expected a header and rows"),
    (make_csv("image_names,emergency_or_not\n1.jpg,0\n2.jpg\n"), ", line 3: expected"),
    (make_csv("image_names,emergency_or_not\n1.jpg,\n"), ", line 2: expected"),
    (make_csv("image_names,emergency_or_not\n,1\n"), ", line 2: expected"),
    (make_csv("image_names,emergency_or_not\n\n1.jpg\n"), ", line 3: expected"),  # blank counted
    (make_missing_image, "cannot be read"),
    (make_corrupt_image, "cannot be read"),
    (make_nothing_at_all, "no class sub-folders"),  # no CSV: read as class folders
], ids=lambda value: getattr(value, "__name__", value))
def test_wrong_layouts_raise_one_line_naming_the_path(root, make, words):
    offender = make(root)
    with pytest.raises(DataError) as error:
        vehicles(root, image_size=16)
    message = str(error.value)
    assert str(offender) in message and words in message and "\n" not in message


@pytest.mark.parametrize("layout", ["csv", "folders"])
@pytest.mark.parametrize("image_size", [0, 4, 7, 1025, 16.0, True, "64"])
def test_bad_image_size_raises_one_line(root, layout, image_size):
    if layout == "folders":
        (root / "train.csv").unlink()
    with pytest.raises(DataError) as error:
        vehicles(root, image_size=image_size)
    message = str(error.value)
    assert "'image_size' parameter of vehicles" in message and "\n" not in message
