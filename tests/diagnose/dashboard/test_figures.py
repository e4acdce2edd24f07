"""The study's plotly figures for optuna-dashboard: top trials' curves, gap against regularisation,
and which of them a study gets (never hyperparameter importance, which the dashboard draws)."""

from __future__ import annotations

import math

import optuna
import pytest

from curve_cases import HEALTHY, NAN, OVERFIT, UNDERFIT, history
from diagnose.dashboard.figures import (FIGURE_IDS, RETIRED_FIGURE_IDS, TOP_K, curves_figure,
                                        gap_figure, study_figures, top_trials)
from diagnose.diagnosis import diagnose
from diagnose.report_figures import label_marker
from search.record.history import History
from search.record.measures import generalization_gap, shown
from search.record.trial import TrialRecord

CURVES = {"overfit": OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0],
          "underfit": UNDERFIT["stuck near chance"][0], "healthy": HEALTHY}


def stored_trial(number: int, state: str, value: float | None, hparams: dict, h: History,
                 diagnosis) -> TrialRecord:
    """A diagnosed trial with ``hparams``, as a stored trial reads back."""
    return TrialRecord(number, state, value, {}, h, hparams=hparams, diagnosis=diagnosis)


def trial(number: int, value: float | None = 0.5, case: str = "healthy",
          state: str = "COMPLETE", **hparams) -> TrialRecord:
    h = history(**CURVES[case])
    return stored_trial(number, state, value, hparams, h, diagnose(h))


def _numbers(trials) -> list[int]:
    return [t.number for t in trials]


# --- top trials ----------------------------------------------------------------------------------

VALUES = [0.3, None, 0.9, NAN, 0.1, 0.5, math.inf]  # trial number = index


@pytest.mark.parametrize("maximize, k, expected", [
    (True, 5, [2, 5, 0, 4]),
    (False, 5, [4, 0, 5, 2]),
    (True, 2, [2, 5]),
    (False, 1, [4]),
    (True, 0, []),
], ids=["maximize", "minimize", "maximize k=2", "minimize k=1", "k=0"])
def test_top_trials_are_the_best_k_with_a_finite_value(maximize, k, expected):
    trials = [trial(i, v) for i, v in enumerate(VALUES)]
    assert _numbers(top_trials(trials, maximize, k)) == expected


def test_top_trials_default_to_top_k():
    trials = [trial(i, i / 10) for i in range(TOP_K + 3)]
    assert _numbers(top_trials(trials, maximize=True)) == list(range(TOP_K + 2, 2, -1))
    assert top_trials([trial(0, None), trial(1, NAN)], maximize=True) == []


# --- curves --------------------------------------------------------------------------------------

def test_curves_have_train_and_val_loss_and_accuracy_per_trial():
    top = [trial(4, 0.9, "overfit"), trial(1, 0.8, "underfit"), trial(6, 0.7, "healthy")]
    fig = curves_figure(top)
    assert len(fig.data) == 4 * len(top)
    for i, t in enumerate(top):
        traces = fig.data[4 * i: 4 * i + 4]
        assert {tr.legendgroup for tr in traces} == {str(t.number)}
        assert len({tr.line.color for tr in traces}) == 1  # one colour per trial
        for tr in traces:
            assert tr.name.startswith(f"#{t.number} ")
            split = tr.name.split()[1]
            assert tr.line.dash == ("dash" if split == "train" else "solid")
            assert f"({', '.join(t.diagnosis.labels)})" in tr.name
        metrics = [(tr.name.split()[1], tr.xaxis) for tr in traces]
        assert sorted(metrics) == [("train", "x"), ("train", "x2"), ("val", "x"), ("val", "x2")]
        loss = next(tr for tr in traces if tr.xaxis == "x" and tr.name.split()[1] == "val")
        assert list(loss.y) == pytest.approx(t.history.column("val_loss"))
        assert list(loss.x) == t.history.column("epoch")
    assert len({fig.data[4 * i].line.color for i in range(len(top))}) == len(top)
    assert sum(bool(tr.showlegend) for tr in fig.data) == 2 * len(top)  # the loss panel's only


def test_curves_leave_out_non_finite_and_missing_points():
    h = history(train_loss=[2.0, 1.0, NAN, 0.5], val_loss=[2.1, math.inf, 1.2, 1.1],
                train_accuracy=[0.2, 0.4, None, 0.6], val_accuracy=[0.2, 0.3, 0.35, 0.4])
    fig = curves_figure([stored_trial(3, "COMPLETE", 0.4, {}, h, diagnose(h))])
    by_name = {(tr.name.split()[1], tr.xaxis): tr for tr in fig.data}
    assert list(by_name["train", "x"].x) == [1, 2, 4]
    assert list(by_name["val", "x"].x) == [1, 3, 4]
    assert list(by_name["train", "x2"].x) == [1, 2, 4]
    assert list(by_name["val", "x2"].y) == [0.2, 0.3, 0.35, 0.4]


def test_the_title_says_how_many_trials_are_drawn():
    fig = curves_figure([trial(0), trial(1)])
    assert fig.layout.title.text.startswith("top 2 trials")


# --- gap against a hyperparameter ----------------------------------------------------------------

def _points(fig) -> dict[str, list[tuple[float, float, str]]]:
    return {tr.name: list(zip(tr.x, tr.y, tr.text)) for tr in fig.data}


