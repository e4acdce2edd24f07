"""How often the diagnosis is right, on real training runs with known injected faults.

``bench/fault_runs.py`` trains the runs (Keras 3 and Lightning, on scikit-learn's digits, wine and
breast-cancer sets and plateau's synthetic gesture videos) with one fault each: a tiny training set
and a wide unregularised net (overfit), a bottleneck or a tiny learning rate (underfit), skewed class
counts with plain cross entropy (imbalanced), a learning rate far too high (diverged), or sound
settings (healthy); each is logged by the framework itself, as a Keras CSVLogger file (current or old
column names) or a Lightning metrics.csv, with validation predictions for some. This script reads
every log back exactly as a user would (``run_study.py diagnose LOG [--predictions CSV]``), compares
the labels with the injected fault, and prints per-label precision and recall, then, last, the rate
of runs whose label set is exactly right.

Three sets: the main one (``bench/runs``, which the rules were developed on), the holdout
(``bench/runs_holdout``, built differently) and plateau's own runs (``bench/runs_plateau``, by
``bench/plateau_runs.py``: other models and a study storage, read back as ``run_study.py diagnose
--storage URL --study NAME`` reads them, the diagnosis stored with each trial).

    python bench/diagnose_accuracy.py [--runs bench/runs | bench/runs_holdout | bench/runs_plateau]
                                      [--regenerate]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from types import SimpleNamespace  # noqa: E402

from diagnose.command import diagnose_log  # noqa: E402
from diagnose.diagnosis import diagnosed  # noqa: E402
from diagnose.loaders.storage import load_study  # noqa: E402
from search.record.diagnosis import LABELS, Diagnosis  # noqa: E402
from search.record.storage import StorageUrl  # noqa: E402
from fault_runs import generate  # noqa: E402
import plateau_runs  # noqa: E402


def _plateau_set(folder: Path, regenerate: bool,
                 again: bool = False) -> list[tuple[SimpleNamespace, Diagnosis]]:
    """plateau's runs, each its study's one trial with the diagnosis stored as it ended (``again``:
    diagnosed anew from its stored history, by the rules as they are now)."""
    pairs = []
    for entry in plateau_runs.generate(folder, regenerate=regenerate):
        stored = load_study(StorageUrl.parse(entry["storage"]), entry["study"])
        records = [dataclasses.replace(r, diagnosis=None) if again else r for r in stored.records]
        (record,) = diagnosed(records, stored.study.user_attrs.get("config"))
        run = SimpleNamespace(id=entry["id"], expected=tuple(entry["expected"]),
                              dataset=entry["dataset"], log_format=f"plateau/{entry['model']}")
        pairs.append((run, record.diagnosis))
    return pairs


def _log_set(folder: Path, regenerate: bool) -> list[tuple[object, Diagnosis]]:
    """The Keras and Lightning logs, each diagnosed as ``diagnose LOG [--predictions CSV]``."""
    return [(run, diagnose_log(Path(run.log_path), Path(run.predictions_path)
                               if run.predictions_path else None)[1])
            for run in generate(folder, regenerate=regenerate)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "bench" / "runs",
                        help="where the runs are (generated there first if missing)")
    parser.add_argument("--regenerate", action="store_true", help="train every run again")
    parser.add_argument("--again", action="store_true",
                        help="plateau's runs: diagnose the stored histories anew with the rules as "
                             "they are now, instead of reading the diagnoses stored as they ended")
    args = parser.parse_args()

    started = time.perf_counter()
    plateau = args.runs.name == "runs_plateau"
    pairs = (_plateau_set(args.runs, args.regenerate, args.again) if plateau
             else _log_set(args.runs, args.regenerate))
    seconds = (time.perf_counter() - started) / max(len(pairs), 1)
    rows = [(run, set(run.expected), set(diagnosis.labels)) for run, diagnosis in pairs]

    print(f"{'run':<44} {'expected':<12} {'diagnosed':<24} ok")
    for run, expected, got in rows:
        print(f"{run.id:<44} {','.join(sorted(expected)):<12} "
              f"{','.join(sorted(got)) or '(not judged)':<24} {'yes' if got == expected else 'NO'}")

    print(f"\n{len(rows)} runs: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(
        f"{run.dataset}/{run.log_format}" for run, _, _ in rows).items())))
    print(f"{'label':<12} {'precision':>9} {'recall':>7} {'runs':>5}")
    for label in LABELS:
        tp = sum(label in got and label in exp for _, exp, got in rows)
        fp = sum(label in got and label not in exp for _, exp, got in rows)
        fn = sum(label not in got and label in exp for _, exp, got in rows)
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        print(f"{label:<12} {precision:>9.3f} {recall:>7.3f} {tp + fn:>5}")
    print(f"reading and diagnosing: {1000 * seconds:.1f} ms a run (in-process, after imports; "
          f"{'the storage read included' if plateau else 'the log read included'})")
    exact = sum(got == exp for _, exp, got in rows)
    print(f"exact match of label sets: {exact / len(rows):.3f} ({exact}/{len(rows)})")


if __name__ == "__main__":
    main()
