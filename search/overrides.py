"""Command-line options that override one key of a study file: one table, read both by the command
line (each row becomes a ``run`` option) and by ``load_study_config`` (which applies the values before
validating the file, so an override is checked by the same rules as the key it replaces)."""

from __future__ import annotations

from argparse import ArgumentTypeError
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping


def positive_int(text: str) -> int:
    value = int(text)  # not a number: argparse says "invalid positive_int value: 'x'"
    if value <= 0:
        raise ArgumentTypeError(f"must be a positive integer. Got {text} instead")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ArgumentTypeError(f"must be a positive number. Got {text} instead")
    return value


@dataclass(frozen=True)
class Override:
    section: str  # where the value lands in the study file: section.key
    key: str
    parse: Callable[[str], Any]  # the option's text -> value (argparse's ``type``)
    metavar: str
    help: str

    @property
    def where(self) -> str:
        return f"{self.section}.{self.key}"


# Option name (``max_epochs`` is ``--max-epochs``) -> the study-file key it overrides. (``--n-trials``
# is not one: it says how many trials to run now, while ``budget.n_trials`` is the study's total.)
OVERRIDES: Mapping[str, Override] = {
    "timeout": Override("budget", "timeout", positive_float, "SECONDS",
                        "stop starting new trials after this long"),
    "max_epochs": Override("budget", "max_epochs", positive_int, "N", "epochs per trial at most"),
    "storage": Override("study", "storage", str, "URL",
                        "Optuna storage: sqlite:///FILE.db (default sqlite:///plateau.db), "
                        "postgresql://..., mysql+pymysql://..., redis://..., or a journal file path"),
    "study_name": Override("study", "name", str, "NAME",
                           "study name in the storage (default: the file's stem)"),
    "data_root": Override("data", "root", Path, "DIR", "the dataset's folder, as unpacked"),
    "seed": Override("study", "seed", int, "N", "sampler seed; trial k trains with seed + k"),
    "artifact_dir": Override("study", "artifact_dir", Path, "DIR",
                             "Optuna artifact store for each trial's history CSV (default: next to "
                             "an SQLite or journal file, else ./plateau-artifacts)"),
}


def flag(option: str) -> str:
    """The command-line spelling of an option name: ``max_epochs`` -> ``--max-epochs``."""
    return "--" + option.replace("_", "-")