def test_one_point_per_trial_with_both_a_gap_and_the_hyperparameter_grouped_by_diagnosis():
    trials = [trial(0, case="overfit", dropout=0.1), trial(1, case="healthy", dropout=0.3),
              trial(2, case="overfit", dropout=0.5), trial(3, case="underfit", dropout=0.2),
              trial(4, case="overfit"),  # no dropout: not drawn
              trial(5, case="healthy", dropout=None),  # not applicable: not drawn
              stored_trial(6, "FAIL", None, {"dropout": 0.4}, History(), diagnose(History()))]
    fig = gap_figure(trials, "dropout")
    points = _points(fig)
    assert list(points) == ["healthy", "overfit", "underfit"]
    gaps = {t.number: shown(generalization_gap(t.history)) for t in trials[:4]}  # as the rules
    assert points["overfit"] == [(0.1, gaps[0], "trial #0"), (0.5, gaps[2], "trial #2")]
    assert points["healthy"] == [(0.3, gaps[1], "trial #1")]
    assert points["underfit"] == [(0.2, gaps[3], "trial #3")]
    assert gaps[0] > 0.1  # the overfit runs are the ones far above zero
    assert sum(len(p) for p in points.values()) == 4
    assert fig.layout.xaxis.title.text == "dropout"
    assert fig.layout.xaxis.type == "linear"


@pytest.mark.parametrize("param, values, axis", [
    ("weight_decay", [1e-5, 1e-3, 1e-2], "log"),
    ("weight_decay", [0.0, 1e-3, 1e-2], "linear"),  # log of 0 does not exist
    ("dropout", [0.1, 0.2, 0.4], "linear"),
], ids=["weight decay, all positive", "weight decay with a zero", "dropout"])
def test_the_x_axis_is_logarithmic_for_weight_decay_only_when_every_value_is_positive(
        param, values, axis):
    trials = [trial(i, **{param: v}) for i, v in enumerate(values)]
    assert gap_figure(trials, param).layout.xaxis.type == axis


@pytest.mark.parametrize("trials", [
    [],
    [trial(0, dropout=0.2)],  # asked about weight decay
    [trial(0, weight_decay="1e-3")],  # not a number
    [stored_trial(0, "FAIL", None, {"weight_decay": 1e-3}, History(), diagnose(History()))],
    [stored_trial(0, "COMPLETE", 0.5, {"weight_decay": 1e-3},
                 history(train_loss=[1.0, 0.5], val_loss=[1.1, 0.6]), diagnose(History()))],
], ids=["no trials", "other hparam", "not a number", "no history", "no accuracy"])
def test_no_figure_without_a_trial_that_has_both(trials):
    assert gap_figure(trials, "weight_decay") is None


# --- which figures a study gets ------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def _quiet_optuna():
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def _study(n_complete: int, n_pruned: int = 0) -> optuna.Study:
    """An in-memory study with ``n_complete`` completed trials of two parameters (x matters most)."""
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("dropout", 0.0, 0.5) + 0.01 * t.suggest_float(
        "weight_decay", 1e-5, 1e-2, log=True), n_trials=n_complete)
    for _ in range(n_pruned):
        pruned = study.ask()
        pruned.suggest_float("dropout", 0.0, 0.5)
        study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    return study


def _stored(study: optuna.Study) -> list[TrialRecord]:
    cases = list(CURVES)
    return [trial(t.number, t.value, cases[t.number % len(cases)], t.state.name, **t.params)
            for t in study.trials]


def test_a_study_gets_every_figure_but_importance_which_the_dashboard_draws_itself():
    study = _study(6, n_pruned=3)
    figures = study_figures(_stored(study), maximize=True)
    assert set(figures) == set(FIGURE_IDS) == {"curves", "diagnoses", "gap_vs_dropout",
                                               "gap_vs_weight_decay"}
    assert not set(figures) & set(RETIRED_FIGURE_IDS)
    assert len(figures["curves"].data) == 4 * TOP_K
    assert figures["gap_vs_weight_decay"].layout.xaxis.type == "log"


def test_a_study_without_plateau_trials_gets_no_figure():
    assert study_figures([], maximize=False) == {}


def test_trials_without_hyperparameters_get_no_gap_figures():
    trials = [trial(0, 0.4, "overfit"), trial(1, 0.6, "healthy")]
    figures = study_figures(trials, maximize=False)
    assert set(figures) == {"curves", "diagnoses"}
    assert [tr.name.split()[0] for tr in figures["curves"].data[::4]] == ["#0", "#1"]  # minimize
    bars = figures["diagnoses"].data[0]
    assert dict(zip(bars.x, bars.y)) == {"overfit": 1, "healthy": 1}


def test_no_curves_figure_while_no_trial_has_a_value():
    failed = [trial(0, None, "overfit", "FAIL", dropout=0.2), trial(1, NAN, "healthy", "FAIL")]
    figures = study_figures(failed, maximize=True)
    assert set(figures) == {"diagnoses", "gap_vs_dropout"}  # nothing to rank: no empty curves plot


def test_every_set_of_labels_has_its_own_marker_in_the_gap_scatters():
    sets = ["underfit", "underfit, imbalanced", "overfit, imbalanced", "overfit", "pruned",
            "not judged"]
    markers = [label_marker(text) for text in sets]
    seen = [(m["color"], m.get("symbol"), m.get("line", {}).get("color")) for m in markers]
    assert len(set(seen)) == len(sets)
    assert markers[1]["color"] == markers[0]["color"] and markers[1]["symbol"] == "diamond"
