"""One search run of ``bench/search_efficiency.py``: a study file, a strategy, a seed, a wall-clock budget.

A run is its own process (``python bench/search_runs.py TASK STRATEGY SEED BUDGET OUT``) with one
torch thread, so that two runs share the two cores of a small machine fairly. Its clock starts when
the study has been created (after the data is read; the preflight checks are skipped, as a plain
Optuna user has none, but ``lr: auto``'s range test runs on the clock), and the process ends itself
when the budget is spent, cutting short the trial it is in: what counts is what was found by then.

Everything the comparison needs is read back from the study's own storage with Optuna's API
(``trials``): each trial's end time on that clock, its best reported value, its epochs and its
architecture, so every strategy is scored the same way whatever it stores besides.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import optuna  # noqa: E402
import yaml  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

TASKS = {"digits": ROOT / "studies" / "digits.yaml", "demo": ROOT / "studies" / "demo.yaml"}
CLOCK_ATTR = "bench_clock_start"  # the study attribute holding the run's start (time.time())
THREADS = 1  # per run: two runs at once on two cores

# The strategies compared, each as changes to the study file's own settings; same space, same data,
# same training code. ``None`` removes the key, so plateau's defaults apply.
STRATEGIES: Mapping[str, Mapping[str, Any]] = {
    # (a) random search, every trial trained to max_epochs
    "random": {"sampler": "random", "pruner": "none", "early_stopping": False},
    # (b) plain Optuna as its docs set it up: TPE and the MedianPruner, each with its defaults
    "optuna": {"sampler": "tpe", "pruner": "median", "early_stopping": False},
    # (c) plateau's defaults (search/samplers.py, search/early_stopping.py)
    "plateau": {"sampler": None, "pruner": None, "early_stopping": None},
    # (d) the defaults with the LR range test choosing the learning-rate range
    "plateau+lr_auto": {"sampler": None, "pruner": None, "early_stopping": None,
                        "space.lr": "auto"},
    # ablations of (c), run when named (--strategies): the sampler alone changed
    "plateau/independent_tpe": {"sampler": "tpe", "pruner": None, "early_stopping": None},
    "plateau/startup_10": {"sampler": {"n_startup_trials": 10}, "pruner": None,
                           "early_stopping": None},
}
MEASURED = ("random", "optuna", "plateau", "plateau+lr_auto")  # what the benchmark runs by default


@dataclasses.dataclass(frozen=True)
class Trial:
    number: int
    architecture: str
    state: str  # COMPLETE, PRUNED, ...
    end_s: float  # seconds after the run's start when it ended
    duration_s: float
    best: float | None  # its best reported (epoch) value; None if it reported none
    epochs: int
    curve: tuple[float, ...]  # the objective at each epoch


def study_file(task: str, strategy: str, seed: int, budget_s: float, out: Path) -> dict[str, Any]:
    """The task's study file with the strategy's settings, this seed, this run's storage, no trial
    limit (the clock stops it)."""
    raw = yaml.safe_load(TASKS[task].read_text())
    for key, value in STRATEGIES[strategy].items():
        section, _, name = key.rpartition(".")
        target = raw.setdefault(section, {}) if section else raw
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    raw.setdefault("study", {}).update({
        "seed": seed, "name": run_name(task, strategy, seed),
        "storage": f"sqlite:///{out / (run_name(task, strategy, seed) + '.db')}",
        "artifact_dir": str(out / "artifacts")})
    raw.setdefault("budget", {}).update({"n_trials": None, "timeout": budget_s})
    return raw


def run_name(task: str, strategy: str, seed: int) -> str:
    return f"{task}-{strategy.replace('+', '-').replace('/', '-')}-{seed}"


def search(task: str, strategy: str, seed: int, budget_s: float, out: Path) -> None:
    """Run the study until ``budget_s`` seconds after it was created, then end the process."""
    import torch
    from search.config import study_config_from_mapping
    from search.device import pick_device
    from search.progress import Progress
    from search.study import Hooks, run

    torch.set_num_threads(THREADS)
    config = study_config_from_mapping(study_file(task, strategy, seed, budget_s, out),
                                       TASKS[task])

    def start_clock(study: optuna.Study) -> None:
        study.set_user_attr(CLOCK_ATTR, time.time())
        timer = threading.Timer(budget_s, lambda: os._exit(0))  # ends the trial it is in
        timer.daemon = True
        timer.start()

    with open(os.devnull, "w") as quiet:
        run(config, Progress(None, quiet), pick_device(), Hooks(study_started=start_clock),
            checks=False)
    os._exit(0)  # the timeout ended it first: exit at once, as the timer would


def trials(storage: Path, name: str) -> tuple[list[Trial], bool]:
    """The run's trials that ended within its budget, in the order they ended, and whether the
    study maximises."""
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{storage}")
    start = study.user_attrs[CLOCK_ATTR]
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    ended = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        curve = tuple(t.intermediate_values[k] for k in sorted(t.intermediate_values))
        values = [v for v in curve if v == v] or ([t.value] if t.value is not None else [])
        best = (max(values) if maximize else min(values)) if values else None
        ended.append(Trial(t.number, str(t.params.get("architecture", _fixed_arch(t))),
                           t.state.name, t.datetime_complete.timestamp() - start,
                           (t.datetime_complete - t.datetime_start).total_seconds(), best,
                           len(curve), curve))
    return sorted(ended, key=lambda t: t.end_s), maximize


def _fixed_arch(trial: optuna.trial.FrozenTrial) -> str:
    """The architecture of a study whose space fixes it (not an Optuna parameter then)."""
    return trial.user_attrs.get("hparams", {}).get("architecture", "?")


def train_fully(task: str, hparams: Mapping[str, Any], seed: int) -> list[float]:
    """The objective at every epoch of one trial's hyperparameters trained to the study's
    max_epochs, neither pruned nor stopped (outside any search budget)."""
    import torch
    from search.config import study_config_from_mapping
    from search.device import pick_device, seed_everything
    from search.models import build_model
    from search.space import Hyperparams
    from search.study import load_splits
    from search.train import fit

    torch.set_num_threads(THREADS)
    config = study_config_from_mapping(yaml.safe_load(TASKS[task].read_text()), TASKS[task])
    splits, hp = load_splits(config), Hyperparams.from_json(hparams)
    seed_everything(seed)
    model = build_model(hp.architecture, num_classes=len(splits.train.classes),
                        in_channels=splits.train.x.shape[1], dropout=hp.dropout,
                        **hp.model_kwargs)
    result = fit(model, splits, hp, max_epochs=config.budget.max_epochs, device=pick_device(),
                 objective=config.objective, maximize=config.direction == "maximize", seed=seed)
    return result.history.column(config.objective)


if __name__ == "__main__":  # search TASK STRATEGY SEED BUDGET OUT | full TASK HPARAMS.json SEED OUT.json
    if sys.argv[1] == "full":
        import json
        task_, hparams_, seed_, out_ = sys.argv[2:6]
        curve_ = train_fully(task_, json.loads(Path(hparams_).read_text()), int(seed_))
        Path(out_).write_text(json.dumps(curve_))
    else:
        task_, strategy_, seed_, budget_, out_ = sys.argv[2:7]
        search(task_, strategy_, int(seed_), float(budget_), Path(out_))
