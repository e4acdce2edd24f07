"""Small curves and per-class results that show (or just miss) what each rule looks for.

Shared by tests/diagnose/test_rules.py (one table per rule) and test_diagnosis.py. These illustrate
the rules' boundaries; the rules' accuracy on real training runs is measured by
bench/diagnose_accuracy.py, on curves no one wrote by hand.
"""

from __future__ import annotations

import math

import numpy as np

from search.record.history import History, PerClass

NAN, INF = math.nan, math.inf


def history(**columns: list) -> History:
    """A history from columns given as lists (None: not logged that epoch)."""
    n = max(len(v) for v in columns.values())
    rows = [{"epoch": i + 1, **{k: v[i] for k, v in columns.items() if v[i] is not None}}
            for i in range(n)]
    return History(rows)


def falling(start: float, end: float, n: int) -> list[float]:
    return list(np.geomspace(start, end, n))


def rising(start: float, end: float, n: int) -> list[float]:
    return list(np.linspace(start, end, n))


HEALTHY = dict(train_loss=falling(1.2, 0.08, 12), val_loss=falling(1.1, 0.12, 12),
               train_accuracy=rising(0.6, 0.97, 12), val_accuracy=rising(0.62, 0.95, 12))

DIVERGED = {
    "nan training loss": (dict(train_loss=[2.3, 1.9, NAN, NAN]), "fires"),
    "inf validation loss": (dict(train_loss=[2.3, 1.9, 1.5], val_loss=[2.2, INF, 1.6]), "fires"),
    "nan in a single epoch still counts": (dict(train_loss=[NAN]), "fires"),
    # Keras clips probabilities at 1e-7: a blown-up 10-class model logs ~14.5 nats, 10% accuracy.
    "keras saturated at 14.5 nats": (dict(train_loss=[14.27, 14.51, 14.51, 14.51],
                                          train_accuracy=[0.097, 0.0995, 0.0995, 0.0995]),
                                     "fires"),
    "exploded 10x its start, accuracy gone": (dict(train_loss=[0.69, 0.62, 9.0, 8.5, 8.8],
                                                   train_accuracy=[0.6, 0.7, 0.5, 0.5, 0.5]),
                                              "fires"),
    "blew up in epoch 1, then dead at ln(10)": (dict(train_loss=[1e6, 2.303, 2.303, 2.303],
                                                     train_accuracy=[0.1, 0.1, 0.1, 0.1]), "fires"),
    "spiked but recovered (a note, not a label)": (
        dict(train_loss=[1.0, 0.5, 40.0, 0.3, 0.1, 0.05],
             train_accuracy=[0.6, 0.8, 0.3, 0.9, 0.96, 0.98]), "holds not"),
    "loss only: spiked and fell below where it was": (dict(train_loss=[1.0, 0.5, 40.0, 0.3, 0.1]),
                                                      "holds not"),
    "healthy": (HEALTHY, "holds not"),
    "saturated but only 2 epochs": (dict(train_loss=[14.3, 14.5], train_accuracy=[0.1, 0.1]),
                                    "not judged"),
    "no loss logged": (dict(train_accuracy=[0.5, 0.6, 0.7]), "not judged"),
}

OVERFIT = {
    "textbook: train to 1.0, validation stalls at 0.8, its loss rises": (
        dict(train_loss=falling(1.0, 0.002, 20), val_loss=falling(1.0, 0.5, 8) + rising(0.5, 1.2, 12),
             train_accuracy=rising(0.7, 1.0, 20), val_accuracy=rising(0.6, 0.8, 8) + [0.8] * 12),
        "fires"),
    "memorising, loss only: validation loss +100% while training loss falls 10x": (
        dict(train_loss=falling(0.5, 0.005, 15), val_loss=falling(0.6, 0.3, 5) + rising(0.3, 0.6, 10)),
        "fires"),
    # The bench's digits runs: 108 training images, train accuracy 1.0 vs 0.90, loss 1e-4 vs 0.35.
    "memorised: accuracies 0.09 apart, losses 1000x apart, validation flat": (
        dict(train_loss=falling(0.5, 1e-4, 40), val_loss=falling(1.2, 0.32, 8) + rising(0.32, 0.35, 32),
             train_accuracy=rising(0.8, 1.0, 10) + [1.0] * 30,
             val_accuracy=rising(0.7, 0.9, 8) + [0.9] * 32),
        "fires"),
    "wide gap but validation still improving at the end": (
        dict(train_loss=falling(1.0, 0.01, 12), val_loss=falling(1.2, 0.5, 12),
             train_accuracy=rising(0.7, 1.0, 12), val_accuracy=rising(0.5, 0.85, 12)),
        "holds not"),
    "validation stalled but the gap is small": (
        dict(train_loss=falling(1.0, 0.1, 12), val_loss=falling(1.0, 0.15, 6) + [0.15] * 6,
             train_accuracy=rising(0.7, 0.96, 12), val_accuracy=rising(0.7, 0.93, 6) + [0.93] * 6),
        "holds not"),
    # A sound run: training loss near zero, 100x below validation loss, but the accuracies agree.
    "loss ratio 50x, accuracies 3 points apart: sound": (
        dict(train_loss=falling(1.0, 0.002, 20), val_loss=falling(1.0, 0.2, 8) + rising(0.2, 0.208, 12),
             train_accuracy=rising(0.7, 0.995, 20), val_accuracy=rising(0.7, 0.97, 8) + [0.965] * 12),
        "holds not"),
    # The bench's breast-cancer run on 28 examples: the accuracies agree (1.0 vs 0.957) but the
    # validation loss rose 21% above its minimum while the training loss vanished.
    "loss ratio 10000x, accuracies 4 points apart, validation loss risen 20%": (
        dict(train_loss=falling(0.6, 1e-5, 30), val_loss=falling(0.27, 0.125, 6) + rising(0.125, 0.155, 24),
             train_accuracy=rising(0.55, 1.0, 6) + [1.0] * 24,
             val_accuracy=rising(0.93, 0.957, 6) + [0.957] * 24),
        "fires"),
    "loss ratio 70x, no accuracies, validation loss risen 50%": (
        dict(train_loss=falling(1.0, 0.001, 16), val_loss=falling(1.0, 0.2, 8) + rising(0.2, 0.3, 8)),
        "fires"),
    "loss ratio 70x, no accuracies, validation loss up 2% (under GL_5)": (
        dict(train_loss=falling(1.0, 0.001, 16), val_loss=falling(1.0, 0.2, 6) + rising(0.2, 0.206, 10)),
        "holds not"),
    "healthy": (HEALTHY, "holds not"),
    "no validation metrics": (dict(train_loss=falling(1.0, 0.1, 10)), "not judged"),
    "too short": (dict(train_loss=[1.0, 0.5], val_loss=[1.0, 0.9]), "not judged"),
}

