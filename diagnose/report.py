"""``--report OUT.html``: one self-contained HTML file per diagnosis, for a run or a whole study.

Learning curves with the epochs each rule points at, the generalization gap, per-class recall and
the confusion matrix when known, the verdict and the fixes table. plotly.js is embedded once, so the
file opens offline; nothing is fetched.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Iterable

from diagnose.render import html
from diagnose.render.view import view
from search.record.diagnosis import Diagnosis
from search.record.errors import LogError
from search.record.history import History
from search.record.measures import plural
from search.record.storage import SQLITE_HEADER

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-top: 1px solid #ddd; padding-top: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { border: 1px solid #ddd;
padding: 0.3em 0.6em; text-align: left; vertical-align: top; } th { background: #f4f4f4; }
.labels { font-weight: bold; } .muted { color: #666; } code { background: #f4f4f4; }
"""


class _Figures:
    """Turns figures into <div>s, embedding plotly.js in the first one only."""

    def __init__(self):
        self.embedded = False

    def div(self, fig) -> str:
        div = fig.to_html(full_html=False, include_plotlyjs=not self.embedded,
                          config={"displaylogo": False})
        self.embedded = True
        return div


def _section(title: str, history: History, diagnosis: Diagnosis, figures: _Figures) -> str:
    from diagnose.report_figures import curves_figure, gap_figure, per_class_figures

    shown = view(diagnosis)
    parts = [f"<h2>{escape(title)}</h2>", html.verdict(shown)]
    if history.rows:
        parts.append(figures.div(curves_figure(history, diagnosis)))
        gap = gap_figure(history)
        if gap is not None:
            parts.append(figures.div(gap))
    parts += [figures.div(fig) for fig in per_class_figures(history)]
    parts.append(html.fixes_table(shown))
    return "\n".join(parts)


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def run_report(history: History, diagnosis: Diagnosis, title: str) -> str:
    """The report of one run (a log, or one trial)."""
    return _document(f"plateau diagnosis: {title}", _section(title, history, diagnosis,
                                                             _Figures()))


def study_report(study_name: str, runs: list[tuple[str, History, Diagnosis]]) -> str:
    """A study's report: a summary table and the trials-by-diagnosis chart, then each trial."""
    from diagnose.report_figures import label_counts_figure

    figures = _Figures()
    rows = "".join(f"<tr><td>{escape(title)}</td><td>{escape(d.label_text)}</td>"
                   f"<td>{escape(d.because())}</td></tr>" for title, _, d in runs)
    body = [f"<p>{plural(len(runs), 'trial')}.</p>",
            figures.div(label_counts_figure(d for _, _, d in runs)),
            "<table><tr><th>trial</th><th>diagnosis</th><th>because</th></tr>" + rows +
            "</table>"]
    body += [_section(title, history, d, figures) for title, history, d in runs]
    return _document(f"plateau diagnosis: study {study_name}", "\n".join(body))


def _refusal(path: Path, keep: Iterable[Path]) -> str | None:
    """Why ``path`` cannot be written as a file (None: it can), without writing anything."""
    if path.is_dir():
        return "it is a folder; give a file name in it"
    if path.parent.exists() and not path.parent.is_dir():
        return f"'{path.parent}' is a file, not a folder; write elsewhere"
    if not path.parent.is_dir():
        return f"folder '{path.parent}' does not exist; create it or write elsewhere"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"folder '{path.parent}' is not writable; write elsewhere"
    if not path.exists():
        return None
    if not os.access(path, os.W_OK):
        return "the file is read-only; write elsewhere"
    if any(other.exists() and os.path.samefile(path, other) for other in keep):
        return "that is the input being read, which would be overwritten; write elsewhere"
    if _starts_with(path, SQLITE_HEADER):
        return ("it is an SQLite database (a study storage?), which would be overwritten; write "
                "elsewhere")
    return None


def _starts_with(path: Path, header: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(header)) == header
    except OSError:
        return False


def check_output(path: Path, option: str, keep: Iterable[Path] = ()) -> None:
    """A one-line ``LogError`` unless ``path`` can be written (created, or an old output replaced).

    Called before any work, so that nothing is computed or stored for a file that cannot be written;
    ``keep`` are the inputs (a log, a storage file) that must never be overwritten."""
    reason = _refusal(path, keep)
    if reason is not None:
        raise LogError(f"{option} must be a file that can be written. Got '{path}' instead: "
                       f"{reason}.")


def write_output(path: Path, text: str, option: str) -> None:
    """Write ``text`` to ``path`` (checked by ``check_output``); an OS error is one line."""
    check_output(path, option)
    try:
        path.write_text(text, encoding="utf-8", newline="")  # text keeps its own line ends
    except OSError as exc:
        raise LogError(f"{option} '{path}': cannot be written ({exc.strerror or exc}); write "
                       f"elsewhere.") from None


def write_report(path: Path, html: str) -> None:
    write_output(path, html, "--report")
