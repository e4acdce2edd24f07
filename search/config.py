"""A study file (YAML) -> a typed, validated ``StudyConfig``.

Validation happens here, once, before anything is stored: an unknown key, a wrong type, an empty range,
a missing data folder or an unknown architecture / loss / optimizer name raises ``ConfigError`` naming
the file, the key, what was expected and what was found. Code past this point trusts the config.

Command-line overrides (``--n-trials``, ``--data-root``, ...) are applied to the parsed YAML before
validation, so they are checked by the same rules.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from search import fields
from search.data import DATASETS
from search.data import knobs as dataset_knobs
from search.early_stopping import EarlyStopping
from search.fields import Section
from search.heartbeat import Heartbeat
from search.models import MODELS, model_entry
from search.overrides import OVERRIDES
from search.record.errors import ConfigError
from search.record.history import OBJECTIVE_DIRECTIONS
from search.record.storage import DEFAULT_STORAGE, StorageUrl
from search.samplers import (DEFAULT_SAMPLER, PRUNERS, SAMPLERS, build_pruner, build_sampler,
                             default_pruner)
from search.space import SearchSpace, parse_space, possible_values

DEFAULT_PARALLEL_STORAGE = "plateau.journal"  # JournalFileBackend: safe for several processes
MAX_STUDY_NAME = 512  # Optuna's RDB storages keep study names in a VARCHAR(512)
DEFAULT_N_TRIALS = 10
DEFAULT_HEARTBEAT = (60, 180, 1)  # seconds between beats, seconds of silence, retries of a lost trial
TOP_LEVEL_KEYS = ["study", "data", "objective", "budget", "sampler", "pruner", "early_stopping",
                  "space", "models"]

@dataclass(frozen=True)
class DataConfig:
    kind: str
    root: Path | None
    val_fraction: float
    test_fraction: float
    seed: int  # the split's seed, and the generator's for synthetic data
    options: Mapping[str, Any]  # the dataset reader's own keyword arguments (seed included)

    @property
    def input(self) -> str:
        """"video" or "image": what the dataset's batches hold."""
        return DATASETS[self.kind].input


@dataclass(frozen=True)
class Budget:
    n_trials: int | None  # the study's trials in all (finished ones count); None: no limit
    timeout: float | None  # seconds; checked between trials, as in Optuna
    max_epochs: int


@dataclass(frozen=True)
class Component:
    """An Optuna sampler or pruner: its name and the keyword arguments for its class."""

    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class StudyConfig:
    source: Path
    name: str
    storage: StorageUrl
    heartbeat: Heartbeat  # how workers find the trials of workers that died
    seed: int  # sampler seed; trial k trains with seed + k
    artifact_dir: Path  # Optuna's file artifact store: each trial's history as CSV
    data: DataConfig
    objective: str  # a column of the history, e.g. val_macro_f1
    budget: Budget
    sampler: Component
    pruner: Component
    early_stopping: EarlyStopping | None  # None: train every trial for max_epochs
    space: SearchSpace
    raw: Mapping[str, Any]  # the study file after overrides, stored with the study
    keep_weights: int = 0  # keep the best-epoch weights of this many best trials (0: off)

    @property
    def direction(self) -> str:
        return OBJECTIVE_DIRECTIONS[self.objective]


def load_study_config(path: Path | str, overrides: Mapping[str, Any] | None = None,
                      parallel: bool = False) -> StudyConfig:
    """Read, override and validate a study file. ``parallel``: several processes will share the
    storage, so the default is a journal file (Optuna's storage for that), not SQLite."""
    path = Path(path)
    return study_config_from_mapping(fields.read_yaml(path), path, overrides, parallel)


