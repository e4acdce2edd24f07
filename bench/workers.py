"""How much several workers gain, and what the storage costs a trial.

1. Trials per minute of ``run_study.py run STUDY --workers N`` for N = 1 and 2, the same tiny trials
   (digits, a small 2D CNN, 5 epochs: about half a second each) on a journal file, in turns (1, 2,
   1, 2, ...), medians, counted from the first trial's start to the last one's end as the storage
   recorded them (and, apart, from process start: every process starts Python, torch and the data
   once, seconds that a real study's hours of trials make nothing of); the figure is the ratio
   (goal: 2 workers >= 1.8x one, on a machine with a core per worker).
2. The storage's share of a trial at the default study's trial length (``studies/demo.yaml``, one
   process, its SQLite storage and a journal file): the time spent in the storage's methods, timed
   where they are called, over the trials' wall time (goal: < 1%). Beside it, the baseline: plain
   Optuna on the same study shape (the demo's sampler, pruner and parameters, each trial reporting
   the same curve, no training), so that what Optuna itself spends is told from what plateau adds.
   The heartbeat thread's writes run beside training and are shown apart.

    python bench/workers.py [--trials 24] [--repeats 3] [--demo-trials 8]
"""

from __future__ import annotations

import argparse
import functools
import inspect
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402
import yaml  # noqa: E402
from optuna.storages import BaseStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402

from search import study as study_runner  # noqa: E402
from search.config import load_study_config  # noqa: E402
from search.progress import Progress  # noqa: E402
from search.samplers import build_pruner, build_sampler  # noqa: E402
from search.record.storage import StorageUrl  # noqa: E402
from search.workers import THREADS_ENV  # noqa: E402

TINY = {"data": {"kind": "digits", "val_fraction": 0.2, "test_fraction": 0.0},
        "budget": {"n_trials": 1000, "max_epochs": 5}, "pruner": "none", "early_stopping": False,
        "space": {"architecture": "cnn2d", "lr": {"low": 1e-3, "high": 5e-2, "log": True},
                  "batch_size": 32},
        "models": {"cnn2d": {"width": 16, "depth": 2}}}


def trials_per_minute(study_file: Path, folder: Path, workers: int, trials: int, run: int,
                      threads: int | None = None) -> tuple[float, float]:
    """(trials per minute from the first trial's start to the last one's end, as the storage
    recorded them; trials per minute from process start to exit, start-up included). ``threads``:
    the torch threads of a single worker (default: all cores)."""
    storage = str(folder / f"w{workers}-{threads}-{run}.journal")
    env = {**os.environ, THREADS_ENV: str(threads)} if threads else None
    started = time.perf_counter()
    subprocess.run([sys.executable, "run_study.py", "run", str(study_file), "--workers",
                    str(workers), "--n-trials", str(trials), "--storage", storage], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - started
    done = optuna.load_study(study_name="tiny", storage=StorageUrl.parse(storage).open()).trials
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done))
    return trials / span.total_seconds() * 60, trials / wall * 60


