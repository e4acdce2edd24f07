"""A folder of images, one sub-folder per class (torchvision's ImageFolder layout), read with PIL.

    ROOT/<class>/*.jpg|jpeg|png|bmp

Classes are the sub-folders, sorted by name; every image is converted to RGB and resized to a square.
Whatever is wrong with the layout raises ``DataError`` naming the path and what belongs there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from search.data.labeled import LabeledArrays
from search.record.errors import DataError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def _layout(root: Path) -> str:
    return f"put one sub-folder per class with its images in it: {root}/<class>/*.jpg"


def _class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DataError(f"data.root: folder '{root}' does not exist; {_layout(root)}")
    if not root.is_dir():
        raise DataError(f"data.root: '{root}' is a file, not a folder; {_layout(root)}")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.name)
    if not folders:
        raise DataError(f"data.root: folder '{root}' has no class sub-folders; {_layout(root)}")
    return folders


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith("."))
    if not files:
        raise DataError(f"data.root: class folder '{folder}' has no images "
                        f"({', '.join(EXTENSIONS)}); put that class's images in it or remove it")
    return files


def check_image_size(reader: str, image_size: object) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 8 <= image_size <= 1024:
        raise DataError(f"The 'image_size' parameter of {reader} must be an int in [8, 1024]. "
                        f"Got {image_size!r} instead.")


def read_image(path: Path, image_size: int) -> np.ndarray:
    """One image as uint8 (3, image_size, image_size)."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((image_size, image_size), Image.Resampling.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"data.root: image '{path}' cannot be read ({exc}); "
                        f"replace it with a valid JPEG/PNG/BMP file or delete it") from None
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def image_folder(root: Path, *, image_size: int = 64) -> LabeledArrays:
    """Read ROOT/<class>/<image> files: uint8 x (N, 3, image_size, image_size), classes by name."""
    check_image_size("image_folder", image_size)
    root = Path(root).expanduser()
    folders = _class_folders(root)
    files = [_image_files(folder) for folder in folders]
    x = np.stack([read_image(path, image_size) for class_files in files for path in class_files])
    y = np.repeat(np.arange(len(folders), dtype=np.int64), [len(f) for f in files])
    return LabeledArrays(x, y, tuple(folder.name for folder in folders))
