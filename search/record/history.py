"""A run's history: one row per epoch plus its final per-class results.

This is the one structure that flows through plateau. The training loop writes it, log readers build it
from Keras / Lightning / TensorBoard files, and diagnosis, reports and the dashboard only read it. It
imports neither torch nor Optuna, so reading a history is fast; pandas is imported only by
``to_frame``/``from_frame`` (``import pandas`` alone costs about half a second, more than diagnosing a
log), never on the way from a log file to its diagnosis.

Stored with each Optuna trial (``search.record.trial``) in the compact form of ``rows_to_json``. Values
must be plain JSON: Optuna's storages reject numpy scalars, and non-finite floats are written as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (as in protobuf's JSON mapping), because ``NaN``
is not valid JSON for most readers and a diverged run's NaN loss is evidence we keep.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import pandas

HISTORY_FORMAT = 1  # bump when the stored layout changes; readers check it

# The per-epoch columns the training loop writes, in order. Loaders may fill only some of them.
COLUMNS: tuple[str, ...] = (
    "epoch",  # 1-based
    "train_loss",
    "train_accuracy",  # fraction in [0, 1]
    "train_macro_f1",
    "train_balanced_accuracy",
    "val_loss",
    "val_accuracy",
    "val_macro_f1",
    "val_balanced_accuracy",
    "lr",
    "epoch_time_s",  # wall time of the whole epoch: training and validation
    "samples_per_s",  # training samples per second of the training phase
)

# Direction of each metric a study can optimise. Stated, never guessed from a name.
OBJECTIVE_DIRECTIONS: Mapping[str, str] = {
    "val_macro_f1": "maximize",
    "val_accuracy": "maximize",
    "val_balanced_accuracy": "maximize",
    "val_loss": "minimize",
}

# What optuna-dashboard calls each objective (``study.set_metric_names``): "val macro-F1", not
# "Objective 0". ``objective_column`` maps a stored name back (the column name itself is accepted too,
# as studies stored it before).
OBJECTIVE_NAMES: Mapping[str, str] = {
    "val_macro_f1": "val macro-F1",
    "val_accuracy": "val accuracy",
    "val_balanced_accuracy": "val balanced accuracy",
    "val_loss": "val loss",
}


def objective_column(metric_name: str | None) -> str | None:
    """The history column a study's stored metric name stands for, or None if it is not one."""
    if metric_name in OBJECTIVE_NAMES:
        return metric_name
    return next((c for c, name in OBJECTIVE_NAMES.items() if name == metric_name), None)


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(value: float | None) -> float | str | None:
    """A float as plain JSON: non-finite values become the strings "NaN", "Infinity", "-Infinity"."""
    if value is None:
        return None
    value = float(value)  # numpy scalars -> Python float
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | int | str | None) -> float | None:
    """Inverse of ``encode_float``."""
    if value is None:
        return None
    if isinstance(value, str):
        return _NON_FINITE[value]
    return float(value)


@dataclass
class PerClass:
    """Final per-class results on the validation split, from the epoch the trial's value refers to."""

    classes: list[str]
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]  # validation examples per class
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted class
    train_counts: list[int] | None  # training examples per class (None: unknown, e.g. from a log)
    epoch: int | None  # the epoch these results come from (None: unknown)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PerClass:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass
class LogSource:
    """Where a loader read a history, and how; shown with its diagnosis. Loaders fill it as they read."""

    path: str  # the log file or folder (or "storage URL, study, trial N")
    format: str  # keras, keras_legacy, lightning, tensorboard, optuna
    ignored_columns: list[str] = field(default_factory=list)  # metrics plateau has no column for
    epochs_from: str | None = None  # how epochs were told apart when the log does not say
    accuracy_scale: str | None = None  # "percent" when accuracies were logged in percent
    dropped_values: str | None = None  # values that could not be placed in an epoch


@dataclass
class History:
    """Epoch rows (dicts keyed by ``COLUMNS``; a missing metric is absent or None) and the final
    per-class results; ``source`` says which log it was read from (None: plateau's own training)."""

    rows: list[dict[str, float | None]] = field(default_factory=list)
    per_class: PerClass | None = None
    source: LogSource | None = None

    def column(self, name: str) -> list[float | None]:
        """One metric over epochs (None where an epoch lacks it)."""
        return [row.get(name) for row in self.rows]

    def columns(self) -> list[str]:
        """The columns any row has: ``COLUMNS`` order first, then others alphabetically."""
        present = {c for row in self.rows for c in row}
        return [c for c in COLUMNS if c in present] + sorted(present - set(COLUMNS))

    def rows_to_json(self) -> dict[str, Any]:
        """The epoch rows in the compact stored form: ``{"format", "columns", "rows"}``."""
        columns = self.columns()
        return {
            "format": HISTORY_FORMAT,
            "columns": columns,
            "rows": [[encode_float(row.get(c)) for c in columns] for row in self.rows],
        }

    @staticmethod
    def rows_from_json(data: Mapping[str, Any]) -> list[dict[str, float | None]]:
        if data.get("format") != HISTORY_FORMAT:
            raise ValueError(
                f"history format {data.get('format')!r} is not supported; this plateau reads "
                f"format {HISTORY_FORMAT}"
            )
        columns: Sequence[str] = data["columns"]
        # Most values are floats already; only the rest go through decode_float (a thousand-trial
        # study holds hundreds of thousands of values).
        return [
            {c: v if type(v) is float else decode_float(v)
             for c, v in zip(columns, values) if v is not None}
            for values in data["rows"]
        ]

    def to_frame(self) -> pandas.DataFrame:
        """The epoch rows as a DataFrame, one row per epoch (NaN where an epoch lacks a value)."""
        import pandas

        return pandas.DataFrame(self.rows, columns=self.columns(), dtype=float)

    @classmethod
    def from_frame(cls, frame: pandas.DataFrame, per_class: PerClass | None = None) -> History:
        """Inverse of ``to_frame``. Empty (NaN) cells are left out of the rows: a DataFrame cannot
        tell a logged NaN from a missing value, so the stored form stays JSON and frames are for
        tables and plots."""
        rows = [{c: float(v) for c, v in record.items() if v == v}
                for record in frame.to_dict("records")]
        for row in rows:
            if "epoch" in row:
                row["epoch"] = int(row["epoch"])
        return cls(rows, per_class)
