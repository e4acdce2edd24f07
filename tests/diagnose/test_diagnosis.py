"""How the rules' results become a diagnosis: precedence, `healthy`, notes, fixes, JSON; and, once
stored with a trial, the numbers it judged are the ones shown, and it is not computed again."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import pytest

import run_study
from curve_cases import HEALTHY, NAN, OVERFIT, UNDERFIT, falling, history, per_class, rising
from diagnose import diagnosis as diagnosis_module
from diagnose.diagnosis import RunContext, diagnose
from diagnose.fixes import FIXES, apply_changes
from diagnose.rules import RULES
from search.record.diagnosis import Diagnosis
from search.record.trial import TrialRecord


def test_healthy_only_when_nothing_fired_and_the_curves_were_judged():
    d = diagnose(history(**HEALTHY))
    assert d.labels == ("healthy",) and d.findings == ()
    assert set(d.not_judged) == {"imbalanced"}


def test_no_validation_metrics_means_not_judged_rather_than_healthy():
    d = diagnose(history(train_loss=falling(1.0, 0.05, 10), train_accuracy=rising(0.6, 0.99, 10)))
    assert d.labels == ()
    assert "no validation metrics" in d.not_judged["overfit"]


def test_a_short_history_is_said_to_be_too_short():
    d = diagnose(history(train_loss=[2.3], val_loss=[2.2], train_accuracy=[0.2],
                         val_accuracy=[0.2]))
    assert d.labels == ()
    assert all("too short" in d.not_judged[rule] for rule in ("diverged", "overfit", "underfit"))


def test_diverged_takes_precedence_over_underfit():
    d = diagnose(history(train_loss=[14.3, 14.5, 14.5, 14.5], val_loss=[14.5] * 4,
                         train_accuracy=[0.1] * 4, val_accuracy=[0.1] * 4))
    assert d.labels == ("diverged",)
    assert [n.label for n in d.notes] == []  # no "train longer" after a blow-up


# Runs where two rules fire on one cause: only the label that names the cause is given.
SUPERSEDED = {
    # Fitted well, then the loss grew geometrically: the validation/training loss ratio and the
    # accuracy gap of the last epochs measure the blow-up.
    "fit, then the loss grew geometrically and blew up": (dict(
        train_loss=falling(1.0, 0.05, 8) + [0.5, 5.0, 50.0, 500.0],
        val_loss=falling(1.0, 0.2, 8) + [2.0, 40.0, 800.0, 9000.0],
        train_accuracy=rising(0.6, 0.99, 8) + [0.9, 0.5, 0.3, 0.3],
        val_accuracy=rising(0.6, 0.9, 8) + [0.5, 0.2, 0.1, 0.1]), None, ("diverged",)),
    "overfit, then NaN": (dict(
        train_loss=falling(1.0, 0.001, 12) + [NAN], val_loss=falling(1.0, 0.5, 4) + rising(0.5, 2.0, 9),
        train_accuracy=rising(0.6, 1.0, 13), val_accuracy=rising(0.6, 0.75, 4) + [0.75] * 9),
        None, ("diverged",)),
    "imbalanced with the majority fitted: not underfit": (dict(
        train_loss=falling(1.2, 0.45, 12), val_loss=falling(1.2, 0.5, 12),
        train_accuracy=rising(0.5, 0.86, 12), val_accuracy=rising(0.5, 0.84, 12)),
        ([300, 300, 20], [0.95, 0.93, 0.05]), ("imbalanced",)),
    "imbalanced and the majority not fitted either: both": (dict(
        train_loss=falling(1.2, 0.9, 12), val_loss=falling(1.2, 0.95, 12),
        train_accuracy=rising(0.4, 0.62, 12), val_accuracy=rising(0.4, 0.6, 12)),
        ([300, 300, 20], [0.66, 0.62, 0.05]), ("underfit", "imbalanced")),
}


@pytest.mark.parametrize("columns, counts_recall, labels", SUPERSEDED.values(), ids=SUPERSEDED.keys())
def test_one_label_for_one_cause(columns, counts_recall, labels):
    h = history(**columns)
    if counts_recall is not None:
        h.per_class = per_class(*counts_recall)
    assert diagnose(h).labels == labels


def test_labels_combine_and_come_with_their_fixes_in_table_order():
    h = history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])
    h.per_class = per_class([200, 200, 10], [0.95, 0.95, 0.1])
    d = diagnose(h)
    assert d.labels == ("overfit", "imbalanced")
    assert [f.name for f in d.findings[0].fixes] == [f.name for f in FIXES["overfit"]]
    assert d.findings[1].fixes[0].name == "macro_f1_objective"


def test_an_underfit_model_still_learning_gets_step_size_before_capacity():
    slow = diagnose(history(train_loss=falling(2.3, 1.6, 10), val_loss=falling(2.3, 1.65, 10),
                            train_accuracy=rising(0.1, 0.45, 10), val_accuracy=rising(0.1, 0.44, 10)))
    stuck = diagnose(history(**UNDERFIT["stuck near chance"][0]))
    assert [f.name for f in slow.findings[0].fixes[:2]] == ["learning_rate", "train_longer"]
    assert stuck.findings[0].fixes[0].name == "capacity"
    # stuck at chance from its first epoch: nothing says its steps were too small
    assert not {"learning_rate", "train_longer"} & {f.name for f in stuck.findings[0].fixes}
    assert "still_improving" in [n.label for n in slow.notes]


def test_a_recovered_spike_is_a_note_with_its_own_fix():
    d = diagnose(history(train_loss=[1.0, 0.5, 40.0, 0.3, 0.1, 0.05],
                         val_loss=[1.0, 0.6, 30.0, 0.35, 0.2, 0.15],
                         train_accuracy=[0.6, 0.8, 0.3, 0.9, 0.96, 0.98],
                         val_accuracy=[0.6, 0.8, 0.3, 0.88, 0.94, 0.96]))
    assert "diverged" not in d.labels
    spike = next(n for n in d.notes if n.label == "loss_spike")
    assert spike.epochs == (3,) and spike.fixes[0].name == "gradient_clipping"


def test_json_is_plain_and_complete():
    h = history(train_loss=[2.3, math.nan, math.nan], train_accuracy=[0.1, 0.1, 0.1])
    out = json.loads(json.dumps(diagnose(h).to_json(), allow_nan=False))
    assert out["labels"] == ["diverged"]
    (finding,) = out["findings"]
    assert set(finding) >= {"label", "confidence", "evidence", "fixes"}
    assert finding["evidence"] == {"first_nonfinite_epoch": 2}
    first_fix = finding["fixes"][0]
    assert first_fix["name"] == "lower_learning_rate"
    assert first_fix["changes"] == [{"op": "set", "key": "space.lr",
                                     "value": {"low": 1e-5, "high": 0.1, "log": True}}]
    assert first_fix["change"] == "space.lr: search [1e-05, 0.1] (log scale)" and first_fix["reason"]


def test_oscillation_is_judged_against_the_loss_range_not_its_level():
    wobbly = [1.0, 1.6, 0.9, 1.5, 0.8, 1.4, 0.85, 1.5]
    converged = list(falling(2.0, 0.06, 12)) + [0.05, 0.06, 0.045, 0.055, 0.05, 0.06]
    assert "oscillating" in [n.label for n in diagnose(history(train_loss=wobbly)).notes]
    assert "oscillating" not in [n.label for n in diagnose(history(train_loss=converged)).notes]


# --- one number for each quantity, and a diagnosis computed once -----------------------------------

def _stored(tmp_path, records: list[TrialRecord]) -> str:
    """A real SQLite study whose trials hold ``records`` as the study runner writes them."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    study.add_trials([optuna.trial.create_trial(
        value=r.value, params={"lr": 0.01}, user_attrs=r.user_attrs(),
        distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1.0)}) for r in records])
    return url


