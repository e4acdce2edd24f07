"""Keep-top-k: the best-epoch weights of a study's k best trials, kept in Optuna's artifact store.

With ``study.keep_weights: k`` (0, the default: off), a trial that completes (ran its epochs, or
stopped on plateau) and ranks among the k best of the study so far uploads its best epoch's model
weights to the study's artifact folder (``FileSystemArtifactStore``, where the history CSVs go: the
dashboard lists the file as ``trial-<n>-weights.pt``) and records the artifact's id in its user
attribute ``weights_artifact``. A pruned or failed trial keeps none: an ensemble wants complete
trials, and a pruned trial is never among the k best by value. The file is ``torch.save`` of
``{"format", "model": state_dict, "classes", "in_channels"}``, read back with
``torch.load(weights_only=True)``, which loads tensors and plain containers only; the rest of what
rebuilds the model is the trial's ``hparams``.

After each save, the completed trials beyond the k best by value (the study's direction; ties: the
earlier trial first) lose their file, so the disk holds k files. Optuna cannot change a finished
trial's attributes, so their ``weights_artifact`` stays (and the dashboard still lists the file):
a reader treats a missing file as removed. With several workers, removing a file already gone is no
error, and a trial another worker is still finishing is never touched, so for a moment up to
k + workers - 1 files may exist; the next save trims them.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState

from search import disk
from search.record.storage import set_trial_user_attrs

if TYPE_CHECKING:
    import optuna

    from search.data.splits import Splits

WEIGHTS_ATTR = "weights_artifact"  # the trial user attribute that holds the artifact's id
WEIGHTS_FORMAT = 1  # the layout of a weights file; a reader checks it
MIMETYPE = "application/octet-stream"  # what the dashboard serves a .pt file as (no official type)


@dataclass(frozen=True)
class Kept:
    """A trial that holds (or, for the one being saved, would hold) a weights file."""

    number: int
    value: float
    artifact_id: str | None  # None: the trial being saved, not uploaded yet


def ranked(kept: Sequence[Kept], maximize: bool) -> list[Kept]:
    """Best first, by value in the study's direction; ties: the earlier trial first."""
    return sorted(kept, key=lambda k: (-k.value if maximize else k.value, k.number))


def file_of(folder: Path, artifact_id: str) -> Path:
    """Where ``FileSystemArtifactStore(folder)`` writes an artifact: ``folder / artifact_id``."""
    return folder / artifact_id


def stored_weights(trials: Sequence[FrozenTrial], folder: Path) -> tuple[list[Kept], list[str]]:
    """The completed trials whose weights file is still there, and the artifact ids of the files of
    trials that failed or were pruned after saving theirs (removable). Running trials are left out:
    another worker may still be finishing one."""
    kept, stray = [], []
    for trial in trials:
        artifact_id = trial.user_attrs.get(WEIGHTS_ATTR)
        if not isinstance(artifact_id, str) or not file_of(folder, artifact_id).is_file():
            continue
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            kept.append(Kept(trial.number, trial.value, artifact_id))
        elif trial.state in (TrialState.FAIL, TrialState.PRUNED):
            stray.append(artifact_id)
    return kept, stray


def remove(folder: Path, artifact_id: str) -> None:
    """Delete one weights file; one already gone (another worker removed it) is no error."""
    try:
        FileSystemArtifactStore(folder).remove(artifact_id)
    except ArtifactNotFound:
        pass


def keep_best_weights(trial: optuna.Trial, folder: Path, keep: int, maximize: bool,
                      state: dict[str, torch.Tensor] | None, value: float | None,
                      data: Splits) -> str | None:
    """Save ``trial``'s best-epoch weights ``state`` if its ``value`` ranks among the ``keep`` best
    of the study, then remove the files of the trials beyond those. Returns the artifact id (None:
    not among the best, or nothing to save)."""
    if state is None or value is None or not math.isfinite(value):
        return None
    kept, stray = stored_weights(trial.study.get_trials(deepcopy=False), folder)
    order = ranked([k for k in kept if k.number != trial.number]
                   + [Kept(trial.number, value, None)], maximize)
    artifact_id = None
    if any(k.number == trial.number for k in order[:keep]):
        artifact_id = upload(trial, folder, state, data)
        set_trial_user_attrs(trial.storage, trial._trial_id, {WEIGHTS_ATTR: artifact_id})
    for gone in [k.artifact_id for k in order[keep:] if k.artifact_id is not None] + stray:
        remove(folder, gone)
    return artifact_id


def upload(trial: optuna.Trial, folder: Path, state: dict[str, torch.Tensor],
           data: Splits) -> str:
    """Write the weights file and upload it as the trial's artifact; returns the artifact id."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {"format": WEIGHTS_FORMAT,
               "model": {k: v.detach().cpu() for k, v in state.items()},
               "classes": [str(c) for c in data.train.classes],
               "in_channels": int(data.train.x.shape[1])}
    with tempfile.TemporaryDirectory(dir=folder) as temporary:
        path = Path(temporary) / f"trial-{trial.number}-weights.pt"
        disk.save(content, path)
        return upload_artifact(artifact_store=FileSystemArtifactStore(folder), file_path=str(path),
                               study_or_trial=trial, mimetype=MIMETYPE)


def load_weights(folder: Path, artifact_id: str) -> dict[str, Any] | None:
    """A weights file as saved (None: removed), on the CPU, read with ``weights_only=True``."""
    path = file_of(folder, artifact_id)
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    if not isinstance(content, dict) or content.get("format") != WEIGHTS_FORMAT:
        return None
    return content
