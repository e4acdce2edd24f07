"""`run_study.py diagnose` end to end: real logs and a real study in, text / JSON / HTML out, and
one line with exit code 2 for every kind of bad input."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest

import run_study

REPO = Path(__file__).resolve().parents[2]
EXTERNAL = REPO / "tests" / "fixtures" / "external" / "deepdiagnosis"


def diagnose(*args, capsys) -> tuple[int, str, str]:
    try:
        code = run_study.main(["diagnose", *map(str, args)])
    except SystemExit as exc:  # options that do not go together: argparse's exit, one line
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def diverged_keras_log(tmp_path_factory) -> Path:
    """A real Keras run whose learning rate is far too high (SGD at 50), logged by CSVLogger."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(50.0), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    path = tmp_path_factory.mktemp("keras_diverged") / "log.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.fit(x[:1400] / 16, y[:1400], validation_data=(x[1400:] / 16, y[1400:]), epochs=5,
                  verbose=0, callbacks=[keras.callbacks.CSVLogger(str(path))])
    return path


@pytest.fixture(scope="module")
def study_db(tmp_path_factory) -> str:
    """A real two-trial study of a tiny CNN on the digits: one sound, one with a tiny learning rate."""
    folder = tmp_path_factory.mktemp("study")
    study_file = folder / "digits.yaml"
    study_file.write_text("data: {kind: digits, val_fraction: 0.2}\n"
                          "budget: {n_trials: 2, max_epochs: 6}\n"
                          "pruner: none\nearly_stopping: false\n"
                          "space: {architecture: cnn2d, batch_size: 64, lr: {choices: [0.01, 1.0e-6]}}\n"
                          "models: {cnn2d: {width: 8, depth: 1}}\n")
    url = f"sqlite:///{folder / 'study.db'}"
    import optuna

    study = optuna.create_study(storage=url, study_name="digits", direction="maximize")
    study.enqueue_trial({"lr": 0.01})
    study.enqueue_trial({"lr": 1e-6})
    assert run_study.main(["run", str(study_file), "--storage", url]) == 0
    return url


def test_a_real_external_keras_log_gets_a_verdict_with_numbers_and_fixes(capsys):
    code, out, err = diagnose(EXTERNAL / "blob_config_random_22eb8478.csv", capsys=capsys)
    assert code == 0 and err == ""
    assert out.splitlines()[0].endswith("(keras, 127 epochs): underfit")
    assert "training accuracy ends at 0.357" in out
    assert "1. capacity:" in out and "not judged, imbalanced" in out


def test_json_is_exactly_one_object_with_labels_and_findings(diverged_keras_log, capsys):
    code, out, _ = diagnose(diverged_keras_log, "--json", capsys=capsys)
    result = json.loads(out)
    assert code == 0 and out.count("\n") == 1
    assert result["labels"] == ["diverged"] and result["format"] == "keras"
    (finding,) = result["findings"]
    assert finding["label"] == "diverged" and 0.5 <= finding["confidence"] <= 1
    assert finding["evidence"]["blowup_loss_threshold"] == 7.601
    assert [fix["name"] for fix in finding["fixes"]][:2] == ["lower_learning_rate",
                                                            "gradient_clipping"]


def test_predictions_let_imbalance_be_judged(tmp_path, capsys):
    predictions = tmp_path / "predictions.csv"
    rows = ["y_true,y_pred"] + ["0,0"] * 90 + ["1,0"] * 8 + ["1,1"] * 2
    predictions.write_text("\n".join(rows) + "\n")
    log = EXTERNAL / "circle_config_random_b060fc17.csv"
    code, out, _ = diagnose(log, "--predictions", predictions, "--json", capsys=capsys)
    result = json.loads(out)
    assert code == 0 and "imbalanced" in result["labels"]
    assert "imbalanced" not in result["not_judged"]
    imbalance = next(f for f in result["findings"] if f["label"] == "imbalanced")
    assert imbalance["evidence"]["imbalance_ratio"] == 9.0
    assert imbalance["evidence"]["minority_min_recall"] == 0.2


def test_a_study_is_diagnosed_trial_by_trial(study_db, capsys):
    code, out, _ = diagnose("--storage", study_db, "--study", "digits", capsys=capsys)
    assert code == 0
    assert out.startswith("study 'digits': 2 trials;")
    header, rule, first, second, last, blank, best, *study = out.splitlines()[1:]
    assert header.split() == ["#", "state", "value", "diagnosis", "because"]
    assert first.split()[:2] == ["0", "COMPLETE"] and second.split()[:2] == ["1", "COMPLETE"]
    assert "underfit" in second  # the learning rate of 1e-6 hardly moved the loss
    assert last == "details of one trial: add --trial N" and blank == ""
    assert best.startswith("**Best trial #0**: val macro-F1 = ")  # then what the study shows

    code, out, _ = diagnose("--storage", study_db, "--study", "digits", "--json", capsys=capsys)
    result = json.loads(out)
    assert result["study"] == "digits"
    assert [t["number"] for t in result["trials"]] == [0, 1]
    assert result["trials"][1]["labels"] == ["underfit"]
    assert "imbalanced" not in result["trials"][0]["not_judged"]  # per-class results were stored

    code, out, _ = diagnose("--storage", study_db, "--study", "digits", "--trial", 1,
                            capsys=capsys)
    assert out.startswith("study 'digits', trial 1 (COMPLETE") and "underfit (confidence" in out


