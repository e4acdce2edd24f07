"""Real training runs with known injected faults, logged by real tools in their real formats.

Every run here is an actual Keras 3 (torch backend) or Lightning training run on a real dataset --
scikit-learn's digits, wine and breast-cancer sets, and plateau's synthetic gesture videos -- with one
fault injected the way people meet it in practice:

- ``overfit``: a tiny training set (5-10% of the data: at least 3 examples a class) and a wide network
  (2 x 512 units; for video two wide conv blocks flattened into 256 units) with no dropout and no
  weight decay, Adam 1e-3, trained long (100 epochs; video 40) with no early stopping; the rest of
  the data validates.
- ``underfit_bottleneck``: a one-unit linear bottleneck (tabular: right after the input; video:
  after a single conv block), otherwise sound, trained until it has plateaued. On wine and breast
  cancer, where one number separates the classes, it comes with an L2 penalty far too strong.
- ``underfit_tiny_lr``: a sound network trained by plain SGD at a learning rate of 1e-5, so the loss
  barely moves in the epochs given.
- ``imbalanced``: the majority classes kept whole, the minority classes cut to 1/40 of the largest
  class (imbalance ratio ~15-40), split stratified (40% validating) so that both splits are skewed; plain unweighted
  cross entropy and otherwise sound training (dropout, early stopping on the validation loss).
- ``diverged``: a learning rate far too high (SGD 50; or Adam 5 on digits and videos, SGD 20 on
  wine and breast cancer), otherwise sound; NaN, huge or saturated losses are logged as they come.
- ``healthy``: a 75/25 split, a moderate network with dropout 0.2, Adam 1e-3, early stopping on the
  validation loss (patience 5).

Each log is written by the framework itself: Keras's ``CSVLogger`` (``keras`` format), the same file
with the header's accuracy column names as Keras < 2.3 wrote them (``keras_legacy``), or Lightning's
``CSVLogger`` metrics.csv (``lightning``). No number in any log is written or edited by this module.
Imbalanced runs, and about a third of the others, also get ``predictions.csv`` (``y_true,y_pred``,
integer class ids, the validation split, from the final model).

    python bench/fault_runs.py [--out bench/runs] [--regenerate]

trains every run into ``bench/runs/`` (about 4-5 minutes on 2 CPU cores), writes ``manifest.json``
there, and prints one line per run: final train/validation accuracy and loss, the best validation
epoch, and for runs with predictions the smallest per-class recall.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

# Keras 3 picks its backend once, at import: torch, like the rest of plateau.
os.environ["KERAS_BACKEND"] = "torch"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATASETS = ("digits", "wine", "breast_cancer", "gestures")
FAULTS = ("overfit", "underfit_bottleneck", "underfit_tiny_lr", "imbalanced", "diverged", "healthy")
LOG_FORMATS = ("keras", "keras_legacy", "lightning")
EXPECTED = {
    "overfit": ("overfit",),
    "underfit_bottleneck": ("underfit",),
    "underfit_tiny_lr": ("underfit",),
    "imbalanced": ("imbalanced",),
    "diverged": ("diverged",),
    "healthy": ("healthy",),
}
MANIFEST = "manifest.json"
THREADS = 2


@dataclass(frozen=True)
class Run:
    id: str  # e.g. "digits-keras-overfit-0"
    dataset: str  # digits | wine | breast_cancer | gestures
    framework: str  # keras | lightning
    log_format: str  # keras | keras_legacy | lightning
    fault: str  # one of FAULTS
    expected: tuple[str, ...]  # the label set a correct diagnosis gives
    log_path: str  # the Keras CSV file, or the Lightning run folder holding metrics.csv
    predictions_path: str | None  # CSV y_true,y_pred on the validation split, for some runs
    settings: dict  # what was run: model, widths, lr, optimizer, epochs, split sizes, class counts...


# ----------------------------------------------------------------------------------------- the plan

def plan(holdout: bool = False) -> list[dict[str, Any]]:
    """Every run to train: each dataset x each fault, twice, with the log format rotated.

    The two runs of a (dataset, fault) cell use two different formats, and each dataset meets every
    format four times, so every dataset is covered by both frameworks and all three formats and every
    fault by all three formats. Imbalanced runs always write predictions; of the others, one run in
    two thirds of the (dataset, fault) cells does: 14 of 40, spread evenly over datasets, faults and
    formats.
    """
    entries = []
    for d, dataset in enumerate(HOLDOUT_DATASETS if holdout else DATASETS):
        for f, fault in enumerate(FAULTS):
            for variant in range(2):
                log_format = LOG_FORMATS[(d + f + variant) % 3]
                predictions = fault == "imbalanced" or (
                    (d + 2 * f) % 3 != 0 and variant == (d + f + 1) % 2)
                entries.append({
                    "id": f"{dataset}-{log_format}-{fault}-{variant}",
                    "dataset": dataset, "fault": fault, "variant": variant,
                    "log_format": log_format,
                    "framework": "lightning" if log_format == "lightning" else "keras",
                    "predictions": predictions,
                    "seed": 1000 * (d + 1) + 10 * f + variant + (50000 if holdout else 0),
                    "holdout": holdout,
                })
    return entries


# --------------------------------------------------------------------------------------------- data

TABULAR = ("digits", "wine", "breast_cancer", "blobs")
# The holdout set's datasets (python bench/fault_runs.py --holdout): built differently from the main
# set, to test that the diagnosis was not fitted to it.
HOLDOUT_DATASETS = ("blobs", "digits_img", "gestures6")
GESTURES6 = {"num_classes": 6, "clip_length": 6, "frame_size": 20, "noise": 0.2}
# The gesture clips: 4 classes (swipe left/right/up/down), 8 frames of 16 x 16 pixels.
GESTURES = {"num_classes": 4, "clip_length": 8, "frame_size": 16}

# overfit: the fraction of the data that trains (stratified; >= 3 examples a class); the rest validates.
OVERFIT_TRAIN_FRACTION = {"digits": 0.06, "wine": 0.10, "breast_cancer": 0.05, "gestures": 0.08,
                          "blobs": 0.04, "digits_img": 0.08, "gestures6": 0.10}
# imbalanced: the classes cut to a few percent (the others are kept whole), and by what ratio.
MINORITY_CLASSES = {"digits": (5, 6, 7, 8, 9), "wine": (2,), "breast_cancer": (0,), "gestures": (2, 3),
                    "blobs": (3, 4), "digits_img": (7, 8, 9), "gestures6": (4, 5)}
# The holdout set's own imbalance ratios (at least 5 minority examples validate per class).
HOLDOUT_IMBALANCE_RATIO = {"blobs": 40, "digits_img": 15, "gestures6": 30}
HOLDOUT_VAL_FRACTION = 0.35
# A minority class keeps (largest class) / 40 examples, and at least MINORITY_FLOOR. At 1/20 with a
# quarter validating, wine's and the gestures' minority classes had 1-2 validation examples each and
# two runs recalled them all: the fault did not show (and could not be measured).
IMBALANCE_RATIO = 40
MINORITY_FLOOR = 5
# Imbalanced runs validate on 40% (stratified), so each minority class has a few examples to recall.
IMBALANCED_VAL_FRACTION = 0.4


def _load(dataset: str, fault: str) -> tuple[np.ndarray, np.ndarray]:
    """The whole dataset: float32 features (tabular: raw; video: (N, C, T, H, W) in [0, 1]), int64 y."""
    if dataset == "blobs":
        from sklearn.datasets import make_classification
        x, y = make_classification(n_samples=3000, n_features=20, n_informative=8, n_redundant=4,
                                   n_classes=5, n_clusters_per_class=2, class_sep=1.0,
                                   random_state=7)
        return x.astype(np.float32), y.astype(np.int64)
    if dataset == "digits_img":  # the digits as 1 x 8 x 8 images for a 2D CNN
        from sklearn.datasets import load_digits
        bunch = load_digits()
        return (bunch.images[:, None] / 16.0).astype(np.float32), bunch.target.astype(np.int64)
    if dataset == "gestures6":
        from search.data.synthetic import synthetic_gestures
        data = synthetic_gestures(clips_per_class=300 if fault == "imbalanced" else 80, seed=1,
                                  **GESTURES6)
        return data.x.astype(np.float32) / 255.0, data.y.astype(np.int64)
    if dataset in TABULAR:
        from sklearn import datasets
        loader = {"digits": datasets.load_digits, "wine": datasets.load_wine,
                  "breast_cancer": datasets.load_breast_cancer}[dataset]
        bunch = loader()
        return bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    from search.data.synthetic import synthetic_gestures
    # 100 clips a class; 400 where the minority classes are then cut to 10 clips each.
    clips = 400 if fault == "imbalanced" else 100
    data = synthetic_gestures(clips_per_class=clips, seed=0, **GESTURES)
    return data.x.astype(np.float32) / 255.0, data.y.astype(np.int64)


def _skew(y: np.ndarray, minority: tuple[int, ...], rng: np.random.Generator,
          ratio: int = IMBALANCE_RATIO) -> np.ndarray:
    """Indices keeping every majority class whole and ``ratio``-fold fewer of each minority."""
    counts = np.bincount(y)
    keep_minority = max(MINORITY_FLOOR, int(counts.max()) // ratio)
    kept = []
    for c in range(len(counts)):
        members = np.flatnonzero(y == c)
        if c in minority:
            members = np.sort(rng.choice(members, keep_minority, replace=False))
        kept.append(members)
    return np.sort(np.concatenate(kept))


def _split(dataset: str, fault: str, seed: int) -> dict[str, Any]:
    """Load, inject the data part of the fault, split stratified, standardise tabular features."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = _load(dataset, fault)
    rng = np.random.default_rng(seed)
    holdout = dataset in HOLDOUT_DATASETS
    if fault == "imbalanced":
        keep = _skew(y, MINORITY_CLASSES[dataset], rng,
                     HOLDOUT_IMBALANCE_RATIO[dataset] if holdout else IMBALANCE_RATIO)
        x, y = x[keep], y[keep]
    if fault == "overfit":
        k = int(y.max()) + 1
        n_train = max(round(OVERFIT_TRAIN_FRACTION[dataset] * len(y)), 3 * k)
        x_tr, x_val, y_tr, y_val = train_test_split(x, y, train_size=n_train, stratify=y,
                                                    random_state=seed)
    else:
        test_size = ((HOLDOUT_VAL_FRACTION if holdout else IMBALANCED_VAL_FRACTION)
                     if fault == "imbalanced" else 0.25)
        x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=test_size, stratify=y,
                                                    random_state=seed)
    if dataset in TABULAR:  # standardised with the training split's statistics only
        scaler = StandardScaler().fit(x_tr)
        x_tr, x_val = scaler.transform(x_tr), scaler.transform(x_val)
    num_classes = int(y.max()) + 1
    return {"x_train": x_tr.astype(np.float32), "y_train": y_tr, "x_val": x_val.astype(np.float32),
            "y_val": y_val, "num_classes": num_classes,
            "train_counts": np.bincount(y_tr, minlength=num_classes).tolist(),
            "val_counts": np.bincount(y_val, minlength=num_classes).tolist()}


