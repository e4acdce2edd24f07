"""Which pruner and plateau patience: random search's full curves replayed under each choice.

Random search (``bench/search_efficiency.py``'s strategy (a)) trains every trial to max_epochs, so its
runs hold each trial's whole curve and its time per epoch. Replaying a run's trials in the same
order through a real Optuna pruner (an in-memory study: each trial reports its recorded value after
every epoch and asks ``should_prune``) and plateau's stop rule shows what each choice would have cut
and what that costs, with the sampler held fixed: the time each trial would have taken (its epochs
run x its time per epoch), the share pruned, the time to the same targets as the main benchmark,
and, what matters for a fair comparison of architectures, in how many runs the run's best trial
and each architecture's best trial survived to show their best values.

    python bench/pruning_replay.py [--out bench/runs_search] [--seeds 5] [--first-seed 0]
                                   [--tasks digits,demo]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from search.early_stopping import EarlyStopping  # noqa: E402
from search.fair_pruner import WithinArchitecture  # noqa: E402
from search_efficiency import hard_target, median_time, time_to  # noqa: E402
from search_runs import Trial, run_name, trials  # noqa: E402

MAX_EPOCHS = 20  # both tasks' studies
P = optuna.pruners


def stop(patience: int, warmup: int = 5) -> EarlyStopping:
    return EarlyStopping(patience=patience, min_delta=0.0, warmup_epochs=warmup)


# name -> (the pruner, built fresh per replay, or None; the plateau rule or None)
VARIANTS: dict[str, tuple[Callable[[], optuna.pruners.BasePruner] | None, EarlyStopping | None]] = {
    "no pruning, no stop (= random search)": (None, None),
    **{f"stop only, patience {p}": (None, stop(p)) for p in (3, 5, 8)},
    "Optuna median (startup 5, warm-up 0)": (lambda: P.MedianPruner(), None),
    "hyperband min_resource 1 + stop 5 (plateau before)": (
        lambda: P.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS), stop(5)),
    "hyperband min_resource 6 + stop 8": (
        lambda: P.HyperbandPruner(min_resource=6, max_resource=MAX_EPOCHS), stop(8)),
    "median warm-up 6, all archs + stop 8": (
        lambda: P.MedianPruner(n_startup_trials=3, n_warmup_steps=6), stop(8)),
    **{f"median warm-up {w}, per arch + stop 8{' (default)' if w == 6 else ''}": (
        lambda w=w: WithinArchitecture(P.MedianPruner(n_startup_trials=3, n_warmup_steps=w)),
        stop(8)) for w in (1, 3, 6)},
    **{f"ASHA min_resource {r}, per arch + stop 8": (
        lambda r=r: WithinArchitecture(P.SuccessiveHalvingPruner(min_resource=r)), stop(8))
       for r in (1, 6)},
}
SEPARATED = 0.8  # Spearman correlation of an epoch's score with the final best: the ranks are set


def separation(runs: list[list[Trial]]) -> list[str]:
    """Per architecture, how well each epoch's score predicts the trial's final best (Spearman's
    rank correlation over the trials trained to the end): the epoch from which pruning can judge."""
    from scipy.stats import spearmanr
    full = [t for r in runs for t in r if t.epochs == MAX_EPOCHS]
    lines = []
    for arch in sorted({t.architecture for t in full}):
        group = [t for t in full if t.architecture == arch]
        rho = [spearmanr([t.curve[k] for t in group], [max(t.curve) for t in group]).correlation
               for k in range(MAX_EPOCHS)]
        first = next((k + 1 for k, r in enumerate(rho) if r >= SEPARATED), None)
        lines.append(f"- {arch} ({len(group)} trials): rank correlation of epoch k's score with "
                     f"the final best, k = 1..10: {' '.join(f'{r:.2f}' for r in rho[:10])}; first "
                     f"at or above {SEPARATED}: epoch {first}")
    return lines


def replay(run: list[Trial], make_pruner, rule: EarlyStopping | None,
           maximize: bool) -> list[Trial]:
    """``run``'s trials, in order, as they would have gone under the pruner and the rule."""
    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                pruner=make_pruner() if make_pruner else P.NopPruner(),
                                study_name="replay")  # Hyperband's brackets hash the name
    archs = sorted({t.architecture for t in run})
    clock, replayed = 0.0, []
    for t in run:
        if not t.curve:
            continue
        study.enqueue_trial({"architecture": t.architecture})
        live = study.ask()
        live.suggest_categorical("architecture", archs)
        state, ran = TrialState.COMPLETE, 0
        for epoch, value in enumerate(t.curve, start=1):
            ran = epoch
            live.report(value, epoch)
            if live.should_prune():
                state = TrialState.PRUNED
                break
            if rule is not None and rule.should_stop(t.curve[:epoch], maximize):
                break
        clock += ran * t.duration_s / t.epochs
        finite = [v for v in t.curve[:ran] if not math.isnan(v)]
        best = (max(finite) if maximize else min(finite)) if finite else None
        study.tell(live, best if state == TrialState.COMPLETE else None, state=state)
        replayed.append(dataclasses.replace(t, state=state.name, end_s=clock, best=best,
                                            epochs=ran, duration_s=ran * t.duration_s / t.epochs))
    return replayed


def kept(original: list[Trial], replayed: list[Trial], maximize: bool, arch: str | None) -> bool:
    """Whether the best trial (of ``arch``, or of all) still reached its best value."""
    sign = 1 if maximize else -1
    pairs = [(o, r) for o, r in zip([t for t in original if t.curve], replayed)
             if o.best is not None and (arch is None or o.architecture == arch)]
    if not pairs:
        return True
    best, again = max(pairs, key=lambda p: sign * p[0].best)
    return again.best == best.best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "runs_search")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--tasks", default="digits,demo")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for task in args.tasks.split(","):
        loaded = [trials(args.out / f"{run_name(task, 'random', s)}.db",
                         run_name(task, "random", s))
                  for s in range(args.first_seed, args.first_seed + args.seeds)]
        runs, maximize = [r for r, _ in loaded], loaded[0][1]
        finals = [max(t.best for t in r if t.best is not None) for r in runs]
        targets = {"median": statistics.median(finals), "hard": hard_target(finals, maximize)}
        archs = sorted({t.architecture for r in runs for t in r})
        print(f"## {task}: random search's {len(runs)} runs replayed; targets median "
              f"{targets['median']:.4f}, hard {targets['hard']:.4f}\n")
        print("\n".join(separation(runs)) + "\n")
        print("| variant | time used | to median | to hard | pruned | run's best kept | "
              + " | ".join(f"best {a} kept" for a in archs) + " |")
        print("|" + "---|" * (6 + len(archs)))
        for name, (make_pruner, rule) in VARIANTS.items():
            again = [replay(r, make_pruner, rule, maximize) for r in runs]
            used = statistics.median(a[-1].end_s for a in again)
            times = {k: median_time([time_to(a, v, maximize, math.inf) for a in again])
                     for k, v in targets.items()}
            ended = [t for a in again for t in a]
            cells = [name, f"{used:.0f} s",
                     *("not reached" if times[k] is None else f"{times[k]:.0f} s"
                       for k in ("median", "hard")),
                     f"{sum(t.state == 'PRUNED' for t in ended) / len(ended):.0%}",
                     f"{sum(kept(r, a, maximize, None) for r, a in zip(runs, again))}/{len(runs)}",
                     *(f"{sum(kept(r, a, maximize, x) for r, a in zip(runs, again))}/{len(runs)}"
                       for x in archs)]
            print("| " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