def test_report_is_written(study_db, diverged_keras_log, tmp_path, capsys):
    html = tmp_path / "log.html"
    assert diagnose(diverged_keras_log, "--report", html, capsys=capsys)[0] == 0
    assert "diverged" in html.read_text()
    study_html = tmp_path / "study.html"
    assert diagnose("--storage", study_db, "--study", "digits", "--report", study_html,
                    capsys=capsys)[0] == 0
    assert "trial 1" in study_html.read_text()


def bad_inputs(tmp: Path, study_db: str) -> dict[str, tuple[list, str]]:
    empty = tmp / "empty.csv"
    empty.write_text("")
    junk = tmp / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    columns = tmp / "columns.csv"
    columns.write_text("foo,bar\n1,2\n3,4\n")
    header_only = tmp / "header.csv"
    header_only.write_text("epoch,loss,accuracy\n")
    bad_predictions = tmp / "bad_predictions.csv"
    bad_predictions.write_text("truth,guess\n0,1\n")
    ragged_predictions = tmp / "ragged_predictions.csv"
    ragged_predictions.write_text("y_true,y_pred\n0,1\n1\n")
    log = EXTERNAL / "circle_config_random_b060fc17.csv"
    return {
        "missing path": ([tmp / "nope.csv"], "nope.csv"),
        "empty file": ([empty], "empty.csv"),
        "binary junk": ([junk], "junk.csv"),
        "no loss or accuracy column": ([columns], "columns.csv"),
        "header only": ([header_only], "header.csv"),
        "an empty folder": ([tmp], str(tmp)),
        "predictions with wrong columns": ([log, "--predictions", bad_predictions],
                                           "bad_predictions.csv"),
        "predictions with a short row": ([log, "--predictions", ragged_predictions],
                                         "ragged_predictions.csv"),
        "unknown study": (["--storage", study_db, "--study", "nope"], "nope"),
        "unknown trial": (["--storage", study_db, "--study", "digits", "--trial", "7"], "7"),
        "missing storage file": (["--storage", f"sqlite:///{tmp / 'none.db'}", "--study", "x"],
                                 "none.db"),
        "report into a missing folder": ([log, "--report", tmp / "no" / "r.html"], "r.html"),
        "report that is a folder": ([log, "--report", tmp], f"Got '{tmp}' instead: it is a folder"),
        "study report under a file": (["--storage", study_db, "--study", "digits", "--report",
                                       empty / "r.html"], f"'{empty}' is a file, not a folder"),
        "negative accuracy": ([_log(tmp, "neg.csv", "accuracy", -0.5)],
                              "neg.csv: line 3, column 'accuracy': an accuracy must be in [0, 1]"),
        "accuracy above 100 percent": ([_log(tmp, "over.csv", "val_acc", 150)],
                                       "over.csv: line 3, column 'val_acc'"),
        "missing study file": ([log, "--study-file", tmp / "none.yaml"],
                               "none.yaml: study file not found"),
        "a study file without a space": ([log, "--study-file", _yaml(tmp, "data: {kind: digits}")],
                                         "--study-file must be a study file, a YAML mapping with "
                                         "a 'space' section (such as studies/demo.yaml). Got keys "
                                         "data instead."),
        "a study file with a study": (["--storage", study_db, "--study", "digits", "--study-file",
                                       REPO / "studies" / "demo.yaml"], "--study-file goes with a LOG"),
    }


def _yaml(tmp: Path, text: str) -> Path:
    path = tmp / "study.yaml"
    path.write_text(text + "\n")
    return path


def _log(tmp: Path, name: str, column: str, bad: float) -> Path:
    """A Keras-style log whose ``column`` holds ``bad`` on its second row (line 3)."""
    path = tmp / name
    path.write_text(f"epoch,loss,{column}\n0,1.0,0.5\n1,0.8,{bad}\n2,0.7,0.6\n")
    return path


@pytest.mark.parametrize("case", ["missing path", "empty file", "binary junk",
                                  "no loss or accuracy column", "header only", "an empty folder",
                                  "predictions with wrong columns", "predictions with a short row",
                                  "unknown study", "unknown trial", "missing storage file",
                                  "report into a missing folder", "report that is a folder",
                                  "study report under a file", "negative accuracy",
                                  "accuracy above 100 percent", "missing study file",
                                  "a study file without a space", "a study file with a study"])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, study_db, capsys):
    args, named = bad_inputs(tmp_path, study_db)[case]
    stored = Path(study_db.removeprefix("sqlite:///")).parent
    before = snapshot(tmp_path), snapshot(stored)
    code, out, err = diagnose(*args, capsys=capsys)
    assert code == 2 and out == ""
    assert err.startswith("run_study.py: error: ") and err.count("\n") == 1
    assert named in err
    assert (snapshot(tmp_path), snapshot(stored)) == before  # nothing created, changed or lost


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
            for p in sorted(folder.rglob("*"))}


