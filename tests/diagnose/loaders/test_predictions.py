"""Per-class results from y_true,y_pred files, checked against scikit-learn (imported here only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from diagnose.loaders.predictions import load_per_class
from search.record.errors import LogError

RNG = np.random.default_rng(0)
NAMES = np.array(["cat", "dog", "bird", "fish"])


def _write(path: Path, y_true, y_pred, extra: bool = False) -> Path:
    lines = ["id,y_true,y_pred,p_max" if extra else "y_true,y_pred"]
    lines += [f"{i},{t},{p},0.5" if extra else f"{t},{p}"
              for i, (t, p) in enumerate(zip(y_true, y_pred))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _skewed(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels where class k-1 is never predicted (its precision is 0/0) and predictions are noisy."""
    y_true = RNG.integers(0, k, n)
    y_pred = np.where(RNG.random(n) < 0.6, y_true, RNG.integers(0, k, n))
    return y_true, np.where(y_pred == k - 1, 0, y_pred)


CASES = [  # (case, y_true, y_pred as written, labels for scikit-learn, extra columns)
    ("integer labels", *_skewed(200, 4), list(range(4)), False),
    ("names", *(NAMES[a] for a in _skewed(150, 4)), sorted(NAMES), False),
    ("extra columns are ignored", *_skewed(50, 3), list(range(3)), True),
    ("a class never predicted", np.array([0, 0, 2, 2, 1]), np.array([0, 2, 2, 2, 0]), [0, 1, 2], False),
]


@pytest.mark.parametrize("case, y_true, y_pred, labels, extra", CASES, ids=[c[0] for c in CASES])
def test_matches_scikit_learn(tmp_path, case, y_true, y_pred, labels, extra):
    result = load_per_class(_write(tmp_path / "p.csv", y_true, y_pred, extra))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    assert result.classes == [str(c) for c in labels]
    assert result.confusion_matrix == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert result.precision == pytest.approx(precision.tolist())
    assert result.recall == pytest.approx(recall.tolist())
    assert result.f1 == pytest.approx(f1.tolist())
    assert result.support == support.tolist()
    assert result.train_counts is None and result.epoch is None
    assert all(type(v) is float for v in result.precision + result.f1)  # plain JSON, no numpy scalars
    assert all(type(v) is int for row in result.confusion_matrix for v in row)


def test_given_class_names_name_the_indices_and_count_unseen_classes(tmp_path):
    path = _write(tmp_path / "p.csv", [0, 1, 1], [0, 1, 0])
    result = load_per_class(path, class_names=["a", "b", "c"])
    assert result.classes == ["a", "b", "c"] and result.support == [1, 2, 0]
    assert result.confusion_matrix == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("text, class_names, words", [
    ("truth,guess\n0,1\n", None, ["no y_true or y_pred column", "truth, guess"]),
    ("y_true,score\n0,1\n", None, ["no y_pred column"]),
    ("", None, ["is empty"]),
    ("y_true,y_pred\n", None, ["no rows"]),
    ("y_true,y_pred\n0,1\n1,\n", None, ["line 3", "no y_pred value"]),
    ("y_true,y_pred\n0,1\n1,0.7\n", None, ["line 3", "'0.7'", "not a class index"]),
    ("y_true,y_pred\n0,1\n-1,0\n", None, ["line 3", "'-1'"]),
    ("y_true,y_pred\n0,1\n3,0\n", ["a", "b", "c"], ["line 3", "label 3", "3 classes", "0..2"]),
    ("y_true,y_pred\ncat,dog\ncat,cow\n", ["cat", "dog"],
     ["line 3", "unknown class 'cow'", "cat, dog"]),
    ("y_true,y_pred\ncat,dog\ncat,1\n", None, ["line 3", "'1' is a number but other labels are names"]),
], ids=["no columns", "no y_pred", "empty", "header only", "missing value", "non-integer",
        "negative", "out of range", "unknown name", "mixed"])
def test_bad_predictions(tmp_path, text, class_names, words):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(LogError) as error:
        load_per_class(path, class_names)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert all(word in message for word in words), message


def test_missing_file(tmp_path):
    with pytest.raises(LogError, match="no such file"):
        load_per_class(tmp_path / "nope.csv")