def study_config_from_mapping(raw: Any, path: Path, overrides: Mapping[str, Any] | None = None,
                              parallel: bool = False) -> StudyConfig:
    """``load_study_config`` of a study file already read (e.g. the copy a study stores): ``path``
    names it in messages and gives the default study name."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a study file is a YAML mapping (keys data, space, ...). "
                          f"Got {type(raw).__name__} instead.")
    raw = copy.deepcopy(raw)
    for option, value in (overrides or {}).items():
        if value is not None:
            section, key = OVERRIDES[option].section, OVERRIDES[option].key
            if not isinstance(raw.setdefault(section, {}), dict):
                raise ConfigError(f"{path}: '{section}' must be a mapping. Got {raw[section]!r}.")
            raw[section][key] = str(value) if isinstance(value, Path) else value
    stored = copy.deepcopy(raw)
    top = Section(path, "", raw)

    study = top.section("study", {})
    name = study.take("name", str, path.stem, check=_study_name)
    storage = StorageUrl.parse(study.take("storage", str, DEFAULT_PARALLEL_STORAGE if parallel
                                          else DEFAULT_STORAGE))
    if storage.problem():
        raise ConfigError(f"{path}: 'study.storage' (or --storage) '{storage.url}' "
                          f"{storage.problem()}.")
    seed = study.take("seed", int, 0, check=fields.non_negative)
    artifacts = study.take("artifact_dir", str, None)
    heartbeat = _heartbeat(study)
    keep_weights = study.take("keep_weights", int, 0, check=fields.non_negative)
    study.finish(["name", "storage", "seed", "artifact_dir", "heartbeat_interval",
                  "grace_period", "max_retry", "keep_weights"])

    data = _data(top.section("data"))
    objective = top.take("objective", str, "val_macro_f1", check=fields.one_of(OBJECTIVE_DIRECTIONS))
    budget = _budget(top.section("budget", {}))
    sampler = _component(top, "sampler", Component(*DEFAULT_SAMPLER), SAMPLERS,
                         lambda n, o: build_sampler(n, o, seed))
    pruner = _component(top, "pruner", Component(*default_pruner(budget.max_epochs)), PRUNERS,
                        lambda n, o: build_pruner(n, o, budget.max_epochs))
    early_stopping = _early_stopping(top, budget.max_epochs)
    space = parse_space(top.section("space"), top.section("models", {}))
    top.finish(TOP_LEVEL_KEYS)

    _check_consistency(top, space, data, objective)
    artifacts_path = storage.artifact_dir(artifacts)
    return StudyConfig(path, name, storage, heartbeat, seed, artifacts_path, data, objective,
                       budget, sampler, pruner, early_stopping, space, stored,
                       keep_weights=keep_weights)


def _data(data: Section) -> DataConfig:
    kind = data.take("kind", str, check=fields.one_of(DATASETS))
    entry = DATASETS[kind]
    root = data.take("root", str, None)
    if entry.takes_root and root is None:
        raise ConfigError(f"{data.source}: data kind '{kind}' reads a folder: set 'data.root' in the "
                          f"study file or pass --data-root DIR.")
    if not entry.takes_root and root is not None:
        raise ConfigError(f"{data.source}: data kind '{kind}' reads no folder, but 'data.root' is "
                          f"{root!r}; remove it (and --data-root).")
    if root is not None and not Path(root).expanduser().is_dir():
        raise ConfigError(f"{data.source}: 'data.root' folder '{root}' does not exist; unpack the "
                          f"dataset there ({DATASETS[kind].layout}) or point --data-root at the "
                          f"folder that holds it.")
    val = data.take("val_fraction", float, 0.1, check=lambda v: None if 0 < v < 1 else "in (0, 1)")
    test = data.take("test_fraction", float, 0.1,
                     check=lambda v: None if 0 <= v < 1 - val else f"in [0, {1 - val:g}) "
                                                                      f"(1 - val_fraction)")
    seed = data.take("seed", int, 0, check=fields.non_negative)
    options = {"seed": seed} if "seed" in dataset_knobs(kind) else {}
    for knob, (knob_type, _default) in dataset_knobs(kind).items():
        if knob != "seed" and data.has(knob):
            options[knob] = data.take(knob, knob_type)
    data.finish(["kind", "root", "val_fraction", "test_fraction", "seed",
                 *(k for k in dataset_knobs(kind) if k != "seed")])
    return DataConfig(kind, Path(root).expanduser() if root else None, val, test, seed, options)


def _study_name(name: str) -> str | None:
    """Non-empty, and short enough for Optuna's RDB storages (512 characters)."""
    if not name.strip():
        return "non-empty"
    return None if len(name) <= MAX_STUDY_NAME else f"at most {MAX_STUDY_NAME} characters"


