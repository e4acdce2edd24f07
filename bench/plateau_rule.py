"""How plateau-rule settings trade epochs saved against good models lost, on real learning curves.

Runs a study with every trial trained to max_epochs (random sampler, no pruner, no early stopping),
then replays each rule on the recorded curves: where the rule would have stopped each trial, how much
of the trial's best value it kept, and how many epochs the whole study would have needed to reach a
model within 0.01 of the best one. Replaying recorded curves compares rules on identical trials, which
re-running studies (whose samplers react to each rule's results) would not.

    python bench/plateau_rule.py --study studies/digits.yaml --n-trials 20 --max-epochs 30
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import study as study_runner  # noqa: E402
from search.config import load_study_config  # noqa: E402
from search.early_stopping import EarlyStopping  # noqa: E402
from search.progress import Progress  # noqa: E402

NEAR_BEST = 0.01  # a model within this of the study's best counts as "good"


def rules(max_epochs: int) -> dict[str, EarlyStopping | None]:
    return {
        "none (train every trial to max_epochs)": None,
        "patience 3, min_delta 0.005": EarlyStopping(3, 0.005, 0),
        "patience 3, min_delta 0": EarlyStopping(3, 0.0, 0),
        "patience 5, min_delta 0": EarlyStopping(5, 0.0, 0),
        f"auto: {EarlyStopping.auto(max_epochs)}": EarlyStopping.auto(max_epochs),
        "auto, min_delta 0.005": EarlyStopping.auto(max_epochs, min_delta=0.005),
    }


def replay(rule: EarlyStopping | None, curve: list[float]) -> int:
    """Epochs the trial would have run under ``rule``."""
    if rule is None:
        return len(curve)
    for epoch in range(1, len(curve) + 1):
        if rule.should_stop(curve[:epoch], maximize=True):
            return epoch
    return len(curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=Path("studies/digits.yaml"))
    parser.add_argument("--n-trials", type=int, default=20)
    parser.add_argument("--max-epochs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        raw = yaml.safe_load(args.study.read_text())
        raw.update(sampler={"name": "random"}, pruner="none", early_stopping=False)
        study_file = Path(tmp) / args.study.name
        study_file.write_text(yaml.safe_dump(raw))
        config = load_study_config(study_file, {
            "n_trials": args.n_trials, "max_epochs": args.max_epochs,
            "storage": f"sqlite:///{Path(tmp) / 'curves.db'}"})
        run = study_runner.run(config, Progress(args.n_trials, io.StringIO()))
        curves = [r.history.column(config.objective) for r in run.records if r.state == "COMPLETE"]

    best = max(max(c) for c in curves)
    print(f"{args.study} ({config.objective}), {len(curves)} trials x {args.max_epochs} epochs "
          f"(random sampler, every trial to the end); best {best:.4f}")
    print(f"{'rule':<58} {'epochs':>7} {'lost >0.01':>10} {'best kept':>9} "
          f"{'epochs to a model within 0.01 of best':>38}")
    for name, rule in rules(args.max_epochs).items():
        stops = [replay(rule, c) for c in curves]
        kept = [max(c[:s]) for c, s in zip(curves, stops)]
        lost = sum(max(c) - k > NEAR_BEST for c, k in zip(curves, kept))
        spent, to_good = 0, None
        for stop, value in zip(stops, kept):
            spent += stop
            if to_good is None and value >= best - NEAR_BEST:
                to_good = spent
        print(f"{name:<58} {sum(stops):>7} {lost:>10} {max(kept):>9.4f} "
              f"{to_good if to_good is not None else 'never':>38}")


if __name__ == "__main__":
    main()
