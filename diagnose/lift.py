"""Did the fix lift the plateau? The before/after of a fix study (``run_study.py fix``), judged once.

Before is the baseline re-measured: its pinned re-runs in the fix study (``diagnose.lift_plan``), whose
mean is the level to beat and whose spread (largest minus smallest) is the seed-to-seed noise; the
baseline's own value in its study is shown, not compared (it ran under its study's settings, which the
fix study may have changed). After is the fix study's best trial other than the re-runs. The fix
lifted the plateau when the gain over the re-runs' mean exceeds the noise, and the noise is never
taken as less than one validation example's worth (``1 / n_val``): two re-runs that happen to agree
do not make any gain significant. Which fix made the difference is the winner's: an enqueued fix
trial's fix, or for a sampled trial the hyperparameters where it differs from the baseline.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from diagnose.lift_plan import BASELINE
from search.record.trial import TrialRecord, ranked

# The baseline runs a gain is measured against: at least two, or the noise is unmeasured.
MIN_BASELINE_RUNS = 2


@dataclass(frozen=True)
class Lift:
    metric: str  # the objective's column, e.g. val_macro_f1
    maximize: bool
    original: float | None  # the baseline's value where it ran (its study or its log)
    labels_before: tuple[str, ...]  # the baseline's diagnosis, which motivated the fixes
    reruns: tuple[TrialRecord, ...]  # the baseline's completed re-runs in the fix study
    winner: TrialRecord | None  # the fix study's best trial other than the re-runs
    carried_by: str  # what made the difference: a fix's name, or the changed hyperparameters
    floor: float  # one validation example's worth of the metric (the least noise assumed)

    @property
    def before(self) -> float | None:
        values = [r.value for r in self.reruns]
        return statistics.fmean(values) if len(values) >= MIN_BASELINE_RUNS else None

    @property
    def noise(self) -> float | None:
        values = [r.value for r in self.reruns]
        if len(values) < MIN_BASELINE_RUNS:
            return None
        return max(max(values) - min(values), self.floor)

    @property
    def gain(self) -> float | None:
        if self.before is None or self.winner is None:
            return None
        return (self.winner.value - self.before) * (1 if self.maximize else -1)

    @property
    def improved(self) -> bool:
        return self.gain is not None and self.gain > self.noise

    @property
    def labels_after(self) -> tuple[str, ...]:
        return self.winner.diagnosis.verdicts if self.winner and self.winner.diagnosis else ()

    def to_json(self) -> dict[str, Any]:
        """The numbers judged, as stored with the fix study (its user attribute ``lift``)."""
        return {"metric": self.metric, "maximize": self.maximize, "original": self.original,
                "reruns": [r.value for r in self.reruns], "before": self.before,
                "noise": self.noise, "after": self.winner.value if self.winner else None,
                "winner": self.winner.number if self.winner else None,
                "carried_by": self.carried_by, "gain": self.gain, "improved": self.improved,
                "labels_before": list(self.labels_before), "labels_after": list(self.labels_after),
                "gone": list(self.gone)}

    @property
    def gone(self) -> tuple[str, ...]:
        """The baseline's labels that the winner no longer carries."""
        return tuple(label for label in self.labels_before
                     if label != "healthy" and label not in self.labels_after)


def judge(records: Sequence[TrialRecord], roles: Mapping[int, str], baseline: Mapping[str, Any],
          original: float | None, labels_before: Sequence[str], metric: str,
          maximize: bool) -> Lift:
    """The ``Lift`` of a fix study's ``records`` (diagnosed), given each enqueued trial's role by
    number (``roles``: "baseline" or a fix's name) and the baseline's hyperparameters."""
    done = ranked(list(records), maximize)
    reruns = tuple(sorted((r for r in done if roles.get(r.number) == BASELINE),
                          key=lambda r: r.number))
    winner = next((r for r in done if roles.get(r.number) != BASELINE), None)
    carried = "" if winner is None else roles.get(winner.number) or _changed(winner, baseline)
    n_val = next((sum(r.class_counts["val"]) for r in records
                  if r.class_counts and r.class_counts.get("val")), 0)
    return Lift(metric, maximize, original, tuple(labels_before), reruns, winner, carried,
                1.0 / n_val if n_val else 0.0)


