"""A study read back from a real SQLite Optuna storage, once: plateau's records, plain trials, errors."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
import time
import warnings
from pathlib import Path

import optuna
import pytest

from diagnose.loaders.storage import StoredStudy, load_study
from search.record.errors import LogError, StorageError
from search.record.history import History, PerClass
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord

DISTRIBUTIONS = {"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)}


def load_trials(url: str, study: str, trial: int | None = None) -> list[TrialRecord]:
    return load_study(StorageUrl.parse(url), study, trial).records


def _record(epochs: int, stop_reason: str, nan_at: int | None = None) -> TrialRecord:
    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 100, "val_loss": 1.2 / e,
             "val_accuracy": 0.4 + e / 100, "val_macro_f1": 0.3 + e / 100, "lr": 0.01}
            for e in range(1, epochs + 1)]
    if nan_at is not None:
        rows[nan_at - 1] = {"epoch": nan_at, "train_loss": math.nan}
    per_class = PerClass(["a", "b"], [0.5, 0.75], [0.6, 0.7], [0.55, 0.72], [10, 12], [[6, 4], [3, 9]],
                         [40, 48], epochs)
    return TrialRecord(0, "COMPLETE", None, {}, History(rows, per_class), stop_reason=stop_reason,
                       objective="val_macro_f1", direction="maximize")


# The trials of study "demo", in order: (state, value, plateau history or None, intermediate values)
DEMO = [
    ("COMPLETE", 0.35, _record(5, "completed 5 epochs"), None),
    ("PRUNED", None, _record(2, "pruned at epoch 2 by HyperbandPruner"), None),
    ("FAIL", None, _record(3, "diverged at epoch 3: training loss is nan", nan_at=3), None),
    ("COMPLETE", 0.5, None, {0: 0.3, 1: 0.4, 2: 0.5}),  # a plain Optuna trial: objective per step only
    ("FAIL", None, None, None),  # failed before reporting anything
]


def _frozen(number: int, state: str, value: float | None, record: TrialRecord | None,
            intermediate: dict[int, float] | None) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState[state], value=value, params={"lr": 0.01 * (number + 1)},
        distributions=DISTRIBUTIONS, user_attrs=record.user_attrs() if record else {},
        intermediate_values=intermediate or ({r["epoch"]: r.get("val_macro_f1", math.nan)
                                              for r in record.history.rows} if record else {}))


def _create(url: str, name: str, metric: str | None, trials: list[optuna.trial.FrozenTrial]) -> None:
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    if metric is not None:
        with warnings.catch_warnings():  # experimental since Optuna 3.2; plateau's runner sets it too
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([metric])
    study.add_trials(trials)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('storage') / 'plateau.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _create(url, "demo", "val_macro_f1", [_frozen(i, *t) for i, t in enumerate(DEMO)])
    _create(url, "plain", None, [_frozen(0, "COMPLETE", 0.5, None, {1: 0.5})])
    return url


def test_all_trials(url):
    runs = load_trials(url, "demo")
    assert [r.number for r in runs] == [0, 1, 2, 3, 4]
    assert [r.state for r in runs] == [t[0] for t in DEMO]
    # as stored, but the pruned trial's: its best epoch's objective, not Optuna's (none here)
    assert [r.value for r in runs] == [0.35, 0.32, None, 0.5, None]
    assert [r.params for r in runs] == [{"lr": 0.01 * (i + 1)} for i in range(5)]
    for run, (_, _, record, _) in zip(runs[:3], DEMO):
        assert run.history.rows_to_json() == record.history.rows_to_json()  # NaN included
        assert run.history.per_class == record.history.per_class
        assert (run.stop_reason, run.objective) == (record.stop_reason, record.objective)


def test_plain_optuna_trial_gets_a_history_from_its_intermediate_values(url):
    (run,) = load_trials(url, "demo", trial=3)
    assert run.history.rows == [{"epoch": 1, "val_macro_f1": 0.3}, {"epoch": 2, "val_macro_f1": 0.4},
                                {"epoch": 3, "val_macro_f1": 0.5}]
    assert run.history.source.epochs_from == "intermediate values"


def test_a_trial_with_nothing_to_read_is_listed_with_the_reason(url):
    run = load_trials(url, "demo")[4]
    assert run.history.rows == [] and "no intermediate values" in run.skipped


def test_the_study_is_read_once_and_kept_for_writing_back(url):
    stored = load_study(StorageUrl.parse(url), "demo")
    assert isinstance(stored, StoredStudy) and stored.study.study_name == "demo"
    assert [r.trial_id for r in stored.records] == [t._trial_id for t in stored.study.trials]


def test_one_trial(url):
    (run,) = load_trials(url, "demo", trial=1)
    assert isinstance(run, TrialRecord) and (run.number, run.state) == (1, "PRUNED")
    assert run.stop_reason == "pruned at epoch 2 by HyperbandPruner"
    with pytest.raises(dataclasses.FrozenInstanceError):  # a run read back is not edited in place
        run.number = 7  # type: ignore[misc]


@pytest.mark.parametrize("study, trial, words", [
    ("nope", None, ["no study named 'nope'", "demo, plain"]),
    ("demo", 9, ["no trial 9", "numbered 0..4"]),
    ("demo", 4, ["trial 4 of study 'demo' has no plateau history", "no intermediate values"]),
    ("plain", None, ["no trial of study 'plain' has a plateau history", "metric name"]),
], ids=["unknown study", "unknown trial", "trial without history", "study without history"])
def test_errors(url, study, trial, words):
    with pytest.raises(LogError) as error:
        load_trials(url, study, trial)
    message = str(error.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="does not exist"):
        load_trials(f"sqlite:///{path}", "demo")
    assert not path.exists()


def _replicate(db: Path, copies: int) -> None:
    """Copy every trial of the storage ``copies - 1`` times, with SQL: Optuna's own ``add_trials``
    writes about 40 trials/s here, too slow for a test; the copies are rows Optuna itself wrote."""
    con = sqlite3.connect(db)
    n, top = con.execute("select count(*), max(trial_id) from trials").fetchone()
    tables = [t for (t,) in con.execute("select name from sqlite_master where type='table'")
              if t != "trials"]
    for c in range(1, copies):
        con.execute("insert into trials (trial_id, number, study_id, state, datetime_start, "
                    "datetime_complete) select trial_id + ?, number + ?, study_id, state, "
                    "datetime_start, datetime_complete from trials where trial_id <= ?",
                    (c * top, c * n, top))
        for table in tables:
            info = con.execute(f"pragma table_info({table})").fetchall()
            columns = [col[1] for col in info if not col[5]]  # all but the primary key
            if "trial_id" not in columns:
                continue
            names = ", ".join(f'"{col}"' for col in columns)
            values = ", ".join("trial_id + ?" if col == "trial_id" else f'"{col}"' for col in columns)
            con.execute(f"insert into {table} ({names}) select {values} from {table} "
                        f"where trial_id <= ?", (c * top, top))
    con.commit()
    con.close()


def test_a_thousand_trials_load_in_seconds(tmp_path):
    db = tmp_path / "big.db"
    url = f"sqlite:///{db}"
    record = _record(20, "completed 20 epochs")
    _create(url, "big", "val_macro_f1", [_frozen(i, "COMPLETE", 0.5, record, None) for i in range(10)])
    _replicate(db, 100)
    started = time.perf_counter()
    runs = load_trials(url, "big")
    elapsed = time.perf_counter() - started
    assert [r.number for r in runs] == list(range(1000))
    assert runs[-1].history.rows_to_json() == record.history.rows_to_json()
    assert elapsed < 10, f"loading 1,000 trials took {elapsed:.1f} s"
