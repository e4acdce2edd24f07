"""How sure a finding is: 0.5 where its measurement crosses the rule's line, rising to 1 as it gets
further past it; under 0.5 inside a margin band near a line (borderline), so that no line is a cliff
between "sure" and "not at all"."""

from __future__ import annotations

import numpy as np


def confidence(measured: float, threshold: float, span: float) -> float:
    """0.5 at the threshold, rising linearly to 1 at threshold + span (span signed for "below").

    Never NaN: the rules fire only on measurements they could make, and a NaN that got through
    anyway says nothing about how far past the threshold the run is, so it counts as at it."""
    if np.isnan(measured):
        return 0.5
    return float(np.clip(0.5 + 0.5 * (measured - threshold) / span, 0.5, 1.0))


def banded(measured: float, line: float, margin: float, span: float) -> float:
    """The confidence of a "below the line" finding with a margin band: from 0.25 at the line to 0.5
    at ``margin`` below it (borderline), then rising to 1 at ``span`` further below."""
    depth = line - measured
    if depth < margin:
        return 0.25 + 0.25 * max(depth, 0.0) / margin
    return confidence(-measured, -(line - margin), span)


def past(measured: float, line: float, margin: float, span: float) -> float:
    """``banded`` for an "above the line" finding (a gap that must be at least ``line``)."""
    return banded(-measured, -line, margin, span)
