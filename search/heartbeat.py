"""Heartbeats: a trial whose worker died (killed, preempted, out of memory) is found, failed with
why, and run again, instead of staying RUNNING for ever.

Optuna's own mechanism (``RDBStorage(heartbeat_interval=..., grace_period=...)``): while a trial runs,
a thread records a heartbeat every ``interval`` seconds; at the start of every trial, each worker fails
the study's RUNNING trials whose heartbeat is older than ``grace_period`` (``fail_stale_trials``), and
``RetryHeartbeatStaleTrialCallback`` queues each of them again (a WAITING trial with the same
parameters and its intermediate values), up to ``max_retry`` times. ``JournalStorage`` has no
heartbeat; ``HeartbeatJournalStorage`` gives it one through Optuna's same interface, keeping the
heartbeat as a trial system attribute. Both first write the trial's stop reason ("worker lost: no
heartbeat for 180 s"), while it can still be written.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.storages.journal import BaseJournalBackend
from optuna.trial import TrialState

HEARTBEAT_ATTR = "plateau:heartbeat"  # a journal trial's last heartbeat, seconds since the epoch


@dataclass(frozen=True)
class Heartbeat:
    interval: int  # seconds between heartbeats of a running trial
    grace_period: int  # a trial silent for longer than this has lost its worker
    max_retry: int  # how many times a lost trial is run again

    @property
    def lost_reason(self) -> str:
        return f"worker lost: no heartbeat for {self.grace_period} s"

    def retry(self) -> RetryHeartbeatStaleTrialCallback:
        return retry_callback(self.max_retry)

    def rdb(self, url: str, engine_kwargs: dict | None = None) -> RDBStorage:
        return HeartbeatRDBStorage(url, self, engine_kwargs)

    def journal(self, backend: BaseJournalBackend) -> JournalStorage:
        return HeartbeatJournalStorage(backend, self)


def retry_callback(max_retry: int | None) -> RetryHeartbeatStaleTrialCallback:
    """Optuna's callback that queues a trial again (experimental in name since Optuna 2.8)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry, inherit_intermediate_values=True)


def _say_why(storage: optuna.storages.BaseStorage, trial_ids: list[int], reason: str) -> list[int]:
    """Write ``reason`` as the stop reason of trials about to be failed as stale."""
    for trial_id in trial_ids:
        try:
            storage.set_trial_user_attr(trial_id, "stop_reason", reason)
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it first
            pass
    return trial_ids


class HeartbeatRDBStorage(RDBStorage):
    """Optuna's RDB heartbeat, with the stop reason written before a stale trial is failed."""

    def __init__(self, url: str, heartbeat: Heartbeat, engine_kwargs: dict | None = None):
        with warnings.catch_warnings():  # the heartbeat arguments are "experimental" in name
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(url, engine_kwargs, heartbeat_interval=heartbeat.interval,
                             grace_period=heartbeat.grace_period,
                             heartbeat_stale_trial_callback=heartbeat.retry())
        self._reason = heartbeat.lost_reason
        self._study_ids: dict[str, int] = {}

    def get_study_id_from_name(self, study_name: str) -> int:
        """Remembered: Optuna's Hyperband pruner and TPE sampler look the study up by name at every
        epoch's report and every sampled parameter (a query each), and a name's id never changes
        while a study exists; a study this worker deletes is forgotten."""
        if study_name not in self._study_ids:
            self._study_ids[study_name] = super().get_study_id_from_name(study_name)
        return self._study_ids[study_name]

    def delete_study(self, study_id: int) -> None:
        self._study_ids = {k: v for k, v in self._study_ids.items() if v != study_id}
        super().delete_study(study_id)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        return _say_why(self, super()._get_stale_trial_ids(study_id), self._reason)


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """A journal storage (file or Redis) with Optuna's heartbeat interface."""

    def __init__(self, backend: BaseJournalBackend, heartbeat: Heartbeat):
        super().__init__(backend)
        self._heartbeat = heartbeat
        self._callback = heartbeat.retry()

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())
        except optuna.exceptions.UpdateFinishedTrialError:  # it ended between two beats
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = [t._trial_id for t in self.get_all_trials(study_id, deepcopy=False,
                                                          states=(TrialState.RUNNING,))
                 if now - t.system_attrs.get(HEARTBEAT_ATTR, now) > self._heartbeat.grace_period]
        return _say_why(self, stale, self._heartbeat.lost_reason)

    def get_heartbeat_interval(self) -> int:
        return self._heartbeat.interval

    def get_heartbeat_stale_trial_callback(self) -> RetryHeartbeatStaleTrialCallback:
        return self._callback
