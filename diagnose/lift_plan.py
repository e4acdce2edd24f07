"""The plan of a fix study (``run_study.py fix``): the baseline's study file with its diagnosis's fixes
applied, and the trials to run first in it.

A fix study answers "did the advice lift the plateau?", so its first trials are chosen, not sampled
(``study.enqueue_trial``, in this order):

1. the baseline itself, ``BASELINE_RUNS`` times with other seeds: its exact hyperparameters, pinned
   (``PINNED``), so the before is re-measured under the same seed protocol as the after, and its
   seed-to-seed spread is the noise a gain must beat;
2. one trial per fix: the baseline with that fix alone (a range's middle, the first value a fix adds,
   a knob scaled from the baseline's, its epochs doubled), pinned too, so a gain is the fix's own;
3. then the study's sampler searches the changed space, every fix at once, for the rest of the budget.

A change no single trial can carry (``early_stopping``, ``objective``) applies to every trial.
Plain data in, plain data out: validating the plan's study file is ``search.config``'s job (the
command line does it, fix by fix, and leaves out a fix whose study file does not validate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from diagnose.fixes import FIXES, apply_changes
from search.record.diagnosis import Change, Diagnosis, Fix
from search.record.trial import PINNED

# Re-runs of the baseline with other seeds: two give a spread (with the original run, three values),
# the least that measures noise at all (the ">= 2 seeds").
BASELINE_RUNS = 2
# Trials the sampler adds after the enqueued ones, by default (a small TPE search around the fixes).
SEARCH_TRIALS = 4
# The user attribute of an enqueued trial that says what it tries ("baseline" or a fix's name); its
# hyperparameters are pinned (``search.record.trial.PINNED``), whatever the space would sample.
ROLE = "fix"
BASELINE = "baseline"
# A fix study does not prune: each of its trials is a deliberate comparison, cut short it says nothing.
PRUNER = "none"


@dataclass(frozen=True)
class Enqueued:
    """A trial to run first: its Optuna params (the rest is sampled) and user attributes."""

    role: str  # "baseline" or the fix's name
    params: Mapping[str, Any] = field(default_factory=dict)  # Optuna's; pinned trials have none
    user_attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FixPlan:
    name: str  # the fix study's name
    study_file: dict[str, Any]  # the baseline's study file with the fixes' changes, renamed
    fixes: tuple[Fix, ...]  # the fixes tried, in the order of the diagnosis
    trials: tuple[Enqueued, ...]  # the baseline runs, then one trial per fix
    left_out: tuple[str, ...] = ()  # fixes not tried, and why ("ensemble: no change to the space")


def direct_fixes(diagnosis: Diagnosis) -> tuple[Fix, ...]:
    """Every fix of every label of ``diagnosis`` that changes the study file, in the diagnosis's
    order (a fix two labels share once)."""
    chosen: list[Fix] = []
    for finding in diagnosis.findings:
        chosen += [f for f in finding.fixes if f.changes and f.name not in {c.name for c in chosen}]
    return tuple(chosen)


def fix_study_file(config: Mapping[str, Any], name: str, fixes: Sequence[Fix], seed: int,
                   n_trials: int | None) -> dict[str, Any]:
    """``config`` with the changes of ``fixes``, named ``name``, seeded ``seed`` (trial k trains with
    seed + k: other seeds than the baseline's study used), unpruned, with ``n_trials`` trials."""
    edited = apply_changes(config, [c for fix in fixes for c in fix.changes])
    study = edited.pop("study", None)
    study = {**(study if isinstance(study, dict) else {}), "name": name, "seed": seed}
    budget = edited.get("budget") if isinstance(edited.get("budget"), dict) else {}
    return {"study": study, **edited, "budget": {**budget, "n_trials": n_trials}, "pruner": PRUNER}


def baseline_trials(hparams: Mapping[str, Any], max_epochs: int | None,
                    runs: int = BASELINE_RUNS) -> tuple[Enqueued, ...]:
    """The baseline's re-runs: pinned to its hyperparameters and epochs, each its own trial (a
    pinned trial is never a repeat: ``search.objective.repeated``), trained with its own seed."""
    return tuple(Enqueued(BASELINE, {}, {ROLE: BASELINE, PINNED: {
        "hparams": dict(hparams), "max_epochs": max_epochs, "label": f"baseline re-run {i + 1}"}})
        for i in range(runs))


def fix_trial(fix: Fix, config: Mapping[str, Any], hparams: Mapping[str, Any]) -> Enqueued | None:
    """The trial that tries ``fix`` alone: the baseline's hyperparameters and epochs with that fix's
    changes (a range's middle, the first value it adds, a knob scaled from the baseline's), pinned,
    so that a gain is the fix's. None when the fix changes nothing one trial could try alone (it
    changes every trial's settings, e.g. early stopping)."""
    changes = _as_tried(fix)
    edited = apply_changes(config, changes)
    arch = hparams.get("architecture")
    specs = {**(edited.get("space") or {}),
             **{f"{arch}.{k}": v for k, v in ((edited.get("models") or {}).get(arch) or {}).items()}}
    tried = dict(hparams)
    for change in changes:
        name = _param_name(change.key, arch)
        if name is None or name not in specs:
            continue
        value = (_tried_value(change, hparams.get(name), specs[name]) if _searched(specs[name])
                 else specs[name])
        if value is not None:
            tried[name] = value
    epochs = (edited.get("budget") or {}).get("max_epochs")
    if tried == dict(hparams) and epochs == (config.get("budget") or {}).get("max_epochs"):
        return None
    return Enqueued(fix.name, {}, {ROLE: fix.name, PINNED: {
        "hparams": tried, "max_epochs": epochs, "label": f"fix {fix.name}"}})


def plan(config: Mapping[str, Any], name: str, fixes: Sequence[Fix], hparams: Mapping[str, Any],
         seed: int, n_trials: int | None, left_out: Sequence[str] = ()) -> FixPlan:
    """The fix study: its file and the trials to enqueue (``fix_study_file``, ``baseline_trials``,
    ``fix_trial``); a fix no single trial can try is said to apply to every trial."""
    study_file = fix_study_file(config, name, fixes, seed, n_trials)
    max_epochs = (config.get("budget") or {}).get("max_epochs")
    tried = [(fix, fix_trial(fix, config, hparams)) for fix in fixes]
    study_wide = [f"{fix.name} (changes every trial: {', '.join(c.key for c in fix.changes)})"
                  for fix, trial in tried if trial is None]
    trials = baseline_trials(hparams, max_epochs) + tuple(t for _, t in tried if t is not None)
    return FixPlan(name, study_file, tuple(fixes), trials, (*left_out, *study_wide))


def _as_tried(fix: Fix) -> tuple[Change, ...]:
    """The changes a trial that tries ``fix`` makes: the fix's (tailored to the study), and the
    table's ``include``s that tailoring left out because the study already offers the values (a trial
    trying focal loss takes loss focal, though the study's choices have it already)."""
    table = next((f for fixes in FIXES.values() for f in fixes if f.name == fix.name), None)
    keys = {c.key for c in fix.changes}
    return fix.changes + tuple(c for c in (table.changes if table else ())
                               if c.op == "include" and c.key not in keys)


def representative(spec: Any) -> Any:
    """The value a study-file entry stands for when one value is needed (a log's run, whose settings
    the study file reproduces): a fixed value; the first choice; a range's middle."""
    if not isinstance(spec, dict):
        return spec
    if "choices" in spec:
        return spec["choices"][0]
    return _middle(spec)


def nearest(spec: Any, value: Any) -> Any:
    """The value of ``spec`` (a range or choices) nearest ``value``: itself when allowed, a range's
    end, the first choice when no choice equals it; None for a fixed spec (nothing to sample)."""
    if not _searched(spec):
        return None
    if "choices" in spec:
        return value if value in spec["choices"] else spec["choices"][0]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return min(max(value, spec["low"]), spec["high"])


def _searched(spec: Any) -> bool:
    return isinstance(spec, dict) and ("choices" in spec or "low" in spec)


def _param_name(key: str, arch: Any) -> str | None:
    """The Optuna param a study-file key samples: ``space.lr`` -> ``lr``, ``models.*.width`` ->
    ``c3d.width`` for a c3d baseline; None for a key outside the space (budget, objective, ...)."""
    parts = key.split(".")
    if parts[0] == "space" and len(parts) == 2:
        return parts[1]
    if parts[0] == "models" and len(parts) == 3 and parts[1] in ("*", arch):
        return f"{arch}.{parts[2]}"
    return None


def _tried_value(change: Change, current: Any, spec: Mapping[str, Any]) -> Any:
    """The value of the param a trial that tries ``change`` takes, within ``spec``."""
    if change.op == "set" and isinstance(change.value, dict) and "low" in change.value:
        return nearest(spec, _middle(change.value))
    if change.op == "set" and isinstance(change.value, dict) and "choices" in change.value:
        fresh = [v for v in change.value["choices"] if v != current]
        return nearest(spec, (fresh or change.value["choices"])[0])
    if change.op == "include":
        fresh = [v for v in change.value if v != current]
        return nearest(spec, fresh[0]) if fresh else None
    if change.op == "scale" and isinstance(current, (int, float)) and not isinstance(current, bool):
        scaled = current * change.value
        scaled = max(1, round(scaled)) if isinstance(current, int) else scaled
        if "choices" in spec:  # the scaled choice nearest the scaled value
            numbers = [c for c in spec["choices"] if isinstance(c, (int, float))]
            return min(numbers, key=lambda c: abs(c - scaled)) if numbers else None
        return nearest(spec, scaled)
    return None


def _middle(spec: Mapping[str, Any]) -> Any:
    """A range's middle: geometric on a log scale; an integer range's rounded."""
    low, high = spec["low"], spec["high"]
    middle = math.sqrt(low * high) if spec.get("log") else (low + high) / 2
    return round(middle) if isinstance(low, int) and isinstance(high, int) else middle
