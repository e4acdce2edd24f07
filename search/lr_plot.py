"""The LR range test's curve as one self-contained HTML file: raw and smoothed (centred moving
average) training loss against the learning rate (log axis), the suggestion, the candidates and the
searched interval marked.

plotly.js is embedded in the file (``include_plotlyjs=True``, as diagnose's report does), so it opens
offline; nothing is fetched. plotly is imported here only, when a plot is written.
"""

from __future__ import annotations

import math
from pathlib import Path

from search.lr_find import LrFind
from search.record.errors import PlateauError

HEADROOM = 1.1  # the y axis ends this much above the highest smoothed loss before the stop


def figure(found: LrFind, title: str):
    """The plotly figure of ``found``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=found.lrs, y=found.losses, mode="lines", name="loss (raw)",
                             line={"color": "#bbbbbb", "width": 1}))
    fig.add_trace(go.Scatter(x=found.lrs, y=found.smoothed, mode="lines",
                             name="loss (centred moving average)",
                             line={"color": "#1f77b4", "width": 2}))
    s = found.found
    fig.add_vrect(x0=s.interval[0], x1=s.interval[1], fillcolor="#2ca02c", opacity=0.12,
                  line_width=0, annotation_text="lr: auto interval", annotation_position="top left")
    for lr, text, color in ((s.suggestion, f"suggestion {s.suggestion:.3g}", "#2ca02c"),
                            (s.steepest, f"steepest {s.steepest:.3g}", "#ff7f0e"),
                            (s.valley, f"valley {s.valley:.3g}", "#9467bd"),
                            (s.minimum, f"minimum {s.minimum:.3g}", "#d62728")):
        fig.add_vline(x=lr, line={"color": color, "dash": "dash"}, annotation_text=text,
                      annotation_position="bottom right")
    shown = [v for v in found.smoothed[:-1] or found.smoothed if math.isfinite(v)]
    lowest = min((v for v in found.losses if math.isfinite(v)), default=0.0)
    if shown:  # the diverged tail would squash the curve: cut it at the stop
        fig.update_yaxes(range=[min(0.0, lowest), max(shown) * HEADROOM])
    fig.update_xaxes(type="log", title="learning rate (log scale)")
    fig.update_layout(title=title, yaxis_title="training loss", template="plotly_white",
                      height=520)
    return fig


def check_folder(path: Path) -> None:
    """Before the sweep, not after it: the plot's folder must exist."""
    if not path.parent.is_dir():
        raise PlateauError(f"cannot write the plot to '{path}': folder '{path.parent}' does not "
                           f"exist; give another file with --out.")


def write_plot(found: LrFind, path: Path, title: str) -> None:
    """Write the curve to ``path`` as a self-contained HTML file."""
    html = figure(found, title).to_html(full_html=True, include_plotlyjs=True,
                                        config={"displaylogo": False})
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise PlateauError(f"cannot write the plot to '{path}' ({exc.strerror}); give a writable "
                           f"file with --out.") from None
