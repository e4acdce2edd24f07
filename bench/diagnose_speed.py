"""How fast a diagnosis answers: one Keras log, and a 1,000-trial study in SQLite.

Each figure is printed beside its baseline, measured in the same run:
- a log: ``python run_study.py diagnose LOG`` from process start to answer, against the bare
  interpreter start-up (``python -c pass``) and the start-up with numpy imported;
- a study: ``python run_study.py diagnose --storage ... --study ... --json`` for 1,000 trials of 20
  epochs stored as ``run_study.py run`` stores them (each with its diagnosis), against Optuna's own
  ``load_study(...).get_trials()`` on the same storage in a fresh process, and against the same trials
  stored without their diagnosis (as plateau stored them before it kept diagnoses), which are
  diagnosed again on every read; with ``--against CHECKOUT``, also against an older plateau checkout
  reading those. The study commands run in turns, and each figure is a median.

    python bench/diagnose_speed.py [--trials 1000] [--repeats 5] [--against /tmp/old]
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402

from diagnose.diagnosis import diagnose  # noqa: E402
from search.record.history import History, PerClass  # noqa: E402
from search.record.trial import TrialRecord  # noqa: E402

LOG = ROOT / "tests" / "fixtures" / "external" / "deepdiagnosis" / "mnist_double_random_99fe3625.csv"


def wall(command: list[str], repeats: int) -> float:
    """Median wall time of a command, in seconds."""
    return statistics.median(interleaved({"": (command, ROOT)}, repeats)[""])


def interleaved(commands: dict[str, tuple[list[str], Path]], repeats: int) -> dict[str, list[float]]:
    """Wall times of each (command, working folder), run in turns so that a noisy machine's drift
    hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (command, cwd) in commands.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    return times


def record(number: int, epochs: int = 20) -> TrialRecord:
    """A plateau history of the usual shape; the numbers vary by trial so no two are alike."""
    rate = 0.1 + (number % 17) / 40
    rows = [{"epoch": e, "train_loss": 2.3 * math.exp(-rate * e), "val_loss": 2.2 * math.exp(
        -rate * e * 0.7) + 0.01 * e, "train_accuracy": 1 - 0.9 * math.exp(-rate * e),
        "val_accuracy": 0.95 - 0.85 * math.exp(-rate * e), "val_macro_f1": 0.9 - 0.8 * math.exp(
            -rate * e), "lr": 1e-3, "epoch_time_s": 1.0, "samples_per_s": 500.0}
        for e in range(1, epochs + 1)]
    per_class = PerClass([str(k) for k in range(6)], [0.9] * 6, [0.9] * 6, [0.9] * 6, [20] * 6,
                         [[18 if i == j else 0 for j in range(6)] for i in range(6)],
                         [100, 90, 80, 70, 60, 30], epochs)
    history = History(rows, per_class)
    return TrialRecord(number, "COMPLETE", 0.9, {}, history, stop_reason=f"completed {epochs} epochs",
                       objective="val_macro_f1", direction="maximize", param_count=12345,
                       best_epoch=epochs, diagnosis=diagnose(history))


def build_study(url: str, name: str, trials: int, stored_diagnosis: bool) -> None:
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    distributions = {"lr": optuna.distributions.FloatDistribution(1e-5, 1.0, log=True)}
    attrs = [record(n).user_attrs() for n in range(trials)]
    if not stored_diagnosis:
        attrs = [{k: v for k, v in a.items() if k != "diagnosis_detail"} for a in attrs]
    study.add_trials([optuna.trial.create_trial(
        value=0.9, params={"lr": 10 ** -(1 + n % 4)}, distributions=distributions,
        user_attrs=a) for n, a in enumerate(attrs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time another plateau checkout (one from before trials stored "
                             "their diagnosis, e.g. git worktree add /tmp/old d723a07) on the same "
                             "trials stored without diagnoses, in turns with this one")
    args = parser.parse_args()
    python = sys.executable

    bare = wall([python, "-c", "pass"], args.repeats)
    numpy = wall([python, "-c", "import numpy"], args.repeats)
    log = wall([python, "run_study.py", "diagnose", str(LOG)], args.repeats)
    print(f"one Keras log (100 epochs), process start to answer: {log:.3f} s "
          f"(interpreter alone {bare:.3f} s, with numpy {numpy:.3f} s; diagnose adds "
          f"{log - numpy:.3f} s over numpy)")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'speed.db'}"
        started = time.perf_counter()
        build_study(url, "speed", args.trials, stored_diagnosis=True)
        build_study(url, "legacy", args.trials, stored_diagnosis=False)
        print(f"(built two {args.trials}-trial studies in {time.perf_counter() - started:.0f} s)")
        diagnose = [python, "run_study.py", "diagnose", "--storage", url, "--json", "--study"]
        commands = {
            "optuna": ([python, "-c", "import optuna; optuna.load_study(study_name='speed', "
                        f"storage='{url}').get_trials(deepcopy=False)"], ROOT),
            "plateau": ([*diagnose, "speed"], ROOT),
            "legacy": ([*diagnose, "legacy"], ROOT),
        }
        if args.against is not None:  # an older plateau, on the trials as it stored them
            commands["against"] = ([*diagnose, "legacy"], args.against)
        times = {name: statistics.median(t) for name, t in
                 interleaved(commands, args.repeats).items()}
    study = times["plateau"]
    print(f"{args.trials}-trial study, process start to answer: {study:.2f} s "
          f"(Optuna alone loading its trials: {times['optuna']:.2f} s, ratio "
          f"{study / times['optuna']:.2f}; the same trials without stored diagnoses, diagnosed "
          f"again: {times['legacy']:.2f} s, ratio {study / times['legacy']:.2f})")
    if "against" in times:
        print(f"  plateau in {args.against}, on the trials without stored diagnoses: "
              f"{times['against']:.2f} s; this one / that one: {study / times['against']:.2f}")


if __name__ == "__main__":
    main()