class StorageClock:
    """Times every storage method called on one storage object: in the main thread (blocking the
    trial) and in others (the heartbeat thread, beside training). A method called by another one
    is inside its caller's time, so only the outermost call of each thread is counted."""

    def __init__(self):
        self.main = self.other = 0.0
        self.depth = threading.local()

    def wrap(self, storage: BaseStorage) -> BaseStorage:
        for name, _ in inspect.getmembers(type(storage), inspect.isfunction):
            if not name.startswith("__"):
                setattr(storage, name, self._timed(getattr(storage, name)))
        return storage

    def _timed(self, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            depth = getattr(self.depth, "n", 0)
            self.depth.n = depth + 1
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.depth.n = depth
                if depth == 0:
                    spent = time.perf_counter() - started
                    if threading.current_thread() is threading.main_thread():
                        self.main += spent
                    else:
                        self.other += spent
        return timed


def storage_share(storage: str, trials: int) -> tuple[float, float, float, list[list[float]]]:
    """(trial wall time, main-thread storage time, heartbeat-thread storage time, each trial's
    reported objective curve) of plateau running the demo study, seconds."""
    clock = StorageClock()
    opened = StorageUrl.open

    def open_timed(self, heartbeat=None):  # only the runner's opening is timed
        return clock.wrap(opened(self, heartbeat))

    config = demo_config(storage)
    StorageUrl.open = open_timed
    try:
        started = time.perf_counter()
        study_runner.run(config, Progress(trials, io.StringIO()), more_trials=trials)
        wall = time.perf_counter() - started
    finally:
        StorageUrl.open = opened
    done = optuna.load_study(study_name=config.name, storage=config.storage.open()).trials
    curves = [[t.intermediate_values[k] for k in sorted(t.intermediate_values)] for t in done]
    return wall, clock.main, clock.other, curves


def optuna_alone(storage: str, curves: list[list[float]]) -> float:
    """Storage time of plain Optuna on the same study shape: the demo's sampler, pruner and
    parameters, each trial reporting plateau's trial's objective curve epoch by epoch and nothing
    else, on a storage opened as a user would (``optuna.create_study(storage=URL)``)."""
    clock = StorageClock()
    config = demo_config(storage)
    study = optuna.create_study(
        storage=clock.wrap(optuna.storages.RDBStorage(storage)) if "://" in storage else
        clock.wrap(optuna.storages.JournalStorage(JournalFileBackend(storage))),
        direction=config.direction,
        sampler=build_sampler(config.sampler.name, config.sampler.options, config.seed),
        pruner=build_pruner(config.pruner.name, config.pruner.options, config.budget.max_epochs))

    def objective(trial: optuna.Trial) -> float:
        config.space.sample(trial)
        curve = curves[trial.number]
        for epoch, value in enumerate(curve, 1):
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return max(curve)

    study.optimize(objective, n_trials=len(curves))
    return clock.main


def demo_config(storage: str):
    return load_study_config(ROOT / "studies" / "demo.yaml", {"storage": storage})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--demo-trials", type=int, default=8)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        study_file = folder / "tiny.yaml"
        study_file.write_text(yaml.safe_dump(TINY))
        rates: dict[tuple[int, int | None], list[tuple[float, float]]] = {
            (1, None): [], (2, None): [], (1, 1): []}
        for run in range(args.repeats):
            for workers, threads in rates:
                rates[workers, threads].append(trials_per_minute(
                    study_file, folder, workers, args.trials, run, threads))
        (one, one_wall), (two, two_wall), (single, _) = (
            tuple(statistics.median(r[i] for r in rates[key]) for i in (0, 1)) for key in rates)
        print(f"{args.trials} tiny trials (digits, cnn2d width 16 depth 2, {TINY['budget']['max_epochs']} "
              f"epochs), medians of {args.repeats}: 1 worker {one:.1f} trials/min, 2 workers "
              f"{two:.1f} trials/min (first trial's start to last one's end); process start to "
              f"exit: {one_wall:.1f} and {two_wall:.1f} trials/min, {two_wall / one_wall:.2f}x "
              f"(each process starts Python, torch and the data once)")
        for label, url in (("SQLite", f"sqlite:///{folder / 'demo.db'}"),
                           ("journal file", str(folder / "demo.journal"))):
            wall, main_time, beat, curves = storage_share(url, args.demo_trials)
            alone = optuna_alone(url.replace("demo.", "alone."), curves)
            per_trial = 1000 / args.demo_trials
            print(f"demo study, {args.demo_trials} trials, {label}: storage calls {main_time:.2f} s "
                  f"of {wall:.1f} s in the trials' thread = {main_time / wall:.2%} "
                  f"({main_time * per_trial:.0f} ms a trial; Optuna alone, same sampler, pruner, "
                  f"parameters and reports, no training: {alone * per_trial:.0f} ms a trial = "
                  f"{alone / wall:.2%} of plateau's trial time, plateau's own "
                  f"{(main_time - alone) / wall:.2%}; heartbeat thread, beside training: "
                  f"{beat:.2f} s)")
        print(f"(one worker on one thread: {single:.1f} trials/min; 2 one-thread workers against "
              f"it: {two / single:.2f}x: what the cores give, with the 2 threads one worker had)")
        print(f"2 workers / 1 worker: {two / one:.2f}x")


if __name__ == "__main__":
    main()
