"""What a running study prints on stderr: a live bar per trial on a terminal, plain lines otherwise.

Both kinds print one line per finished trial: "trial i of n (#number) STATE value · why it stopped ·
best so far". Optuna's own per-trial log lines are silenced by the runner in favour of these.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, TextIO

import optuna
from tqdm import tqdm

from search.record.trial import TrialRecord

# The metrics shown per epoch, in this order, when a row has them.
SHOWN = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def format_metrics(row: Mapping[str, Any], objective: str) -> str:
    names = [objective] + [n for n in SHOWN if n != objective]
    return " ".join(f"{n}={row[n]:.4f}" for n in names if row.get(n) is not None)


class Progress:
    """Plain log lines, for logs and pipes."""

    def __init__(self, n_trials: int | None, stream: TextIO | None = None, prefix: str = ""):
        self.n_trials = n_trials
        self.stream = stream or sys.stderr
        self.prefix = prefix  # "[worker 2/4] " when several workers share the terminal
        self.started = 0
        self.max_epochs = 0

    def line(self, text: str) -> None:
        print(f"{self.prefix}{text}", file=self.stream, flush=True)

    def position(self) -> str:
        return f"trial {self.started} of {self.n_trials}" if self.n_trials else f"trial {self.started}"

    def trial_started(self, number: int, params: Mapping[str, Any], max_epochs: int) -> None:
        self.started += 1
        self.max_epochs = max_epochs
        self.line(f"{self.position()} (#{number}): {format_params(params)}")

    def epoch_finished(self, number: int, row: Mapping[str, Any], objective: str) -> None:
        self.line(f"  #{number} epoch {row['epoch']}/{self.max_epochs} "
                  f"{format_metrics(row, objective)}")

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """An Optuna ``optimize`` callback."""
        self.line(self.summary(study, trial))

    def summary(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
        value = "" if trial.value is None else f" {format_value(trial.value)}"
        reason = TrialRecord.from_frozen_trial(trial).stop_reason or ""
        try:
            best = study.best_trial
            best_text = f"best so far {format_value(best.value)} (#{best.number})"
        except ValueError:  # no completed trial yet
            best_text = "no completed trial yet"
        return (f"{self.position()} (#{trial.number}) {trial.state.name}{value}"
                f"{' · ' + reason if reason else ''} · {best_text}")


class TerminalProgress(Progress):
    """A live bar per trial (epochs, current metrics) above the finished trials' lines."""

    def __init__(self, n_trials: int | None, stream: TextIO | None = None):
        super().__init__(n_trials, stream)
        self.bar: tqdm | None = None

    def line(self, text: str) -> None:
        tqdm.write(text, file=self.stream)

    def trial_started(self, number: int, params: Mapping[str, Any], max_epochs: int) -> None:
        super().trial_started(number, params, max_epochs)
        self.bar = tqdm(total=max_epochs, desc=f"{self.position()} (#{number})", unit="epoch",
                        file=self.stream, leave=False, dynamic_ncols=True)

    def epoch_finished(self, number: int, row: Mapping[str, Any], objective: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_metrics(row, objective))

    def trial_finished(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        super().trial_finished(study, trial)


def make_progress(n_trials: int | None, stream: TextIO | None = None,
                  worker: str | None = None) -> Progress:
    """Live bars on a terminal; plain lines in a log, a pipe, or from one of several workers."""
    stream = stream or sys.stderr
    if worker is not None:
        return Progress(n_trials, stream, prefix=f"[worker {worker}] ")
    return TerminalProgress(n_trials, stream) if stream.isatty() else Progress(n_trials, stream)
