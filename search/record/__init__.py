"""What a run records and a trial stores: the one torch-free layer that ``search/`` writes and
``diagnose/`` reads.

- ``history``: a run's epochs and final per-class results (``History``), and its stored JSON form;
- ``measures``: the one definition of each quantity shown anywhere (where a curve ends, the
  generalization gap, the best epoch, per-class metrics);
- ``diagnosis``: what a diagnosis says (labels, findings with evidence, fixes as study-file changes),
  as data; ``diagnose/`` computes it, a trial stores it;
- ``trial``: ``TrialRecord``, everything a plateau trial stores, with its one writer and one reader;
- ``storage``: ``StorageUrl``, an Optuna storage URL parsed once;
- ``errors``: the errors that reach the user as one line and exit code 2.

Nothing here imports torch, scikit-learn or pandas at import time (pandas only inside
``History.to_frame``/``from_frame``); Optuna only where a storage is opened.
"""
