"""The fix table as study-file edits: ``apply_changes``, and every change in the table applied to a
study that uses the models it names gives a study file that still loads. (A fix whose key the search
side lacks would be advice nobody can run.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
import yaml

from diagnose.fixes import FIXES, PRETRAINED_R2PLUS1D, apply_changes, tailored
from search.record.diagnosis import Change
from search.config import load_study_config
from search.models import MODELS, knobs
from tiny import TINY_STUDY, Replace, deep_update

CHANGES = [(label, fix.name, change) for label, fixes in FIXES.items() for fix in fixes
           for change in fix.changes]
DIGITS = {"kind": "digits", "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}


def _studies_for(change: Change) -> list[dict]:
    """Studies the change applies to: for ``models.*.<knob>``, one per registry model with it."""
    base = deep_update(TINY_STUDY, {"early_stopping": {"patience": 5}})
    if not change.key.startswith("models.*."):
        return [base]
    knob = change.key.split(".")[2]
    studies = []
    for name, entry in MODELS.items():
        if knob in knobs(name):
            study = deep_update(base, {"space": {"architecture": name}, "models": Replace(
                {name: {knob: knobs(name)[knob][1]}})})
            if entry.input == "image":
                study["data"] = DIGITS
            studies.append(study)
    return studies


@pytest.mark.parametrize("label, fix, change", CHANGES,
                         ids=[f"{label}-{fix}-{change.key}" for label, fix, change in CHANGES])
def test_every_change_of_the_fix_table_edits_a_study_file_validly(label, fix, change, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the downloaded weights file named by the fix would be
    torch.save(torchvision.models.video.r2plus1d_18(weights=None).state_dict(), PRETRAINED_R2PLUS1D)
    studies = _studies_for(change)
    assert studies, f"no model has the knob of {change.key}"
    for study in studies:
        edited = apply_changes(study, [change])
        path = tmp_path / "edited.yaml"
        path.write_text(yaml.safe_dump(json.loads(json.dumps(edited))))
        load_study_config(path)  # raises ConfigError if the edit is not a valid study file


@pytest.mark.parametrize("current, change, expected", [
    (None, Change("set", "space.dropout", {"low": 0.3, "high": 0.6}), {"low": 0.3, "high": 0.6}),
    ("adam", Change("include", "space.optimizer", ["adamw"]), {"choices": ["adam", "adamw"]}),
    ({"choices": ["adam", "adamw"]}, Change("include", "space.optimizer", ["adamw", "sgd"]),
     {"choices": ["adam", "adamw", "sgd"]}),
    ({"low": 16, "high": 64}, Change("include", "space.batch_size", [8]), {"low": 16, "high": 64}),
    (None, Change("include", "space.loss", ["focal"]), {"choices": ["focal"]}),
    ({"low": 1e-3, "high": 1e-2, "log": True}, Change("scale", "space.lr", 0.1),
     {"low": 1e-4, "high": 1e-3, "log": True}),
    (3, Change("scale", "space.batch_size", 1.5), 4),
    (1, Change("scale", "space.batch_size", 0.5), 1),  # integers stay integers, and >= 1
    ({"choices": [8, 16]}, Change("scale", "space.batch_size", 0.5), {"choices": [4, 8]}),
])
def test_apply_changes(current, change, expected):
    key = change.key.split(".")[1]
    study = {"space": {} if current is None else {key: current}}
    edited = apply_changes(study, [change])
    assert edited["space"][key] == pytest.approx(expected) if not isinstance(expected, dict) \
        else edited["space"][key] == expected or _close(edited["space"][key], expected)
    assert study == {"space": {} if current is None else {key: current}}  # the input is untouched


def _close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == pytest.approx(b[k]) for k in a)


def test_a_wildcard_edits_every_model_section_that_names_the_knob_and_scale_skips_missing_keys():
    study = {"models": {"c3d": {"width": 16, "depth": 3}, "convlstm": {"hidden_channels": 8}},
             "space": {}}
    edited = apply_changes(study, [Change("scale", "models.*.width", 2.0),
                                   Change("scale", "space.lr", 0.1)])
    assert edited == {"models": {"c3d": {"width": 32, "depth": 3},
                                 "convlstm": {"hidden_channels": 8}}, "space": {}}


DEMO = yaml.safe_load((Path(__file__).parents[2] / "studies" / "demo.yaml").read_text())


@pytest.mark.parametrize("label", FIXES)
def test_no_tailored_change_leaves_the_study_as_it_is(label):
    """Every change of every fix, tailored to the default study, edits it."""
    for fix in tailored(FIXES[label], DEMO):
        for change in fix.changes:
            assert apply_changes(DEMO, (change,)) != apply_changes(DEMO, ()), (fix.name, change)


@pytest.mark.parametrize("label, gone, explored, kept", [
    # the demo already optimises macro-F1 and searches weighted cross entropy, focal loss and both
    # class weightings
    ("imbalanced", {"macro_f1_objective"},
     {"weighted_cross_entropy", "focal_loss", "cost_sensitive"}, {"resampling", "ensemble"}),
    # adam and adamw are already choices, and batch 16 and 32; its models have no batch_norm knob
    ("underfit", {"batch_norm"}, {"optimizer_and_batch_size"}, {"capacity", "learning_rate"}),
    ("diverged", {"batch_norm"}, set(), {"lower_learning_rate", "gradient_clipping", "warmup"}),
])
def test_fixes_the_study_already_has_are_not_proposed_but_said_to_be_explored(label, gone,
                                                                             explored, kept):
    fixes = {fix.name: fix for fix in tailored(FIXES[label], DEMO)}
    assert not set(fixes) & gone and kept <= set(fixes)
    assert {name for name, fix in fixes.items() if fix.explored} == explored
    for name in explored:
        assert fixes[name].changes == () and fixes[name].text().startswith("already searched (")
    assert all(fixes[name].changes for name in kept if name != "ensemble")


def test_a_change_the_study_already_has_is_left_out_of_its_fix():
    study = deep_update(TINY_STUDY, {"space": {"optimizer": {"choices": ["adamw", "sgd"]}}})
    (weight_decay,) = [f for f in tailored(FIXES["overfit"], study) if f.name == "weight_decay"]
    assert [c.key for c in weight_decay.changes] == ["space.weight_decay"]  # adamw: already there


def test_without_a_study_the_fixes_are_the_tables():
    assert tailored(FIXES["overfit"], None) == FIXES["overfit"]


def test_setting_a_key_under_a_switched_off_section_switches_it_on():
    edited = apply_changes({"early_stopping": False}, FIXES["overfit"][2].changes)
    assert edited["early_stopping"] == {"patience": 3, "warmup_epochs": 0}
    assert apply_changes({"early_stopping": False},
                         [Change("scale", "early_stopping.patience", 2)]) == {"early_stopping": False}


@pytest.mark.parametrize("fix, trial, expected", [
    ("dropout", {"dropout": 0.45}, {"low": 0.45, "high": 0.6}),  # above what the trial had
    ("dropout", {"dropout": 0.1}, {"low": 0.3, "high": 0.6}),
    ("dropout", {"dropout": 0.6}, None),  # already at the top: nothing higher to propose here
    ("learning_rate", {"lr": 0.009}, {"low": 0.009, "high": 3e-2, "log": True}),
    ("learning_rate", {"lr": 0.05}, None),
    ("less_regularization", {"dropout": 0.15}, {"low": 0.0, "high": 0.15}),
    ("less_regularization", {"dropout": 0.0}, None),
], ids=["dropout from the trial's", "dropout below the range", "dropout at its top",
        "lr from the trial's", "lr above the range", "less dropout: up to the trial's",
        "no dropout to take away"])
def test_a_range_moves_from_where_the_trial_was(fix, trial, expected):
    study = deep_update(TINY_STUDY, {"space": {"dropout": {"low": 0.0, "high": 0.3},
                                                "weight_decay": 1e-5}})
    (table_fix,) = [f for label in FIXES for f in FIXES[label] if f.name == fix][:1]
    key = "space.lr" if fix == "learning_rate" else "space.dropout"
    fixes = tailored([table_fix], study, trial)
    changes = {c.key: c.value for f in fixes for c in f.changes}
    assert changes.get(key) == (pytest.approx(expected) if expected else None)