# ----------------------------------------------------------------------------------------- settings

def _settings(dataset: str, fault: str, variant: int) -> dict[str, Any]:
    """The model and training settings of one run (the data part of the fault is in ``_split``).

    ``layers`` are the dense layers before the output, each [units, activation]; ``conv`` the 3D
    conv blocks' widths (video only; Conv3d 3x3x3 - BN - ReLU - MaxPool, then global average pool).
    """
    video = dataset == "gestures"
    s: dict[str, Any] = {
        "model": "cnn3d" if video else "mlp",
        "conv": [8, 16] if video else None, "pool": "average" if video else None,
        "layers": [] if video else [[64, "relu"], [64, "relu"]],
        # weight_decay: an L2 penalty (torch's coupled weight_decay; in Keras kernel L2 of wd / 2).
        "dropout": 0.0, "weight_decay": 0.0, "optimizer": "adam", "lr": 1e-3,
        "batch_size": 16 if video else 32, "max_epochs": 40 if video else 60,
        "early_stopping": None, "loss": "cross_entropy (unweighted)",
    }
    if fault == "overfit":
        # Video: two wide conv blocks flattened into a 256-unit dense layer (1M weights for 32
        # training clips); a global-average-pooled CNN generalised from 48 clips (91% validation).
        s.update(conv=[32, 64] if video else None, pool="flatten" if video else None,
                 layers=[[256, "relu"]] if video else [[512, "relu"], [512, "relu"]],
                 batch_size=8 if video else 16, max_epochs=40 if video else 100)
    elif fault == "underfit_bottleneck":
        # A one-unit linear bottleneck: all the classifier sees of an input is one number. For
        # tabular data it comes first (a 64-unit layer *before* it memorised digits' training set
        # through the single unit: 93% train, 72% validation). For video a single conv block of 8
        # channels feeds it (behind two blocks, the unit only slowed learning: 88-97% training
        # accuracy after 100 epochs).
        s.update(conv=[8] if video else None,
                 layers=[[1, "linear"]] if video else [[1, "linear"], [64, "relu"]],
                 max_epochs=50 if video else 60)
        if dataset in ("wine", "breast_cancer"):
            # One number is enough to separate these classes (the bottleneck alone reached 100%
            # training accuracy on both), so the bottleneck is paired with an L2 penalty far too
            # strong, the other everyday way to take a network's capacity away.
            s.update(weight_decay=1.0)
    elif fault == "underfit_tiny_lr":
        s.update(optimizer="sgd", lr=1e-5, max_epochs=15 if video else 40)
    elif fault == "imbalanced":
        s.update(dropout=0.2, early_stopping={"monitor": "val_loss", "patience": 5},
                 max_epochs=100)
    elif fault == "diverged":
        if variant == 0:
            s.update(optimizer="sgd", lr=50.0)
        elif dataset in ("digits", "gestures"):
            s.update(optimizer="adam", lr=5.0)
        else:
            # Adam at 5 (and 10) still fitted wine and breast cancer (93-100% training accuracy,
            # validation losses of 1e3-1e5): plain SGD at 20 diverges there.
            s.update(optimizer="sgd", lr=20.0)
        s.update(max_epochs=15 if video else 30)
    elif fault == "healthy":
        s.update(dropout=0.2, early_stopping={"monitor": "val_loss", "patience": 5},
                 max_epochs=100)
    return s


