"""What plateau's training loop costs over a bare hand-written PyTorch loop.

Both train the same model (same initial weights) on the same data with the same batch size for the same
epochs, and both score the validation split after every epoch, as any real loop does. plateau's side is
a real one-trial Optuna study in an SQLite storage, so it pays for everything a trial does: the
metrics, the history written to the storage each epoch, ``trial.report`` and the pruner, the progress
lines, and at the end the diagnosis, the dashboard note and the history CSV artifact. Runs alternate
(bare, loop, bare, loop, ...) so that drift of a noisy machine hits both; the figure is the ratio of
the medians.

    python bench/loop_overhead.py [--repeats 5] [--epochs 5] [--device cuda] [--frame-size 64 ...]

The last line reads ``loop/bare throughput ratio: R`` (goal: R >= 0.97).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run_study import diagnosing_hooks  # noqa: E402
from search import study as study_runner  # noqa: E402
from search.config import load_study_config  # noqa: E402
from search.device import Device, pick_device  # noqa: E402
from search.models import build_model  # noqa: E402
from search.objective import Objective  # noqa: E402
from search.progress import Progress  # noqa: E402

STUDY = """
data: {{kind: synthetic_gestures, num_classes: 6, clips_per_class: {clips_per_class},
       clip_length: {clip_length}, frame_size: {frame_size}, val_fraction: 0.25, seed: 0}}
budget: {{n_trials: 1, max_epochs: {epochs}}}
pruner: hyperband
early_stopping: false
space: {{architecture: c3d, lr: 0.001, batch_size: {batch_size}, optimizer: adam,
        loss: cross_entropy}}
models: {{c3d: {{width: 16, depth: 3}}}}
"""


def bare_loop(splits, epochs: int, batch_size: int, seed: int, device: Device) -> float:
    """A minimal loop a person would write: Adam, cross entropy, an accuracy pass per epoch (with the
    same mixed precision as plateau's loop on CUDA, so that only the loop differs)."""
    torch.manual_seed(seed)
    dev = device.torch_device
    model = build_model("c3d", num_classes=6, in_channels=3, dropout=0.0, width=16,
                        depth=3).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(splits.train.x), torch.from_numpy(splits.train.y)
    vx, vy = torch.from_numpy(splits.val.x), torch.from_numpy(splits.val.y)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x)).split(batch_size):
            with device.autocast():
                loss = F.cross_entropy(model(x[idx].to(dev).float().div_(255)), y[idx].to(dev))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode(), device.autocast():
            correct = sum((model(bx.to(dev).float().div_(255)).argmax(1).cpu() == by).sum().item()
                          for bx, by in zip(vx.split(batch_size), vy.split(batch_size)))
        assert 0 <= correct <= len(vy)
    return len(x) * epochs / (time.perf_counter() - started)


def study_loop(config, splits, tmp: Path, run: int, device: Device) -> float:
    """One trial of a real study, as ``run_study.py run`` runs it (diagnosed and published for the
    dashboard as it ends); the clock runs around the whole trial, storage writes included."""
    storage = f"sqlite:///{tmp / f'bench{run}.db'}"
    study = optuna.create_study(storage=storage, study_name="bench", direction=config.direction)
    objective = Objective(config, splits, device, Progress(1, io.StringIO()),
                          diagnosing_hooks(config).trial_ended)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    started = time.perf_counter()
    study.optimize(objective, n_trials=1)
    elapsed = time.perf_counter() - started
    assert study.trials[0].state.name == "COMPLETE"
    return len(splits.train) * config.budget.max_epochs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--clips-per-class", type=int, default=60)
    parser.add_argument("--clip-length", type=int, default=8)
    parser.add_argument("--frame-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", choices=["cuda", "mps", "cpu"], default=None,
                        help="default: cuda, else mps, else cpu")
    args = parser.parse_args()
    device = pick_device(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        study_file = Path(tmp) / "bench.yaml"
        study_file.write_text(STUDY.format(**vars(args)))
        # Storage and artifact folder in the temporary folder (each run then opens its own study).
        config = load_study_config(study_file, {"storage": f"sqlite:///{Path(tmp) / 'bench.db'}"})
        splits = study_runner.load_splits(config)
        print(f"c3d (width 16, depth 3) on {len(splits.train)} synthetic clips "
              f"{'x'.join(map(str, splits.train.x.shape[1:]))}, batch {args.batch_size}, "
              f"{args.epochs} epochs, "
              f"{args.repeats} repeats each, device {device.describe()}")
        bare_loop(splits, 1, args.batch_size, seed=0, device=device)  # warm-up: allocations
        bare, loop = [], []
        for run in range(args.repeats):
            bare.append(bare_loop(splits, args.epochs, args.batch_size, seed=0, device=device))
            loop.append(study_loop(config, splits, Path(tmp), run, device))
        for name, runs in [("bare PyTorch loop", bare), ("plateau study loop", loop)]:
            print(f"{name:>18}: {statistics.median(runs):7.1f} samples/s (median; runs: "
                  f"{', '.join(f'{r:.1f}' for r in runs)})")
        print(f"loop/bare throughput ratio: {statistics.median(loop) / statistics.median(bare):.3f}")


if __name__ == "__main__":
    main()