# The last epoch would say otherwise: a gap of 0.07 (overfit's end is 0.19 from its last 3 epochs);
# 0.19 (underfit's curves end level: a gap of 0 by their last 3 epochs).
GAP_CASES = {
    "overfit": dict(train_loss=falling(1.2, 0.01, 12), val_loss=[1.1, 0.8, 0.6, 0.5, 0.45, 0.45, 0.5,
                                                                 0.55, 0.6, 0.65, 0.7, 0.75],
                    train_accuracy=rising(0.6, 0.99, 9) + [0.99, 1.0, 0.87],
                    val_accuracy=rising(0.6, 0.8, 6) + [0.8] * 6),
    "underfit": dict(train_loss=falling(2.3, 1.5, 8), val_loss=falling(2.3, 1.55, 8),
                     train_accuracy=rising(0.2, 0.6, 5) + [0.6, 0.6, 0.79],
                     val_accuracy=rising(0.2, 0.6, 5) + [0.6, 0.6, 0.6]),
}


@pytest.mark.parametrize("label", GAP_CASES)
def test_the_gap_the_dashboard_shows_is_the_one_the_rule_judged(label, tmp_path):
    h = history(**GAP_CASES[label])
    last_epoch_gap = h.rows[-1]["train_accuracy"] - h.rows[-1]["val_accuracy"]
    url = _stored(tmp_path, [TrialRecord(0, "COMPLETE", 0.8, {}, h, diagnosis=diagnose(h))])
    (trial,) = optuna.load_study(study_name="s", storage=url).trials
    finding = next(f for f in TrialRecord.from_frozen_trial(trial).diagnosis.findings
                   if f.label == label)
    assert trial.user_attrs["generalization_gap"] == finding.evidence["accuracy_gap"]
    assert abs(trial.user_attrs["generalization_gap"] - last_epoch_gap) > 0.1  # not the last epoch's
    if label == "underfit":
        assert trial.user_attrs["final_train_accuracy"] == finding.evidence["train_accuracy_end"]
        assert trial.user_attrs["final_val_accuracy"] == finding.evidence["val_accuracy_end"]


