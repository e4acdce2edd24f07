"""Running a study: data once, then Optuna's optimize loop over ``Objective`` trials.

Order matters for "nothing stored on bad input": the study file was validated by ``load_study_config``;
here the data is read and split (a bad folder fails now), and only then is the storage opened and the
study created or continued (Optuna's ``load_if_exists``). When the loop ends, every trial is read back
once, as ``TrialRecord``s, for the ``study_ended`` hook and the summary.

What happens around the trials is the caller's: ``Hooks`` (the command line plugs diagnosis and
optuna-dashboard publishing in there; this package imports nothing from ``diagnose``).
"""

from __future__ import annotations

import datetime
import functools
import gc
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import optuna
from optuna.trial import TrialState

from search import disk
from search.config import StudyConfig
from search.data import load_dataset
from search.data.splits import Splits, shipped_split, stratified_split
from search.device import Device, pick_device
from search.heartbeat import Heartbeat
from search.interrupts import Interrupts
from search.lr_find import resolve_auto_lr
from search.objective import Objective, TrialEnded
from search.preflight import preflight
from search.progress import Progress
from search.record.errors import StorageError
from search.record.history import OBJECTIVE_NAMES, objective_column
from search.record.measures import plural
from search.record.trial import TrialRecord, study_records
from search.resume import StopAtTotal, requeue_interrupted, to_run
from search.samplers import build_pruner, build_sampler

RUNNING = (TrialState.RUNNING,)
PROBE_BYTES = 64 * 1024  # the artifact folder's probe: a full disk refuses a file this size


@dataclass(frozen=True)
class Hooks:
    """What a study run calls besides training: once the study is created or loaded (before any
    trial; e.g. to enqueue trials), as each trial ends (with the live trial and its record, before
    the record is stored; returns the record to store), and once the run ends (with every trial of
    the study, read back once)."""

    trial_ended: TrialEnded = lambda trial, record: record
    study_ended: Callable[[optuna.Study, list[TrialRecord]], None] = lambda study, records: None
    study_started: Callable[[optuna.Study], None] = lambda study: None


@dataclass(frozen=True)
class StudyRun:
    study: optuna.Study
    records: list[TrialRecord]  # every trial of the study, by number, as stored after this run
    finished: list[int] = field(default_factory=list)  # numbers of the trials this run finished


def read_back(study: optuna.Study, workers: set[str]) -> StudyRun:
    """The study's records, read once, with the trials ``workers`` ("host:pid") finished as this
    run's."""
    records = study_records(study)
    finished = [r.number for r in records
                if r.state not in ("RUNNING", "WAITING") and r.worker in workers]
    return StudyRun(study, records, finished)


