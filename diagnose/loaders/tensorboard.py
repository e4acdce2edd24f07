"""TensorBoard event files: Keras' callback, PyTorch's ``SummaryWriter`` and Lightning's logger.

- Keras writes ``logs/train/`` and ``logs/validation/`` with the same tags (``epoch_loss``,
  ``epoch_accuracy``) at 0-based epoch steps: the folder names the split.
- ``SummaryWriter`` users name the split in the tag (``Loss/train``, ``val_acc``), usually with the
  epoch as step, sometimes the global step.
- Lightning logs at the global step and adds an ``epoch`` scalar giving the epoch at each step.

``tensorboard`` is imported inside ``load_tensorboard`` only: diagnosing a CSV log never pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from diagnose.loaders.columns import classify, has_metrics, split_of_folder
from diagnose.loaders.lightning import Point, epoch_rows
from search.record.errors import LogError
from search.record.history import History, LogSource

EVENT_GLOB = "events.out.tfevents.*"
EXPECTED = ("expected tags such as epoch_loss / epoch_accuracy in train/ and validation/ folders "
            "(Keras), Loss/train, Loss/val, Accuracy/train (SummaryWriter) or train_loss_epoch, "
            "val_loss, val_acc (Lightning)")
MAX_LISTED = 20  # tags named in an error message


def event_sources(path: Path) -> list[Path]:
    """The event file, or the folders holding event files, of the one run under ``path``."""
    if path.is_file():
        return [path]
    folders = sorted({f.parent for f in path.rglob(EVENT_GLOB) if f.is_file()})
    if not folders:
        raise LogError(f"{path}: no TensorBoard event files ({EVENT_GLOB}) in this folder or its "
                       f"sub-folders; give the folder your TensorBoard callback or SummaryWriter "
                       f"wrote.")
    # A train/ or validation/ folder is part of the run above it (Keras' layout); others are runs.
    runs = sorted({f.parent if split_of_folder(f.name) and f != path else f for f in folders})
    if len(runs) > 1:
        names = ", ".join(str(r.relative_to(path)) or "." for r in runs)
        raise LogError(f"{path}: holds {len(runs)} TensorBoard runs ({names}); give one of them.")
    return folders


def _scalars(source: Path) -> Iterator[tuple[str, int, float]]:
    """Every scalar in ``source`` as (tag, step, value), stored as ``simple_value`` or as a tensor."""
    import numpy as np
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    accumulator = event_accumulator.EventAccumulator(
        str(source), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    try:
        accumulator.Reload()
    except Exception as exc:  # tensorboard raises its own DataLossError, protobuf DecodeError, ...
        raise LogError(f"{source}: cannot read TensorBoard events ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else 'corrupt file'}); give an "
                       f"uncorrupted event file or its folder.") from None
    tags = accumulator.Tags()
    for tag in tags.get(event_accumulator.SCALARS, []):
        for event in accumulator.Scalars(tag):
            yield tag, event.step, float(event.value)
    for tag in tags.get(event_accumulator.TENSORS, []):
        for event in accumulator.Tensors(tag):
            array = tensor_util.make_ndarray(event.tensor_proto)
            if array.size == 1 and array.dtype.kind in "fiub":
                yield tag, event.step, float(np.asarray(array).reshape(()))


def load_tensorboard(path: Path) -> History:
    """Read the scalars of one run's event files into one row per epoch."""
    if not path.exists():
        raise LogError(f"{path}: no such file or folder; give a TensorBoard log folder or event file.")
    points: list[Point] = []
    seen: list[str] = []
    ignored: list[str] = []
    for source in event_sources(path):
        folder = source.parent if source.is_file() else source
        scalars = list(_scalars(source))
        tags = list(dict.fromkeys(tag for tag, _, _ in scalars))
        known, skipped = classify(tags, default_split=split_of_folder(folder.name) or "train")
        seen += tags
        ignored += [t for t in skipped if t not in ignored]
        for tag, step, value in scalars:
            name = known.get(tag)
            if name is not None:
                epoch = step if name.step_is_epoch else int(value) if name.column == "epoch" else None
                points.append(Point(name, value, step, epoch))
    if not has_metrics(p.name for p in points):
        tags = list(dict.fromkeys(seen))
        listed = ", ".join(tags[:MAX_LISTED]) + (f" and {len(tags) - MAX_LISTED} more"
                                                 if len(tags) > MAX_LISTED else "")
        found = (f"scalar tags: {listed}" if tags
                 else "the event files hold no scalars: empty or corrupt?")
        raise LogError(f"{path}: no loss or accuracy scalar found in the TensorBoard events ({found}); "
                       f"{EXPECTED}.")
    source = LogSource(str(path), "tensorboard", ignored)
    return History(rows=epoch_rows(points, source), source=source)
