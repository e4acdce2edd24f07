"""Per-epoch checkpoints: a run stopped after any epoch and resumed from its checkpoint trains
exactly the epochs an uninterrupted run trains (every random generator is restored), and the files
are written whole, read back weights-only and removed."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from search.checkpoints import TrialCheckpoints
from search.data import load_dataset
from search.data.splits import stratified_split
from search.device import pick_device, seed_everything
from search.models import build_model
from search.train import Stop, fit
from tiny import HP

DIGITS_HP = dataclasses.replace(HP, architecture="cnn2d", batch_size=64, lr=0.01, dropout=0.2,
                                lr_schedule="cosine", augmentation="random_affine")


@pytest.fixture(scope="module")
def splits():
    return stratified_split(load_dataset("digits"), val_fraction=0.2, test_fraction=0.1, seed=0)


def run(splits, checkpoints=None, stop_after=None):
    seed_everything(0)
    model = build_model("cnn2d", num_classes=10, in_channels=1, dropout=0.2, width=8, depth=1)
    return fit(model, splits, DIGITS_HP, max_epochs=4, device=pick_device("cpu"),
               objective="val_macro_f1", maximize=True, seed=0, checkpoints=checkpoints,
               on_epoch=lambda h: Stop("interrupted", "test") if len(h.rows) == stop_after
               else None)


def measured(rows):
    return [{k: v for k, v in row.items() if k not in ("epoch_time_s", "samples_per_s")}
            for row in rows]


@pytest.mark.parametrize("stop_after", [1, 3])
def test_a_resumed_run_equals_one_never_stopped(splits, tmp_path, stop_after):
    whole = run(splits)
    first = TrialCheckpoints(tmp_path, number=0)
    stopped = run(splits, first, stop_after=stop_after)
    assert len(stopped.history.rows) == stop_after and first.path(0).is_file()
    resumed = run(splits, TrialCheckpoints(tmp_path, number=1, earlier=(0,)))
    assert measured(resumed.history.rows) == measured(whole.history.rows)
    assert resumed.best_epoch == whole.best_epoch and resumed.test == whole.test
    assert resumed.history.per_class == whole.history.per_class


def test_the_newest_attempt_is_read_and_remove_clears_every_attempt(tmp_path):
    checkpoints = TrialCheckpoints(tmp_path / "checkpoints" / "study", number=7, earlier=(2, 5))
    assert checkpoints.load() is None
    TrialCheckpoints(checkpoints.folder, 2).save({"epoch": 1})
    TrialCheckpoints(checkpoints.folder, 5).save({"epoch": 3})
    assert checkpoints.load() == {"epoch": 3}  # the latest attempt's
    checkpoints.save({"epoch": 4, "weights": torch.ones(2)})
    assert checkpoints.load()["epoch"] == 4
    assert sorted(p.name for p in checkpoints.folder.iterdir()) == [
        "trial-2.pt", "trial-5.pt", "trial-7.pt"]  # written whole: no temporary file left
    checkpoints.remove()
    assert not (tmp_path / "checkpoints").exists()  # empty folders go too


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    checkpoints = TrialCheckpoints(tmp_path, 0)
    torch.save({"epoch": 1, "evil": Payload()}, checkpoints.path(0))
    with pytest.raises(Exception, match="[Ww]eights only"):
        checkpoints.load()
