"""The fix table: for each diagnosis, what to try next, in order, as changes to the study file.

This is the troubleshooting guide's pitfall table (overfitting, underfitting, class imbalance) plus
divergence, written as data. Each fix has a one-line reason and the concrete edits of a study file it
implies, so the search side can apply them (``python run_study.py run`` with the edited file):

- ``set``: replace the value at ``key`` (``space.dropout`` -> ``{low: 0.3, high: 0.6}``);
- ``include``: add values to the choices at ``key`` (``space.loss`` gains ``focal``);
- ``scale``: multiply the number(s) at ``key`` (a fixed value, a range's ends, or each choice).

Keys are dotted paths in a study file; ``models.*.width`` means the knob in every architecture that
has it.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Mapping

from search.record.diagnosis import Change, Fix

# torchvision's Kinetics-400 weights of r2plus1d_18, which the user downloads (nothing is fetched)
PRETRAINED_R2PLUS1D = "r2plus1d_18-91a641e6.pth"


def _fix(name: str, reason: str, *changes: tuple[str, str, Any]) -> Fix:
    return Fix(name, reason, tuple(Change(op, key, value) for op, key, value in changes))


FIXES: Mapping[str, tuple[Fix, ...]] = {
    "overfit": (
        _fix("dropout", "Dropout stops units co-adapting to the training set (Srivastava et al., "
             "2014); the vehicle-CNN seed narrowed its train-validation gap with it.",
             ("set", "space.dropout", {"low": 0.3, "high": 0.6})),
        _fix("weight_decay", "An L2 penalty keeps the weights small; AdamW applies it decoupled from "
             "the adaptive step (Loshchilov & Hutter, 2019).",
             ("set", "space.weight_decay", {"low": 1e-4, "high": 1e-2, "log": True}),
             ("include", "space.optimizer", ["adamw"])),
        _fix("early_stopping", "Validation stopped improving long before the last epoch: stop near "
             "its optimum (Prechelt, 1998) and spend the epochs on other trials.",
             ("set", "early_stopping.patience", 3), ("set", "early_stopping.warmup_epochs", 0)),
        _fix("augmentation", "More varied training examples (random crops, small affine moves, "
             "colour and temporal jitter, as the Jester seed used) make memorising harder.",
             ("include", "space.augmentation", ["random_resized_crop", "random_affine",
                                                "color_jitter", "temporal_jitter"])),
        _fix("transfer_learning", "A backbone pretrained on a large video set (Kinetics) needs "
             "far fewer examples of your classes; the HMDB51 seed fine-tunes R(2+1)D. Download "
             "torchvision's Kinetics-400 weights file yourself and give its path (for images: "
             "resnet18 with resnet18-f37072fd.pth).",
             ("include", "space.architecture", ["r2plus1d"]),
             ("set", "models.r2plus1d.pretrained", PRETRAINED_R2PLUS1D)),
        _fix("smaller_model", "Fewer parameters have less room to memorise the training set.",
             ("scale", "models.*.width", 0.5), ("scale", "models.*.hidden_channels", 0.5)),
        _fix("ensemble", "Averaging several models cancels their individual errors: the Jester "
             "seed's five 3D CNNs at 85% gave 88% together. Retrain the best trials' settings "
             "with other seeds and average their predictions."),
    ),
    "underfit": (
        _fix("capacity", "The model cannot fit even the training set: give it more layers and "
             "units.", ("scale", "models.*.width", 2.0), ("scale", "models.*.hidden_channels", 2.0),
             ("scale", "models.*.depth", 1.5)),
        _fix("train_longer", "Training loss was still high at the last epoch: allow more epochs.",
             ("scale", "budget.max_epochs", 2.0)),
        _fix("learning_rate", "Too small a step makes too little progress per epoch: search "
             "higher learning rates.", ("set", "space.lr", {"low": 1e-3, "high": 3e-2, "log": True})),
        _fix("optimizer_and_batch_size", "Adaptive optimizers and smaller batches (more, noisier "
             "steps per epoch) often get a stuck model moving.",
             ("include", "space.optimizer", ["adam", "adamw"]),
             ("include", "space.batch_size", [16, 32])),
        _fix("less_regularization", "Regularisation holds the model back from the training set "
             "it cannot fit yet.", ("set", "space.dropout", {"low": 0.0, "high": 0.2}),
             ("set", "space.weight_decay", {"low": 1e-6, "high": 1e-4, "log": True})),
        _fix("batch_norm", "Batch normalisation (Ioffe & Szegedy, 2015) eases optimisation of "
             "deeper nets.", ("set", "models.*.batch_norm", True)),
    ),
    "imbalanced": (
        _fix("macro_f1_objective", "Accuracy rewards predicting the majority classes; macro-F1 "
             "weighs every class alike.", ("set", "objective", "val_macro_f1")),
        _fix("weighted_cross_entropy", "Weigh each class's loss by its inverse frequency, so "
             "minority errors cost as much in total as majority ones.",
             ("include", "space.loss", ["weighted_cross_entropy"]),
             ("set", "space.class_weighting", {"choices": ["inverse_frequency",
                                                           "effective_number"]})),
        _fix("focal_loss", "Focal loss (Lin et al., 2017) spends the gradient on the hard "
             "examples, which are mostly the minority classes'.",
             ("include", "space.loss", ["focal"]),
             ("set", "space.focal_gamma", {"low": 1.0, "high": 3.0})),
        _fix("resampling", "Oversample the minority classes (or undersample the majority) so "
             "each batch sees the classes more evenly.",
             ("include", "space.sampling", ["oversample", "undersample"])),
        _fix("cost_sensitive", "Weights from the effective number of samples (Cui et al., 2019) "
             "stop the very rare classes' weights from exploding.",
             ("set", "space.class_weighting", "effective_number")),
        _fix("ensemble", "Balanced bagging: average models each trained on a rebalanced sample."),
    ),
    "diverged": (
        _fix("lower_learning_rate", "The loss blew up: the steps are too large for this loss "
             "surface. Search learning rates below the one that blew up, down to 1e-5 (a rate "
             "that diverges can be decades too large: a tenth of it may diverge still).",
             ("set", "space.lr", {"low": 1e-5, "high": 1e-1, "log": True})),
        _fix("gradient_clipping", "Clipping the gradient norm bounds each step even where the "
             "loss is steep (Pascanu et al., 2013).",
             ("set", "space.grad_clip_norm", {"choices": [0.5, 1.0, 5.0]})),
        _fix("warmup", "Ramping the learning rate up over the first epochs avoids the early "
             "blow-up of a large rate (Goyal et al., 2017).",
             ("set", "space.lr_schedule", "warmup_cosine")),
        _fix("batch_norm", "Batch normalisation keeps activations in range as the weights move.",
             ("set", "models.*.batch_norm", True)),
    ),
}


# Ranges a fix sets to move a hyperparameter one way: (fix, key) -> "up" or "down". Given the trial's
# value, the range starts from it (up) or ends at it (down); a trial already past the range's far
# end gets no such change (the evidence points beyond what the fix knows to propose).
DIRECTIONS: Mapping[tuple[str, str], str] = {
    ("dropout", "space.dropout"): "up",  # more regularisation than the overfit trial had
    ("weight_decay", "space.weight_decay"): "up",
    ("learning_rate", "space.lr"): "up",  # bigger steps than the slow trial took
    ("lower_learning_rate", "space.lr"): "down",  # smaller steps than the diverged trial took
    ("less_regularization", "space.dropout"): "down",
    ("less_regularization", "space.weight_decay"): "down",
}


# How a trial shows that it tried a fix: fix -> (the trial's hyperparameter, whether its value tries
# the fix, the fix in words). A fix the study already searches in full is not proposed again; it is
# kept as "explored", and with the study's trials at hand (``diagnose.overview``) says how the
# trials that tried it did.
TRIED: Mapping[str, tuple[str, Callable[[Any], bool], str]] = {
    "dropout": ("dropout", lambda v: v >= 0.3, "dropout of 0.3 or more"),
    "weight_decay": ("weight_decay", lambda v: v >= 1e-4, "weight decay of 1e-4 or more"),
    "augmentation": ("augmentation", lambda v: v != "none", "augmentation"),
    "transfer_learning": ("architecture", lambda v: v == "r2plus1d", "the R(2+1)D backbone"),
    "learning_rate": ("lr", lambda v: v >= 1e-3, "a learning rate of 1e-3 or more"),
    "optimizer_and_batch_size": ("optimizer", lambda v: v in ("adam", "adamw"), "adam or adamw"),
    "weighted_cross_entropy": ("loss", lambda v: v == "weighted_cross_entropy",
                               "weighted cross entropy"),
    "focal_loss": ("loss", lambda v: v == "focal", "focal loss"),
    "resampling": ("sampling", lambda v: v in ("oversample", "undersample"),
                   "over- or undersampling"),
    "cost_sensitive": ("class_weighting", lambda v: v == "effective_number",
                       "effective-number class weighting"),
    "gradient_clipping": ("grad_clip_norm", lambda v: v > 0, "gradient clipping"),
    "warmup": ("lr_schedule", lambda v: v == "warmup_cosine", "a warm-up schedule"),
}


def tailored(fixes: Iterable[Fix], study: Mapping[str, Any] | None,
             hparams: Mapping[str, Any] | None = None) -> tuple[Fix, ...]:
    """``fixes`` as changes to ``study`` (a study file's content) for a trial with ``hparams``: a
    change that would leave the study as it is (a value it already has, choices it already offers, a
    knob none of its models has) is left out; a range that moves a hyperparameter one way
    (``DIRECTIONS``) starts or ends at the trial's value. A fix left with no change is dropped,
    unless the study already searches all of it and a trial can show it tried it (``TRIED``): that
    one stays, marked ``explored`` (a fix outside the search space stays as it is). Without a study
    (a log from elsewhere), the table's fixes."""
    fixes = tuple(fixes)
    if study is None:
        return fixes
    as_is = apply_changes(study, ())
    kept = []
    for fix in fixes:
        moved = [_from_trial(fix.name, c, (hparams or {}).get(c.key.split(".")[-1]))
                 for c in fix.changes]
        changes = tuple(c for c in moved if c is not None and apply_changes(study, (c,)) != as_is
                        and not _offered(study, c))
        if changes or not fix.changes:
            kept.append(Fix(fix.name, fix.reason, changes))
        elif fix.name in TRIED and None not in moved:  # every change is one the study has
            keys = ", ".join(dict.fromkeys(c.key for c in fix.changes))
            kept.append(Fix(fix.name, fix.reason, (), explored=f"already searched ({keys})"))
    return tuple(kept)


def _offered(study: Mapping[str, Any], change: Change) -> bool:
    """Whether ``change`` sets a plain value that the study already offers among its choices there
    (narrowing a search to a value it already tries changes nothing that it would find)."""
    if change.op != "set" or isinstance(change.value, dict):
        return False
    spec: Any = study
    for part in change.key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return isinstance(spec, dict) and change.value in spec.get("choices", ())


def tries(fix: str, hparams: Mapping[str, Any]) -> bool:
    """Whether a trial with ``hparams`` tried ``fix`` (one of ``TRIED``)."""
    param, test, _ = TRIED[fix]
    value = hparams.get(param)
    try:
        return value is not None and bool(test(value))
    except TypeError:  # a value of another type than the table expects: not this fix
        return False


def _from_trial(fix: str, change: Change, value: Any) -> Change | None:
    """``change`` with its range starting (up) or ending (down) at the trial's ``value``; None when
    the trial is already past the range's far end."""
    direction = DIRECTIONS.get((fix, change.key))
    spec = change.value
    if direction is None or change.op != "set" or not isinstance(value, (int, float)) \
            or not (isinstance(spec, dict) and "low" in spec):
        return change
    low, high = spec["low"], spec["high"]
    if direction == "up":
        return None if value >= high else Change("set", change.key, {**spec, "low": max(low, value)})
    return None if value <= low else Change("set", change.key, {**spec, "high": min(high, value)})


def apply_changes(study: Mapping[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A copy of the study file's content (``study``, as read from YAML) with ``changes`` applied.

    ``models.*.<knob>`` edits every ``models`` section that already names the knob; a ``set`` under
    a key that holds a plain value (``early_stopping: false``) makes it a section. ``include``
    turns a fixed value into choices; a range it leaves alone (a range already spans values).
    ``scale`` multiplies a number, each end of a range or each choice, keeping integers integers.
    """
    edited = copy.deepcopy(dict(study))
    for change in changes:
        *path, leaf = change.key.split(".")
        if path[:2] == ["models", "*"]:
            sections = [s for s in edited.get("models", {}).values()
                        if isinstance(s, dict) and leaf in s]
        else:
            section = edited
            for part in path:
                if not isinstance(section.get(part), dict) and change.op == "set":
                    section[part] = {}  # e.g. ``early_stopping: false`` becomes a section to set
                section = section.setdefault(part, {})
                if not isinstance(section, dict):
                    break
            sections = [section] if isinstance(section, dict) else []
        for section in sections:
            if change.op != "scale" or leaf in section:  # nothing to scale in a missing key
                section[leaf] = _changed(section.get(leaf), change)
    return edited


def _changed(current: Any, change: Change) -> Any:
    if change.op == "set":
        return copy.deepcopy(change.value)
    if change.op == "include":
        if isinstance(current, dict) and "choices" not in current:
            return current  # a range
        old = list(current["choices"]) if isinstance(current, dict) else (
            [] if current is None else [current])
        return {"choices": old + [v for v in change.value if v not in old]}
    return _scaled(current, change.value)


def _scaled(spec: Any, factor: float) -> Any:
    if isinstance(spec, dict) and "choices" in spec:
        return {**spec, "choices": [_scaled(v, factor) for v in spec["choices"]]}
    if isinstance(spec, dict):
        return {**spec, "low": _scaled(spec["low"], factor), "high": _scaled(spec["high"], factor)}
    if isinstance(spec, bool) or not isinstance(spec, (int, float)):
        return spec
    return max(1, round(spec * factor)) if isinstance(spec, int) else spec * factor
