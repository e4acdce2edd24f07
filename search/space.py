"""The search space: what each trial may vary, parsed from a study file and sampled through Optuna.

Every entry of a study file's ``space`` (and of its ``models.<architecture>`` sections) is one of
- a fixed value:                 ``momentum: 0.9``
- a range to search:             ``lr: {low: 1.0e-4, high: 1.0e-2, log: true}``   (``step`` optional)
- choices to search:             ``batch_size: {choices: [16, 32, 64]}``
- for ``lr`` only, ``auto``:      the LR range test's interval (``search.lr_find``), found once when
                                  the study is created and stored with it

The training hyperparameters and their defaults are the table ``HYPERPARAMETERS`` below; some only
apply when another one takes a given value (``momentum`` only for ``sgd``), which makes them Optuna
conditional parameters. Architecture knobs come from each model builder's signature and are named
``<architecture>.<knob>`` in the trial's params, so two architectures' ``width`` never collide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import optuna

from search import augment, fields
from search.fields import Check, Section
from search.losses import CLASS_WEIGHTINGS, LOSSES
from search.models import MODELS, build_model, is_factory, knobs
from search.optimizers import LR_SCHEDULES, OPTIMIZERS
from search.sampling import SAMPLINGS


@dataclass(frozen=True)
class Fixed:
    value: Any


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False
    step: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Choice:
    choices: tuple[Any, ...]


@dataclass(frozen=True)
class Auto:
    """``lr: auto``: a marker, resolved into a log ``Range`` by the LR range test before any trial
    (``search.lr_find.resolve_auto_lr``)."""


AUTO = "auto"  # the one string ``lr`` accepts besides numbers
Spec = Fixed | Range | Choice | Auto


def possible_values(spec: Spec) -> tuple[Any, ...] | None:
    """The values a spec can take, or None for a range."""
    if isinstance(spec, Fixed):
        return (spec.value,)
    return spec.choices if isinstance(spec, Choice) else None


def suggest(trial: optuna.Trial, name: str, spec: Spec) -> Any:
    """The value of ``name`` for this trial (fixed values are not Optuna params)."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Choice):
        return trial.suggest_categorical(name, spec.choices)
    if isinstance(spec, Auto):
        raise ValueError(f"'{name}: auto' must be resolved (search.lr_find) before sampling")
    if spec.integer:
        return trial.suggest_int(name, int(spec.low), int(spec.high), step=int(spec.step or 1),
                                 log=spec.log)
    return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)


def parse_spec(section: Section, name: str, expected: type, check: Check | None,
               nullable: bool = False) -> Spec:
    """Read one entry (fixed / range / choices) of ``section``, checking every value it can take.
    ``nullable``: a fixed ``null`` is allowed (it means "off", as for ``grad_clip_norm``)."""
    key = section.key(name)
    raw = section.peek(name)
    if not isinstance(raw, dict):  # a fixed value
        return Fixed(section.take(name, expected, None if nullable else ..., check=check))
    entry = section.section(name)
    if entry.has("choices"):
        choices = entry.take("choices", list)
        entry.finish(["choices"])
        if not choices:
            raise section.error(f"{key}.choices", "a non-empty list", choices)
        for i, value in enumerate(choices):
            problem = (None if fields.is_type(value, expected) else fields.type_name(expected)) or (
                check(value) if check else None)
            if problem:
                raise section.error(f"{key}.choices[{i}]", problem, value)
        if len(set(map(repr, choices))) != len(choices):
            raise section.error(f"{key}.choices", "a list without repeated values", choices)
        return Choice(tuple(float(v) if expected is float else v for v in choices))
    if expected not in (int, float):
        raise section.error(key, f"{fields.type_name(expected)} or {{choices: [...]}}", raw)
    low = entry.take("low", expected, check=check)
    high = entry.take("high", expected, check=check)
    log = entry.take("log", bool, False)
    step = entry.take("step", expected, None, check=fields.positive)
    entry.finish(["low", "high", "log", "step"])
    if low > high:
        raise section.error(f"{key}.high", f">= low ({low})", high, "The range is empty.")
    if log and low <= 0:
        raise section.error(f"{key}.low", "> 0 for a log range", low)
    if log and step is not None:
        raise section.error(f"{key}.step", "absent for a log range (Optuna allows one or the other)",
                            step)
    return Range(low, high, log, step, integer=expected is int)