def _heartbeat(study: Section) -> Heartbeat:
    """Optuna's heartbeat settings: a beat every minute, a worker silent for 3 minutes is lost and
    its trial runs once more (Optuna's docs suggest a grace period of a few intervals)."""
    interval = study.take("heartbeat_interval", int, DEFAULT_HEARTBEAT[0], check=fields.positive)
    grace = study.take("grace_period", int, max(DEFAULT_HEARTBEAT[1], 2 * interval),
                       check=lambda v: None if v > interval else f"> heartbeat_interval ({interval})")
    retries = study.take("max_retry", int, DEFAULT_HEARTBEAT[2], check=fields.non_negative)
    return Heartbeat(interval, grace, retries)


def _budget(budget: Section) -> Budget:
    n_trials = budget.take("n_trials", int, DEFAULT_N_TRIALS, check=fields.positive, nullable=True)
    timeout = budget.take("timeout", float, None, check=fields.positive)
    max_epochs = budget.take("max_epochs", int, 10, check=fields.positive)
    budget.finish(["n_trials", "timeout", "max_epochs"])
    return Budget(n_trials, timeout, max_epochs)


def _component(top: Section, key: str, default: Component, names: Mapping[str, type],
               build) -> Component:
    """``key: NAME`` (Optuna's class with its own defaults), ``key: {name: NAME, option: value}``,
    or nothing: plateau's ``default``, whose options a mapping without ``name`` adjusts. Built once
    here to check the options."""
    if not top.has(key):
        name, options = default.name, dict(default.options)
    elif not isinstance(top.peek(key), dict):
        section = Section(top.source, key, {"name": top.take(key, str)})
        name, options = section.take("name", str, check=fields.one_of(names)), {}
    else:
        section = top.section(key)
        given = section.has("name")
        name = section.take("name", str, default.name, check=fields.one_of(names))
        options = {**({} if given else default.options), **section.rest()}
    try:
        build(name, options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{top.source}: '{key}' options {options} are not accepted by Optuna's "
                          f"{names[name].__name__}: {exc}") from None
    return Component(name, options)


def _early_stopping(top: Section, max_epochs: int) -> EarlyStopping | None:
    if top.peek("early_stopping") is False:
        top.take("early_stopping", bool)
        return None
    section = top.section("early_stopping", {})
    auto = EarlyStopping.auto(max_epochs)
    patience = _int_or_auto(section, "patience", auto.patience, fields.positive)
    warmup = _int_or_auto(section, "warmup_epochs", auto.warmup_epochs, fields.non_negative)
    min_delta = section.take("min_delta", float, auto.min_delta, check=fields.non_negative)
    section.finish(["patience", "warmup_epochs", "min_delta"])
    return EarlyStopping(patience, min_delta, warmup)


def _int_or_auto(section: Section, name: str, auto: int, check: fields.Check) -> int:
    if section.peek(name) == "auto":
        section.take(name, str)
        return auto
    return section.take(name, int, auto, check=check)


def _check_consistency(top: Section, space: SearchSpace, data: DataConfig, objective: str) -> None:
    """Rules that span sections."""
    for arch in possible_values(space.params["architecture"]) or ():
        if model_entry(arch).input not in (None, data.input):  # None: a factory takes any
            raise ConfigError(
                f"{top.source}: architecture '{arch}' takes {model_entry(arch).input} batches but data "
                f"kind '{data.kind}' gives {data.input} batches; choose from: "
                f"{', '.join(n for n, m in MODELS.items() if m.input == data.input)}.")
    losses = possible_values(space.params["loss"])
    if objective == "val_loss" and (losses is None or len(losses) > 1):
        raise ConfigError(
            f"{top.source}: objective 'val_loss' compares trials by their own training losses, but "
            f"'space.loss' searches {list(losses or [])}; use objective val_macro_f1 or fix the loss.")
