"""The report's plotly figures, each built from a ``History`` and a ``Diagnosis`` only.

Non-finite values are left out of the lines (plotly cannot draw them) and named in the figure instead.
plotly is imported here, never by the rest of ``diagnose``.
"""

from __future__ import annotations

import math
from typing import Iterable

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diagnose.render.view import label_counts
from search.record.diagnosis import Diagnosis
from search.record.history import History
from search.record.measures import generalization_gap, shown

COLORS = {"train": "#1f77b4", "val": "#ff7f0e"}
LABEL_COLORS = {"overfit": "#d62728", "underfit": "#9467bd", "imbalanced": "#8c564b",
                "diverged": "#e377c2", "healthy": "#2ca02c", "pruned": "#bcbd22"}
OTHER_COLOR = "#7f7f7f"  # "not judged"


def label_marker(label_text: str) -> dict:
    """A scatter marker for a set of labels: filled with the first label's colour, ringed with the
    second's (a diamond), so that "underfit" and "underfit, imbalanced" are told apart."""
    labels = label_text.split(", ")
    marker = {"size": 9, "color": LABEL_COLORS.get(labels[0], OTHER_COLOR)}
    if len(labels) > 1:
        marker.update(symbol="diamond", size=11,
                      line={"color": LABEL_COLORS.get(labels[1], OTHER_COLOR), "width": 3})
    return marker


def _points(history: History, column: str) -> tuple[list[float], list[float], list[int]]:
    """(epochs, finite values, epochs whose logged value was NaN/inf)."""
    xs, ys, bad = [], [], []
    for row in history.rows:
        value = row.get(column)
        if value is None:
            continue
        if math.isfinite(value):
            xs.append(row.get("epoch"))
            ys.append(value)
        else:
            bad.append(row.get("epoch"))
    return xs, ys, bad


def curves_figure(history: History, diagnosis: Diagnosis) -> go.Figure:
    """Loss and accuracy, training and validation, with the epochs each finding points at."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    not_finite = []
    for col, metric in enumerate(("loss", "accuracy"), start=1):
        for split in ("train", "val"):
            xs, ys, bad = _points(history, f"{split}_{metric}")
            not_finite += [f"{split}_{metric} at epoch {e}" for e in bad]
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{split} {metric}",
                                         line={"color": COLORS[split]}, legendgroup=split),
                              row=1, col=col)
    for finding in (*diagnosis.findings, *diagnosis.notes):
        for epoch in finding.epochs:
            fig.add_vline(x=epoch, line_dash="dot", opacity=0.6,
                          line_color=LABEL_COLORS.get(finding.label, "#7f7f7f"),
                          annotation_text=finding.label, annotation_position="top")
    if not_finite:
        fig.add_annotation(text="not finite (left out): " + ", ".join(not_finite[:6])
                           + (" ..." if len(not_finite) > 6 else ""),
                           xref="paper", yref="paper", x=0, y=-0.2, showarrow=False,
                           font={"color": LABEL_COLORS["diverged"]})
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=380, margin={"t": 40, "b": 70}, title_text="learning curves")
    return fig


def gap_figure(history: History) -> go.Figure | None:
    """The generalization gap over epochs: validation minus training loss, training minus
    validation accuracy, with the accuracy gap the rules judge (where the curves end) marked.
    None when no epoch has both values of either pair."""
    fig = go.Figure()
    for name, first, second in (("val loss - train loss", "val_loss", "train_loss"),
                                ("train accuracy - val accuracy", "train_accuracy",
                                 "val_accuracy")):
        xs, ys = [], []
        for row in history.rows:
            a, b = row.get(first), row.get(second)
            if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                xs.append(row.get("epoch"))
                ys.append(a - b)
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name))
    if not fig.data:
        return None
    fig.add_hline(y=0, line_color="#7f7f7f", line_width=1)
    judged = shown(generalization_gap(history))
    if judged is not None:
        fig.add_hline(y=judged, line_dash="dot", line_color=COLORS["val"],
                      annotation_text=f"accuracy gap at the end (judged): {judged:g}")
    fig.update_layout(height=300, title_text="generalization gap", xaxis_title="epoch",
                      margin={"t": 40})
    return fig


def per_class_figures(history: History) -> list[go.Figure]:
    """Per-class recall bars (with support and training counts) and the confusion matrix."""
    per_class = history.per_class
    if per_class is None:
        return []
    counts = per_class.train_counts or per_class.support
    where = "training" if per_class.train_counts else "validation"
    bars = go.Figure(go.Bar(
        x=per_class.classes, y=per_class.recall, name="recall",
        customdata=list(zip(per_class.support, counts)),
        hovertemplate=("%{x}: recall %{y:.3f}<br>validation examples %{customdata[0]}"
                       f"<br>{where} examples %{{customdata[1]}}<extra></extra>")))
    bars.add_trace(go.Scatter(x=per_class.classes, y=counts, name=f"{where} examples",
                              mode="markers", yaxis="y2", marker={"symbol": "diamond"}))
    bars.update_layout(height=320, title_text="per-class recall", margin={"t": 40},
                       yaxis={"title": "recall", "range": [0, 1.05]},
                       yaxis2={"title": f"{where} examples", "overlaying": "y", "side": "right",
                               "rangemode": "tozero", "tickformat": ",d"})  # whole examples
    matrix = go.Figure(go.Heatmap(z=per_class.confusion_matrix, x=per_class.classes,
                                  y=per_class.classes, colorscale="Blues",
                                  hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    matrix.update_layout(height=380, title_text="confusion matrix (validation)",
                         xaxis_title="predicted", yaxis_title="true",
                         yaxis={"autorange": "reversed"}, margin={"t": 40})
    return [bars, matrix]


def label_counts_figure(diagnoses: Iterable[Diagnosis]) -> go.Figure:
    counts = label_counts(diagnoses)
    fig = go.Figure(go.Bar(x=[label for label, _ in counts], y=[n for _, n in counts],
                           marker_color=[LABEL_COLORS.get(label, OTHER_COLOR) for label, _ in counts]))
    fig.update_layout(height=300, title_text="trials by diagnosis", margin={"t": 40},
                      yaxis_title="trials")
    return fig
