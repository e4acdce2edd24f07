"""The Optuna objective: one trial = sample hyperparameters, train, store the trial's record.

What a trial stores is one ``TrialRecord`` (``search.record.trial``; the README lists the
attributes): its hyperparameters as it starts, its history after every epoch (so a pruned, failed or
interrupted trial keeps what it ran), and the whole record as it ends. Before the record is written,
the ``trial_ended`` hook may add to it (the command line diagnoses the trial there and publishes it for
optuna-dashboard); this module knows nothing of either. Trial states follow Optuna: COMPLETE
(including stopped on plateau), PRUNED, FAIL (including diverged).
"""

from __future__ import annotations

import os
import socket
import traceback
from typing import Any, Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import disk, fair_pruner
from search.checkpoints import TrialCheckpoints
from search.config import StudyConfig
from search.data.splits import Splits
from search.device import Device, seed_everything
from search.interrupts import Interrupts
from search.kept_weights import keep_best_weights
from search.memory import OUT_OF_MEMORY, free_memory, is_out_of_memory, ruled_out
from search.models import build_model
from search.progress import Progress
from search.record.history import History
from search.record.storage import set_trial_user_attrs
from search.record.trial import (PINNED, PLATEAU_STOP, PRUNED_AT, TrialRecord, epoch_attrs,
                                 start_attrs)
from search.space import Hyperparams
from search.train import FitResult, Stop, fit

# Called as a trial ends, with the live trial and its record; returns the record to store.
TrialEnded = Callable[[optuna.Trial, TrialRecord], TrialRecord]


class Diverged(Exception):
    """The training loss became NaN or infinite; the trial is recorded as failed."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the trial after an epoch; it is failed now and queued again when the
    study next runs (``study.requeue_interrupted``), to continue from its checkpoint."""


