"""A diagnosis rendered for people: one model of what is shown (``view``), three formats of it.

- ``view``: the rendering model: labels, each finding's heading, summary, evidence as shown and fixes
  in order, the notes, the rules that could not judge; computed once from a ``Diagnosis``;
- ``text``: the terminal verdict of ``run_study.py diagnose``;
- ``markdown``: the body of a trial's note in optuna-dashboard;
- ``html``: the verdict and fixes table of the ``--report`` file.
"""
