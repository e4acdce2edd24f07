"""The markdown notes: a trial's (labels, evidence, fixes) and the study's (counts, best trial, and a
next study file that really loads)."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from curve_cases import HEALTHY, OVERFIT, UNDERFIT, history, per_class
from diagnose.dashboard.notes import CODE_WIDTH, MAX_FIXES, next_fixes, study_note, trial_note
from diagnose.diagnosis import diagnose
from diagnose.fixes import FIXES
from search.config import load_study_config
from search.record.diagnosis import Diagnosis, Finding, Fix
from search.record.history import History
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord
from tiny import TINY_STUDY

STORAGE = StorageUrl.parse("sqlite:///runs/plateau.db")


def coded(fix: Fix) -> str:
    """How a note writes a fix's change: each study-file edit as code of its own, else prose."""
    return "; ".join(f"`{c.text()}`" for c in fix.changes) if fix.changes else fix.text()


def _overfit() -> History:
    return history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])


def _stuck() -> History:
    return history(**UNDERFIT["stuck near chance"][0])


def _slow() -> History:  # underfit, still learning: step size first, and a "still improving" note
    return history(**UNDERFIT["bottleneck: plateaued at 60%"][0])


def _underfit_and_imbalanced() -> History:  # the majority classes are not fitted either
    h = _slow()
    h.per_class = per_class([200, 200, 10], [0.62, 0.6, 0.1])
    return h


def _diverged() -> History:
    nan = float("nan")
    return history(train_loss=[2.3, 1.9, nan, nan], train_accuracy=[0.2, 0.3, nan, nan])


def _healthy() -> History:
    return history(**HEALTHY)


def _too_short() -> History:
    return history(train_loss=[2.3], val_loss=[2.2], train_accuracy=[0.2], val_accuracy=[0.2])


CASES = {"overfit": _overfit, "underfit": _stuck, "slow underfit": _slow,
         "underfit, imbalanced": _underfit_and_imbalanced, "diverged": _diverged,
         "healthy": _healthy, "not judged": _too_short}


def _note(build, **facts) -> tuple[str, Diagnosis, History]:
    h = build()
    d = diagnose(h)
    return trial_note(TrialRecord(7, "COMPLETE", 0.5, {}, h, diagnosis=d, **facts)), d, h


# --- trial notes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case, labels", [
    ("overfit", "overfit"), ("underfit, imbalanced", "underfit, imbalanced"),
    ("healthy", "healthy"), ("not judged", "not judged")])
def test_the_title_names_the_trial_and_its_labels(case, labels):
    note, _, _ = _note(CASES[case])
    assert note.splitlines()[0] == f"## Trial 7: {labels}"


@pytest.mark.parametrize("case", ["overfit", "underfit, imbalanced", "diverged", "slow underfit"])
def test_every_finding_has_its_heading_summary_and_evidence_table(case):
    note, d, _ = _note(CASES[case])
    assert d.findings
    for finding in d.findings:
        assert f"### {finding.label} (confidence {finding.confidence:.2f})" in note
        assert finding.summary in note
        for key in finding.evidence:
            assert re.search(rf"^\| {re.escape(key)} \| .+ \|$", note, re.M), key


def test_evidence_numbers_are_shortened_and_other_values_shown_as_they_are():
    note, d, _ = _note(_overfit)
    evidence = d.findings[0].evidence
    assert "| accuracy_gap | 0.1842 |" in note
    assert f"| generalization_loss | {evidence['generalization_loss']:.4g} |" in note
    assert "| validation_stopped_improving | True |" in note
    assert "| best_val_accuracy_epoch | 20 |" in note


def test_fixes_are_numbered_in_table_order_and_cut_at_max_fixes():
    note, d, _ = _note(_overfit)
    fixes = d.findings[0].fixes
    assert len(fixes) > MAX_FIXES  # the overfit table is longer than a note lists
    lines = [line for line in note.splitlines() if re.match(r"^\d+\. \*\*", line)]
    assert [line.split(". ", 1)[0] for line in lines] == [str(i) for i in range(1, MAX_FIXES + 1)]
    for i, (line, fix) in enumerate(zip(lines, fixes), 1):
        assert line == f"{i}. **{fix.name}**: {coded(fix)}. {fix.reason}"
    for fix in fixes[MAX_FIXES:]:
        assert f"**{fix.name}**" not in note


def test_each_label_gets_its_own_numbered_fixes():
    note, d, _ = _note(_underfit_and_imbalanced)
    underfit, imbalanced = note.split("### imbalanced")
    assert f"1. **{d.findings[0].fixes[0].name}**" in underfit
    assert f"1. **{d.findings[1].fixes[0].name}**" in imbalanced
    assert d.findings[1].fixes[0].name == "macro_f1_objective"


