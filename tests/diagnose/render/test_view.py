"""The rendering model: verdict counts as every rendering shows them."""

from __future__ import annotations

import pytest

from diagnose.render.view import counts_text, label_counts
from search.record.diagnosis import Diagnosis, Finding


def diagnosis(*labels: str, pruned: bool = False) -> Diagnosis:
    notes = (Finding("pruned", 1.0, "pruned at epoch 1: ...", {}),) if pruned else ()
    return Diagnosis(labels, tuple(Finding(label, 0.9, label, {}) for label in labels
                                   if label != "healthy"), notes)


@pytest.mark.parametrize("diagnoses, text", [
    ([diagnosis("overfit"), diagnosis("overfit"), diagnosis()], "overfit 2, not judged 1"),
    ([diagnosis("underfit", "imbalanced"), diagnosis("healthy")],
     "underfit 1, imbalanced 1, healthy 1 (a trial can have more than one label)"),
    ([diagnosis(pruned=True), diagnosis("diverged", pruned=True)], "pruned 1, diverged 1"),
])
def test_verdicts_are_counted_and_a_sum_over_the_trials_is_explained(diagnoses, text):
    assert counts_text(label_counts(diagnoses), len(diagnoses)) == text
