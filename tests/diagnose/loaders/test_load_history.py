"""``load_history``: the format told from the path alone, and reading a CSV log stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.loaders import load_history
from search.record.errors import LogError

ROOT = Path(__file__).parents[3]
EXTERNAL = ROOT / "tests" / "fixtures" / "external" / "deepdiagnosis"
HEAVY = ("torch", "sklearn", "pandas", "tensorboard", "optuna", "keras", "lightning")


def _legacy(keras_run, tmp_path: Path) -> Path:
    # Old Keras' header, written from the Keras-3 run (Keras 3 cannot write acc/val_acc itself).
    path = tmp_path / "old_keras.csv"
    text = keras_run.csv.read_text()
    header, rest = text.split("\n", 1)
    path.write_text(header.replace("val_accuracy", "val_acc").replace("accuracy", "acc") + "\n" + rest)
    return path


def _lightning_without_step(tmp_path: Path) -> Path:
    """A Lightning-like CSV with no step column and no suffixes: only its separate rows tell."""
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,train_loss,val_loss\n0,2.0,\n0,,1.8\n1,1.5,\n1,,1.4\n")
    return path


def _single_event_file(lightning_run, tmp_path: Path) -> Path:
    return next(lightning_run.tb_dir.glob("events.out.tfevents.*"))


# (case, how to get the path from the fixtures, expected format, expected epochs)
CASES = [
    ("keras csv", lambda f, t: f["keras_run"].csv, "keras", 3),
    ("old keras csv", lambda f, t: _legacy(f["keras_run"], t), "keras_legacy", 3),
    ("deepdiagnosis csv", lambda f, t: EXTERNAL / "circle_config_random_b060fc17.csv", "keras", 151),
    ("lightning metrics.csv", lambda f, t: f["lightning_run"].csv_dir / "metrics.csv", "lightning", 3),
    ("lightning version folder", lambda f, t: f["lightning_run"].csv_dir, "lightning", 3),
    ("lightning logs folder", lambda f, t: f["lightning_run"].csv_dir.parent, "lightning", 3),
    ("lightning csv without step", lambda f, t: _lightning_without_step(t), "lightning", 2),
    ("lightning tensorboard folder", lambda f, t: f["lightning_run"].tb_dir, "tensorboard", 3),
    ("single event file", lambda f, t: _single_event_file(f["lightning_run"], t), "tensorboard", 3),
    ("keras tensorboard layout", lambda f, t: f["keras_tb_dir"], "tensorboard", 3),
    ("pytorch summarywriter", lambda f, t: f["pytorch_tb_dir"], "tensorboard", 3),
]


@pytest.mark.parametrize("case, get_path, fmt, epochs", CASES, ids=[c[0] for c in CASES])
def test_format_is_detected(request, tmp_path, case, get_path, fmt, epochs):
    fixtures = {name: request.getfixturevalue(name) for name in
                ("keras_run", "lightning_run", "keras_tb_dir", "pytorch_tb_dir")}
    path = get_path(fixtures, tmp_path)
    history = load_history(path)
    assert history.source.format == fmt and history.source.path == str(path)
    assert history.column("epoch") == list(range(1, epochs + 1))
    assert history.column("val_loss")[-1] is not None


def _two_lightning_runs(folder: Path) -> None:
    for version in ("version_0", "version_1"):
        (folder / version).mkdir(parents=True)
        (folder / version / "metrics.csv").write_text("epoch,step,val_loss\n0,1,0.5\n")


@pytest.mark.parametrize("make, words", [
    (lambda p: None, ["no such file or folder"]),
    (lambda p: p.mkdir(), ["no TensorBoard event files", "no Lightning metrics.csv"]),
    (_two_lightning_runs, ["2 Lightning runs", "version_0, version_1"]),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), ["binary"]),
], ids=["missing", "empty folder", "two lightning runs", "binary file"])
def test_errors(tmp_path, make, words):
    path = tmp_path / "logs"
    make(path)
    with pytest.raises(LogError) as error:
        load_history(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert all(w in message for w in words), message


def test_reading_a_keras_csv_imports_no_heavy_library():
    """A fresh interpreter: diagnosing a log must not pay for torch, scikit-learn or pandas."""
    code = ("import json, sys; from diagnose.loaders import load_history; "
            f"h = load_history({str(EXTERNAL / 'mnist_double_random_99fe3625.csv')!r}); "
            f"print(json.dumps([len(h.rows), [m for m in {HEAVY!r} if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    epochs, imported = json.loads(out.stdout)
    assert epochs == 100 and imported == []