UNDERFIT = {
    "stuck near chance": (dict(train_loss=[2.31, 2.30, 2.30, 2.30], val_loss=[2.30] * 4,
                               train_accuracy=[0.11] * 4, val_accuracy=[0.11] * 4), "fires"),
    "bottleneck: plateaued at 60%": (dict(train_loss=falling(2.0, 1.1, 10),
                                          val_loss=falling(2.0, 1.15, 10),
                                          train_accuracy=rising(0.3, 0.6, 10),
                                          val_accuracy=rising(0.3, 0.58, 10)), "fires"),
    "low training accuracy but validation far below: not underfit": (
        dict(train_loss=falling(1.5, 0.9, 10), train_accuracy=rising(0.5, 0.7, 10),
             val_accuracy=rising(0.3, 0.4, 10)), "holds not"),
    "healthy": (HEALTHY, "holds not"),
    # Logged training accuracy is measured with dropout on: 0.88 there, 0.95 in eval mode.
    "dropout keeps training accuracy below validation": (
        dict(train_loss=falling(1.5, 0.35, 12), val_loss=falling(1.4, 0.18, 12),
             train_accuracy=rising(0.5, 0.88, 12), val_accuracy=rising(0.55, 0.95, 12)), "holds not"),
    "loss only, hardly fitted": (dict(train_loss=[2.30, 2.28, 2.27, 2.26, 2.25]), "fires"),
    "loss only, fitted": (dict(train_loss=falling(2.3, 0.2, 8)), "holds not"),
    "too short": (dict(train_loss=[2.3, 2.3], train_accuracy=[0.1, 0.1]), "not judged"),
    "no training metrics": (dict(val_loss=[1.0, 0.9, 0.8]), "not judged"),
}



def per_class(counts, recall, train_counts=True) -> PerClass:
    """Per-class results whose confusion matrix sends each class's misses to class 0."""
    k = len(counts)
    cm = np.zeros((k, k), dtype=int)
    for i, (n, r) in enumerate(zip(counts, recall)):
        hits = round(n * r)
        cm[i, i] = hits
        cm[i, 0 if i else 1] += n - hits
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(np.diag(cm), predicted, out=np.zeros(k), where=predicted > 0)
    rec = np.diag(cm) / support
    f1 = np.divide(2 * precision * rec, precision + rec, out=np.zeros(k),
                   where=precision + rec > 0)
    return PerClass([f"c{i}" for i in range(k)], precision.tolist(), rec.tolist(), f1.tolist(),
                    support.tolist(), cm.tolist(), list(counts) if train_counts else None, 5)


IMBALANCED = {
    "20:1 and the minority is missed": (per_class([200, 200, 10], [0.95, 0.95, 0.1]), "fires"),
    "20:1 from validation support only": (per_class([200, 200, 10], [0.95, 0.95, 0.1],
                                                    train_counts=False), "fires"),
    "20:1 but the minority is recalled well": (per_class([200, 200, 10], [0.95, 0.93, 0.9]),
                                               "holds not"),
    "balanced with one hard class": (per_class([100, 100, 90], [0.95, 0.95, 0.2]), "holds not"),
    "minority never predicted": (per_class([300, 30, 30], [0.99, 0.0, 0.0]), "fires"),
    # A trial pruned after one epoch: it recognises no class yet; not the imbalance's doing.
    "nothing learned yet": (per_class([300, 300, 30], [0.3, 0.2, 0.0]), "holds not"),
    # The bench's ConvLSTM on 20:1 clips: every prediction is the largest class.
    "collapsed onto the largest class": (per_class([80, 38, 18, 8, 4], [1.0, 0, 0, 0, 0]), "fires"),
    "collapsed, three majority classes": (per_class([100, 90, 80, 10], [1.0, 0, 0, 0]), "fires"),
}
