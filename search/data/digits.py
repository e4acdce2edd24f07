"""scikit-learn's handwritten digits (8x8 grey images, 10 classes) as a small real image dataset.

It ships with scikit-learn, so it needs no download: a quick, honest check that a search works on real
images before pointing plateau at a folder of your own.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from search.data.labeled import LabeledArrays


def digits() -> LabeledArrays:
    """The 1797 digit images: uint8 x (N, 1, 8, 8), grey levels 0..16 scaled to 0..255."""
    bunch = load_digits()
    x = np.round(bunch.images * (255 / 16)).astype(np.uint8)[:, None]
    return LabeledArrays(x, bunch.target.astype(np.int64), tuple(str(c) for c in bunch.target_names))
