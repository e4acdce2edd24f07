"""Collapse onto the majority class: a model that predicts the largest class (nearly) always.

On skewed class counts, plain cross entropy has a cheap minimum in the prior: predict the majority.
A run stuck there has low accuracy that is the imbalance's doing, not a lack of capacity. It shows in
per-class results (the predictions fall in the largest class's column) and, in a log without them,
in Keras' binary precision and recall of the positive class (both 0) or its per-class F1 scores (0
for all classes but one) while validation accuracy sits at the majority's share.
"""

from __future__ import annotations

import re

import numpy as np

from diagnose import criteria as c
from diagnose.confidence import confidence
from diagnose.curves import Curves
from search.record.diagnosis import Finding
from search.record.measures import shown


def predicted_share(cm: np.ndarray, counts: np.ndarray) -> tuple[int, float]:
    """The largest class (by ``counts``) and the share of the predictions in ``cm`` (rows true,
    columns predicted) that fall on it."""
    largest = int(np.argmax(counts))
    predicted = cm.sum(axis=0)
    return largest, float(predicted[largest] / predicted.sum()) if predicted.sum() else 0.0


def collapsed(curves: Curves) -> Finding | None:
    """From a log without per-class results: a model that predicts the majority class only, seen in
    Keras' Precision() and Recall() of the positive class (both 0), or in its per-class F1Score()
    (0 for every class but one), while validation accuracy sits at the majority's share."""
    return _binary(curves) or _one_class_scores(curves)


def _one_class_scores(curves: Curves) -> Finding | None:
    """Per-class F1 (``val_f1_0``, ``val_f1_1``, ...) of at most ``COLLAPSED_SCORE`` for every class
    but one, the same one, over the last ``MIN_EPOCHS`` epochs, with validation accuracy >= 0.5."""
    columns = sorted((column for column in curves.history.columns()
                      if re.fullmatch(r"val_f1_\d+", column)),
                     key=lambda column: int(column.rsplit("_", 1)[1]))
    if len(columns) < 2 or curves.n < c.MIN_EPOCHS or not curves.has("val_accuracy"):
        return None
    scores = np.array([_last(curves, column) for column in columns])  # classes x epochs
    scored = scores > c.COLLAPSED_SCORE
    accuracy = _last(curves, "val_accuracy")
    if not (np.all(scored.sum(axis=0) == 1) and np.all(scored[:, :1] == scored)
            and np.all(accuracy >= 0.5)):
        return None
    kept = int(np.argmax(scored[:, -1]))
    return _finding(curves, accuracy, f"the model predicts one class only: validation F1 is at most "
                    f"{c.COLLAPSED_SCORE:g} for every class but class {kept} "
                    f"({scores[kept, -1]:.2f})",
                    {"val_f1_end": [shown(float(v)) for v in scores[:, -1]],
                     "predicted_class": kept, "evidence_from": "logged per-class F1"})


def _binary(curves: Curves) -> Finding | None:
    """Keras' Precision() and Recall() of the positive class both at most ``COLLAPSED_SCORE``
    over the last ``MIN_EPOCHS`` epochs, with validation accuracy >= 0.5."""
    if not all(curves.has(col) for col in ("val_precision", "val_recall", "val_accuracy")):
        return None
    if curves.n < c.MIN_EPOCHS:
        return None
    precision, recall = _last(curves, "val_precision"), _last(curves, "val_recall")
    accuracy = _last(curves, "val_accuracy")
    if not (np.all(precision <= c.COLLAPSED_SCORE) and np.all(recall <= c.COLLAPSED_SCORE)
            and np.all(accuracy >= 0.5)):
        return None
    return _finding(curves, accuracy, f"the model predicts the majority class only: validation "
                    f"precision and recall of the positive class are {float(precision[-1]):.2f} "
                    f"and {float(recall[-1]):.2f}",
                    {"val_precision_end": shown(float(precision[-1])),
                     "val_recall_end": shown(float(recall[-1])),
                     "evidence_from": "logged precision and recall"})


def _last(curves: Curves, column: str) -> np.ndarray:
    """The last ``MIN_EPOCHS`` values of ``column``, raw: a collapse is a state, not a trend."""
    return curves.raw(column)[-c.MIN_EPOCHS:]


def _finding(curves: Curves, accuracy: np.ndarray, what: str, evidence: dict) -> Finding:
    """A collapse seen as ``what``, with validation accuracy at ``accuracy`` (the majority's share)."""
    share = float(np.median(accuracy))
    return Finding("imbalanced", confidence(share, 0.5, 0.4),
                   f"{what} over the last {c.MIN_EPOCHS} epochs, and validation accuracy stays at "
                   f"{share:.3f}, that class's share",
                   {**evidence, "collapsed_score_threshold": c.COLLAPSED_SCORE,
                    "majority_share": shown(share), "majority_mean_recall": 1.0,
                    "collapsed_onto_majority": True},
                   epochs=(curves.epoch_at(curves.n - 1),))
