"""scikit-learn's digits as LabeledArrays."""

from __future__ import annotations

import numpy as np

from search.data.digits import digits


def test_digits_are_uint8_images_of_ten_classes():
    data = digits()
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == np.uint8
    assert data.y.dtype == np.int64 and len(data) == 1797
    assert data.x.min() == 0 and data.x.max() == 255  # 0..16 scaled to the full range
    assert data.classes == tuple(str(d) for d in range(10))
    assert np.all(data.class_counts() > 150)