def _holdout_settings(dataset: str, fault: str, variant: int) -> dict[str, Any]:
    """The holdout set's settings: other optimizers (RMSprop, SGD with Nesterov momentum, AdamW),
    model shapes, batch sizes and fault strengths than ``_settings``; chosen before diagnosing any
    holdout run."""
    video, image = dataset == "gestures6", dataset == "digits_img"
    s: dict[str, Any] = {
        "model": "cnn3d" if video else "cnn2d" if image else "mlp",
        "conv": [12, 24] if video else None, "pool": "average" if video else None,
        "conv2d": [16, 32] if image else None,
        "layers": [] if video else [[64, "relu"]] if image else [[128, "relu"], [128, "relu"],
                                                                  [64, "relu"]],
        "dropout": 0.0, "weight_decay": 0.0, "decoupled_decay": 0.0,
        "optimizer": "rmsprop" if variant == 0 else "adamw", "lr": 1e-3,
        "batch_size": 8 if video else 32 if image else 64,
        "max_epochs": 30 if video else 40 if image else 50,
        "early_stopping": None, "loss": "cross_entropy (unweighted)",
    }
    if variant == 1:
        s["decoupled_decay"] = 1e-4
    if fault == "overfit":
        s.update(conv=[32, 64] if video else None, pool="flatten" if video else None,
                 conv2d=[32, 64] if image else None,
                 layers=[[256, "relu"]] if (video or image) else [[256, "relu"]] * 3,
                 decoupled_decay=0.0, batch_size=8 if video else 16,
                 max_epochs=40 if video else 80 if image else 120)
    elif fault == "underfit_bottleneck":  # a 2-unit linear bottleneck right after the input
        s.update(conv=[4] if video else None, conv2d=[4] if image else None,
                 layers=[[2, "linear"]] if video else [[2, "linear"], [32 if image else 64, "relu"]],
                 max_epochs=40 if video else 60)
    elif fault == "underfit_tiny_lr":
        s.update(optimizer="sgd_momentum" if variant == 0 else "adamw", lr=1e-5, max_epochs=30)
    elif fault == "imbalanced":
        s.update(dropout=0.2, early_stopping={"monitor": "val_loss", "patience": 6}, max_epochs=100)
    elif fault == "diverged":
        s.update(optimizer="rmsprop" if variant == 0 else "sgd_momentum",
                 lr=3.0 if variant == 0 else 30.0, max_epochs=12 if video else 20)
    elif fault == "healthy":
        if variant == 0:
            s.update(dropout=0.3, early_stopping={"monitor": "val_loss", "patience": 8},
                     max_epochs=100)
        else:  # a fixed, sensible number of epochs with dropout and weight decay, no early stop
            s.update(dropout=0.3, decoupled_decay=1e-3, max_epochs=25 if (video or image) else 30)
    return s


