"""`run_study.py table`: one row per trial, metrics at the best epoch, parameter counts split into
CNN and attention when a model reports them, the stored diagnosis; a DataFrame written as markdown and
CSV; the command line."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import optuna
import pytest

import run_study
from curve_cases import OVERFIT, UNDERFIT, history
import pandas

from diagnose.diagnosis import diagnose, diagnosed
from diagnose.loaders.storage import load_study
from diagnose.table import METRICS, ablation_frame, markdown, write_csv
from search.record.history import History
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord

METRIC_NAMES = [name for name, _ in METRICS]


def _rows(epochs: int) -> list[dict[str, float]]:
    """Epoch e: train loss 1/e, val loss 2/e, val accuracy e/10, macro-F1 e/20 (all distinct)."""
    return [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 20,
             "val_loss": 2.0 / e, "val_accuracy": e / 10, "val_macro_f1": e / 20}
            for e in range(1, epochs + 1)]


def stored(number: int, hparams: dict, *, epochs: int = 4, best_epoch: int | None = None,
           param_count: int | None = 1000, param_counts: dict | None = None,
           state: str = "COMPLETE", rows: list | None = None) -> TrialRecord:
    h = History(rows if rows is not None else _rows(epochs))
    return TrialRecord(number, state, 0.5, {}, h, hparams=hparams, best_epoch=best_epoch,
                       param_count=param_count, diagnosis=diagnose(h),
                       param_counts=param_counts if param_counts is not None
                       else {"total": param_count})


def ablation_rows(records) -> tuple[list[str], list[list]]:
    """The table as (header, rows), missing values None."""
    frame = ablation_frame(records)
    return list(frame.columns), frame.values.tolist()


C3D = {"architecture": "c3d", "lr": 0.01, "dropout": 0.2, "c3d.width": 4, "c3d.depth": 1}
LSTM = {"architecture": "convlstm", "lr": 0.002, "dropout": 0.1, "convlstm.hidden_channels": 8}
ATTENTION = {"architecture": "r2plus1d_attention", "lr": 1e-3, "r2plus1d_attention.latents": 8,
             "r2plus1d_attention.layers": 2}


def _by_column(header: list[str], row: list) -> dict:
    return dict(zip(header, row))


def test_the_header_has_the_architecture_its_knobs_the_metrics_and_one_params_column():
    header, rows = ablation_rows([stored(0, C3D), stored(1, LSTM), stored(2, C3D)])
    assert header == ["trial", "state", "architecture", "c3d.width", "c3d.depth",
                      "convlstm.hidden_channels", *METRIC_NAMES, "params", "diagnosis"]
    assert [row[:3] for row in rows] == [[0, "COMPLETE", "c3d"], [1, "COMPLETE", "convlstm"],
                                         [2, "COMPLETE", "c3d"]]
    lstm = _by_column(header, rows[1])
    assert lstm["convlstm.hidden_channels"] == 8
    assert lstm["c3d.width"] is None and lstm["c3d.depth"] is None  # not its knobs
    assert "lr" not in header and "dropout" not in header  # searched, but not architecture knobs


@pytest.mark.parametrize("best_epoch, epoch", [
    (2, 2),  # the best epoch, not the last
    (4, 4),
    (None, 4),  # unknown (e.g. no epoch improved): the last epoch
    (9, 4),  # not among the rows: the last epoch
], ids=["best epoch 2", "best is last", "no best epoch", "best epoch missing"])
def test_metrics_come_from_the_best_epoch(best_epoch, epoch):
    header, (row,) = ablation_rows([stored(0, C3D, epochs=4, best_epoch=best_epoch)])
    cells = _by_column(header, row)
    assert cells["train loss"] == pytest.approx(1.0 / epoch)
    assert cells["val loss"] == pytest.approx(2.0 / epoch)
    assert cells["val acc"] == pytest.approx(epoch / 10)
    assert cells["val macro-F1"] == pytest.approx(epoch / 20)


def test_a_trial_without_epochs_or_hparams_gets_empty_cells():
    run = TrialRecord(5, "FAIL", None, {}, History(), stop_reason="failed: out of memory",
                      diagnosis=diagnose(History()))
    header, (row,) = ablation_rows([run])
    cells = _by_column(header, row)
    assert cells["trial"] == 5 and cells["state"] == "FAIL"
    assert all(cells[name] is None for name in ["architecture", *METRIC_NAMES, "params"])
    assert cells["diagnosis"] == "not judged"


def test_a_metric_the_best_epoch_lacks_is_empty():
    rows = _rows(3)
    del rows[1]["val_macro_f1"]
    header, (row,) = ablation_rows([stored(0, C3D, rows=rows, best_epoch=2)])
    cells = _by_column(header, row)
    assert cells["val macro-F1"] is None and cells["val acc"] == pytest.approx(0.2)


@pytest.mark.parametrize("counts, params", [
    ([{"total": 5000}, {"total": 7000}], {"params": [5000, 7000]}),
    ([{"cnn": 11_000, "head": 99}, {"total": 7000}], {"params": [5000, 7000]}),  # no attention part
    ([{"cnn": 11_000, "attention": 2_500, "head": 99}, {"cnn": 12_000, "head": 99}],
     {"CNN params": [11_000, 12_000], "attention params": [2_500, None]}),
    ([{"cnn": 11_000, "attention": 2_500, "head": 99}, {"total": 7000}],
     {"CNN params": [11_000, 7000], "attention params": [2_500, None]}),  # a plain CNN: all CNN
], ids=["totals", "cnn parts without attention", "attention", "attention and a plain model"])
def test_parameter_columns_split_only_when_a_trial_reports_an_attention_part(counts, params):
    runs = [stored(0, C3D, param_count=5000, param_counts=counts[0]),
            stored(1, ATTENTION, param_count=7000, param_counts=counts[1])]
    header, rows = ablation_rows(runs)
    params_at = [i for i, name in enumerate(header) if "params" in name]
    assert [header[i] for i in params_at] == list(params)
    assert params_at == list(range(header.index("val macro-F1") + 1, header.index("diagnosis")))
    for i, (name, values) in zip(params_at, params.items()):
        assert [row[i] for row in rows] == values, name


def test_the_diagnosis_column_is_the_trials_labels():
    overfit = history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])
    stuck = history(**UNDERFIT["stuck near chance"][0])
    runs = diagnosed([TrialRecord(i, "COMPLETE", 0.5, {}, h) for i, h in enumerate([overfit, stuck])])
    header, rows = ablation_rows(runs)
    assert [row[-1] for row in rows] == ["overfit", "underfit"]
    assert [row[-1] for row in rows] == [r.diagnosis.label_text for r in runs]


# --- markdown and CSV ----------------------------------------------------------------------------

HEADER = ["trial", "state", "architecture", "val acc", "params", "diagnosis"]
ROWS = [[0, "COMPLETE", "c3d", 0.812345, 1_234_567, "overfit"],
        [1, "PRUNED", "convlstm", None, 9_999, "underfit, imbalanced"],
        [12, "FAIL", None, 0.5, None, "not judged"]]


FRAME = pandas.DataFrame(ROWS, columns=HEADER, dtype=object)


def cells(line: str) -> list[str]:
    """The cells of one markdown table line, stripped."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_markdown_has_a_header_a_separator_and_one_line_per_row():
    lines = markdown(FRAME).splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert cells(lines[0]) == HEADER
    assert all(set(cell) <= set(":-") and cell for cell in cells(lines[1]))
    assert cells(lines[2]) == ["0", "COMPLETE", "c3d", "0.8123", "1,234,567", "overfit"]
    assert cells(lines[3]) == ["1", "PRUNED", "convlstm", "", "9,999", "underfit, imbalanced"]
    assert cells(lines[4]) == ["12", "FAIL", "", "0.5000", "", "not judged"]
    assert all(line.count("|") == len(HEADER) + 1 for line in lines)


