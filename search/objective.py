"""The Optuna objective: one trial = sample hyperparameters, train, store the history with the trial.

What a trial leaves in the storage (all trial user attributes, plain JSON; see the README):
``hparams`` (every resolved hyperparameter, searched or fixed), ``history`` (the epoch rows, rewritten
after every epoch so a pruned, failed or interrupted trial keeps what it ran), then at the end
``per_class``, ``stop_reason``, ``epochs_run``, ``best_epoch``, ``param_count``, ``objective``,
``direction``, ``device`` and, when a test split exists, ``test``; a failed trial also ``error`` and
``traceback``. Trial states follow Optuna: COMPLETE (including stopped on plateau), PRUNED, FAIL
(including diverged). Before it ends, every trial that ran an epoch is diagnosed and published for
optuna-dashboard (``diagnose.dashboard.publish``: filterable attributes, a note, its history as a
CSV artifact).
"""

from __future__ import annotations

import traceback

import optuna

from diagnose.dashboard.publish import publish_trial
from search.config import StudyConfig
from search.data.splits import Splits
from search.device import Device, seed_everything
from search.history import History
from search.models import build_model
from search.progress import Progress
from search.train import Stop, fit


class Diverged(Exception):
    """The training loss became NaN or infinite; the trial is recorded as failed."""


class Objective:
    def __init__(self, config: StudyConfig, data: Splits, device: Device, progress: Progress):
        self.config, self.data, self.device, self.progress = config, data, device, progress
        self.maximize = config.direction == "maximize"
        self.history: History | None = None  # the running trial's, as of its last epoch

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.config
        hp = config.space.sample(trial)
        trial.set_user_attr("hparams", hp.to_json())
        seed = config.seed + trial.number
        seed_everything(seed)
        self.progress.trial_started(trial.number, trial.params, config.budget.max_epochs)
        self.history = None
        try:
            model = build_model(hp.architecture, num_classes=len(self.data.train.classes),
                                in_channels=self.data.train.x.shape[1], dropout=hp.dropout,
                                **hp.model_kwargs)
            result = fit(model, self.data, hp, max_epochs=config.budget.max_epochs,
                         device=self.device, objective=config.objective, maximize=self.maximize,
                         seed=seed, on_epoch=lambda history: self.on_epoch(trial, history))
        except Exception as exc:  # recorded on the trial; Optuna marks it FAIL and the study goes on
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            trial.set_user_attr("error", message)
            trial.set_user_attr("traceback", traceback.format_exc())
            trial.set_user_attr("stop_reason", f"failed: {message}")
            if self.history is not None:
                self.history.facts["stop_reason"] = f"failed: {message}"
                self.publish(trial, self.history)
            raise
        except KeyboardInterrupt:  # Optuna marks it FAIL and stops the study
            trial.set_user_attr("stop_reason", "interrupted (Ctrl-C)")
            raise

        for key, value in result.history.to_user_attrs().items():
            trial.set_user_attr(key, value)
        self.publish(trial, result.history)
        if result.stop is not None and result.stop.kind == "diverged":
            raise Diverged(result.stop.reason)
        if result.stop is not None and result.stop.kind == "pruned":
            raise optuna.TrialPruned(result.stop.reason)
        return result.best_value

    def publish(self, trial: optuna.Trial, history: History) -> None:
        if history.rows:  # a trial that failed before its first epoch has nothing to show
            publish_trial(trial, history, self.config.artifact_dir)

    def on_epoch(self, trial: optuna.Trial, history: History) -> Stop | None:
        """Store the history so far, report the objective, and decide whether to stop."""
        self.history = history
        row = history.rows[-1]
        epoch, value = row["epoch"], row[self.config.objective]
        trial.set_user_attr("history", history.rows_to_json())
        trial.report(value, step=epoch)
        self.progress.epoch_finished(trial.number, row, self.config.objective)
        if trial.should_prune():
            return Stop("pruned", f"pruned at epoch {epoch} by "
                                  f"{type(trial.study.pruner).__name__}")
        rule = self.config.early_stopping
        values = history.column(self.config.objective)
        if rule is not None and rule.should_stop(values, self.maximize):
            best = max(values) if self.maximize else min(values)
            return Stop("plateau", f"stopped on plateau at epoch {epoch}: "
                                   f"{self.config.objective} did not improve by more than "
                                   f"{rule.min_delta:g} for {rule.patience} epochs "
                                   f"(best {best:.4f} at epoch {values.index(best) + 1})")
        return None