def _changed(record: TrialRecord, baseline: Mapping[str, Any]) -> str:
    """A sampled winner's hyperparameters where they differ from the baseline's."""
    moved = [f"{name} {_shown(baseline.get(name))} -> {_shown(value)}"
             for name, value in record.hparams.items()
             if value != baseline.get(name) and not (value is None and name not in baseline)]
    return "sampled: " + (", ".join(moved) if moved else "the baseline's hyperparameters")


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def exit_code(lift: Lift) -> int:
    """0: the fix lifted the objective beyond the noise; 1: it did not (or could not be measured)."""
    return 0 if lift.improved else 1


def lines(lift: Lift, baseline_name: str, study: str, roles: Mapping[int, str],
          records: Sequence[TrialRecord]) -> list[str]:
    """The before/after as plain lines (the command's output; the note renders them as markdown)."""
    m = lift.metric
    out = [f"before: {baseline_name} ({', '.join(lift.labels_before) or 'not judged'})"
           + (f": {m} {lift.original:.4f}" if lift.original is not None else "")]
    values = ", ".join(f"{r.value:.4f}" for r in lift.reruns) or "none completed"
    if lift.before is None:
        out.append(f"baseline re-runs in '{study}': {values}: fewer than {MIN_BASELINE_RUNS}, so "
                   f"the noise is not measured and no gain can be claimed")
    else:
        out.append(f"baseline re-runs in '{study}' (other seeds): {values}; mean {lift.before:.4f}, "
                   f"noise {lift.noise:.4f} (their spread, at least one validation example)")
    if lift.winner is None:
        out.append("after: no fix trial completed")
    else:
        verdict = "beyond the noise" if lift.improved else "within the noise"
        gain = f"{lift.gain:+.4f} over the re-runs' mean: {verdict}" if lift.gain is not None else ""
        out.append(f"after: trial #{lift.winner.number} ({lift.carried_by}): {m} "
                   f"{lift.winner.value:.4f}; {gain}".rstrip("; "))
        after = ", ".join(lift.labels_after) or "not judged"
        gone = (f"{', '.join(lift.gone)} gone" if lift.gone else
                "the baseline's labels remain" if set(lift.labels_before) - {"healthy"} else "")
        out.append(f"diagnosis: {', '.join(lift.labels_before)} -> {after}"
                   + (f" ({gone})" if gone else ""))
    trained = [r for r in records if r.history.rows]  # not the sampler's repeats, reused untrained
    repeats = len(records) - len(trained)
    out.append("trials:" + (f" ({repeats} more repeated an earlier trial's parameters and were not "
                            f"trained)" if repeats else ""))
    out += [f"  #{r.number:<3} {roles.get(r.number) or 'sampled':<24} "
            f"{'-' if r.value is None else f'{r.value:.4f}':>7}  "
            f"{r.diagnosis.label_text if r.diagnosis else r.state.lower()}" for r in trained]
    out.append(("lifted: " if lift.improved else "not lifted: ") +
               (f"{lift.carried_by} gained {lift.gain:+.4f} > noise {lift.noise:.4f}"
                if lift.improved else "no trial beat the baseline's re-runs by more than the noise"))
    return out


def markdown(lift: Lift, baseline_name: str, study: str, roles: Mapping[int, str],
             records: Sequence[TrialRecord]) -> list[str]:
    """The same as ``lines``, for the fix study's note in optuna-dashboard."""
    body = lines(lift, baseline_name, study, roles, records)
    trials = next(i for i, line in enumerate(body) if line.startswith("trials:"))
    return ["## Fix: before and after", "", *(f"- {line}" for line in body[:trials]), "",
            f"**{body[-1]}**", ""]