def _unwritable_reports(tmp: Path) -> dict[str, tuple[Path, str]]:
    """(the --report path, what the message says about it) of each way a report cannot be written."""
    (tmp / "a_file").write_text("not a folder\n")
    (tmp / "read_only").mkdir(mode=0o500)
    return {
        "under a file": (tmp / "a_file" / "r.html", f"'{tmp / 'a_file'}' is a file, not a folder"),
        "a folder": (tmp, "it is a folder"),
        "in a missing folder": (tmp / "missing" / "r.html", "does not exist"),
        "in a read-only folder": (tmp / "read_only" / "r.html", "is not writable"),
        "the input itself": (tmp / "input", "the input being read"),
    }


def _study_input(tmp: Path) -> list:
    """A study storage as the input: an SQLite file (never opened: the report is checked first)."""
    import sqlite3

    with sqlite3.connect(tmp / "input") as db:
        db.execute("create table t (x)")
    return ["--storage", f"sqlite:///{tmp / 'input'}", "--study", "s"]


def _log_input(tmp: Path) -> list:
    (tmp / "input").write_bytes(EXTERNAL.joinpath("circle_config_random_b060fc17.csv").read_bytes())
    return [tmp / "input"]


AS_ROOT = os.geteuid() == 0  # root may write in a read-only folder, so nothing is refused there


@pytest.mark.parametrize("source", ["log", "study"])
@pytest.mark.parametrize("case", [
    "under a file", "a folder", "in a missing folder", "the input itself",
    pytest.param("in a read-only folder", marks=pytest.mark.skipif(AS_ROOT, reason="run as root")),
])
def test_an_unwritable_report_is_one_line_before_any_work(source, case, tmp_path, capsys,
                                                          monkeypatch):
    from diagnose import loaders
    from diagnose.loaders import storage

    def no_work(*args, **kwargs):
        raise AssertionError("the log or study was read before the report path was checked")

    monkeypatch.setattr(loaders, "load_history", no_work)
    monkeypatch.setattr(storage, "load_study", no_work)
    inputs = (_log_input if source == "log" else _study_input)(tmp_path)
    report, says = _unwritable_reports(tmp_path)[case]
    before = snapshot(tmp_path)
    code, out, err = diagnose(*inputs, "--report", report, capsys=capsys)
    assert code == 2 and out == ""
    assert err.startswith("run_study.py: error: --report must be a file that can be written. Got "
                          f"'{report}' instead: ") and err.count("\n") == 1
    assert says in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("extra", [[], ["--study-file", "studies/demo.yaml"]],
                         ids=["a log", "a log and a study file"])
def test_diagnose_never_imports_torch_or_scikit_learn(extra):
    import subprocess
    import sys

    code = ("import sys, run_study; run_study.main(['diagnose', *sys.argv[1:]]); "
            "print(sorted(m for m in ('torch', 'sklearn', 'pandas', 'optuna') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code,
                             str(EXTERNAL / "mnist_double_random_99fe3625.csv"), *extra],
                            cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_study_file_gets_the_logs_fixes_applied_and_the_command_that_runs_it(tmp_path, capsys):
    """A Keras log that underfits, tried in the default study: the fixes keep their Keras words, the
    ones the study already searches are said to be explored, and the edited study file validates."""
    import yaml

    from search.config import load_study_config

    log = EXTERNAL / "blob_config_random_22eb8478.csv"
    code, out, _ = diagnose(log, "--study-file", REPO / "studies" / "demo.yaml", capsys=capsys)
    assert code == 0
    verdict, study = out.split("\nIn the study file ")
    assert "1. capacity: double the units and filters, and add a layer" in verdict  # Keras' words
    assert "optimizer_and_batch_size: already searched (space.optimizer, space.batch_size)" in verdict
    (text,) = re.findall(r"^```yaml\n(.*?)\n```$", study, re.S | re.M)
    path = tmp_path / "next.yaml"
    path.write_text(text + "\n")
    config = load_study_config(path)
    assert config.name == "demo-next"
    demo = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    assert config.raw["models"]["c3d"]["width"] == {"choices": [16, 32]}  # capacity: x2
    assert demo["models"]["c3d"]["width"] == {"choices": [8, 16]}
    assert study.rstrip().endswith("```sh\npython run_study.py run next.yaml --storage "
                                   "sqlite:///plateau.db\n```")

    code, out, _ = diagnose(log, "--study-file", REPO / "studies" / "demo.yaml", "--json",
                            capsys=capsys)
    nxt = json.loads(out)["next_study"]
    assert nxt["command"] == "python run_study.py run next.yaml --storage sqlite:///plateau.db"
    assert nxt["study_file"] == config.raw
    without = json.loads(diagnose(log, "--json", capsys=capsys)[1])
    assert "next_study" not in without and all(
        fix["changes"] == [] for f in without["findings"] for fix in f["fixes"])
