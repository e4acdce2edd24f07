"""plateau's diagnosis side: why a run plateaued (overfit, underfit, imbalanced, diverged or healthy),
with the numbers behind it and the fixes to try, for a trial in an Optuna storage or a log file.

Imports neither torch nor scikit-learn (each costs seconds to import): diagnosing a log answers in well
under a second. Optuna, TensorBoard and plotly are imported only by the loaders and the report that need
them.
"""
