"""Sampling the search space through Optuna: conditional parameters appear only when they apply."""

from __future__ import annotations

import optuna
import pytest

from search.space import Choice, Fixed, Range, SearchSpace, HYPERPARAMETERS, suggest


def space(**params) -> SearchSpace:
    full = {name: Fixed(hp.default) for name, hp in HYPERPARAMETERS.items()}
    full.update({"architecture": Fixed("c3d"), **params})
    return SearchSpace(full, {"c3d": {"width": Choice((8, 16)), "depth": Fixed(2)},
                              "convlstm": {"hidden_channels": Range(4, 8, integer=True)}})


def sample(space: SearchSpace, params: dict):
    study = optuna.create_study()
    study.enqueue_trial(params)
    trial = study.ask()
    return trial, space.sample(trial)


def test_fixed_values_are_not_optuna_params_and_defaults_fill_the_rest():
    trial, hp = sample(space(), {"c3d.width": 16})
    assert trial.params == {"c3d.width": 16}
    assert (hp.lr, hp.batch_size, hp.optimizer, hp.loss) == (1e-3, 32, "adam", "cross_entropy")
    assert hp.model_kwargs == {"width": 16, "depth": 2}
    assert hp.to_json()["c3d.width"] == 16 and "model_kwargs" not in hp.to_json()


@pytest.mark.parametrize("optimizer, has_momentum", [("sgd", True), ("adam", False)])
def test_momentum_is_a_param_only_for_sgd(optimizer, has_momentum):
    s = space(optimizer=Choice(("adam", "sgd")), momentum=Range(0.5, 0.99))
    trial, hp = sample(s, {"optimizer": optimizer, "momentum": 0.8, "c3d.width": 8})
    assert ("momentum" in trial.params) is has_momentum
    assert hp.momentum == (0.8 if has_momentum else None)


@pytest.mark.parametrize("loss, param", [("focal", "focal_gamma"),
                                         ("label_smoothing", "label_smoothing"),
                                         ("weighted_cross_entropy", "class_weighting")])
def test_loss_specific_params_follow_the_loss(loss, param):
    s = space(loss=Choice(("cross_entropy", loss)), focal_gamma=Range(1.0, 3.0),
              label_smoothing=Range(0.05, 0.2),
              class_weighting=Choice(("inverse_frequency", "effective_number")))
    chosen, _ = sample(s, {"loss": loss, "c3d.width": 8})
    plain, hp = sample(s, {"loss": "cross_entropy", "c3d.width": 8})
    assert param in chosen.params and param not in plain.params
    assert getattr(hp, param) is None


def test_model_knobs_are_named_by_architecture():
    s = space(architecture=Choice(("c3d", "convlstm")))
    trial, hp = sample(s, {"architecture": "convlstm", "convlstm.hidden_channels": 6})
    assert trial.params == {"architecture": "convlstm", "convlstm.hidden_channels": 6}
    assert hp.model_kwargs == {"hidden_channels": 6}


@pytest.mark.parametrize("spec, distribution", [
    (Range(1e-4, 1e-1, log=True), optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)),
    (Range(0.0, 0.5, step=0.1), optuna.distributions.FloatDistribution(0.0, 0.5, step=0.1)),
    (Range(1, 4, integer=True), optuna.distributions.IntDistribution(1, 4)),
    (Choice((16, 32)), optuna.distributions.CategoricalDistribution((16, 32))),
])
def test_specs_become_the_matching_optuna_distributions(spec, distribution):
    study = optuna.create_study()
    trial = study.ask()
    suggest(trial, "x", spec)
    assert trial.distributions["x"] == distribution


def test_lr_auto_must_be_resolved_and_the_interval_is_stated_in_the_hparams():
    from search.space import Auto

    with pytest.raises(ValueError, match="resolved"):
        sample(space(lr=Auto()), {"c3d.width": 8})
    resolved = SearchSpace({**space().params, "lr": Range(1e-3, 1e-2, log=True)},
                           space().models, lr_interval=(1e-3, 1e-2))
    _, hp = sample(resolved, {"c3d.width": 8, "lr": 4e-3})
    assert hp.lr == 4e-3 and hp.to_json()["lr_interval"] == [1e-3, 1e-2]
    assert "lr_interval" not in sample(space(), {"c3d.width": 8})[1].to_json()


def test_hyperparams_read_back_from_json_and_older_records_get_defaults():
    from search.space import Hyperparams

    hp = Hyperparams("c3d", {"width": 8}, 1e-3, "constant", 16, 0.2, 0.0, "sgd", 0.9,
                     "cross_entropy", None, None, None, None, "none", "none")
    assert Hyperparams.from_json({**hp.to_json(), "lr_interval": [1e-4, 1e-3]}) == hp
    older = {k: v for k, v in hp.to_json().items() if k not in ("sampling", "momentum")}
    assert Hyperparams.from_json(older) == Hyperparams(
        **{**hp.__dict__, "sampling": "none", "momentum": None})
