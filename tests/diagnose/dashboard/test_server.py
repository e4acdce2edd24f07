"""A real optuna-dashboard server on a finished study (``run_study.py dashboard``), read back through
its HTTP API, and its trial page rendered by headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import run_study
from diagnose.dashboard.figures import FIGURE_IDS
from diagnose.dashboard.server import dashboard_url

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--window-size=1280,1000", "--virtual-time-budget=15000"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(finished_study):
    """``run_study.py dashboard`` in a subprocess on a free loopback port; stopped afterwards."""
    url, _ = finished_study
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_study.py"), "dashboard", "--storage", url, "--port",
         str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                get_json(f"{base}/api/studies")
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"dashboard exited: {process.stdout.read()}")
                time.sleep(0.2)
        else:
            pytest.fail("dashboard did not answer in 30 s")
        yield base, port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def study_detail(base: str) -> dict:
    (summary,) = get_json(f"{base}/api/studies")["study_summaries"]
    return get_json(f"{base}/api/studies/{summary['study_id']}")


def test_the_dashboard_command_prints_its_url_and_binds_to_loopback(server):
    base, port, process = server
    assert base + "/dashboard/" == dashboard_url("127.0.0.1", port)
    connections = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
    assert f"127.0.0.1:{port}" in connections and f"0.0.0.0:{port}" not in connections


def test_the_study_note_and_figures_are_served(server):
    detail = study_detail(server[0])
    note = detail["note"]["body"]
    assert note.startswith("# Study tiny") and "6 trials" in note and "Best trial #" in note
    assert detail["objective_names"] == ["val macro-F1"]  # not "Objective 0"
    served = {figure["id"] for figure in detail["plotly_graph_objects"]}
    assert {"curves", "diagnoses", "gap_vs_dropout", "gap_vs_weight_decay"} <= served
    assert served <= set(FIGURE_IDS)
    curves = next(f for f in detail["plotly_graph_objects"] if f["id"] == "curves")
    figure = json.loads(curves["graph_object"])
    assert len(figure["data"]) == 4 * 5  # top 5 trials x (train, val) x (loss, accuracy)


def test_each_trial_has_its_note_attributes_and_history_artifact(server):
    base = server[0]
    detail = study_detail(base)
    assert len(detail["trials"]) == 6
    for trial in detail["trials"]:
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        labels = attrs["diagnosis"]
        assert labels and trial["note"]["body"].startswith(f"## Trial {trial['number']}: {labels}")
        for key in ("final_train_loss", "final_val_loss", "final_train_accuracy",
                    "final_val_accuracy", "final_val_macro_f1", "generalization_gap",
                    "epochs_run", "stop_reason", "param_count"):
            assert key in attrs, key
        (artifact,) = trial["artifacts"]
        assert artifact["filename"] == f"trial-{trial['number']}-history.csv"
        csv_url = (f"{base}/artifacts/{trial['study_id']}/{trial['trial_id']}/"
                   f"{artifact['artifact_id']}")
        with urllib.request.urlopen(csv_url, timeout=10) as response:
            lines = response.read().decode().splitlines()
        assert lines[0].startswith("epoch,train_loss") and len(lines) == 1 + int(attrs["epochs_run"])


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_headless_chromium_renders_a_trial_page_with_its_note(server, tmp_path):
    base = server[0]
    page = f"{base}/dashboard/studies/1/trials?numbers=0"
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--dump-dom", page], capture_output=True,
                         text=True, timeout=90).stdout
    assert "<title>Optuna Dashboard</title>" in dom
    labels = study_detail(base)["trials"][0]["note"]["body"].splitlines()[0].removeprefix("## ")
    assert labels in dom  # "Trial 0: <labels>", the note rendered as markdown
    shot = tmp_path / "trial.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--screenshot={shot}", page],
                   capture_output=True, timeout=90, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (1000, 1280)
    assert pixels.std() > 20  # not blank: text, the app bar and the trial list


def test_a_missing_storage_file_is_one_line_and_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "none.db"
    assert run_study.main(["dashboard", "--storage", f"sqlite:///{missing}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not exist" in err and not missing.exists()