@pytest.mark.parametrize("value, cell, plain", [
    (10_000, "10,000", "10000"), (-25_000, "-25,000", "-25000"), (9_999, "9,999", "9999"),
    (True, "True", "True"), (0.1, "0.1000", "0.1000"), ("r2plus1d", "r2plus1d", "r2plus1d"),
    (None, "", ""), ("007", "007", "007")])
def test_markdown_cells(value, cell, plain):
    """Parameter counts all with thousands separators, so that a column reads alike; trial numbers
    and knobs as they are."""
    frame = pandas.DataFrame([[value, value]], columns=["params", "x"], dtype=object)
    assert cells(markdown(frame).splitlines()[2]) == [cell, plain]


def test_csv_round_trips(tmp_path):
    path = tmp_path / "table.csv"
    write_csv(FRAME, path)
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == HEADER
    assert rows == [["" if v is None else str(v) for v in row] for row in ROWS]
    assert float(rows[0][3]) == ROWS[0][3]  # full precision, not the markdown's 4 digits
    assert int(rows[0][4]) == 1_234_567  # no thousands separator in CSV
    assert rows[1][5] == "underfit, imbalanced"  # the comma is quoted, not a column break


# --- the command line, on a real SQLite study --------------------------------------------------

DISTRIBUTIONS = {"architecture": optuna.distributions.CategoricalDistribution(["c3d", "convlstm"])}


