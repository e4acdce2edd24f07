"""What plateau puts into optuna-dashboard, through its own Python API and Optuna's artifact store.

- ``notes``: the markdown notes, one per trial (labels, evidence, fixes) and one per study;
- ``figures``: the study's plotly figures (top trials' curves, diagnoses, gap vs regularisation,
  hyperparameter importance);
- ``publish``: writing them, as a trial ends and when a study run ends (or on demand);
- ``server``: ``run_study.py dashboard``.

The filterable trial attributes are part of the trial's record (``search.record.trial``), and the
artifact folder is the storage URL's (``search.record.storage``). Only ``publish``, ``figures`` and
``server`` import Optuna, optuna-dashboard or plotly; none imports torch.
"""
