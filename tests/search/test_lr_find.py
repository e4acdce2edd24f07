"""The LR range test: its smoothing (the centred one without the EMA's lag), stopping and reading on
synthetic curves; on a real model, an interval whose middle trains to a good accuracy; the lr-find command and its plot;
``lr: auto`` in a study (the interval found once, stored, stated in every trial)."""

from __future__ import annotations

import dataclasses
import math

import optuna
import pytest

import run_study
from diagnose.fixes import Change, apply_changes, tailored, FIXES
from search.config import load_study_config
from search.device import pick_device, seed_everything
from search.lr_find import (DIVERGENCE_FACTOR, STUDY_ATTR, centred, divergence, half_window,
                            lr_find, schedule, smooth, suggest_lr, sweep_hparams, valley)
from search.models import build_model
from search.record.errors import PlateauError
from search.record.storage import StorageUrl
from search.record.trial import study_records
from search.study import load_splits

DIGITS = {"data": {"kind": "digits", "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0},
          "space": {"architecture": "cnn2d", "lr": "auto", "batch_size": 32},
          "models": {"cnn2d": {"width": 32, "depth": 2}}}  # 0.95+ val accuracy in 3 epochs


@pytest.mark.parametrize("losses, beta, expected", [
    ([2.0, 2.0, 2.0], 0.98, [2.0, 2.0, 2.0]),  # bias correction: a constant stays itself
    ([1.0, 3.0], 0.5, [1.0, (0.25 * 1 + 0.5 * 3) / 0.75]),  # (b(1-b)x0 + (1-b)x1) / (1 - b^2)
    ([5.0, 1.0, 4.0], 0.0, [5.0, 1.0, 4.0]),  # beta 0: no smoothing
    ([1.0, math.nan, 1.0], 0.98, [1.0, math.nan, math.nan]),  # a NaN stays in the average
])
def test_smoothing_is_a_debiased_exponential_moving_average(losses, beta, expected):
    assert smooth(losses, beta) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize("smoothed, stops", [
    ([3.0, 2.0, 1.0], None),
    ([1.0, 2.0, DIVERGENCE_FACTOR], None),  # exactly 4x its minimum: not yet
    ([1.0, 2.0, 4.01], "exceeded 4x its minimum 1"),
    ([2.0, 0.5, 2.1], "exceeded 4x its minimum 0.5"),
    ([1.0, math.nan], "became nan"),
    ([1.0, math.inf], "became inf"),
])
def test_the_sweep_stops_past_4x_the_minimum_or_on_nan(smoothed, stops):
    reason = divergence(smoothed)
    assert (reason is None) if stops is None else (stops in reason)


def test_the_centred_average_has_no_lag_where_the_ema_lags_decades():
    lrs = schedule(1e-7, 10.0, 100)
    raw = [abs(math.log10(lr) + 3) for lr in lrs]  # a V whose bottom is at 1e-3
    bottom = lrs[raw.index(min(raw))]
    half = half_window(lrs)
    assert half == 5  # 0.4 decade at 100 steps over 8 decades
    read = centred(raw, half)
    assert lrs[read.index(min(read))] == pytest.approx(bottom)
    ema = smooth(raw)
    assert lrs[ema.index(min(ema))] > 10 * bottom  # fastai's EMA: its minimum a decade+ right


def test_the_centred_average_skips_non_finite_losses_and_keeps_them():
    assert centred([1.0, 3.0, 5.0, 7.0], 1) == [2.0, 3.0, 5.0, 6.0]
    assert centred([1.0, math.nan, 3.0, math.inf], 1) == pytest.approx(
        [1.0, math.nan, 3.0, math.inf], nan_ok=True)


def test_valley_is_about_halfway_along_the_longest_descending_run():
    import numpy as np

    flat = [0.1, 0.2] * 10  # noise below the run: no descending run longer than 2
    run = [1.0 - i / 40 for i in range(31)]  # indices 20..50
    assert valley(np.array(flat + run + [2.0, 3.0])) == 20 + 10 + 5
    assert valley(np.array([2.0, 1.0])) == 0  # fastai's formula would index -1 here


def test_the_schedule_grows_exponentially_from_start_to_end():
    lrs = schedule(1e-7, 10.0, 100)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10.0) and len(lrs) == 100
    ratios = {round(b / a, 9) for a, b in zip(lrs, lrs[1:])}
    assert len(ratios) == 1


def synthetic(x: float) -> float:
    """A loss against log10(lr): falls fastest at 1e-3, lowest near 1e-1, then rises."""
    return 1.0 - 0.5 * math.tanh(2 * (x + 3)) + 3 * max(0.0, x + 1.2) ** 2


def test_candidates_on_a_synthetic_curve():
    lrs = schedule(1e-7, 10.0, 100)
    found = suggest_lr(lrs, [synthetic(math.log10(lr)) for lr in lrs], 100)
    step = 10 ** (8 / 99)  # one step of the schedule
    assert 1e-3 / step <= found.steepest <= 1e-3 * step
    assert 10 ** -1.2 / step ** 2 <= found.minimum <= 10 ** -0.9
    assert found.suggestion == pytest.approx(found.minimum / 10)
    low, high = found.interval
    assert math.sqrt(low * high) == pytest.approx(found.suggestion)
    assert high / low == pytest.approx(10)  # one decade
    assert high < found.minimum


