"""Per-epoch checkpoints, so that a trial interrupted (Ctrl-C, SIGTERM) or lost with its worker
continues from its last finished epoch when it runs again, on this machine or another.

A checkpoint holds everything the next epoch depends on: the model, optimizer, learning-rate schedule
and loss scaler states, every random generator (Python, NumPy, torch, CUDA, the training order's),
the history so far and the best epoch's results. It is written with ``torch.save`` after every epoch
(to a temporary file, then renamed: a crash never leaves half a checkpoint) and read with
``torch.load(weights_only=True)``, which loads tensors and plain containers only: nothing in a
checkpoint file can run code. The files live in the study's artifact folder (``checkpoints/<study>/
trial-<number>.pt``), shared by every machine given the same ``--artifact-dir``; a retried trial reads
its earlier attempts' files, and a trial that ends removes them.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from search import disk

if TYPE_CHECKING:
    from search.record.history import History
    from search.train import Best, Run


@dataclass(frozen=True)
class TrialCheckpoints:
    folder: Path  # <artifact folder>/checkpoints/<study name>
    number: int  # this trial's number
    earlier: Sequence[int] = ()  # the attempts this trial retries, oldest first

    def path(self, number: int) -> Path:
        return self.folder / f"trial-{number}.pt"

    def load(self) -> dict[str, Any] | None:
        """The newest checkpoint of this trial or of the attempts it retries, if any."""
        for number in (self.number, *reversed(self.earlier)):
            if self.path(number).is_file():
                return torch.load(self.path(number), map_location="cpu", weights_only=True)
        return None

    def save(self, state: dict[str, Any]) -> None:
        temporary = self.path(self.number).with_suffix(f".tmp{os.getpid()}")
        for attempt in range(3):  # another worker's ``remove`` may take the empty folder away
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                disk.save(state, temporary)
                break
            except (RuntimeError, FileNotFoundError):
                if self.folder.is_dir() or attempt == 2:
                    raise
        os.replace(temporary, self.path(self.number))

    def remove(self) -> None:
        """Remove this trial's and its earlier attempts' checkpoints, and the folders left empty."""
        for number in (self.number, *self.earlier):
            self.path(number).unlink(missing_ok=True)
        for folder in (self.folder, self.folder.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty (other trials' checkpoints), or already gone
                break


def state_of(run: Run, history: History, best: Best) -> dict[str, Any]:
    """What ``restore`` needs to continue after the last epoch of ``history``."""
    numpy_state = np.random.get_state()
    return {
        "epoch": len(history.rows), "rows": history.rows,
        "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
        "schedule": run.schedule.state_dict() if run.schedule is not None else None,
        "scaler": run.scaler.state_dict(),
        "best": {"value": best.value, "epoch": best.epoch, "state": best.state,
                 "predictions": None if best.predictions is None
                 else torch.from_numpy(best.predictions)},
        "rng": {"python": random.getstate(), "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "numpy": [numpy_state[0], torch.from_numpy(numpy_state[1].copy()),
                          *numpy_state[2:]],
                "order": run.order.generator.get_state()},
    }


def restore(run: Run, state: dict[str, Any], history: History, best: Best) -> int:
    """Put ``run``, ``history`` and ``best`` back as they were; returns the last finished epoch."""
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.schedule is not None and state["schedule"] is not None:
        run.schedule.load_state_dict(state["schedule"])
    run.scaler.load_state_dict(state["scaler"])
    saved = state["best"]
    best.value, best.epoch, best.state = saved["value"], saved["epoch"], saved["state"]
    best.predictions = None if saved["predictions"] is None else saved["predictions"].numpy()
    rng = state["rng"]
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    kind, keys, *rest = rng["numpy"]
    np.random.set_state((kind, keys.numpy(), *rest))
    run.order.generator.set_state(rng["order"])
    history.rows[:] = [dict(row) for row in state["rows"]]
    return state["epoch"]