def _counting_rules(monkeypatch) -> list[str]:
    """Make every rule note its name in the returned list each time it runs."""
    calls: list[str] = []

    def counted(name, rule):
        return lambda curves: calls.append(name) or rule(curves)

    monkeypatch.setattr(diagnosis_module, "RULES",
                        {name: counted(name, rule) for name, rule in RULES.items()})
    return calls


@pytest.mark.parametrize("command", [
    ["diagnose", "--json"], ["diagnose"], ["diagnose", "--update-dashboard"],
    ["diagnose", "--report", "{tmp}/report.html"], ["table"], ["table", "--csv", "{tmp}/t.csv"]],
    ids=["diagnose json", "diagnose text", "update dashboard", "report", "table", "table csv"])
def test_a_stored_diagnosis_is_read_back_and_only_older_trials_are_diagnosed(command, tmp_path,
                                                                            monkeypatch, capsys):
    overfit = history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])
    # Trial 0's stored diagnosis is not what the rules would say of its curves: reading it back,
    # not recomputing it, is the only way to show "healthy". Trial 1 was stored before plateau kept
    # diagnoses, so it is diagnosed now.
    url = _stored(tmp_path, [
        TrialRecord(0, "COMPLETE", 0.8, {}, overfit, diagnosis=Diagnosis(("healthy",), ())),
        TrialRecord(1, "COMPLETE", 0.7, {}, overfit)])
    calls = _counting_rules(monkeypatch)
    args = [part.format(tmp=tmp_path) for part in command]
    assert run_study.main([args[0], "--storage", url, "--study", "s", *args[1:]]) == 0
    assert sorted(calls) == sorted(RULES)  # every rule once: for trial 1 only
    out = capsys.readouterr().out
    if "--json" in command:
        assert [t["labels"] for t in json.loads(out)["trials"]] == [["healthy"], ["overfit"]]
    elif command == ["table"]:
        assert [line.split("|")[-2].strip() for line in out.splitlines()[2:]] == ["healthy",
                                                                                  "overfit"]


def test_no_stored_fix_of_a_real_study_proposes_what_the_study_already_has(write_study, tmp_path):
    """A real small study: every change of every fix stored with every trial's diagnosis edits the
    study file the trial ran under (applied to it, the file is different)."""
    url = f"sqlite:///{tmp_path / 'fixes.db'}"
    path = write_study({"budget": {"n_trials": 4, "max_epochs": 4},
                        "data": {"imbalance_ratio": 4.0, "clips_per_class": 16}})
    assert run_study.main(["run", str(path), "--storage", url]) == 0
    study = optuna.load_study(study_name="tiny", storage=url)
    stored = study.user_attrs["config"]
    records = [TrialRecord.from_frozen_trial(t) for t in study.trials]
    fixes = [fix for r in records for f in (*r.diagnosis.findings, *r.diagnosis.notes)
             for fix in f.fixes]
    assert fixes  # the tiny study's trials do get advice
    for fix in fixes:
        for change in fix.changes:
            assert apply_changes(stored, (change,)) != apply_changes(stored, ()), (fix.name, change)


def _plateaued_at(accuracy: float) -> dict:
    """A run that plateaued with training and validation accuracy both ending at ``accuracy``."""
    return dict(train_loss=falling(1.5, 0.4, 6) + [0.4] * 6, val_loss=falling(1.4, 0.42, 6) + [0.42] * 6,
                train_accuracy=rising(0.5, accuracy, 6) + [accuracy] * 6,
                val_accuracy=rising(0.5, accuracy - 0.005, 6) + [accuracy - 0.005] * 6)


@pytest.mark.parametrize("accuracy, reached, labels, confidence, words", [
    (0.885, None, ("underfit",), (0.25, 0.5), "borderline: within 0.03 of it"),
    (0.885, 0.97, ("underfit",), (0.25, 0.5), "another trial of this study had ended at 0.97 by then"),
    (0.885, 0.89, ("healthy",), None, None),  # where every configuration of the study ends
    (0.60, None, ("underfit",), (0.5, 1.0), "(both below 0.9)"),
    (0.60, 0.65, ("underfit",), (0.5, 1.0), "no trial of this study had ended above 0.65 by then"),
    (0.60, 0.97, ("underfit",), (0.5, 1.0), "another trial of this study had ended at 0.97 by then"),
    (0.8996, None, ("underfit",), (0.25, 0.27), "borderline"),  # just under the line: barely
    (0.91, None, ("healthy",), None, None),
], ids=["borderline alone", "borderline, others fitted", "borderline, nobody fitted",
        "far below alone", "far below, nobody fitted", "far below, others fitted",
        "a hair under the line", "above the line"])
