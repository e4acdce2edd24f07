"""Heartbeats on a journal file, through Optuna's own interface: a trial whose worker stopped
beating is failed with why and queued again once (max_retry), with its parameters and its
intermediate values; a beating one is left alone. The RDB storage with a heartbeat remembers study
ids."""

from __future__ import annotations

import time
import warnings

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sqlalchemy import event

from search.heartbeat import HEARTBEAT_ATTR, Heartbeat, HeartbeatJournalStorage, HeartbeatRDBStorage

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed")


def running_trial(study: optuna.Study, beat_age: float, x: float) -> optuna.Trial:
    trial = study.ask()
    study._storage.set_trial_param(trial._trial_id, "x", x,
                                   optuna.distributions.FloatDistribution(0, 1))
    trial.report(0.25, step=1)
    study._storage.set_trial_system_attr(trial._trial_id, HEARTBEAT_ATTR, time.time() - beat_age)
    return trial


def stale_check(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def test_a_silent_trial_is_failed_with_why_and_queued_again_once(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    heartbeat = Heartbeat(interval=1, grace_period=3, max_retry=1)
    storage = HeartbeatJournalStorage(JournalFileBackend(str(tmp_path / "j.log")), heartbeat)
    study = optuna.create_study(storage=storage)
    lost = running_trial(study, beat_age=10, x=0.3)
    alive = running_trial(study, beat_age=0.5, x=0.7)
    stale_check(study)
    states = {t.number: t for t in study.get_trials()}
    assert states[lost.number].state == TrialState.FAIL
    assert states[lost.number].user_attrs["stop_reason"] == "worker lost: no heartbeat for 3 s"
    assert states[alive.number].state == TrialState.RUNNING
    (retry,) = study.get_trials(states=(TrialState.WAITING,))
    assert retry.params == {"x": 0.3} and retry.intermediate_values == {1: 0.25}
    assert retry.system_attrs["retry_history"] == [lost.number]

    # The retry is lost too: it is not queued a second time (max_retry 1).
    again = study.ask()  # pops the WAITING retry
    assert again.number == retry.number
    study._storage.set_trial_system_attr(again._trial_id, HEARTBEAT_ATTR, time.time() - 10)
    stale_check(study)
    assert not study.get_trials(states=(TrialState.WAITING,))


def test_the_heartbeat_is_recorded_and_a_finished_trial_ignores_it(tmp_path):
    storage = HeartbeatJournalStorage(JournalFileBackend(str(tmp_path / "j.log")),
                                      Heartbeat(interval=1, grace_period=3, max_retry=1))
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    assert time.time() - storage.get_trial(trial._trial_id).system_attrs[HEARTBEAT_ATTR] < 5
    study.tell(trial, 1.0)
    storage.record_heartbeat(trial._trial_id)  # between two beats it ended: no error
    assert storage.get_heartbeat_interval() == 1


def test_the_rdb_storage_looks_a_study_up_once_and_forgets_a_deleted_one(tmp_path):
    storage = HeartbeatRDBStorage(f"sqlite:///{tmp_path / 'a.db'}",
                                  Heartbeat(interval=60, grace_period=180, max_retry=1))
    queries = []
    event.listen(storage.engine, "before_cursor_execute",
                 lambda *args: queries.append(args[2]) if "FROM studies" in args[2] else None)
    first = optuna.create_study(storage=storage, study_name="s")._study_id
    queries.clear()
    assert [storage.get_study_id_from_name("s") for _ in range(3)] == [first] * 3
    assert queries == []
    optuna.delete_study(study_name="s", storage=storage)
    with pytest.raises(KeyError):
        storage.get_study_id_from_name("s")