def test_notes_and_unjudged_rules_are_listed():
    note, d, _ = _note(_slow)
    (still,) = [n for n in d.notes if n.label == "still_improving"]
    line = next(line for line in note.splitlines() if line.startswith("- note, still_improving: "))
    assert still.summary in line
    if still.fixes:
        assert f"Try **{still.fixes[0].name}**: {coded(still.fixes[0])}." in line
    assert f"- not judged, imbalanced: {d.not_judged['imbalanced']}" in note


def test_a_run_that_could_not_be_judged_says_why_for_every_rule():
    note, d, _ = _note(_too_short)
    assert "###" not in note  # no finding, no fixes
    for rule, reason in d.not_judged.items():
        assert f"- not judged, {rule}: {reason}" in note


@pytest.mark.parametrize("facts, header", [
    ({"stop_reason": "completed 20 epochs"}, "completed 20 epochs"),
    ({"stop_reason": "pruned at epoch 20 by HyperbandPruner", "param_count": 1234567},
     "pruned at epoch 20 by HyperbandPruner · 1,234,567 trainable parameters"),
    ({"stop_reason": "failed: CUDA out of memory"}, "failed: CUDA out of memory · 20 epochs run"),
    ({}, "20 epochs run"),
    ({"param_count": 812}, "20 epochs run · 812 trainable parameters"),
], ids=["completed", "pruned with params", "failed", "no facts", "params only"])
def test_the_header_shows_the_stop_reason_and_the_epoch_count_once(facts, header):
    note, _, h = _note(_overfit, **facts)
    assert len(h.rows) == 20
    assert note.splitlines()[2] == header  # exactly: no "20 epochs run" after a reason naming one


def test_a_trial_note_ends_with_one_newline():
    for build in CASES.values():
        note, _, _ = _note(build)
        assert note.endswith("\n") and not note.endswith("\n\n")


# --- next fixes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case, names", [
    ("overfit", ["dropout"]),
    ("underfit", ["capacity"]),
    ("slow underfit", ["learning_rate"]),
    ("underfit, imbalanced", ["learning_rate", "macro_f1_objective"]),
    ("diverged", ["lower_learning_rate"]),
    ("healthy", []),
    ("not judged", []),
])
def test_next_fixes_are_the_first_fix_of_each_label(case, names):
    d = diagnose(CASES[case]())
    assert [f.name for f in next_fixes(d)] == names


def _fix(label: str, name: str):
    return next(f for f in FIXES[label] if f.name == name)


def test_next_fixes_skip_steps_outside_the_search_space_and_repeats():
    ensemble, dropout = _fix("overfit", "ensemble"), _fix("overfit", "dropout")
    weight_decay = _fix("overfit", "weight_decay")
    assert not ensemble.changes
    d = Diagnosis(("overfit", "imbalanced"), (
        Finding("overfit", 0.5, "", {}, (ensemble, dropout)),
        Finding("imbalanced", 0.5, "", {}, (dropout, weight_decay))))
    assert next_fixes(d) == [dropout, weight_decay]
    only_outside = Diagnosis(("overfit",), (Finding("overfit", 0.5, "", {}, (ensemble,)),))
    assert next_fixes(only_outside) == []


# --- study notes ---------------------------------------------------------------------------------

def _run(number: int, state: str, value: float | None, case: str) -> TrialRecord:
    history = CASES[case]()
    return TrialRecord(number, state, value, {}, history, diagnosis=diagnose(history))


def _yaml_block(note: str) -> str | None:
    match = re.search(r"^```yaml\n(.*?)\n```$", note, re.S | re.M)
    return match.group(1) if match else None


def test_the_study_note_counts_trials_by_state_and_by_diagnosis():
    trials = [_run(0, "COMPLETE", 0.6, "overfit"), _run(1, "COMPLETE", 0.7, "overfit"),
              _run(2, "PRUNED", None, "underfit, imbalanced"), _run(3, "FAIL", None, "not judged"),
              _run(4, "COMPLETE", 0.5, "healthy")]
    note = study_note("gestures", trials, trials[1], "val_macro_f1", TINY_STUDY, STORAGE)
    assert note.startswith("# Study gestures\n")
    assert "5 trials: 3 complete, 1 pruned, 1 fail." in note
    diagnoses = next(line for line in note.splitlines() if line.startswith("Diagnoses: "))
    why = " (a trial can have more than one label)."  # 6 labels on 5 trials
    assert diagnoses.endswith(why)
    counts = dict(part.rsplit(" ", 1) for part in diagnoses.removeprefix("Diagnoses: ")
                  .removesuffix(why).split(", "))
    assert counts == {"overfit": "2", "underfit": "1", "imbalanced": "1", "not judged": "1",
                      "healthy": "1"}
    assert diagnoses.startswith("Diagnoses: overfit 2, ")  # most common first
    assert "**Best trial #1**: val_macro_f1 = 0.7, diagnosed **overfit**." in note