def test_underfit_has_a_margin_band_and_is_judged_against_the_study(accuracy, reached, labels,
                                                                    confidence, words):
    d = diagnose(history(**_plateaued_at(accuracy)), RunContext(reached=reached))
    assert d.labels == labels
    if confidence is not None:
        (finding,) = d.findings
        assert confidence[0] <= finding.confidence <= confidence[1]
        assert words in finding.summary
        assert finding.evidence["borderline"] == (accuracy >= 0.87)
        if reached is not None:
            assert finding.evidence["study_best_accuracy"] == reached


def test_the_confidence_of_underfit_rises_without_a_step_across_the_band():
    confidences = [diagnose(history(**_plateaued_at(a))).findings[0].confidence
                   for a in np.arange(0.895, 0.55, -0.005)]
    assert confidences == sorted(confidences)
    assert max(np.diff(confidences)) < 0.06  # no cliff where the band ends


def test_a_stored_study_judges_a_borderline_trial_against_its_other_trials():
    low, high = history(**_plateaued_at(0.885)), history(**_plateaued_at(0.97))
    records = [TrialRecord(0, "COMPLETE", 0.97, {}, high), TrialRecord(1, "COMPLETE", 0.88, {}, low)]
    assert diagnosis_module.diagnosed(records)[1].diagnosis.labels == ("underfit",)
    records[0] = TrialRecord(0, "COMPLETE", 0.88, {}, low)  # nobody did better before it
    assert diagnosis_module.diagnosed(records)[1].diagnosis.labels == ("healthy",)
    later = [TrialRecord(0, "COMPLETE", 0.88, {}, low), TrialRecord(1, "COMPLETE", 0.97, {}, high)]
    first = diagnosis_module.diagnosed(later)[0].diagnosis  # as it ended: nothing to compare with
    assert first.labels == ("underfit",) and "study_best_accuracy" not in first.findings[0].evidence


def test_a_model_collapsed_onto_the_majority_class_is_imbalanced_not_underfit():
    """The bench's ConvLSTM on 20:1 gesture clips: stuck at the largest class's share from its first
    epoch, every validation clip predicted as that class."""
    h = history(train_loss=[1.45, 1.26, 1.26, 1.22, 1.23, 1.23, 1.22, 1.23, 1.22, 1.19, 1.22],
                val_loss=[1.50, 1.27, 1.21, 1.19, 1.17, 1.17, 1.16, 1.16, 1.15, 1.15, 1.15],
                train_accuracy=[0.49] + [0.533] * 10, val_accuracy=[0.558] * 11)
    h.per_class = per_class([80, 38, 18, 8, 4], [1.0, 0, 0, 0, 0])
    d = diagnose(h)
    assert d.labels == ("imbalanced",)
    (finding,) = d.findings
    assert finding.evidence["collapsed_onto_majority"] is True
    assert "predicts the largest class, c0, for 100% of the validation examples" in finding.summary
    h.per_class = None  # without per-class results the same curves are underfit
    assert diagnose(h).labels == ("underfit",)


def _f1_log(tmp_path, scores: list[str]):
    """A Keras 3 CSVLogger log with per-class F1 (quoted as Keras writes it) and flat accuracies."""
    lines = ["epoch,accuracy,f1_score,loss,val_accuracy,val_f1_score,val_loss"]
    lines += [f'{e},0.64,"""{scores[e]}""",0.84,0.64,"""{scores[e]}""",0.85' for e in range(len(scores))]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("scores, labels", [
    (["[0.7, 0.1, 0.0]"] + ["[0.78, 0.0, 0.0]"] * 4, ("imbalanced",)),  # every clip: class 0
    (["[0.7, 0.1, 0.0]"] + ["[0.78, 0.3, 0.0]"] * 4, ("underfit",)),  # two classes predicted
], ids=["collapsed onto one class", "two classes scored"])
def test_per_class_f1_in_a_log_shows_a_collapse_onto_the_majority_class(tmp_path, scores, labels):
    from diagnose.command import diagnose_log

    _, d = diagnose_log(_f1_log(tmp_path, scores))
    assert d.labels == labels
    if labels == ("imbalanced",):
        assert d.findings[0].evidence["evidence_from"] == "logged per-class F1"
        assert "every class but class 0 (0.78)" in d.findings[0].summary
