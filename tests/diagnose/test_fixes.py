"""Every change in the fix table is a valid edit of a study file: applied to a study that uses the
models it names, the study file still loads. (A fix whose key the search side lacks would be advice
nobody can run.)"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torchvision
import yaml

from diagnose.fixes import FIXES, PRETRAINED_R2PLUS1D, Change
from search.config import load_study_config
from search.models import MODELS, knobs
from tiny import TINY_STUDY, Replace, deep_update

CHANGES = [(label, fix.name, change) for label, fixes in FIXES.items() for fix in fixes
           for change in fix.changes]
DIGITS = {"kind": "digits", "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}


def _edit(study: dict, change: Change) -> dict:
    """``study`` with ``change`` applied the way a user would edit the file (or the dashboard will)."""
    *path, leaf = change.key.split(".")
    section = study
    for part in path:
        section = section.setdefault(part, {})
    if change.op == "set":
        section[leaf] = change.value
    elif change.op == "include":
        current = section.get(leaf)
        old = current["choices"] if isinstance(current, dict) else [] if current is None else [current]
        section[leaf] = {"choices": old + [v for v in change.value if v not in old]}
    else:  # scale a fixed number, a range's ends or each choice, keeping their type
        section[leaf] = _scaled(section[leaf], change.value)
    return study


def _scaled(spec, factor: float):
    if isinstance(spec, dict) and "choices" in spec:
        return {**spec, "choices": [_scaled(v, factor) for v in spec["choices"]]}
    if isinstance(spec, dict):
        return {**spec, "low": _scaled(spec["low"], factor), "high": _scaled(spec["high"], factor)}
    return type(spec)(round(spec * factor) if isinstance(spec, int) else spec * factor)


def _studies_for(change: Change) -> list[tuple[dict, Change]]:
    """(study, change) pairs the change applies to: for ``models.*.<knob>``, one per registry model
    with that knob, the change's ``*`` made that model's name."""
    base = deep_update(TINY_STUDY, {"early_stopping": {"patience": 5}})
    if not change.key.startswith("models.*."):
        return [(base, change)]
    knob = change.key.split(".")[2]
    studies = []
    for name, entry in MODELS.items():
        if knob in knobs(name):
            study = deep_update(base, {"space": {"architecture": name}, "models": Replace(
                {name: {knob: knobs(name)[knob][1]}})})
            if entry.input == "image":
                study["data"] = DIGITS
            studies.append((study, dataclasses.replace(change, key=change.key.replace("*", name))))
    return studies


@pytest.mark.parametrize("label, fix, change", CHANGES,
                         ids=[f"{label}-{fix}-{change.key}" for label, fix, change in CHANGES])
def test_every_change_of_the_fix_table_edits_a_study_file_validly(label, fix, change, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the downloaded weights file named by the fix would be
    torch.save(torchvision.models.video.r2plus1d_18(weights=None).state_dict(), PRETRAINED_R2PLUS1D)
    studies = _studies_for(change)
    assert studies, f"no model has the knob of {change.key}"
    for study, concrete in studies:
        path = tmp_path / "edited.yaml"
        path.write_text(yaml.safe_dump(json.loads(json.dumps(_edit(study, concrete)))))
        load_study_config(path)  # raises ConfigError if the edit is not a valid study file
