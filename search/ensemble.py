"""An ensemble of a study's best trials, from the best-epoch weights it kept (``kept_weights``).

``run_study.py ensemble --storage URL --study NAME --top-k K``: the study's stored study file is
validated again (``config.study_config_from_mapping``) and its data split once, as the trials saw
it; the K best COMPLETE trials by value (the study's direction) whose weights file is still there
are rebuilt from their ``hparams``, loaded (``torch.load(weights_only=True)``) and predict softmax
probabilities on the validation split and, when the study has one, the test split. Two ensembles:
the majority vote of the members' classes (ties broken by the summed probabilities of the tied
classes) and the class of the averaged probabilities. Each is scored with ``summary_metrics`` (the
numbers every view shows) beside each member, and the gain over the best member of each column.

The result is stored in the study's user attribute ``ensemble`` (with its markdown section under
``"note"``) and appended to the study note optuna-dashboard shows, replacing an earlier ensemble
section.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import optuna
import optuna_dashboard
import pandas
import torch
from optuna.trial import FrozenTrial, TrialState

from search.config import StudyConfig, study_config_from_mapping
from search.data.splits import Splits
from search.device import Device
from search.kept_weights import WEIGHTS_ATTR, load_weights
from search.models import build_model
from search.record.errors import ConfigError, StorageError
from search.record.measures import summary_metrics
from search.record.storage import StorageUrl
from search.study import load_splits
from search.train import batches, to_input

ENSEMBLE_ATTR = "ensemble"  # the study user attribute that holds the last result
NOTE_HEADING = "## Ensemble of the best trials"  # starts the study note's section
MIN_MEMBERS = 2  # one model is no ensemble
SUGGESTED_K = 3  # what the error suggests for study.keep_weights
METRICS = {"accuracy": "accuracy", "macro_f1": "macro-F1"}  # summary_metrics key -> column word
VOTE, AVERAGE = "majority vote", "averaged probabilities"


@dataclass(frozen=True)
class Member:
    number: int
    value: float  # the trial's objective (its best epoch's)
    probabilities: dict[str, np.ndarray]  # split name -> (examples, classes) softmax outputs


@dataclass(frozen=True)
class Ensemble:
    study_name: str
    members: list[Member]  # best first
    skipped: list[int]  # better trials whose weights file is gone (removed, or unreadable)
    labels: dict[str, np.ndarray]  # split name ("val", "test") -> true classes
    table: pandas.DataFrame  # one row per member, per ensemble and per gain
    asked: int  # --top-k


def open_study(storage: StorageUrl, name: str) -> optuna.Study:
    """The study ``name`` in ``storage``; an unknown one is a one-line error naming the others."""
    storage.require_file()
    opened = storage.open()
    names = optuna.study.get_all_study_names(opened)
    if name not in names:
        raise StorageError(f"storage '{storage.url}': no study named '{name}' (studies there: "
                           f"{', '.join(names) or 'none'}); give one of those names.")
    return optuna.load_study(study_name=name, storage=opened)


def stored_config(study: optuna.Study, storage: StorageUrl) -> StudyConfig:
    """The study file the study was run with, validated as a file is (its data folder too)."""
    raw = study.user_attrs.get("config")
    if not isinstance(raw, dict):
        raise ConfigError(f"study '{study.study_name}' stores no plateau study file; ensemble "
                          f"reads studies run by `run_study.py run` with study.keep_weights: "
                          f"{SUGGESTED_K}.")
    return study_config_from_mapping(raw, Path(f"the study file stored with '{study.study_name}'"),
                                     {"study_name": study.study_name, "storage": storage.url})


def chosen(study: optuna.Study, config: StudyConfig, folder: Path,
           top_k: int) -> tuple[list[tuple[FrozenTrial, dict[str, Any]]], list[int]]:
    """The ``top_k`` best COMPLETE trials whose weights file is still there, with its content, best
    first; and the better trials passed over, their file gone."""
    if top_k < MIN_MEMBERS:
        raise ConfigError(f"The '--top-k' option of ensemble must be at least {MIN_MEMBERS} (one "
                          f"model is no ensemble). Got {top_k} instead.")
    maximize = config.direction == "maximize"
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if isinstance(t.user_attrs.get(WEIGHTS_ATTR), str) and t.value is not None
              and math.isfinite(t.value)]
    trials.sort(key=lambda t: (-t.value if maximize else t.value, t.number))
    if not trials:
        raise ConfigError(f"study '{study.study_name}' kept no weights; run it with "
                          f"study.keep_weights: {SUGGESTED_K} in its study file (the best "
                          f"trials' best-epoch weights are kept as they end), then ensemble.")
    found, skipped = [], []
    for trial in trials:
        if len(found) == top_k:
            break
        content = load_weights(folder, trial.user_attrs[WEIGHTS_ATTR])
        if content is None:
            skipped.append(trial.number)
        else:
            found.append((trial, content))
    if len(found) < MIN_MEMBERS:
        raise ConfigError(f"study '{study.study_name}' has {len(found)} trial(s) with kept weights "
                          f"in '{folder}', and an ensemble needs at least {MIN_MEMBERS}; run more "
                          f"trials with study.keep_weights: {SUGGESTED_K} (or higher).")
    return found, skipped


def rebuilt(trial: FrozenTrial, content: dict[str, Any], splits: Splits) -> torch.nn.Module:
    """The trial's model, from its stored hyperparameters, with its kept weights."""
    classes = [str(c) for c in splits.train.classes]
    if content["classes"] != classes or content["in_channels"] != splits.train.x.shape[1]:
        raise ConfigError(f"trial #{trial.number}'s weights were trained on classes "
                          f"{content['classes']} with {content['in_channels']} input channels, but "
                          f"the study's data now gives {classes} with {splits.train.x.shape[1]}; "
                          f"point data.root at the dataset the study ran on.")
    hparams = trial.user_attrs["hparams"]
    architecture = hparams["architecture"]
    knobs = {k[len(architecture) + 1:]: v for k, v in hparams.items()
             if k.startswith(f"{architecture}.")}
    model = build_model(architecture, num_classes=len(classes), in_channels=content["in_channels"],
                        dropout=hparams["dropout"], **knobs)
    model.load_state_dict(content["model"])
    return model


