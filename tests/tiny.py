"""The tiny study the tests share: real training, about a second per trial on 2 CPU cores."""

from __future__ import annotations

import copy
from typing import Any, Callable

from search.record.history import History
from search.space import Hyperparams

# A study of tiny synthetic gesture clips and tiny models: a real study in seconds on 2 CPU cores.
TINY_STUDY: dict[str, Any] = {
    "study": {"seed": 0},
    "data": {"kind": "synthetic_gestures", "num_classes": 3, "clips_per_class": 12,
             "clip_length": 4, "frame_size": 16, "noise": 0.1, "val_fraction": 0.25,
             "test_fraction": 0.0, "seed": 0},
    "objective": "val_macro_f1",
    "budget": {"n_trials": 3, "max_epochs": 2},
    "sampler": {"name": "tpe", "n_startup_trials": 2},
    "pruner": "none",
    "early_stopping": False,
    "space": {
        "architecture": {"choices": ["c3d", "convlstm"]},
        "lr": {"low": 1.0e-3, "high": 1.0e-2, "log": True},
        "batch_size": 8,
        "dropout": {"low": 0.0, "high": 0.3},
        "optimizer": {"choices": ["adam", "sgd"]},
        "loss": {"choices": ["cross_entropy", "focal"]},
    },
    "models": {"c3d": {"width": 4, "depth": 1}, "convlstm": {"hidden_channels": 4}},
}


class Replace(dict):
    """A mapping in ``changes`` that replaces the one in the base instead of being merged into it."""


def deep_update(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` merged in; a value of ``...`` deletes the key."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        elif isinstance(value, Replace):
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


# Hyperparameters of one trial, for tests of the pieces of the training loop.
HP = Hyperparams(architecture="c3d", model_kwargs={}, lr=0.01, lr_schedule="constant",
                 batch_size=8, dropout=0.0, weight_decay=0.0, optimizer="adam", momentum=None,
                 loss="cross_entropy", class_weighting="inverse_frequency", focal_gamma=2.0,
                 label_smoothing=0.1, grad_clip_norm=None, augmentation="none", sampling="none")


# Six trials of three epochs, weight decay searched: enough for every study figure of the dashboard.
SIX_TRIALS: dict[str, Any] = deep_update(TINY_STUDY, {
    "budget": {"n_trials": 6, "max_epochs": 3},
    "space": {"weight_decay": {"low": 1.0e-5, "high": 1.0e-2, "log": True}},
})


def raise_after_first_epoch(monkeypatch, trial_number: int, error: BaseException | None,
                            then: Callable[[History], None] | None = None) -> None:
    """Make trial ``trial_number`` of a study seeded 0 (its training seed is its number) raise
    ``error`` once its first epoch is stored: a crash, or Ctrl-C, in the middle of training. Or
    call ``then(history)`` there instead, which raises what it will."""
    import search.objective

    real_fit = search.objective.fit

    def fit(*args, **kwargs):
        if kwargs["seed"] != trial_number:
            return real_fit(*args, **kwargs)
        on_epoch = kwargs["on_epoch"]

        def then_raise(history):
            on_epoch(history)
            if then is not None:
                then(history)
            raise error

        return real_fit(*args, **{**kwargs, "on_epoch": then_raise})

    monkeypatch.setattr(search.objective, "fit", fit)