# ------------------------------------------------------------------------------------------- keras

def _keras_model(s: dict[str, Any], input_shape: tuple[int, ...], num_classes: int):
    import keras
    from keras import layers

    # weight_decay as an L2 penalty on the kernels, (wd / 2) * ||w||^2: the same gradient, wd * w,
    # as torch's (coupled) weight_decay in the Lightning runs.
    l2 = ({"kernel_regularizer": keras.regularizers.L2(s["weight_decay"] / 2)}
          if s["weight_decay"] else {})
    stack: list[Any] = [keras.Input(input_shape)]
    if s.get("conv2d"):  # images, channels last
        for width in s["conv2d"]:
            stack += [layers.Conv2D(width, 3, padding="same", activation="relu", **l2),
                      layers.MaxPooling2D(2, padding="same")]
        stack.append(layers.Flatten())
        if s["dropout"]:
            stack.append(layers.Dropout(s["dropout"]))
    if s["conv"]:
        for index, width in enumerate(s["conv"]):
            stack += [layers.Conv3D(width, 3, padding="same", use_bias=False, **l2),
                      # momentum 0.9: PyTorch's default (0.1 there); Keras's 0.99 leaves the
                      # running statistics unsettled for the first epochs of a run this small.
                      layers.BatchNormalization(momentum=0.9), layers.ReLU(),
                      layers.MaxPooling3D((1, 2, 2) if index == 0 else (2, 2, 2), padding="same")]
        stack.append(layers.GlobalAveragePooling3D() if s["pool"] == "average" else layers.Flatten())
        if s["dropout"]:
            stack.append(layers.Dropout(s["dropout"]))
    for units, activation in s["layers"]:
        stack.append(layers.Dense(units, activation=None if activation == "linear" else activation,
                                  **l2))
        if s["dropout"] and activation != "linear":
            stack.append(layers.Dropout(s["dropout"]))
    # Logits out, and the loss computed from them: with a softmax layer and Keras's clipped
    # probabilities, examples pushed to p < 1e-7 early on get no gradient at all (a flattened
    # video model stalled at a training loss of exactly 0.25 * -log(1e-7)).
    stack.append(layers.Dense(num_classes, **l2))
    return keras.Sequential(stack)


