"""Lightning CSVLogger metrics.csv: a real Trainer run, and the layouts other logging choices give."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from diagnose.loaders.lightning import load_lightning
from search.record.errors import LogError

# plateau column -> the key of trainer.callback_metrics holding its value after the last epoch
CALLBACK_KEYS = {"train_loss": "train_loss_epoch", "train_accuracy": "train_acc",
                 "val_loss": "val_loss", "val_accuracy": "val_acc"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _values(rows: list[dict[str, str]], column: str, epoch: int) -> list[float]:
    return [float(r[column]) for r in rows if r["epoch"] == str(epoch) and r[column] != ""]


def test_real_trainer_run_gives_one_row_per_epoch(lightning_run):
    history = load_lightning(lightning_run.csv_dir / "metrics.csv")
    assert history.source.format == "lightning" and history.source.ignored_columns == []
    assert history.column("epoch") == [1, 2, 3]
    for column, key in CALLBACK_KEYS.items():
        assert history.rows[-1][column] == pytest.approx(lightning_run.last[key], rel=1e-6)
    logged = _rows(lightning_run.csv_dir / "metrics.csv")
    for epoch in range(3):  # every epoch: the values Lightning logged for it, the epoch aggregate first
        assert history.rows[epoch]["train_loss"] == _values(logged, "train_loss_epoch", epoch)[-1]
        assert history.rows[epoch]["val_accuracy"] == _values(logged, "val_acc", epoch)[-1]


def test_an_epoch_without_its_aggregate_uses_the_mean_of_its_steps(lightning_run, tmp_path):
    """A run killed during the last epoch has its step values but no ``_epoch`` row yet."""
    logged = _rows(lightning_run.csv_dir / "metrics.csv")
    cut = [r for r in logged if not (r["epoch"] == "2" and r["train_loss_epoch"] != "")]
    history = load_lightning(_write(tmp_path / "metrics.csv", cut))
    steps = _values(logged, "train_loss_step", 2)
    assert history.rows[2]["train_loss"] == pytest.approx(sum(steps) / len(steps))
    assert "train_accuracy" not in history.rows[2]
    assert history.rows[1]["train_loss"] == _values(logged, "train_loss_epoch", 1)[-1]


def test_plain_per_step_names_are_averaged_per_epoch(lightning_run, tmp_path):
    """``self.log("train_loss", loss)`` in training_step (on_step only): one plain value per step."""
    logged = _rows(lightning_run.csv_dir / "metrics.csv")
    plain = [{**r, "train_loss": r["train_loss_step"]} for r in logged if r["train_loss_epoch"] == ""]
    history = load_lightning(_write(tmp_path / "metrics.csv", plain,
                                    ["epoch", "step", "train_loss", "val_acc", "val_loss"]))
    for epoch in range(3):
        steps = _values(logged, "train_loss_step", epoch)
        assert history.rows[epoch]["train_loss"] == pytest.approx(sum(steps) / len(steps))
        assert history.rows[epoch]["val_loss"] == _values(logged, "val_loss", epoch)[-1]


# (case, metrics.csv text, expected rows, expected LogSource fields)
LAYOUTS = [
    ("other names, learning-rate monitor, percent accuracy",
     "epoch,lr-SGD,step,train/acc,valid_loss,validation_acc\n"
     "0,0.1,0,,,\n0,,9,,1.5,40.0\n0,,9,30.0,,\n1,0.05,10,,,\n1,,19,,1.2,60.0\n1,,19,50.0,,\n",
     [{"epoch": 1, "train_accuracy": 0.3, "val_loss": 1.5, "val_accuracy": 0.4, "lr": 0.1},
      {"epoch": 2, "train_accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.6, "lr": 0.05}],
     {"accuracy_scale": "percent"}),
    ("rows logged without an epoch get it from their step",
     "epoch,step,train_loss_step,val_loss\n0,0,2.0,\n0,1,1.0,\n,1,,1.4\n1,2,0.8,\n,3,,1.1\n",
     [{"epoch": 1, "train_loss": 1.5, "val_loss": 1.4},
      {"epoch": 2, "train_loss": 0.8, "val_loss": 1.1}],
     {}),
    ("no epoch column: steps bucketed between validation steps",
     "step,train_loss_step,val_loss\n0,2.0,\n1,1.0,\n1,,1.4\n2,0.8,\n3,0.6,\n3,,1.1\n4,0.5,\n",
     [{"epoch": 1, "train_loss": 1.5, "val_loss": 1.4},
      {"epoch": 2, "train_loss": 0.7, "val_loss": 1.1},
      {"epoch": 3, "train_loss": 0.5}],
     {"epochs_from": "steps, bucketed between validation steps"}),
    ("nan is kept; other columns are listed as ignored",
     "epoch,hp_metric,step,train_loss_epoch,val_loss\n0,,5,nan,\n0,,5,,inf\n0,0.3,5,,\n",
     [{"epoch": 1, "train_loss": float("nan"), "val_loss": float("inf")}],
     {"ignored_columns": ["hp_metric"]}),
]


@pytest.mark.parametrize("case, text, rows, facts", LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_layouts(tmp_path, case, text, rows, facts):
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    history = load_lightning(path)
    assert [{k: pytest.approx(v, nan_ok=True) for k, v in r.items()} for r in rows] == history.rows
    assert facts.items() <= vars(history.source).items()


@pytest.mark.parametrize("text, words", [
    ("epoch,step,hp_metric\n0,1,0.5\n", ["no loss or accuracy column", "epoch, step, hp_metric"]),
    ("epoch,step,val_loss\n", ["no rows"]),
    ("epoch,step,val_loss\nzero,1,0.5\n", ["line 2", "'epoch'"]),
])
def test_bad_metrics_csv(tmp_path, text, words):
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    with pytest.raises(LogError) as error:
        load_lightning(path)
    assert all(word in str(error.value) for word in words) and "\n" not in str(error.value)
