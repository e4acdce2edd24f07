"""Training logs and stored studies read into plateau's one structure, ``search.record.history.History``.

``load_history(path)`` tells the format from the path itself, so the user never names it:

- a folder with a ``metrics.csv``: Lightning's CSVLogger (``lightning_logs/version_N/``);
- a folder with TensorBoard event files, possibly in ``train/``/``validation/`` or ``version_N/``
  sub-folders, or one event file: TensorBoard (Keras callback, SummaryWriter, Lightning);
- a CSV file: Lightning's if it looks like one (a ``step`` column, ``_step``/``_epoch`` suffixes,
  training and validation values on separate rows), else Keras' CSVLogger.

Nothing here imports torch, scikit-learn or pandas; ``tensorboard`` and ``optuna`` are imported only by
the loaders that need them, so reading a CSV log takes a fraction of a second. (The CSV reader is the
csv module, not pandas: ``import pandas`` alone takes about 0.5 s here, against 0.13 s for numpy, and a
log must be diagnosed well under a second from process start.)
"""

from __future__ import annotations

from pathlib import Path

from diagnose.loaders.columns import classify
from diagnose.loaders.csvfile import read_table
from diagnose.loaders.keras import load_keras
from diagnose.loaders.lightning import load_lightning, looks_like_lightning
from diagnose.loaders.tensorboard import EVENT_GLOB, load_tensorboard
from search.record.errors import LogError
from search.record.history import History

__all__ = ["load_history"]

WHAT = ("a training log: a Keras CSVLogger file, a Lightning metrics.csv or its version_N folder, or a "
        "TensorBoard log folder")


def load_history(path: Path | str) -> History:
    """The run's history from a log file or folder; ``source`` says which file (the path given) and
    which format."""
    path = Path(path)
    if not path.exists():
        raise LogError(f"{path}: no such file or folder; give the path of {WHAT}.")
    history = _load_folder(path) if path.is_dir() else _load_file(path)
    history.source.path = str(path)
    return history


def _load_file(path: Path) -> History:
    if path.name.startswith(EVENT_GLOB.rstrip("*")):
        return load_tensorboard(path)
    table = read_table(path, WHAT)
    known, _ = classify(table.header)
    if looks_like_lightning(table, known):
        return load_lightning(path, table)
    return load_keras(path, table)


def _load_folder(path: Path) -> History:
    """Lightning's ``metrics.csv`` right here first (no TensorBoard import), then event files at any
    depth, then a single ``metrics.csv`` at any depth."""
    if (path / "metrics.csv").is_file():
        return load_lightning(path / "metrics.csv")
    if next(path.rglob(EVENT_GLOB), None) is not None:
        return load_tensorboard(path)
    found = sorted(path.rglob("metrics.csv"))
    if len(found) == 1:
        return load_lightning(found[0])
    if found:
        names = ", ".join(str(f.parent.relative_to(path)) for f in found)
        raise LogError(f"{path}: holds {len(found)} Lightning runs ({names}); give one of them.")
    raise LogError(f"{path}: no TensorBoard event files ({EVENT_GLOB}) and no Lightning metrics.csv "
                   f"in this folder or its sub-folders; give the path of {WHAT}.")