def _train_keras(s: dict[str, Any], data: dict[str, Any], run_dir: Path, log_format: str,
                 seed: int) -> tuple[Path, np.ndarray, int]:
    import keras

    keras.utils.set_random_seed(seed)
    x_tr, x_val = data["x_train"], data["x_val"]
    if x_tr.ndim == 5:  # (N, C, T, H, W) -> Keras's channels-last (N, T, H, W, C)
        x_tr, x_val = x_tr.transpose(0, 2, 3, 4, 1), x_val.transpose(0, 2, 3, 4, 1)
    if x_tr.ndim == 4:  # (N, C, H, W) -> (N, H, W, C)
        x_tr, x_val = x_tr.transpose(0, 2, 3, 1), x_val.transpose(0, 2, 3, 1)
    model = _keras_model(s, x_tr.shape[1:], data["num_classes"])
    optimizer = _keras_optimizer(s)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    log_path = run_dir / "training.csv"
    callbacks: list[Any] = [keras.callbacks.CSVLogger(str(log_path))]
    if s["early_stopping"]:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=s["early_stopping"]["monitor"], patience=s["early_stopping"]["patience"],
            restore_best_weights=True))
    history = model.fit(x_tr, data["y_train"], validation_data=(x_val, data["y_val"]),
                        epochs=s["max_epochs"], batch_size=s["batch_size"], shuffle=True,
                        callbacks=callbacks, verbose=0)
    predicted = model.predict(x_val, batch_size=256, verbose=0).argmax(axis=1)
    if log_format == "keras_legacy":
        _legacy_header(log_path)
    keras.backend.clear_session()
    return log_path, predicted, len(history.history["loss"])


def _keras_optimizer(s: dict[str, Any]):
    import keras

    lr = s["lr"]
    return {
        "adam": lambda: keras.optimizers.Adam(learning_rate=lr),
        "sgd": lambda: keras.optimizers.SGD(learning_rate=lr),
        "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=lr),
        # decoupled decay here (the L2 kernel penalty stays off for AdamW runs: see _settings)
        "adamw": lambda: keras.optimizers.AdamW(learning_rate=lr,
                                                weight_decay=s.get("decoupled_decay", 0.0)),
    }[s["optimizer"]]()


