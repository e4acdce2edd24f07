"""The report's figures: what their axes say."""

from __future__ import annotations

from diagnose.report_figures import per_class_figures
from search.record.history import History, PerClass


def test_the_per_class_counts_axis_counts_whole_examples():
    h = History([{"epoch": 1, "val_accuracy": 0.5}],
                PerClass(["a", "b"], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [3, 1], [[2, 1], [1, 0]],
                         [3, 1], 1))
    bars, _ = per_class_figures(h)
    assert bars.layout.yaxis2.tickformat == ",d" and bars.layout.yaxis2.rangemode == "tozero"
