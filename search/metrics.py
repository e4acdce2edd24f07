"""Classification metrics of one pass over a split, computed by scikit-learn from labels.

Macro-F1 and balanced accuracy sit beside accuracy because accuracy hides minority classes: on a
90/10 split, predicting the majority class always scores 0.9 accuracy but 0.5 balanced accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from search.history import PerClass


def summary_metrics(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """accuracy, macro_f1 (over all classes, absent ones scoring 0) and balanced_accuracy."""
    with warnings.catch_warnings():
        # A class missing from a small split's predictions is expected early in training.
        warnings.simplefilter("ignore", (UndefinedMetricWarning, UserWarning))
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=np.arange(num_classes),
                                       average="macro", zero_division=0)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        }


def per_class_results(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str],
                      train_counts: np.ndarray, epoch: int) -> PerClass:
    labels = np.arange(len(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return PerClass(
        classes=list(classes),
        precision=[float(v) for v in precision],
        recall=[float(v) for v in recall],
        f1=[float(v) for v in f1],
        support=[int(v) for v in support],
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        train_counts=[int(v) for v in train_counts],
        epoch=epoch,
    )