def _legacy_header(log_path: Path) -> None:
    """Rename ONLY the header's accuracy columns to the names Keras < 2.3 wrote (``acc``, ``val_acc``).

    The data rows -- every number CSVLogger wrote -- are copied byte for byte.
    """
    text = log_path.read_text()
    header, newline, rest = text.partition("\n")
    renamed = {"accuracy": "acc", "val_accuracy": "val_acc"}
    header = ",".join(renamed.get(name, name) for name in header.rstrip("\r").split(","))
    log_path.write_text(header + newline + rest)


# --------------------------------------------------------------------------------------- lightning

def _pooled_size(size: tuple[int, ...], blocks: int) -> tuple[int, ...]:
    """(T, H, W) after ``blocks`` conv blocks: the first pools (1, 2, 2), the others (2, 2, 2)."""
    t, h, w = size
    for index in range(blocks):
        t, h, w = (t if index == 0 else -(-t // 2)), -(-h // 2), -(-w // 2)
    return t, h, w


def _torch_model(s: dict[str, Any], input_shape: tuple[int, ...], num_classes: int):
    from torch import nn

    modules: list[nn.Module] = []
    if s.get("conv2d"):  # images (C, H, W): conv-relu-pool blocks, flattened as Keras's Flatten
        channels, h, w = input_shape
        for width in s["conv2d"]:
            modules += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2, ceil_mode=True)]
            channels, h, w = width, -(-h // 2), -(-w // 2)
        modules.append(nn.Flatten())
        if s["dropout"]:
            modules.append(nn.Dropout(s["dropout"]))
        input_shape = (channels * h * w,)
    if s["conv"]:
        channels = input_shape[0]
        for index, width in enumerate(s["conv"]):
            modules += [nn.Conv3d(channels, width, 3, padding=1, bias=False), nn.BatchNorm3d(width),
                        nn.ReLU(), nn.MaxPool3d((1, 2, 2) if index == 0 else (2, 2, 2),
                                                ceil_mode=True)]
            channels = width
        if s["pool"] == "average":
            modules += [nn.AdaptiveAvgPool3d(1), nn.Flatten()]
            features = channels
        else:  # flatten the last block's whole (C, T, H, W) map, as Keras's Flatten does
            modules.append(nn.Flatten())
            features = channels * math.prod(_pooled_size(input_shape[1:], len(s["conv"])))
        if s["dropout"]:
            modules.append(nn.Dropout(s["dropout"]))
    else:
        features = input_shape[0]
    for units, activation in s["layers"]:
        modules.append(nn.Linear(features, units))
        if activation == "relu":
            modules.append(nn.ReLU())
            if s["dropout"]:
                modules.append(nn.Dropout(s["dropout"]))
        features = units
    modules.append(nn.Linear(features, num_classes))
    return nn.Sequential(*modules)


def _lightning_module(net, optimizer: str, lr: float, weight_decay: float,
                      decoupled_decay: float = 0.0):
    import lightning as L
    import torch
    import torch.nn.functional as F

    class Classifier(L.LightningModule):
        """The usual user pattern: cross entropy, loss and accuracy logged per step and per epoch."""

        def __init__(self):
            super().__init__()
            self.net = net
            self.save_hyperparameters({"optimizer": optimizer, "lr": lr,
                                       "weight_decay": weight_decay})

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            loss = F.cross_entropy(logits, y)
            acc = (logits.argmax(dim=1) == y).float().mean()
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            self.log("train_acc", acc, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            self.log("val_loss", F.cross_entropy(logits, y))
            self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

        def configure_optimizers(self):
            params = self.parameters()
            return {
                "adam": lambda: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay),
                "sgd": lambda: torch.optim.SGD(params, lr=lr, weight_decay=weight_decay),
                "sgd_momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True,
                                                        weight_decay=weight_decay),
                "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay),
                "adamw": lambda: torch.optim.AdamW(params, lr=lr, weight_decay=decoupled_decay),
            }[optimizer]()

    return Classifier()


