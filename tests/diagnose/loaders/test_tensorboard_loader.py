"""TensorBoard event files: Keras' callback layout, PyTorch SummaryWriter tags, Lightning's logger."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.loaders.lightning import load_lightning
from diagnose.loaders.tensorboard import load_tensorboard
from search.record.errors import LogError


def _expected(tb_values: dict[str, tuple[float, ...]]) -> list[dict[str, float]]:
    return [{"epoch": e + 1, **{c: v[e] for c, v in tb_values.items()}} for e in range(3)]


def _approx(rows: list[dict[str, float]]) -> list[dict[str, object]]:
    return [{k: pytest.approx(v, rel=1e-6) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("fixture, ignored", [
    ("keras_tb_dir", ["evaluation_loss_vs_iterations"]),
    ("keras_tb_tensor_dir", []),  # scalars stored as tensors, as TF2's writer does
    ("pytorch_tb_dir", ["Misc/grad_norm"]),
])
def test_epoch_step_layouts(request, tb_values, fixture, ignored):
    history = load_tensorboard(request.getfixturevalue(fixture))
    without_lr = [{k: v for k, v in r.items() if k != "lr"} for r in history.rows]
    assert without_lr == _approx(_expected(tb_values))
    assert history.source.format == "tensorboard" and history.source.ignored_columns == ignored


def test_keras_learning_rate_tag(keras_tb_dir):
    assert load_tensorboard(keras_tb_dir).column("lr") == pytest.approx([0.01, 0.01, 0.001])


def test_a_single_event_file_takes_its_split_from_its_folder(keras_tb_dir, tb_values):
    (event_file,) = (keras_tb_dir / "validation").glob("events.out.tfevents.*")
    history = load_tensorboard(event_file)
    assert history.column("val_loss") == pytest.approx(tb_values["val_loss"])
    assert history.column("train_loss") == [None] * 3


def test_keras_epoch_tags_keep_their_epoch_when_validation_is_sparse(tmp_path):
    """Keras' ``epoch_*`` tags are logged at epoch steps: validation every other epoch
    (``validation_freq=2``) must not be read as validation closing a bucket of steps."""
    from torch.utils.tensorboard import SummaryWriter

    for folder, values in (("train", {0: 2.0, 1: 1.5, 2: 1.2, 3: 1.0}), ("validation", {1: 1.6, 3: 1.1})):
        writer = SummaryWriter(str(tmp_path / folder))
        for step, value in values.items():
            writer.add_scalar("epoch_loss", value, step)
        writer.close()
    history = load_tensorboard(tmp_path)
    assert history.column("train_loss") == pytest.approx([2.0, 1.5, 1.2, 1.0])
    assert history.column("val_loss") == [None, pytest.approx(1.6), None, pytest.approx(1.1)]


def test_lightning_tensorboard_logger_matches_its_csv_logger(lightning_run):
    """Lightning logs at the global step with an ``epoch`` scalar: the same rows as its metrics.csv."""
    from_tb = load_tensorboard(lightning_run.tb_dir)
    from_csv = load_lightning(lightning_run.csv_dir / "metrics.csv")
    assert from_tb.column("epoch") == [1, 2, 3]
    assert from_tb.rows == _approx(from_csv.rows)
    assert from_tb.rows[-1]["val_loss"] == pytest.approx(lightning_run.last["val_loss"], rel=1e-6)


def test_global_steps_without_an_epoch_tag_are_bucketed_by_validation(tmp_path):
    val_loss, val_acc = (2.1, 1.7, 1.6), (0.2, 0.4, 0.5)
    """A PyTorch loop logging the training loss per batch and validation once per epoch."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    batch_losses = [[2.0, 1.8, 1.6], [1.4, 1.2, 1.0], [0.9, 0.8, 0.7]]
    step = 0
    for epoch, losses in enumerate(batch_losses):
        for loss in losses:
            writer.add_scalar("train/loss", loss, step)
            step += 1
        writer.add_scalar("val/loss", val_loss[epoch], step - 1)
        writer.add_scalar("val/acc", val_acc[epoch], step - 1)
    writer.close()
    history = load_tensorboard(tmp_path)
    assert history.column("train_loss") == pytest.approx([sum(b) / 3 for b in batch_losses])
    assert history.column("val_loss") == pytest.approx(val_loss)
    assert history.column("val_accuracy") == pytest.approx(val_acc)
    assert history.source.epochs_from == "steps, bucketed between validation steps"


def _junk_event_file(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.out.tfevents.1.host").write_bytes(b"not an event file" * 10)


def _unknown_tags(folder: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder))
    writer.add_scalar("grad_norm", 1.0, 0)
    writer.add_scalar("test/loss", 1.0, 0)
    writer.close()


def _two_runs(folder: Path) -> None:
    _unknown_tags(folder / "version_0")
    _unknown_tags(folder / "version_1")


@pytest.mark.parametrize("make, words", [
    (lambda folder: folder.mkdir(), ["no TensorBoard event files", "events.out.tfevents.*"]),
    (_unknown_tags, ["no loss or accuracy scalar", "grad_norm, test/loss"]),
    (_junk_event_file, ["no loss or accuracy scalar", "empty or corrupt"]),
    (_two_runs, ["2 TensorBoard runs", "version_0, version_1", "give one of them"]),
    (lambda folder: None, ["no such file"]),
], ids=["no event files", "unknown tags", "corrupt file", "two runs", "missing"])
def test_bad_tensorboard_logs(tmp_path, make, words):
    folder = tmp_path / "logs"
    make(folder)
    with pytest.raises(LogError) as error:
        load_tensorboard(folder)
    message = str(error.value)
    assert message.startswith(str(folder)) and "\n" not in message
    assert all(word in message for word in words), message