def load_splits(config: StudyConfig) -> Splits:
    """Read (or generate) the dataset and split it; the same splits serve every trial."""
    data = config.data
    dataset = load_dataset(data.kind, root=data.root, **data.options)
    if dataset.split is not None:  # the dataset's own train/validation(/test) split
        return shipped_split(dataset)
    return stratified_split(dataset, val_fraction=data.val_fraction,
                            test_fraction=data.test_fraction, seed=data.seed)


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write and remove a file in it: a folder that exists but
    cannot be written (or whose disk is full) would otherwise fail every trial as it ends."""
    probe = folder / f".plateau-write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with probe.open("wb") as file:
                file.write(bytes(PROBE_BYTES))
                file.flush()
                os.fsync(file.fileno())
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"artifact folder '{folder}' cannot be written ({exc.strerror}); give "
                           f"a writable one with --artifact-dir"
                           f"{', or make room there' if disk.is_disk_full(exc) else ''}.") from None


def retry_lost(study: optuna.Study, heartbeat: Heartbeat, since: datetime.datetime,
               run_trials: Callable[[int], None]) -> None:
    """After this worker's last trial: a trial started ``since`` and still RUNNING elsewhere may be a
    dead worker's. Wait until it ends or its heartbeat goes stale (a grace period at most); a stale
    one is failed and queued again (``search.heartbeat``), and run here. (Older RUNNING trials are
    left to the next run: one from before heartbeats would never go stale.)"""
    deadline = time.monotonic() + heartbeat.grace_period + heartbeat.interval
    while time.monotonic() < deadline and any(
            t.datetime_start is not None and t.datetime_start >= since
            for t in study.get_trials(deepcopy=False, states=RUNNING)):
        time.sleep(min(1.0, heartbeat.interval))  # a live worker's trial may end any moment
        with warnings.catch_warnings():  # "experimental" in name since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting:
            run_trials(len(waiting))


def create_or_continue(config: StudyConfig) -> optuna.Study:
    """The study named in the config: created, or loaded if it exists and optimises the same thing."""
    storage = config.storage.open(config.heartbeat)
    study = optuna.create_study(
        storage=storage,
        study_name=config.name,
        direction=config.direction,
        sampler=build_sampler(config.sampler.name, config.sampler.options, config.seed),
        pruner=build_pruner(config.pruner.name, config.pruner.options, config.budget.max_epochs),
        load_if_exists=True,
    )
    stored_metric = (study.metric_names or [None])[0]
    if study.direction.name.lower() != config.direction or (
            stored_metric is not None and objective_column(stored_metric) != config.objective):
        raise StorageError(
            f"study '{config.name}' in {config.storage.url} optimises "
            f"{stored_metric or 'its objective'} ({study.direction.name.lower()}), but "
            f"{config.source} asks for {config.objective} ({config.direction}); pick another "
            f"--study-name.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([OBJECTIVE_NAMES[config.objective]])
    study.set_user_attr("config", dict(config.raw))
    study.set_user_attr("artifact_dir", str(config.artifact_dir.resolve()))
    return study


def run(config: StudyConfig, progress: Progress, device: Device | None = None,
        hooks: Hooks = Hooks(), more_trials: int | None = None,
        interrupts: Interrupts | None = None, checks: bool = True) -> StudyRun:
    """Run the trials the study still lacks of ``budget.n_trials`` (or ``more_trials`` more), until
    the timeout, or until ``interrupts`` receives a signal. ``checks``: run the preflight checks
    first (``search.preflight``; a failure stops here, nothing stored)."""
    since = datetime.datetime.now() - datetime.timedelta(seconds=config.heartbeat.grace_period)
    splits = load_splits(config)
    check_writable(config.artifact_dir)  # before the storage: bad input, not a failed trial
    device = device or pick_device()
    said: list[str] = []  # the checks' lines, shown once the storage opened (a storage that
    if checks:  # fails is then one line); a failure stops here: the storage is not opened
        preflight(config, splits, device, said.append)
    study = create_or_continue(config)
    for line in said:
        progress.line(line)
    requeued = requeue_interrupted(study)
    hooks.study_started(study)
    trials = study.get_trials(deepcopy=False)
    planned = progress.n_trials = to_run(config.budget.n_trials, more_trials, trials)
    progress.line(f"study '{config.name}' ({plural(len(trials), 'trial')} so far"
                  f"{f', {len(requeued)} interrupted ones queued again' if requeued else ''}) in "
                  f"{config.storage.describe()}: {config.data.kind} data, "
                  f"{len(splits.train)} train / {len(splits.val)} val examples of "
                  f"{len(splits.train.classes)} classes; objective {config.objective} "
                  f"({config.direction}); device {device.describe()}")
    config = resolve_auto_lr(config, study, lambda: splits, device, progress.line)  # lr: auto
    finished: list[int] = []
    objective = Objective(config, splits, device, progress, hooks.trial_ended, interrupts)
    callbacks = [progress.trial_finished, lambda _, t: finished.append(t.number),
                 lambda study, _: study.stop() if (interrupts and interrupts.received)
                 or objective.halted else None]
    if more_trials is None and config.budget.n_trials is not None:
        callbacks.append(StopAtTotal(config.budget.n_trials))
    optimize = functools.partial(study.optimize, objective, catch=(Exception,), gc_after_trial=True,
                                 callbacks=callbacks)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # progress reports every trial instead
    gc.freeze()  # the collection after each trial skips the modules and data loaded so far
    try:
        if planned != 0 and not (interrupts and interrupts.received):  # not if stopped already
            optimize(n_trials=planned, timeout=config.budget.timeout)
        if objective.halted:
            raise disk.DiskFull(objective.halted)
        if not (interrupts and interrupts.received):
            retry_lost(study, config.heartbeat, since, lambda n: optimize(n_trials=n))
    finally:
        gc.unfreeze()
        optuna.logging.set_verbosity(verbosity)
    records = study_records(study)
    hooks.study_ended(study, records)
    return StudyRun(study, records, finished)