def _architecture_check(value: str) -> str | None:
    if value in MODELS or is_factory(value):
        return None
    return f"one of: {', '.join(MODELS)}, or a factory 'package.module:function'"


def _augmentation_check(value: str) -> str | None:
    try:
        augment.parse(value)
    except ValueError:
        return f"'none' or operations joined by '+' from: {', '.join(augment.OPERATIONS)}"
    return None


@dataclass(frozen=True)
class Hyperparameter:
    """One training hyperparameter: its type, default, valid values and when it applies."""

    type: type
    default: Any
    check: Check | None
    reason: str
    applies_when: tuple[str, frozenset[Any]] | None = None  # (other hyperparameter, its values)


# Order matters: a hyperparameter is sampled after the one it depends on.
HYPERPARAMETERS: Mapping[str, Hyperparameter] = {
    "architecture": Hyperparameter(str, ..., _architecture_check,
                                   "a model of the registry, or a factory 'package.module:function'"),
    "lr": Hyperparameter(float, 1e-3, fields.positive, "the step size; searched on a log scale"),
    "lr_schedule": Hyperparameter(str, "constant", fields.one_of(LR_SCHEDULES),
                                  "constant, or cosine decay to zero over max_epochs"),
    "batch_size": Hyperparameter(int, 32, fields.positive, "examples per optimizer step"),
    "dropout": Hyperparameter(float, 0.0, fields.in_unit_interval, "dropout before the classifier"),
    "weight_decay": Hyperparameter(float, 0.0, fields.non_negative, "L2 penalty on the weights"),
    "optimizer": Hyperparameter(str, "adam", fields.one_of(OPTIMIZERS), "the update rule"),
    "momentum": Hyperparameter(float, 0.9, fields.in_unit_interval, "SGD's momentum",
                               ("optimizer", frozenset({"sgd"}))),
    "loss": Hyperparameter(str, "cross_entropy", fields.one_of(LOSSES), "the training loss"),
    "class_weighting": Hyperparameter(
        str, "inverse_frequency", fields.one_of(CLASS_WEIGHTINGS),
        "how weighted cross entropy weighs classes", ("loss", frozenset({"weighted_cross_entropy"}))),
    "focal_gamma": Hyperparameter(float, 2.0, fields.non_negative, "focal loss's focusing power",
                                  ("loss", frozenset({"focal"}))),
    "label_smoothing": Hyperparameter(float, 0.1, fields.in_unit_interval,
                                      "probability mass spread over other classes",
                                      ("loss", frozenset({"label_smoothing"}))),
    "grad_clip_norm": Hyperparameter(float, None, fields.positive,
                                     "clip the gradient norm to this (none: no clipping)"),
    "augmentation": Hyperparameter(str, "none", _augmentation_check,
                                   "training-batch augmentation: none, or operations joined by +"),
    "sampling": Hyperparameter(str, "none", fields.one_of(SAMPLINGS),
                               "draw training examples class-balanced (over/undersampling)"),
}


@dataclass(frozen=True)
class Hyperparams:
    """One trial's resolved hyperparameters (what the training loop reads)."""

    architecture: str
    model_kwargs: dict[str, Any]
    lr: float
    lr_schedule: str
    batch_size: int
    dropout: float
    weight_decay: float
    optimizer: str
    momentum: float | None
    loss: str
    class_weighting: str | None
    focal_gamma: float | None
    label_smoothing: float | None
    grad_clip_norm: float | None
    augmentation: str
    sampling: str
    lr_interval: tuple[float, float] | None = None  # where lr was sampled, for ``lr: auto``

    def to_json(self) -> dict[str, Any]:
        values = dict(self.__dict__)
        interval = values.pop("lr_interval")
        if interval is not None:  # stated with the trial: its lr came from the LR range test
            values["lr_interval"] = list(interval)
        values.update({f"{self.architecture}.{k}": v for k, v in values.pop("model_kwargs").items()})
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> Hyperparams:
        """The hyperparameters ``to_json`` wrote (other keys, e.g. notes on where a value came
        from, are left out; one an older version did not write takes its default, or None where
        it applies only with another one's value)."""
        arch = values["architecture"]
        kwargs = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(f"{arch}.")}
        return cls(model_kwargs=kwargs, **{
            name: values[name] if name in values else None if hp.applies_when else hp.default
            for name, hp in HYPERPARAMETERS.items()})