def write(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    set_trial_user_attrs(trial.storage, trial._trial_id, attrs)  # _trial_id: private, as for notes


def attempts(trial: optuna.Trial, trials: list[FrozenTrial]) -> tuple[int, ...]:
    """The numbers of the earlier attempts this trial runs again (after its worker was lost, or it
    was interrupted), oldest first; () for a new trial."""
    this = next(t for t in trials if t.number == trial.number)  # a live Trial hides system attrs
    return tuple(this.system_attrs.get("retry_history", ()))


def repeated(trial: optuna.Trial, trials: list[FrozenTrial],
             retried: tuple[int, ...]) -> FrozenTrial | None:
    """The first other trial of the study with this trial's parameters, if any, but for the
    attempts this trial retries (a pinned trial is a deliberate re-run: never a repeat)."""
    if trial.user_attrs.get(PINNED):
        return None
    return next((t for t in trials if t.number != trial.number and t.number not in retried
                 and not t.user_attrs.get(PINNED) and t.params == trial.params), None)


def max_epochs(trial: optuna.Trial, config: StudyConfig) -> int:
    """The trial's epochs: its pinned ones (``PINNED``), else the study's."""
    return (trial.user_attrs.get(PINNED) or {}).get("max_epochs") or config.budget.max_epochs


class Objective:
    def __init__(self, config: StudyConfig, data: Splits, device: Device, progress: Progress,
                 trial_ended: TrialEnded = lambda trial, record: record,
                 interrupts: Interrupts | None = None):
        self.config, self.data, self.device, self.progress = config, data, device, progress
        self.trial_ended, self.interrupts = trial_ended, interrupts
        self.maximize = config.direction == "maximize"
        self.class_counts = {name: part.class_counts().tolist() for name, part in
                             (("train", data.train), ("val", data.val), ("test", data.test))
                             if part is not None}
        self.history = History()  # the running trial's, as of its last epoch
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.halted: str | None = None  # why the study must stop now (a full disk), once it has

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.config
        pinned = trial.user_attrs.get(PINNED)
        hp = Hyperparams.from_json(pinned["hparams"]) if pinned else config.space.sample(trial)
        write(trial, start_attrs(hp.to_json(), self.worker))
        shown = {"pinned": pinned.get("label", "yes")} if pinned else trial.params
        self.progress.trial_started(trial.number, shown, max_epochs(trial, config))
        self.history = History()
        checkpoints: TrialCheckpoints | None = None
        try:
            trials = trial.study.get_trials(deepcopy=False)
            retried = attempts(trial, trials)
            checkpoints = TrialCheckpoints(config.artifact_dir / "checkpoints" / config.name,
                                           trial.number, retried)
            earlier = repeated(trial, trials, retried)
            if earlier is not None:  # never train one parameter set twice
                return self.repeat(trial, hp, earlier)
            too_big = ruled_out(hp.to_json(), trials)
            if too_big is not None:
                return self.skip(trial, hp, too_big)
            result = self.train(trial, hp, checkpoints)
        except (Diverged, Interrupted, optuna.TrialPruned):
            raise  # already recorded
        except Exception as exc:  # recorded on the trial; Optuna marks it FAIL and the study goes on
            if self.interrupts is not None and self.interrupts.forced:  # the second Ctrl-C landed
                write(trial, self.unfinished(trial, hp).user_attrs())  # inside a storage call
                raise KeyboardInterrupt from None
            if disk.is_disk_full(exc):  # ... but not on a full disk: the run stops, to resume
                self.halted = disk.halted(exc, trial.number)
                write(trial, self.record(trial, hp, history=self.history,
                                         stop_reason=disk.stop_reason(exc)).user_attrs())
                raise
            if checkpoints is not None:
                checkpoints.remove()
            if is_out_of_memory(exc):
                free_memory()
            self.end(trial, self.unfinished(trial, hp, exc))
            raise
        except KeyboardInterrupt:  # stop now (a second Ctrl-C): the checkpoint stays, no hook
            write(trial, self.unfinished(trial, hp).user_attrs())
            raise
        return result

    def train(self, trial: optuna.Trial, hp: Hyperparams, checkpoints: TrialCheckpoints) -> float:
        """Train the trial (continuing from a checkpoint if an earlier attempt left one), store its
        record, and end it as Optuna expects: its value, or pruned, or failed."""
        config, seed = self.config, self.config.seed + trial.number
        seed_everything(seed)
        model = build_model(hp.architecture, num_classes=len(self.data.train.classes),
                            in_channels=self.data.train.x.shape[1], dropout=hp.dropout,
                            **hp.model_kwargs)
        result = fit(model, self.data, hp, max_epochs=max_epochs(trial, config),
                     device=self.device, objective=config.objective, maximize=self.maximize,
                     seed=seed, on_epoch=lambda history: self.on_epoch(trial, history),
                     checkpoints=checkpoints, keep_weights=config.keep_weights > 0)
        self.end(trial, self.finished(trial, hp, result))
        kind = result.stop.kind if result.stop is not None else "completed"
        if config.keep_weights and kind in ("completed", "plateau"):  # study.keep_weights: k
            keep_best_weights(trial, config.artifact_dir, config.keep_weights, self.maximize,
                              result.best_state, result.best_value, self.data)
        if kind != "interrupted":
            checkpoints.remove()
        if kind in ("diverged", "interrupted"):
            raise (Diverged if kind == "diverged" else Interrupted)(result.stop.reason)
        if kind == "pruned":
            raise optuna.TrialPruned(result.stop.reason)
        return result.best_value

    def repeat(self, trial: optuna.Trial, hp: Hyperparams, earlier: FrozenTrial) -> float:
        """End a trial whose parameters an earlier one has: a completed one's value is reused (as
        Optuna's FAQ does for duplicated samples, so the sampler learns the truth); otherwise the
        trial is pruned. Nothing is trained either way."""
        reused = earlier.state == TrialState.COMPLETE
        return self.skip(trial, hp, f"same parameters as trial #{earlier.number} "
                                    f"({earlier.state.name.lower()}): "
                                    f"{'its value is reused' if reused else 'not trained again'}",
                         earlier.value if reused else None)

    def skip(self, trial: optuna.Trial, hp: Hyperparams, reason: str,
             value: float | None = None) -> float:
        """End a trial untrained, for ``reason``: with ``value`` if given, else pruned."""
        self.end(trial, self.record(trial, hp, value=value, history=History(),
                                    stop_reason=reason))
        if value is None:
            raise optuna.TrialPruned(reason)
        return value

    def end(self, trial: optuna.Trial, record: TrialRecord) -> None:
        """Let the hook add to the record, then store it."""
        write(trial, self.trial_ended(trial, record).user_attrs())

    def record(self, trial: optuna.Trial, hp: Hyperparams, **fields: Any) -> TrialRecord:
        """This trial's record: what every trial of this study stores, and ``fields``."""
        return TrialRecord(number=trial.number, state="RUNNING", params=trial.params,
                           hparams=hp.to_json(), objective=self.config.objective,
                           direction=self.config.direction, class_counts=self.class_counts,
                           device=self.device.describe(), worker=self.worker,
                           **{"value": None, **fields})

    def finished(self, trial: optuna.Trial, hp: Hyperparams, result: FitResult) -> TrialRecord:
        return self.record(trial, hp, value=result.best_value, history=result.history,
                           best_epoch=result.best_epoch, stop_reason=result.stop_reason,
                           param_count=result.param_count, param_counts=result.param_counts,
                           test=result.test)

    def unfinished(self, trial: optuna.Trial, hp: Hyperparams,
                   exc: Exception | None = None) -> TrialRecord:
        """The record of a trial that raised ``exc``, or was interrupted (Ctrl-C) when it is None:
        the epochs it ran."""
        if exc is None:
            return self.record(trial, hp, history=self.history, stop_reason="interrupted (Ctrl-C)")
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        reason = (f"{OUT_OF_MEMORY} {hp.batch_size}" if is_out_of_memory(exc)
                  else f"failed: {message}")
        return self.record(trial, hp, history=self.history, stop_reason=reason, error=message,
                           traceback=traceback.format_exc())

    def on_epoch(self, trial: optuna.Trial, history: History) -> Stop | None:
        """Store the history so far, report the objective, and decide whether to stop."""
        self.history = history
        row = history.rows[-1]
        epoch, value = row["epoch"], row[self.config.objective]
        write(trial, epoch_attrs(history))
        trial.report(value, step=epoch)
        self.progress.epoch_finished(trial.number, row, self.config.objective)
        if self.interrupts is not None and self.interrupts.received:
            return Stop("interrupted", f"interrupted by {self.interrupts.received} after epoch "
                                       f"{epoch}; it continues from there when the study runs again")
        if trial.should_prune():
            return Stop("pruned", f"{PRUNED_AT} {epoch} by "
                                  f"{fair_pruner.describe(trial.study.pruner, trial.params)}")
        rule = self.config.early_stopping
        values = history.column(self.config.objective)
        if rule is not None and rule.should_stop(values, self.maximize):
            best = max(values) if self.maximize else min(values)
            return Stop("plateau", f"{PLATEAU_STOP} at epoch {epoch}: "
                                   f"{self.config.objective} did not improve by more than "
                                   f"{rule.min_delta:g} for {rule.patience} epochs "
                                   f"(best {best:.4f} at epoch {values.index(best) + 1})")
        return None
