"""A third held-out set: plateau's own training runs with known injected faults, stored in a study.

The main and holdout sets (``bench/fault_runs.py``) are Keras and Lightning logs of MLPs and small
CNNs. These are other models, trained by another loop and read back another way: ``run_study.py run``
trains plateau's 2D CNN on scikit-learn's digits and its C3D and ConvLSTM on synthetic gesture clips
(5 classes, 6 frames of 24 x 24 pixels: a geometry none of the other sets uses), one single-trial
study per run, all in one SQLite storage, and the diagnosis is the one stored with the trial as it
ended (``diagnose --storage ... --study ...``), with per-class results for every run. Seeds are
other than any set's. The faults:

- ``overfit``: 8% of the digits (or 40% of 16 clips a class) train a wide net with no dropout, no
  weight decay and no early stopping, for 60 (video 40) epochs;
- ``underfit_bottleneck``: a one-channel-wide network (its head sees one number per clip);
- ``underfit_tiny_lr``: plain SGD at 1e-5 (or Adam at 1e-6);
- ``imbalanced`` (gestures only: the digits have no imbalance knob): a long tail of 20:1 (80 clips of
  the first class down to 4 of the last), plain cross entropy;
- ``diverged``: SGD at a learning rate of 50, or Adam at 10;
- ``healthy``: sound settings, dropout 0.2, early stopping on the objective.

Settings were written, and committed, before any of these runs was diagnosed, with one exception:
the ConvLSTM's healthy run got a learning rate of 3e-3 and a patience of 10 after a first try
stopped at macro-F1 0.69, which is no healthy run (that try's run summary showed its diagnosis).

    python bench/plateau_runs.py [--out bench/runs_plateau] [--regenerate]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"
FAULTS = ("overfit", "underfit_bottleneck", "underfit_tiny_lr", "imbalanced", "diverged", "healthy")
EXPECTED = {"overfit": ["overfit"], "underfit_bottleneck": ["underfit"],
            "underfit_tiny_lr": ["underfit"], "imbalanced": ["imbalanced"],
            "diverged": ["diverged"], "healthy": ["healthy"]}
# (dataset, model) per variant: the digits by the 2D CNN, the gestures by the C3D and the ConvLSTM.
MODELS = (("digits", "cnn2d"), ("gestures", "c3d"), ("gestures", "convlstm"))
GESTURES = {"kind": "synthetic_gestures", "num_classes": 5, "clip_length": 6, "frame_size": 24,
            "noise": 0.1, "clutter": 1, "test_fraction": 0.0}


def _model(model: str, fault: str) -> dict[str, Any]:
    """The architecture's knobs: wide for overfit, one channel for the bottleneck, else moderate."""
    size = {"overfit": 48, "underfit_bottleneck": 1}.get(fault, 32 if model == "convlstm" else 16)
    if model == "cnn2d":
        return {"width": size, "depth": 2 if size > 1 else 1, "batch_norm": fault == "healthy"}
    if model == "c3d":
        return {"width": size, "depth": 2 if size > 1 else 1}
    return {"hidden_channels": size, "num_layers": 1, "stem": size > 1}


