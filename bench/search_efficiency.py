"""How soon each search strategy finds a good model, on the same wall-clock budget, side by side.

Two real tasks, plateau's own study files: the digits 2D-CNN study (``studies/digits.yaml``) and the
demo's gesture-video study (``studies/demo.yaml``, ConvLSTM or C3D). Same space, same data, same
training code; only the search differs (``search_runs.STRATEGIES``): (a) random search, every trial
trained to max_epochs; (b) plain Optuna (TPE and the MedianPruner, their defaults); (c) plateau's
defaults; (d) those with ``lr: auto``. Every (task, strategy, seed) is one run of ``budget`` seconds
in its own process with one torch thread, two at a time on two cores, strategies interleaved so
that they share the machine's conditions.

The targets come from random search itself: the *hard* target is the lowest final score that random
search reaches in at most half its seeds (an easy target measures nothing: on the digits random
search reaches 0.97-0.98 in its first few trials), the *median* one its median final score. Per
strategy: the median over seeds of the best score at 25/50/100% of the budget, the time to each
target (a seed that never reaches it counts as never: the median is then "not reached", and a
speed-up over it is a lower bound, written ">="), trials run, the share pruned and the architecture
of each seed's best trial. On the demo, the best trial of each architecture over the default's runs
is then trained to max_epochs outside the budget, to check the study's answer to "which
architecture" against full training. Last lines: the speed-ups of (c) over (a) and over (b).
A plotly HTML of the best score so far against time is written next to the runs.

    python bench/search_efficiency.py [--quick] [--seeds 5] [--tasks digits,demo]
                                      [--strategies random,optuna,plateau,plateau+lr_auto]
                                      [--out bench/runs_search] [--lanes 2] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from search_runs import MEASURED, TASKS, Trial, run_name, trials  # noqa: E402

BUDGET_S = {"digits": 40.0, "demo": 120.0}  # per run: ~20 digits trials, ~6 full demo trials
QUICK_BUDGET_S = {"digits": 12.0, "demo": 25.0}
FRACTIONS = (0.25, 0.5, 1.0)
GRID = 200  # points of the best-so-far curves in the plot


def run_jobs(commands: list[list[str]], lanes: int, limit_s: float) -> None:
    """Run the commands, ``lanes`` at a time; one that outlives ``limit_s`` is killed."""
    def one(command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit_s,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    with ThreadPoolExecutor(lanes) as pool:
        list(pool.map(one, commands))


def best_so_far(run: list[Trial], at_s: float, maximize: bool) -> float | None:
    values = [t.best for t in run if t.end_s <= at_s and t.best is not None]
    return (max(values) if maximize else min(values)) if values else None


def time_to(run: list[Trial], target: float, maximize: bool, budget_s: float) -> float | None:
    """When the run first had a trial at ``target`` or better (None: not within the budget)."""
    return next((t.end_s for t in run if t.best is not None and t.end_s <= budget_s
                 and (t.best >= target if maximize else t.best <= target)), None)


def median_time(times: list[float | None]) -> float | None:
    """The median over seeds, a seed that never got there counting as later than any other."""
    ranked = sorted(times, key=lambda t: float("inf") if t is None else t)
    middle = ranked[(len(ranked) - 1) // 2: len(ranked) // 2 + 1]
    return None if None in middle else statistics.mean(middle)


def hard_target(finals: list[float], maximize: bool) -> float:
    """The lowest (best-direction) final score random search reaches in at most half its seeds."""
    ordered = sorted(finals, reverse=maximize)
    reached = lambda f: sum((x >= f) if maximize else (x <= f) for x in finals)  # noqa: E731
    fitting = [f for f in ordered if reached(f) <= len(finals) // 2]
    return fitting[-1] if fitting else ordered[0]


def speedup(base: float | None, other: float | None, budget_s: float) -> str:
    if other is None:
        return "not reached by the strategy"
    if base is None:
        return f">= {budget_s / other:.1f}x (the baseline's median seed never reached it)"
    return f"{base / other:.1f}x"


def seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.0f} s"


def report(task: str, runs: dict[str, list[list[Trial]]], maximize: bool, budget_s: float,
           full: dict[str, dict] | None) -> list[str]:
    """The task's table and speed-up lines."""
    finals = [best_so_far(r, budget_s, maximize) for r in runs["random"]]
    targets = {"median": statistics.median(finals), "hard": hard_target(finals, maximize)}
    lines = [f"## {task}: {budget_s:.0f} s per run, {len(runs['random'])} seeds; targets from "
             f"random search's finals {', '.join(f'{f:.4f}' for f in sorted(finals))}: "
             f"median {targets['median']:.4f}, hard {targets['hard']:.4f}", ""]
    header = ["strategy", *(f"best@{int(f * 100)}%" for f in FRACTIONS), "to median", "to hard",
              "reached hard", "trials", "pruned", "best trials' architectures"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    medians = {}
    for strategy, seeds in runs.items():
        bests = [statistics.median(best_so_far(r, f * budget_s, maximize) or 0.0 for r in seeds)
                 for f in FRACTIONS]
        times = {k: [time_to(r, v, maximize, budget_s) for r in seeds] for k, v in targets.items()}
        medians[strategy] = {k: median_time(v) for k, v in times.items()}
        ended = [t for r in seeds for t in r]
        archs = _best_archs(seeds, maximize)
        lines.append("| " + " | ".join([
            strategy, *(f"{b:.4f}" for b in bests), seconds(medians[strategy]["median"]),
            seconds(medians[strategy]["hard"]),
            f"{sum(t is not None for t in times['hard'])}/{len(seeds)}",
            f"{statistics.median(len(r) for r in seeds):.0f}",
            f"{sum(t.state == 'PRUNED' for t in ended) / max(1, len(ended)):.0%}",
            ", ".join(f"{a} {archs.count(a)}" for a in sorted(set(archs)))]) + " |")
    if full:
        lines += ["", "Each architecture's best trial of the default's runs, trained to max_epochs "
                      "outside the budget:"]
        for arch, entry in full.items():
            lines.append(f"- {arch}: trial #{entry['trial']} of {entry['run']} scored "
                         f"{entry['search_best']:.4f} in {entry['search_epochs']} epochs of the "
                         f"search; trained fully: best {max(entry['curve']):.4f}, last "
                         f"{entry['curve'][-1]:.4f}")
        winner = max(full, key=lambda a: max(full[a]["curve"]))
        picked = _best_archs(runs["plateau"], maximize)
        lines.append(f"- full training's answer: {winner}; the default's studies answered "
                     f"{', '.join(f'{a} {picked.count(a)}' for a in sorted(set(picked)))} "
                     f"(of {len(picked)} seeds)")
    lines.append("")
    for base in ("random", "optuna"):
        if base in medians and "plateau" in medians:
            lines.append(f"speed-up of plateau over {base} on {task} (hard target): "
                         f"{speedup(medians[base]['hard'], medians['plateau']['hard'], budget_s)}")
    return lines


def _best_archs(seeds: list[list[Trial]], maximize: bool) -> list[str]:
    sign = 1 if maximize else -1
    return [max((t for t in r if t.best is not None), key=lambda t: sign * t.best).architecture
            for r in seeds if any(t.best is not None for t in r)]


def train_families(out: Path, runs: list[list[Trial]], names: list[str], maximize: bool,
                   lanes: int) -> dict[str, dict]:
    """Each architecture's best trial over ``runs``, trained to max_epochs (demo task)."""
    import optuna
    sign = 1 if maximize else -1
    best = {}
    for run, name in zip(runs, names):
        for t in run:
            if t.best is not None and (t.architecture not in best
                                       or sign * t.best > sign * best[t.architecture][0].best):
                best[t.architecture] = (t, name)
    commands, entries = [], {}
    for arch, (t, name) in sorted(best.items()):
        stored = optuna.load_study(study_name=name, storage=f"sqlite:///{out / (name + '.db')}")
        hparams = next(s for s in stored.get_trials(deepcopy=False)
                       if s.number == t.number).user_attrs["hparams"]
        (out / f"full-{arch}.hparams.json").write_text(json.dumps(hparams))
        commands.append([sys.executable, str(ROOT / "bench" / "search_runs.py"), "full", "demo",
                         str(out / f"full-{arch}.hparams.json"), str(stored.user_attrs.get(
                             "config", {}).get("study", {}).get("seed", 0) + t.number),
                         str(out / f"full-{arch}.json")])
        entries[arch] = {"trial": t.number, "run": name, "search_best": t.best,
                         "search_epochs": t.epochs}
    run_jobs(commands, lanes, limit_s=900)
    for arch, entry in entries.items():
        entry["curve"] = json.loads((out / f"full-{arch}.json").read_text())
    return entries


def plot(out: Path, all_runs: dict[str, dict[str, list[list[Trial]]]], maximize: bool,
         budgets: dict[str, float]) -> Path:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    fig = make_subplots(rows=1, cols=len(all_runs), subplot_titles=list(all_runs))
    for col, (task, runs) in enumerate(all_runs.items(), start=1):
        grid = [budgets[task] * i / GRID for i in range(GRID + 1)]
        for strategy, seeds in runs.items():
            curve = [statistics.median(best_so_far(r, x, maximize) or 0.0 for r in seeds)
                     for x in grid]
            fig.add_trace(go.Scatter(x=grid, y=curve, name=strategy, legendgroup=strategy,
                                     showlegend=col == 1, line_shape="hv"), row=1, col=col)
        fig.update_xaxes(title_text="wall time (s)", row=1, col=col)
    fig.update_yaxes(title_text="best score so far (median over seeds)")
    path = out / "search_efficiency.html"
    fig.write_html(path, include_plotlyjs=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, short budgets (CI)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--strategies", default=",".join(MEASURED),
                        help="of search_runs.STRATEGIES (random first: it sets the targets)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "runs_search")
    parser.add_argument("--lanes", type=int, default=2, help="runs at once (one thread each)")
    parser.add_argument("--fresh", action="store_true", help="run again runs already stored")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
    budgets = QUICK_BUDGET_S if args.quick else BUDGET_S
    tasks, strategies = args.tasks.split(","), args.strategies.split(",")
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. the runs, strategies interleaved, each skipped if stored already
    started = time.perf_counter()
    commands = []
    for seed in seeds:
        for task in tasks:
            for strategy in strategies:
                db = args.out / f"{run_name(task, strategy, seed)}.db"
                if args.fresh and db.exists():
                    db.unlink()
                if not db.exists():
                    commands.append([sys.executable, str(ROOT / "bench" / "search_runs.py"),
                                     "search", task, strategy, str(seed), str(budgets[task]),
                                     str(args.out)])
    run_jobs(commands, args.lanes, limit_s=max(budgets.values()) + 600)

    # 2. read every run back and report
    all_runs, lines, maximize = {}, [], True
    for task in tasks:
        runs, names = {}, {}
        for strategy in strategies:
            names[strategy] = [run_name(task, strategy, s) for s in seeds]
            loaded = [trials(args.out / f"{n}.db", n) for n in names[strategy]]
            runs[strategy] = [r for r, _ in loaded]
            maximize = loaded[0][1]
        all_runs[task] = runs
        full = (train_families(args.out, runs["plateau"], names["plateau"], maximize, args.lanes)
                if task == "demo" and "plateau" in runs and not args.quick else None)
        lines += report(task, runs, maximize, budgets[task], full) + [""]
    shutil.rmtree(args.out / "artifacts", ignore_errors=True)
    print("\n".join(lines))
    print(f"plot: {plot(args.out, all_runs, maximize, budgets)}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