def _trial(number: int, hparams: dict, best_epoch: int, param_count: int,
           state: str = "COMPLETE") -> optuna.trial.FrozenTrial:
    record = TrialRecord(number, state, None, {}, History(_rows(4)),
                         stop_reason="completed 4 epochs", best_epoch=best_epoch,
                         param_count=param_count, param_counts={"total": param_count},
                         hparams=hparams, objective="val_accuracy")
    value = _rows(4)[best_epoch - 1]["val_accuracy"]
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState[state], value=value if state == "COMPLETE" else None,
        params={"architecture": hparams["architecture"]}, distributions=DISTRIBUTIONS,
        user_attrs=record.user_attrs())


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('table') / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=url, study_name="ablation", direction="maximize")
    study.add_trials([_trial(0, C3D, 2, 23_456), _trial(1, LSTM, 4, 812),
                      _trial(2, C3D, 3, 23_456, state="FAIL")])
    return url


def test_stored_trials_make_the_same_table(url):
    header, rows = ablation_rows(diagnosed(load_study(StorageUrl.parse(url), "ablation").records))
    assert [row[:3] for row in rows] == [[0, "COMPLETE", "c3d"], [1, "COMPLETE", "convlstm"],
                                         [2, "FAIL", "c3d"]]
    cells = _by_column(header, rows[0])
    assert cells["val acc"] == pytest.approx(0.2) and cells["params"] == 23_456  # epoch 2 of 4


def test_table_prints_markdown(url, capsys):
    assert run_study.main(["table", "--storage", url, "--study", "ablation"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert len(lines) == 2 + 3
    assert cells(lines[0])[:9] == ["trial", "state", "architecture", "c3d.width", "c3d.depth",
                                   "convlstm.hidden_channels", "train loss", "val loss", "val acc"]
    assert cells(lines[2])[:11] == ["0", "COMPLETE", "c3d", "4", "1", "", "0.5000", "1.0000",
                                    "0.2000", "0.1000", "23,456"]
    assert "812" in cells(lines[3])


def test_table_writes_csv(url, tmp_path, capsys):
    path = tmp_path / "ablation.csv"
    assert run_study.main(["table", "--storage", url, "--study", "ablation",
                           "--csv", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert out.strip() == f"3 trials written to {path}"
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert len(rows) == 3 and header[:3] == ["trial", "state", "architecture"]
    cells = dict(zip(header, rows[1]))
    assert cells["architecture"] == "convlstm" and cells["params"] == "812"
    assert math.isclose(float(cells["val acc"]), 0.4)


@pytest.mark.parametrize("study, storage, says", [
    ("missing", None, "no study named 'missing'"),
    ("ablation", "sqlite:///{tmp}/nowhere.db", "does not exist"),
], ids=["missing study", "missing file"])
def test_bad_input_is_one_line_and_exit_code_2(url, tmp_path, capsys, study, storage, says):
    storage = url if storage is None else storage.format(tmp=tmp_path)
    assert run_study.main(["table", "--storage", storage, "--study", study]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1 and says in err
    assert err.startswith("run_study.py: error: ")
    assert not Path(tmp_path / "nowhere.db").exists()  # reading does not create a storage


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("target, says", [
    ("{tmp}/a_file/ablation.csv", "'{tmp}/a_file' is a file, not a folder"),
    ("{tmp}", "it is a folder"),
    ("{tmp}/missing/ablation.csv", "folder '{tmp}/missing' does not exist"),
    ("{db}", "it is an SQLite database"),
], ids=["parent is a file", "a folder", "missing folder", "the storage itself"])
def test_an_unwritable_csv_is_one_line_and_writes_nothing(url, tmp_path, capsys, target, says):
    (tmp_path / "a_file").write_text("not a folder\n")
    db = Path(url.removeprefix("sqlite:///"))
    target, says = (text.format(tmp=tmp_path, db=db) for text in (target, says))
    before = _snapshot(tmp_path), db.read_bytes()
    assert run_study.main(["table", "--storage", url, "--study", "ablation", "--csv", target]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"run_study.py: error: --csv must be a file that can be written. Got "
                          f"'{target}' instead: ")
    assert says in err
    assert (_snapshot(tmp_path), db.read_bytes()) == before  # nothing created; the study kept