def study_file(dataset: str, model: str, fault: str, seed: int) -> dict[str, Any]:
    """The study file of one run: one trial, no search (every hyperparameter fixed)."""
    video = dataset == "gestures"
    data: dict[str, Any] = ({**GESTURES, "clips_per_class": 40, "val_fraction": 0.3, "seed": seed}
                            if video else {"kind": "digits", "val_fraction": 0.25,
                                           "test_fraction": 0.0, "seed": seed})
    space: dict[str, Any] = {"architecture": model, "lr": 1e-3, "batch_size": 16 if video else 32,
                             "dropout": 0.0, "weight_decay": 0.0, "optimizer": "adam",
                             "loss": "cross_entropy"}
    epochs, early_stopping = (30 if video else 25), False
    if fault == "overfit":
        data.update(clips_per_class=16, val_fraction=0.6) if video else data.update(
            val_fraction=0.92)
        space.update(batch_size=8)
        epochs = 40 if video else 60
    elif fault == "underfit_tiny_lr":
        space.update(optimizer="sgd", lr=1e-5, momentum=0.9) if model != "convlstm" else \
            space.update(lr=1e-6)
        epochs = 15
    elif fault == "imbalanced":
        data.update(clips_per_class=80, imbalance_ratio=20.0)
        space.update(dropout=0.2)
        early_stopping = {"patience": 5, "warmup_epochs": 5}
        epochs = 40
    elif fault == "diverged":
        space.update(optimizer="sgd", lr=50.0, momentum=0.9) if model != "convlstm" else \
            space.update(lr=10.0)
        epochs = 12
    elif fault == "healthy":
        data.update(clips_per_class=60, val_fraction=0.25) if video else None
        space.update(dropout=0.2)
        early_stopping = {"patience": 5, "warmup_epochs": 5}
        epochs = 40 if video else 30
        if model == "convlstm":  # it learns the frame order slower: a larger rate, more patience
            space.update(lr=3e-3)
            early_stopping = {"patience": 10, "warmup_epochs": 10}
            epochs = 60
    return {"study": {"seed": seed}, "data": data, "objective": "val_macro_f1",
            "budget": {"n_trials": 1, "max_epochs": epochs}, "sampler": "random",
            "pruner": "none", "early_stopping": early_stopping, "space": space,
            "models": {model: _model(model, fault)}}


def plan() -> list[dict[str, Any]]:
    """Each fault x each (dataset, model), two seeds for imbalance (gestures only): 19 runs."""
    entries = []
    for f, fault in enumerate(FAULTS):
        for m, (dataset, model) in enumerate(MODELS):
            if fault == "imbalanced" and dataset == "digits":
                continue
            for variant in range(2 if fault == "imbalanced" else 1):
                seed = 70000 + 100 * f + 10 * m + variant
                entries.append({"id": f"{dataset}-{model}-{fault}-{variant}", "dataset": dataset,
                                "model": model, "fault": fault, "expected": EXPECTED[fault],
                                "seed": seed, "config": study_file(dataset, model, fault, seed)})
    return entries


def generate(out_dir: Path, *, regenerate: bool = False) -> list[dict[str, Any]]:
    """Train every run into ``out_dir/runs.db`` (or reuse its manifest) and return the entries,
    each with ``storage`` and ``study`` to diagnose."""
    out_dir = out_dir.resolve()
    if (out_dir / MANIFEST).exists() and not regenerate:
        return json.loads((out_dir / MANIFEST).read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    (out_dir / "runs.db").unlink(missing_ok=True)
    storage = f"sqlite:///{out_dir / 'runs.db'}"
    entries, started = plan(), time.perf_counter()
    for number, entry in enumerate(entries, 1):
        path = out_dir / f"{entry['id']}.yaml"
        path.write_text(yaml.safe_dump({**entry["config"], "study": {
            **entry["config"]["study"], "name": entry["id"]}}, sort_keys=False))
        began = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "run_study.py"), "run", str(path),
                               "--storage", storage, "--device", "cpu"], cwd=out_dir,
                              capture_output=True, text=True, env={**os.environ,
                                                                   "PYTHONWARNINGS": "ignore"})
        entry.update(storage=storage, study=entry["id"], exit_code=done.returncode,
                     seconds=round(time.perf_counter() - began, 1))
        print(f"[{number}/{len(entries)}] {entry['id']}: exit {done.returncode}, "
              f"{entry['seconds']:.1f} s", file=sys.stderr, flush=True)
    (out_dir / MANIFEST).write_text(json.dumps(entries, indent=1) + "\n")
    print(f"{len(entries)} runs in {time.perf_counter() - started:.0f} s -> {out_dir}",
          file=sys.stderr)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "runs_plateau")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    generate(args.out, regenerate=args.regenerate)


if __name__ == "__main__":
    main()
