"""Study files -> typed config: valid files load as written, every invalid one fails with one line."""

from __future__ import annotations


import pytest

from search.config import load_study_config
from search.early_stopping import EarlyStopping
from search.record.errors import ConfigError
from search.space import Choice, Fixed, Range
from invalid_studies import INVALID
from tiny import Replace



def test_tiny_study_loads_into_typed_config(write_study):
    config = load_study_config(write_study())
    assert config.name == "tiny"
    assert config.storage.url == "sqlite:///plateau.db" and config.storage.kind == "sqlite"
    assert config.direction == "maximize"
    assert config.data.kind == "synthetic_gestures" and config.data.input == "video"
    assert config.data.options == {"num_classes": 3, "clips_per_class": 12, "clip_length": 4,
                                   "frame_size": 16, "noise": 0.1, "seed": 0}
    assert config.budget.n_trials == 3 and config.budget.max_epochs == 2
    assert config.budget.timeout is None
    assert config.early_stopping is None
    space = config.space.params
    assert space["architecture"] == Choice(("c3d", "convlstm"))
    assert space["lr"] == Range(1e-3, 1e-2, log=True)
    assert space["batch_size"] == Fixed(8)
    assert space["momentum"] == Fixed(0.9)  # default from the table
    assert config.space.models["c3d"] == {"width": Fixed(4), "depth": Fixed(1)}


def test_the_default_split_is_80_10_10_as_the_wlasl_guide_suggests(write_study):
    config = load_study_config(write_study({"data": {"val_fraction": ..., "test_fraction": ...}}))
    assert (config.data.val_fraction, config.data.test_fraction) == (0.1, 0.1)


def test_overrides_replace_file_values(write_study, tmp_path):
    config = load_study_config(write_study(), {
        "timeout": 60.0, "max_epochs": 5, "storage": "sqlite:///x.db",
        "study_name": "other", "seed": 3, "data_root": None})
    assert (config.budget.n_trials, config.budget.timeout, config.budget.max_epochs) == (3, 60.0, 5)
    assert (config.storage.url, config.name, config.seed) == ("sqlite:///x.db", "other", 3)
    assert config.raw["budget"]["max_epochs"] == 5  # what is stored with the study


def test_early_stopping_auto_scales_with_max_epochs(write_study):
    config = load_study_config(write_study({"early_stopping": ...}), {"max_epochs": 40})
    assert config.early_stopping == EarlyStopping.auto(40)
    assert config.early_stopping.patience == 16 and config.early_stopping.warmup_epochs == 10
    fixed = load_study_config(write_study(
        {"early_stopping": {"patience": 4, "warmup_epochs": 0, "min_delta": 0.01}}))
    assert fixed.early_stopping == EarlyStopping(4, 0.01, 0)


def test_yaml_exponent_without_dot_is_a_float(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("data: {kind: digits}\nspace: {architecture: cnn2d, lr: 1e-3}\n")
    assert load_study_config(path).space.params["lr"] == Fixed(0.001)


@pytest.mark.parametrize("changes, fragments", INVALID.values(), ids=INVALID.keys())
def test_invalid_study_file_is_one_clear_line(write_study, changes, fragments):
    path = write_study(changes)
    with pytest.raises(ConfigError) as info:
        load_study_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


RAW_INVALID = {
    "yaml syntax": ("data: {kind: digits\n", ["invalid YAML at line"]),
    "duplicate key": ("data: {kind: digits}\ndata: {kind: digits}\n", ["key 'data' appears twice"]),
    "not a mapping": ("- a\n- b\n", ["a study file is a YAML mapping"]),
    "empty file": ("", ["a study file is a YAML mapping", "NoneType"]),
}


@pytest.mark.parametrize("text, fragments", RAW_INVALID.values(), ids=RAW_INVALID.keys())
def test_unreadable_study_file_is_one_clear_line(tmp_path, text, fragments):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_study_config(path)
    assert "\n" not in str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_missing_and_binary_study_files(tmp_path):
    with pytest.raises(ConfigError, match="study file not found"):
        load_study_config(tmp_path / "nope.yaml")
    binary = tmp_path / "junk.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match="not a text file|invalid YAML"):
        load_study_config(binary)



def test_a_factory_architecture_and_its_knobs_come_from_the_users_module(write_study, tmp_path,
                                                                         monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "from torch import nn\n"
        "def tiny(num_classes, *, in_channels=3, dropout=0.0, width: int = 4):\n"
        "    return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), nn.ReLU(),\n"
        "                         nn.Linear(width, num_classes))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = load_study_config(write_study({
        "space": {"architecture": "my_models:tiny"},
        "models": Replace({"my_models:tiny": {"width": {"choices": [4, 8]}}})}))
    assert config.space.params["architecture"] == Fixed("my_models:tiny")
    assert config.space.models["my_models:tiny"] == {"width": Choice((4, 8))}


@pytest.mark.parametrize("lr, message", [
    ("fast", "'space.lr' must be a positive number, {low: ..., high: ..., log: true}, "
             "{choices: [...]} or 'auto' (the LR range test). Got 'fast' instead."),
    ("Auto", "Got 'Auto' instead."),
    (-1.0, "'space.lr'"),
])
def test_lr_auto_is_the_one_string_lr_takes(write_study, lr, message):
    from search.space import Auto

    config = load_study_config(write_study({"space": {"lr": "auto"}}))
    assert config.space.params["lr"] == Auto() and config.raw["space"]["lr"] == "auto"
    with pytest.raises(ConfigError) as info:
        load_study_config(write_study({"space": {"lr": lr}}))
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("given, name, options", [
    (..., "median", {"n_startup_trials": 3, "n_warmup_steps": 1, "within_architecture": True}),
    ("median", "median", {}),  # a name alone: Optuna's class with its own defaults
    ({"n_warmup_steps": 2}, "median",  # a mapping without a name adjusts plateau's default
     {"n_startup_trials": 3, "n_warmup_steps": 2, "within_architecture": True}),
    ({"name": "successive_halving", "min_resource": 2}, "successive_halving", {"min_resource": 2}),
])
def test_the_pruner_is_plateaus_default_unless_named(write_study, given, name, options):
    config = load_study_config(write_study({"pruner": given}))
    assert (config.pruner.name, dict(config.pruner.options)) == (name, options)