@dataclass(frozen=True)
class SearchSpace:
    params: Mapping[str, Spec]
    models: Mapping[str, Mapping[str, Spec]] = field(default_factory=dict)
    lr_interval: tuple[float, float] | None = None  # ``lr: auto`` resolved to this range

    def sample(self, trial: optuna.Trial) -> Hyperparams:
        """Suggest every hyperparameter that applies to this trial (Optuna's define-by-run)."""
        values: dict[str, Any] = {}
        for name, hp in HYPERPARAMETERS.items():
            if hp.applies_when and values[hp.applies_when[0]] not in hp.applies_when[1]:
                values[name] = None
                continue
            values[name] = suggest(trial, name, self.params[name])
        arch = values["architecture"]
        values["model_kwargs"] = {knob: suggest(trial, f"{arch}.{knob}", spec)
                                  for knob, spec in self.models.get(arch, {}).items()}
        return Hyperparams(**values, lr_interval=self.lr_interval)


def parse_space(space: Section, models: Section) -> SearchSpace:
    """Validate the ``space`` and ``models`` sections of a study file."""
    params: dict[str, Spec] = {}
    for name, hp in HYPERPARAMETERS.items():
        if name == "lr" and isinstance(space.peek(name), str):
            params[name] = _auto(space, name)
        elif space.has(name):
            params[name] = parse_spec(space, name, hp.type, hp.check, nullable=hp.default is None)
        elif hp.default is ...:
            raise fields.ConfigError(f"{space.source}: '{space.key(name)}' is required but missing; "
                                     f"give one of {', '.join(MODELS)} or {{choices: [...]}}.")
        else:
            params[name] = Fixed(hp.default)
    space.finish(list(HYPERPARAMETERS))
    for arch in possible_values(params["architecture"]) or ():
        if is_factory(arch):  # import, read and call it now: one line before any trial, not a
            try:  # failure in every trial
                knobs(arch)
                build_model(arch, num_classes=2, in_channels=3, dropout=0.0)
            except ValueError as exc:  # the factory's own checks, worded
                raise fields.ConfigError(f"{space.source}: '{space.key('architecture')}': "
                                         f"{exc}") from None
            except Exception as exc:  # the user's code raised: say what, where, and the fix
                reason = (str(exc).strip().splitlines() or [""])[0]
                raise fields.ConfigError(
                    f"{space.source}: '{space.key('architecture')}': calling {arch}(2) with its "
                    f"defaults raised {type(exc).__name__}: {reason}; fix the factory") from None

    model_specs: dict[str, dict[str, Spec]] = {}
    for arch in models.keys():
        if arch not in MODELS and not is_factory(arch):
            raise models.unknown(arch, list(MODELS))
        section = models.section(arch)
        model_specs[arch] = {}
        for knob, (knob_type, _default) in knobs(arch).items():
            if section.has(knob):
                spec = parse_spec(section, knob, knob_type, None)
                _check_knob(section, arch, knob, spec)
                model_specs[arch][knob] = spec
        section.finish(list(knobs(arch)))
    return SearchSpace(params, model_specs)


def _auto(space: Section, name: str) -> Auto:
    """``lr: auto``; any other string is an error naming every form ``lr`` takes."""
    value = space.take(name, str)
    if value != AUTO:
        raise space.error(space.key(name), f"a positive number, {{low: ..., high: ..., log: true}}, "
                                           f"{{choices: [...]}} or '{AUTO}' (the LR range test)",
                          value)
    return Auto()


def _check_knob(section: Section, arch: str, knob: str, spec: Spec) -> None:
    """The builder is the one judge of its arguments: build a tiny model with each value the knob can
    take (a range's two ends), so a bad value fails here and not in every trial."""
    values = possible_values(spec) or (spec.low, spec.high)  # type: ignore[union-attr]
    for value in values:
        try:
            build_model(arch, num_classes=2, in_channels=3, dropout=0.0, **{knob: value})
        except (ValueError, TypeError) as exc:
            raise fields.ConfigError(f"{section.source}: '{section.key(knob)}': {exc}") from None
