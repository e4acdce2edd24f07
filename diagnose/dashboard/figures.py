"""The study's figures for optuna-dashboard (``save_plotly_graph_object``), built from stored trials.

- the training and validation curves of the top trials on one figure (optuna-dashboard#276);
- how many trials got each diagnosis;
- generalization gap against dropout and against weight decay, one point per trial.

Hyperparameter importance is not among them: optuna-dashboard draws it on the study page itself.

Each figure has a fixed id (``FIGURE_IDS``), so publishing again replaces it instead of adding one.
"""

from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diagnose.report_figures import label_counts_figure, label_marker
from search.record.measures import generalization_gap, shown
from search.record.trial import TrialRecord, ranked

TOP_K = 5  # trials whose curves are drawn
FIGURE_IDS = ("curves", "diagnoses", "gap_vs_dropout", "gap_vs_weight_decay")
# Figures an older plateau published and this one does not: hyperparameter importance, which
# optuna-dashboard draws itself on the study page (the study showed it twice).
RETIRED_FIGURE_IDS = ("importance",)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def top_trials(trials: Sequence[TrialRecord], maximize: bool, k: int = TOP_K) -> list[TrialRecord]:
    """The ``k`` best completed trials with a value, best first."""
    return ranked(list(trials), maximize)[:k]


def curves_figure(top: Sequence[TrialRecord]) -> go.Figure:
    """Loss and accuracy over epochs, training dashed and validation solid, one colour per trial."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for i, trial in enumerate(top):
        color = PALETTE[i % len(PALETTE)]
        epochs = trial.history.column("epoch")
        for col, metric in enumerate(("loss", "accuracy"), 1):
            for split, dash in (("train", "dash"), ("val", "solid")):
                values = trial.history.column(f"{split}_{metric}")
                points = [(e, v) for e, v in zip(epochs, values)
                          if v is not None and math.isfinite(v)]
                fig.add_trace(go.Scatter(
                    x=[e for e, _ in points], y=[v for _, v in points], mode="lines",
                    line={"color": color, "dash": dash}, legendgroup=str(trial.number),
                    name=f"#{trial.number} {split} ({trial.diagnosis.label_text})",
                    showlegend=col == 1), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title_text=f"top {len(top)} trials: training (dashed) and validation "
                                 f"(solid) curves", height=420)
    return fig


def gap_figure(trials: Sequence[TrialRecord], param: str) -> go.Figure | None:
    """Generalization gap (train - val accuracy where the curves end, as the rules judge it) against
    hyperparameter ``param``; None when no trial has both."""
    points = []
    for trial in trials:
        gap = shown(generalization_gap(trial.history))
        value = trial.hparams.get(param)
        if gap is not None and isinstance(value, (int, float)):
            points.append((value, gap, trial))
    if not points:
        return None
    fig = go.Figure()
    for label in sorted({t.diagnosis.label_text for _, _, t in points}):
        group = [(x, y, t) for x, y, t in points if t.diagnosis.label_text == label]
        fig.add_trace(go.Scatter(
            x=[x for x, _, _ in group], y=[y for _, y, _ in group], mode="markers", name=label,
            text=[f"trial #{t.number}" for _, _, t in group],
            marker=label_marker(label)))
    positive = all(x > 0 for x, _, _ in points)
    fig.update_layout(title_text=f"generalization gap vs {param}", height=380,
                      xaxis={"title": param, "type": "log" if param == "weight_decay" and positive
                             else "linear"},
                      yaxis_title="train accuracy - val accuracy (end of curves)")
    return fig


def study_figures(trials: Sequence[TrialRecord], maximize: bool) -> dict[str, go.Figure]:
    """The figures by id; those that cannot be drawn yet are left out."""
    top = top_trials(trials, maximize)
    figures: dict[str, go.Figure | None] = {
        "curves": curves_figure(top) if top else None,  # none has a value yet: nothing to rank
        "diagnoses": label_counts_figure([t.diagnosis for t in trials]) if trials else None,
        "gap_vs_dropout": gap_figure(trials, "dropout"),
        "gap_vs_weight_decay": gap_figure(trials, "weight_decay"),
    }
    return {key: fig for key, fig in figures.items() if fig is not None}