def test_the_last_steps_and_the_first_tenth_are_not_read():
    lrs = schedule(1e-7, 10.0, 100)
    curve = [2.0 - i / 100 for i in range(100)]  # falls all along...
    curve[:10] = [0.1] * 10  # ...but a spike down in the first tenth is noise
    curve[-3] = 0.0  # and so is one among the last steps
    assert suggest_lr(lrs, curve, 100).minimum == pytest.approx(lrs[94])


def test_a_sweep_that_diverges_at_once_is_one_line():
    with pytest.raises(PlateauError, match="diverged after 1 steps.*space.lr"):
        suggest_lr([1e-7, 1e-6], [1.0, math.nan], 100)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("lr") / "digits.yaml"
    path.write_text(yaml.safe_dump(DIGITS))
    config = load_study_config(path)
    return config, load_splits(config)


def test_the_interval_middle_trains_the_model_well(digits):
    from search.train import fit

    config, splits = digits
    device = pick_device("cpu")
    found = lr_find(config, splits, device)
    low, high = found.found.interval
    assert len(found.lrs) >= 50 and low < found.found.suggestion < high
    seed_everything(0)
    hp = dataclasses.replace(sweep_hparams(config.space), lr=math.sqrt(low * high))
    model = build_model("cnn2d", num_classes=10, in_channels=1, dropout=0.0, **hp.model_kwargs)
    result = fit(model, splits, hp, max_epochs=3, device=device, objective="val_accuracy",
                 maximize=True, seed=0)
    end = result.history.rows[-1]
    # measured: lr ~1e-2 (the EMA's read gave ~3e-2), val accuracy 0.97 (1e-3: 0.95-0.96)
    assert end["val_accuracy"] >= 0.9 and end["train_loss"] < 0.3


def test_the_command_prints_the_suggestion_and_writes_the_plot(write_study, tmp_path, capsys):
    out = tmp_path / "curve.html"
    assert run_study.main(["lr-find", str(write_study()), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sweep: ") and "of 100 steps, lr 1e-07 .. " in lines[0]
    assert "c3d, adam, batch size 8, dropout 0" in lines[0]
    assert any(line.startswith("suggestion: lr ") for line in lines)
    assert any(line.startswith("interval (lr: auto): ") for line in lines)
    assert lines[-1] == f"plot: {out}"
    html = out.read_text()
    assert "plotly" in html and '"type":"log"' in html and "suggestion " in html
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js inline: offline


@pytest.mark.parametrize("args, message", [
    (["{study}"], "'space.lr' must be a positive number"),
    (["{tmp}/missing.yaml"], "study file not found"),
    (["{study}", "--out", "{tmp}/no/such/folder/x.html"], "cannot write the plot"),
])
def test_bad_input_is_one_line_and_exit_2(write_study, tmp_path, capsys, args, message):
    study = write_study({"space": {"lr": "fast" if "--out" not in args else "auto"}})
    argv = ["lr-find", *(a.format(study=study, tmp=tmp_path) for a in args)]
    assert run_study.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_lr_auto_study_finds_the_interval_once_and_states_it_in_every_trial(write_study,
                                                                           sqlite_url, capsys):
    path = write_study({"space": {"lr": "auto"}, "budget": {"n_trials": 2}})
    assert run_study.main(["run", str(path), "--storage", sqlite_url, "--skip-checks"]) == 0
    assert "lr: auto: running the LR range test" in capsys.readouterr().err
    study = optuna.load_study(study_name="tiny", storage=StorageUrl.parse(sqlite_url).open())
    stored = study.user_attrs[STUDY_ATTR]
    low, high = stored["interval"]
    assert study.user_attrs["config"]["space"]["lr"] == "auto"
    # a continued study searches the stored interval: no second range test
    assert run_study.main(["run", str(path), "--storage", sqlite_url, "--n-trials", "1",
                           "--skip-checks"]) == 0
    err = capsys.readouterr().err
    assert "lr: auto: the interval stored with the study" in err and "running" not in err
    records = study_records(study)
    assert len(records) == 3
    for record in records:
        assert record.hparams["lr_interval"] == [low, high]
        assert low <= record.hparams["lr"] <= high
    distributions = {str(t.distributions["lr"]) for t in study.get_trials()}
    assert len(distributions) == 1  # one search space for TPE across both runs
    assert run_study.main(["table", "--storage", sqlite_url, "--study", "tiny"]) == 0
    assert "| 2 " in capsys.readouterr().out


def test_fixes_leave_lr_auto_as_it_is():
    study = {"space": {"architecture": "cnn2d", "lr": "auto"}}
    assert apply_changes(study, [Change("scale", "space.lr", 0.1)]) == study
    assert apply_changes(study, [Change("set", "space.lr", {"low": 1e-3, "high": 3e-2})])[
        "space"]["lr"] == {"low": 1e-3, "high": 3e-2}
    for fixes in FIXES.values():  # every fix reads a study with lr: auto without failing
        tailored(fixes, study, {"lr": 3e-3, "lr_interval": [1e-3, 1e-2]})
