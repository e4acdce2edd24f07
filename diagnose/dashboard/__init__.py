"""What plateau puts into optuna-dashboard, through its own Python API and Optuna's artifact store.

- ``trials``: a study's plateau trials, each with its diagnosis;
- ``attrs``: a trial's end as scalar user attributes the dashboard can filter and sort on;
- ``notes``: the markdown notes, one per trial (labels, evidence, fixes) and one per study;
- ``figures``: the study's plotly figures (top trials' curves, diagnoses, gap vs regularisation,
  hyperparameter importance);
- ``artifacts``: where the artifact store lives for a storage URL;
- ``publish``: writing all of it, as a trial ends and when a study run ends (or on demand);
- ``server``: ``run_study.py dashboard``.

Only ``publish``, ``figures`` and ``server`` import Optuna, optuna-dashboard or plotly; none imports
torch.
"""