@torch.inference_mode()
def probabilities(model: torch.nn.Module, x: np.ndarray, batch_size: int,
                  device: Device) -> np.ndarray:
    """Softmax outputs over one split, in eval mode (as ``train.evaluate`` runs it)."""
    model = model.to(device.torch_device).eval()
    out = []
    for inputs, _ in batches(x, np.zeros(len(x), dtype=np.int64), batch_size,
                             pin_memory=device.is_cuda):
        with device.autocast():
            logits = model(to_input(inputs, device))
        out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(out)


def majority_vote(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """Each example's most voted class among the members' predictions; ties: the tied class with
    the largest summed probability."""
    stacked = np.stack(outputs)  # (members, examples, classes)
    votes = np.zeros(stacked.shape[1:])
    for member in stacked:
        votes[np.arange(len(member)), member.argmax(1)] += 1
    summed = stacked.sum(0)
    return np.where(votes == votes.max(1, keepdims=True), summed, -np.inf).argmax(1)


def averaged(outputs: Sequence[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(outputs), axis=0).argmax(1)


def scores(predictions: dict[str, dict[str, np.ndarray]], labels: dict[str, np.ndarray],
           num_classes: int, members: Sequence[str]) -> pandas.DataFrame:
    """Rows: each member's and each ensemble's scores per split, then each ensemble's gain over the
    best member of each column."""
    rows = {row: {f"{split} {word}": summary_metrics(labels[split], by_split[split],
                                                     num_classes)[key]
                  for split in labels for key, word in METRICS.items()}
            for row, by_split in predictions.items()}
    table = pandas.DataFrame.from_dict(rows, orient="index")
    best = table.loc[list(members)].max()
    for name in (VOTE, AVERAGE):
        table.loc[f"gain of the {name}"] = table.loc[name] - best
    return table


def build(study: optuna.Study, config: StudyConfig, top_k: int, device: Device) -> Ensemble:
    """Load the members, predict, combine and score."""
    folder = Path(study.user_attrs.get("artifact_dir") or config.artifact_dir)
    found, skipped = chosen(study, config, folder, top_k)
    splits = load_splits(config)
    parts = {"val": splits.val, **({"test": splits.test} if splits.test is not None else {})}
    members = []
    for trial, content in found:
        model = rebuilt(trial, content, splits)
        batch = int(trial.user_attrs["hparams"]["batch_size"])
        members.append(Member(trial.number, trial.value,
                              {name: probabilities(model, part.x, batch, device)
                               for name, part in parts.items()}))
    labels = {name: np.asarray(part.y) for name, part in parts.items()}
    predictions = {f"trial #{m.number}": {s: p.argmax(1) for s, p in m.probabilities.items()}
                   for m in members}
    for name, combine in ((VOTE, majority_vote), (AVERAGE, averaged)):
        predictions[name] = {s: combine([m.probabilities[s] for m in members]) for s in labels}
    table = scores(predictions, labels, len(splits.train.classes),
                   [f"trial #{m.number}" for m in members])
    return Ensemble(study.study_name, members, skipped, labels, table, top_k)


def markdown(result: Ensemble) -> str:
    """The result as the command prints it and the study note shows it."""
    sizes = " / ".join(f"{len(y)} {split}" for split, y in result.labels.items())
    fewer = f"; {result.asked} asked, fewer kept" if len(result.members) < result.asked else ""
    lines = [f"{NOTE_HEADING}",
             "",
             f"The {len(result.members)} best trials of study '{result.study_name}' with kept "
             f"weights ({', '.join(f'#{m.number}' for m in result.members)}), on {sizes} examples "
             f"({datetime.date.today().isoformat()}{fewer}):",
             "",
             *([f"Skipped: {', '.join(f'#{n}' for n in result.skipped)} (weights file "
                f"removed, beyond the kept best, or unreadable).", ""] if result.skipped else []),
             result.table.to_markdown(floatfmt=".4f")]
    return "\n".join(lines)


def publish(study: optuna.Study, result: Ensemble, text: str) -> None:
    """Store the result in the study's user attribute ``ensemble`` and append ``text`` to the study
    note (replacing an earlier ensemble section; the note is a study system attribute, so this
    works on a finished study)."""
    study.set_user_attr(ENSEMBLE_ATTR, {
        "members": [m.number for m in result.members], "skipped": result.skipped,
        "scores": {row: {col: float(v) for col, v in values.items()}
                   for row, values in result.table.to_dict(orient="index").items()},
        "note": text})
    note = optuna_dashboard.get_note(study)
    if NOTE_HEADING in note:  # the earlier section runs to the next heading, or to the end
        before, _, after = note.partition(NOTE_HEADING)
        following = re.search(r"^#{1,2} ", after, flags=re.MULTILINE)
        note = before.rstrip() + (f"\n\n{after[following.start():]}" if following else "")
    optuna_dashboard.save_note(study, f"{note.rstrip()}\n\n{text}\n" if note.strip() else text)


def ensemble_study(storage: StorageUrl, name: str, top_k: int, device: Device) -> str:
    """``run_study.py ensemble``: build the ensemble of the study's ``top_k`` best trials, store and
    publish it; returns what to print."""
    study = open_study(storage, name)
    result = build(study, stored_config(study, storage), top_k, device)
    text = markdown(result)
    publish(study, result, text)
    return (f"{text}\n\nStored in study '{name}': its user attribute '{ENSEMBLE_ATTR}', and the "
            f"section above in its note (optuna-dashboard).")
