"""A diagnosis as HTML for the ``--report`` file: the verdict as a list, and every fix of every
finding and note as one table."""

from __future__ import annotations

from html import escape

from diagnose.render.view import DiagnosisView, FixLine


def verdict(view: DiagnosisView) -> str:
    parts = [f'<p class="labels">{escape(view.labels)}</p><ul>']
    parts += [f"<li><b>{escape(f.label)}</b> (confidence {f.confidence}): "
              f"{escape(f.summary)}</li>" for f in view.findings]
    parts += [f"<li>note, {escape(n.label)}: {escape(n.summary)}</li>" for n in view.notes]
    parts += [f'<li class="muted">not judged, {escape(rule)}: {escape(reason)}</li>'
              for rule, reason in view.not_judged]
    parts.append("</ul>")
    return "".join(parts)


def fixes_table(view: DiagnosisView) -> str:
    """Every fix, in order, per finding and note; "" when there is none."""
    if not view.every_fix:
        return ""
    rows = [f"<tr><td>{escape(label)}</td><td>{fix.number}</td><td>{escape(fix.name)}</td>"
            f"<td>{_change(fix)}</td><td>{escape(fix.reason)}</td></tr>"
            for label, fix in view.every_fix]
    return ("<h3>fixes, in order</h3><table><tr><th>for</th><th>#</th><th>fix</th>"
            "<th>change to the study file</th><th>why</th></tr>" + "".join(rows) + "</table>")


def _change(fix: FixLine) -> str:
    """Each study-file edit as code on a line of its own, or the advice or explored prose."""
    if not fix.edits:
        return escape(fix.change)
    return "<br>".join(f"<code>{escape(edit)}</code>" for edit in fix.edits)
