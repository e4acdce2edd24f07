"""How sure a finding is: half at the line, up to 1 past it, under half inside a margin band."""

from __future__ import annotations

import math

import pytest

from diagnose.confidence import banded, confidence

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("measured, expected", [(NAN, 0.5), (INF, 1.0), (-INF, 0.5), (0.1, 0.5),
                                                (0.15, 0.75), (0.3, 1.0)])
def test_confidence_is_half_at_the_threshold_and_never_nan(measured, expected):
    assert confidence(measured, 0.1, 0.1) == pytest.approx(expected)


@pytest.mark.parametrize("measured, expected", [
    (0.90, 0.25), (0.895, 0.25 + 0.25 / 6), (0.88, 0.25 + 0.25 * 2 / 3),  # inside the band
    (0.87, 0.5), (0.72, 0.75), (0.57, 1.0), (0.1, 1.0),  # below it: as confidence() from its edge
])
def test_banded_confidence_is_under_half_inside_the_band_and_continuous_at_its_edge(measured,
                                                                                  expected):
    assert banded(measured, line=0.90, margin=0.03, span=0.3) == pytest.approx(expected)
