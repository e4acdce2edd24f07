"""``bench/search_efficiency.py``: its scoring helpers, table-driven, and its ``--quick`` run end to end
(real studies of every strategy on both tasks; CI checks that it runs and prints its table, not how
fast the strategies are)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from search_efficiency import hard_target, median_time, speedup, time_to  # noqa: E402
from search_runs import MEASURED, Trial  # noqa: E402


def trial(end_s: float, best: float | None) -> Trial:
    return Trial(0, "cnn2d", "COMPLETE", end_s, 1.0, best, 1, (best,) if best else ())


@pytest.mark.parametrize("finals, maximize, target", [
    ([0.90, 0.95, 0.97, 0.98, 0.99], True, 0.98),  # reached by 2 of 5 seeds, not by 3
    ([0.90, 0.95, 0.98, 0.98, 0.99], True, 0.99),  # 0.98 would be reached by 3
    ([0.5, 0.4, 0.3, 0.2], False, 0.3),  # a loss: 2 of 4 at or below
    ([0.7], True, 0.7),  # one seed: its own final
])
def test_the_hard_target_is_reached_by_at_most_half_the_seeds(finals, maximize, target):
    assert hard_target(finals, maximize) == target


@pytest.mark.parametrize("times, median", [
    ([1.0, 2.0, 3.0], 2.0),
    ([1.0, None, None], None),  # the middle seed never got there
    ([None, 1.0, 2.0], 2.0),  # one seed never did: it ranks last
    ([1.0, 3.0, None, None], None),
    ([1.0, 3.0, 5.0, None], 4.0),
])
def test_median_time_ranks_a_seed_that_never_got_there_last(times, median):
    assert median_time(times) == median


def test_time_to_a_target_is_the_end_of_the_first_trial_there_within_the_budget():
    run = [trial(5, 0.5), trial(9, None), trial(12, 0.91), trial(20, 0.99)]
    assert time_to(run, 0.9, True, budget_s=30) == 12
    assert time_to(run, 0.99, True, budget_s=15) is None
    assert time_to(run, 0.6, False, budget_s=30) == 5


@pytest.mark.parametrize("base, other, said", [
    (60.0, 20.0, "3.0x"),
    (None, 20.0, ">= 6.0x"),  # the baseline never reached it: a lower bound, budget / time
    (20.0, None, "not reached"),
])
def test_speedup_states_a_lower_bound_when_the_baseline_never_got_there(base, other, said):
    assert speedup(base, other, budget_s=120).startswith(said)


def test_quick_run_prints_the_table_of_every_strategy_on_both_tasks(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "search_efficiency.py"), "--quick",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    sections = dict(part.split(":", 1) for part in done.stdout.split("## ")[1:])
    assert set(sections) == {"digits", "demo"}
    for task, text in sections.items():
        rows = {line.split(" | ")[0][2:]: line for line in text.splitlines()
                if line.startswith("| ") and not line.startswith("| strategy")}
        assert set(rows) == set(MEASURED)
        assert all(row.count("|") == 11 for row in rows.values())  # ten cells each
        for base in ("random", "optuna"):
            assert f"speed-up of plateau over {base} on {task} (hard target): " in text
    assert (tmp_path / "search_efficiency.html").stat().st_size > 10_000