def _train_lightning(s: dict[str, Any], data: dict[str, Any], run_dir: Path,
                     seed: int) -> tuple[Path, np.ndarray, int]:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import EarlyStopping
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    L.seed_everything(seed, workers=True, verbose=False)
    net = _torch_model(s, data["x_train"].shape[1:], data["num_classes"])
    module = _lightning_module(net, s["optimizer"], s["lr"], s["weight_decay"],
                               s.get("decoupled_decay", 0.0))
    train = DataLoader(TensorDataset(torch.from_numpy(data["x_train"]),
                                     torch.from_numpy(data["y_train"])),
                       batch_size=s["batch_size"], shuffle=True)
    val = DataLoader(TensorDataset(torch.from_numpy(data["x_val"]), torch.from_numpy(data["y_val"])),
                     batch_size=256)
    callbacks = []
    if s["early_stopping"]:
        callbacks.append(EarlyStopping(monitor=s["early_stopping"]["monitor"],
                                       patience=s["early_stopping"]["patience"]))
    logger = CSVLogger(str(run_dir), name="lightning_logs", version=0)
    trainer = L.Trainer(max_epochs=s["max_epochs"], accelerator="cpu", devices=1, logger=logger,
                        callbacks=callbacks, enable_progress_bar=False, enable_checkpointing=False,
                        enable_model_summary=False, log_every_n_steps=2)
    trainer.fit(module, train, val)
    module.eval()
    with torch.no_grad():
        predicted = module(torch.from_numpy(data["x_val"])).argmax(dim=1).numpy()
    return Path(logger.log_dir), predicted, trainer.current_epoch


# ------------------------------------------------------------------------------------------ running

def _quiet() -> None:
    """Silence Lightning's info lines and the warnings a small CPU run provokes."""
    import lightning  # noqa: F401  (it sets its loggers' levels on import: set them after)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"lightning(\..*)?")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def _train_one(entry: dict[str, Any], out_dir: Path) -> Run:
    import torch

    torch.set_num_threads(THREADS)
    run_dir = out_dir / entry["id"]
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    settings_of = _holdout_settings if entry.get("holdout") else _settings
    s = settings_of(entry["dataset"], entry["fault"], entry["variant"])
    data = _split(entry["dataset"], entry["fault"], entry["seed"])
    started = time.perf_counter()
    if entry["framework"] == "keras":
        log_path, predicted, epochs_run = _train_keras(s, data, run_dir, entry["log_format"],
                                                       entry["seed"])
    else:
        log_path, predicted, epochs_run = _train_lightning(s, data, run_dir, entry["seed"])
    predictions_path = None
    if entry["predictions"]:
        predictions_path = run_dir / "predictions.csv"
        with predictions_path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["y_true", "y_pred"])
            writer.writerows(zip(data["y_val"].tolist(), predicted.astype(int).tolist()))
    counts = data["train_counts"]
    settings = {
        **s, "framework": entry["framework"], "seed": entry["seed"],
        "epochs_run": epochs_run, "seconds": round(time.perf_counter() - started, 1),
        "n_train": len(data["y_train"]), "n_val": len(data["y_val"]),
        "num_classes": data["num_classes"], "train_class_counts": counts,
        "val_class_counts": data["val_counts"],
        "imbalance_ratio": round(max(counts) / max(min(counts), 1), 2),
    }
    if entry["dataset"] == "gestures":
        settings["gestures"] = {**GESTURES, "seed": 0}
    if entry["dataset"] == "gestures6":
        settings["gestures"] = {**GESTURES6, "seed": 1}
    return Run(id=entry["id"], dataset=entry["dataset"], framework=entry["framework"],
               log_format=entry["log_format"], fault=entry["fault"],
               expected=EXPECTED[entry["fault"]], log_path=str(log_path),
               predictions_path=str(predictions_path) if predictions_path else None,
               settings=settings)


def _save_manifest(runs: list[Run], out_dir: Path) -> None:
    """manifest.json: the Run fields, with paths relative to out_dir (the folder can move)."""
    rows = []
    for run in runs:
        row = asdict(run)
        row["expected"] = list(run.expected)
        row["log_path"] = os.path.relpath(run.log_path, out_dir)
        if run.predictions_path:
            row["predictions_path"] = os.path.relpath(run.predictions_path, out_dir)
        rows.append(row)
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    tmp.replace(out_dir / MANIFEST)


def _load_manifest(out_dir: Path) -> list[Run]:
    rows = json.loads((out_dir / MANIFEST).read_text())
    names = {f.name for f in fields(Run)}
    runs = []
    for row in rows:
        row = {key: value for key, value in row.items() if key in names}
        row["expected"] = tuple(row["expected"])
        row["log_path"] = str(out_dir / row["log_path"])
        if row.get("predictions_path"):
            row["predictions_path"] = str(out_dir / row["predictions_path"])
        runs.append(Run(**row))
    return runs