@pytest.mark.parametrize("case, edits", [
    ("overfit", lambda raw: raw["space"]["dropout"] == {"low": 0.3, "high": 0.6}),
    ("underfit", lambda raw: (raw["models"]["c3d"] == {"width": 8, "depth": 2}
                              and raw["models"]["convlstm"] == {"hidden_channels": 8})),
    ("slow underfit", lambda raw: raw["space"]["lr"] == {"low": 1e-3, "high": 3e-2, "log": True}),
    ("underfit, imbalanced", lambda raw: (raw["space"]["lr"]["high"] == 3e-2
                                          and raw["objective"] == "val_macro_f1")),
    ("diverged", lambda raw: raw["space"]["lr"] == pytest.approx(
        {"low": 1e-5, "high": 1e-1, "log": True})),
])
def test_the_next_study_file_in_the_note_loads_and_carries_the_fixes(case, edits, tmp_path):
    stored = copy.deepcopy(TINY_STUDY)
    best = _run(3, "COMPLETE", 0.42, case)
    note = study_note("tiny", [best], best, "val_macro_f1", stored, STORAGE)
    assert stored == TINY_STUDY  # the stored config is not edited in place
    assert "## What to try next" in note
    for i, fix in enumerate(next_fixes(best.diagnosis), 1):
        assert f"{i}. **{fix.name}**: {coded(fix)}. {fix.reason}" in note
    text = _yaml_block(note)
    assert text is not None
    path = tmp_path / "next.yaml"
    path.write_text(text + "\n")
    config = load_study_config(path)
    assert config.name == "tiny-next"
    assert edits(yaml.safe_load(text))
    assert config.data.kind == TINY_STUDY["data"]["kind"]
    assert "python run_study.py run next.yaml --storage sqlite:///runs/plateau.db" in note.splitlines()


def test_without_a_stored_study_file_the_note_lists_the_fixes_but_no_yaml():
    best = _run(0, "COMPLETE", 0.5, "overfit")
    note = study_note("plain", [best], best, "value", None, STORAGE)
    assert "1. **dropout**" in note
    assert "```" not in note and "run_study.py" not in note


@pytest.mark.parametrize("case", ["healthy", "not judged"])
def test_a_best_trial_with_nothing_to_fix_gets_the_no_problem_sentence(case):
    best = _run(0, "COMPLETE", 0.9, case)
    note = study_note("tiny", [best], best, "val_macro_f1", TINY_STUDY, STORAGE)
    assert "shows no problem the fix table addresses" in note
    assert "What to try next" not in note and "```yaml" not in note
    assert note.endswith("\n") and not note.endswith("\n\n")


def test_a_study_without_a_completed_trial_says_so():
    trials = [_run(0, "PRUNED", None, "underfit"), _run(1, "FAIL", None, "diverged")]
    note = study_note("tiny", trials, None, "val_macro_f1", TINY_STUDY, STORAGE)
    assert note.rstrip().endswith("No trial has completed yet.")
    assert "2 trials: 1 pruned, 1 fail." in note
    assert "Best trial" not in note and "```" not in note


def test_code_in_a_study_note_keeps_to_the_width_the_dashboard_shows_without_cutting():
    """optuna-dashboard cuts code blocks off at the right of the note: the study file and the
    command that runs it (a long storage path included) keep to CODE_WIDTH columns, and the
    command still reads as one command."""
    long = StorageUrl.parse("sqlite:///" + "/long-folder-name" * 3 + "/plateau.db")
    best = _run(3, "COMPLETE", 0.42, "overfit")
    note = study_note("tiny", [best], best, "val_macro_f1", TINY_STUDY, long)
    blocks = re.findall(r"^```\w*\n(.*?)\n```$", note, re.S | re.M)
    assert len(blocks) == 2
    assert all(len(line) <= CODE_WIDTH for block in blocks for line in block.splitlines())
    assert blocks[1].replace(" \\\n  ", " ") == f"python run_study.py run next.yaml --storage {long.url}"
    for fix_line in (line for line in note.splitlines() if re.match(r"^\d+\. \*\*", line)):
        assert all(len(span) <= CODE_WIDTH for span in re.findall(r"`([^`]*)`", fix_line))