def generate(out_dir: Path, *, regenerate: bool = False, progress: bool = True,
             holdout: bool | None = None) -> list[Run]:
    """Train every run (or reuse out_dir/manifest.json when present and not regenerate) and return them.

    ``progress`` prints one line per run trained, on stderr. ``holdout`` (default: whether the folder
    is named ``runs_holdout``) trains the holdout plan instead of the main one.
    """
    out_dir = Path(out_dir).resolve()
    if holdout is None:
        holdout = out_dir.name == "runs_holdout"
    if (out_dir / MANIFEST).exists() and not regenerate:
        return _load_manifest(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # no stale manifest if this is interrupted
    _quiet()
    entries = plan(holdout)
    runs = []
    started = time.perf_counter()
    for number, entry in enumerate(entries, 1):
        run = _train_one(entry, out_dir)
        runs.append(run)
        if progress:
            print(f"[{number}/{len(entries)}] {run.id}: {run.settings['epochs_run']} epochs, "
                  f"{run.settings['seconds']:.1f} s", file=sys.stderr, flush=True)
    _save_manifest(runs, out_dir)
    if progress:
        print(f"{len(runs)} runs in {time.perf_counter() - started:.0f} s -> {out_dir}",
              file=sys.stderr, flush=True)
    return runs


# -------------------------------------------------------------------- facts read back from the logs

def _number(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    return float(text)  # "nan" and "inf" parse too


def curves(run: Run) -> dict[str, list[float]]:
    """Per-epoch train/val loss and accuracy, read back from the run's own log file."""
    names = {"train_loss": ("loss", "train_loss_epoch"), "train_acc": ("accuracy", "acc",
                                                                         "train_acc_epoch"),
             "val_loss": ("val_loss",), "val_acc": ("val_accuracy", "val_acc")}
    path = Path(run.log_path)
    if path.is_dir():
        path = path / "metrics.csv"
    per_epoch: dict[int, dict[str, float]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            epoch = per_epoch.setdefault(int(float(row["epoch"])), {})
            for key, columns in names.items():
                for column in columns:
                    value = _number(row.get(column))
                    if value is not None:
                        epoch[key] = value
    ordered = [per_epoch[e] for e in sorted(per_epoch)]
    return {key: [epoch.get(key, math.nan) for epoch in ordered] for key in names}


def facts(run: Run) -> dict[str, Any]:
    """Plain facts about a run: final metrics, best validation epoch, smallest per-class recall."""
    c = curves(run)
    val_loss = np.array(c["val_loss"], dtype=float)
    finite = np.isfinite(val_loss)
    result = {key: c[key][-1] for key in c}
    result["epochs"] = len(c["val_loss"])
    result["best_val_epoch"] = int(np.nanargmin(np.where(finite, val_loss, np.inf))) + 1 \
        if finite.any() else None
    result["min_recall"] = None
    if run.predictions_path:
        pairs = np.loadtxt(run.predictions_path, delimiter=",", skiprows=1, dtype=int, ndmin=2)
        recalls = [np.mean(pairs[pairs[:, 0] == k, 1] == k) for k in np.unique(pairs[:, 0])]
        result["min_recall"] = float(min(recalls))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "runs",
                        help="where the runs go (default bench/runs)")
    parser.add_argument("--regenerate", action="store_true",
                        help="train every run again even if a manifest is there")
    parser.add_argument("--holdout", action="store_true",
                        help="the holdout set (other datasets, optimizers, models), into "
                             "bench/runs_holdout unless --out says otherwise")
    args = parser.parse_args()
    out = args.out if args.out != ROOT / "bench" / "runs" or not args.holdout \
        else ROOT / "bench" / "runs_holdout"
    runs = generate(out, regenerate=args.regenerate, holdout=args.holdout)

    def show(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    print(f"{'run':<44} {'ep':>3} {'best':>4} {'tr_acc':>6} {'val_acc':>7} {'tr_loss':>9} "
          f"{'val_loss':>9} {'minrec':>6} {'n_tr':>5} {'ratio':>6}")
    for run in runs:
        f = facts(run)
        best = "-" if f["best_val_epoch"] is None else str(f["best_val_epoch"])
        print(f"{run.id:<44} {f['epochs']:>3} {best:>4} "
              f"{show(f['train_acc']):>6} {show(f['val_acc']):>7} {show(f['train_loss'], 4):>9} "
              f"{show(f['val_loss'], 4):>9} {show(f['min_recall'], 2):>6} "
              f"{run.settings['n_train']:>5} {run.settings['imbalance_ratio']:>6}")


if __name__ == "__main__":
    main()
