"""Log files written by the real tools (Keras 3, Lightning, TensorBoard writers), once per session.

Each fixture trains or writes for about a second; the loaders are then checked against the numbers the
tool itself reported, not against numbers we typed.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

EPOCHS = 3
TB_LOSS = (2.0, 1.5, 1.25)  # what the SummaryWriter fixtures log, epoch by epoch (0-based steps)
TB_VAL_LOSS = (2.1, 1.7, 1.6)
TB_ACC = (0.25, 0.5, 0.75)
TB_VAL_ACC = (0.2, 0.4, 0.5)


@dataclass(frozen=True)
class KerasRun:
    csv: Path
    history: dict[str, list[float]]  # keras' History.history: metric -> value per epoch
    sparse_csv: Path  # a second run validating every other epoch (validation_freq=2)
    sparse_history: dict[str, list[float]]


@dataclass(frozen=True)
class LightningRun:
    csv_dir: Path  # lightning's CSVLogger version_0 folder (holds metrics.csv)
    tb_dir: Path  # lightning's TensorBoardLogger version_0 folder (holds the event file)
    last: dict[str, float]  # trainer.callback_metrics after the last epoch


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int64")


@pytest.fixture(scope="session")
def keras_run(tmp_path_factory: pytest.TempPathFactory) -> KerasRun:
    """A tiny Dense model on the digits, 3 epochs, logged by keras.callbacks.CSVLogger."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    x, y = _digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    csv = tmp_path_factory.mktemp("keras") / "log.csv"
    with warnings.catch_warnings():  # keras' torch backend vs numpy 2's __array__(copy=...) protocol
        warnings.simplefilter("ignore", DeprecationWarning)
        fit = model.fit(x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=EPOCHS,
                        batch_size=64, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(csv))])
        sparse_csv = csv.with_name("sparse.csv")
        sparse = model.fit(x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=EPOCHS,
                           validation_freq=2, batch_size=64, verbose=0,
                           callbacks=[keras.callbacks.CSVLogger(str(sparse_csv))])
    return KerasRun(csv, _plain(fit.history), sparse_csv, _plain(sparse.history))


def _plain(history: dict[str, list]) -> dict[str, list[float]]:
    return {k: [float(v) for v in vs] for k, vs in history.items()}


@pytest.fixture(scope="session")
def lightning_run(tmp_path_factory: pytest.TempPathFactory) -> LightningRun:
    """A linear classifier on the digits under lightning.Trainer, logged by CSVLogger and
    TensorBoardLogger at once."""
    import lightning as L
    import torch
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    x, y = (torch.from_numpy(a) for a in _digits())
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:1400], y[:1400]),
                                        batch_size=200, shuffle=True)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[1400:], y[1400:]),
                                      batch_size=200)

    class Classifier(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(64, 10)

        def training_step(self, batch, _):
            inputs, labels = batch
            out = self.net(inputs)
            loss = torch.nn.functional.cross_entropy(out, labels)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            accuracy = (out.argmax(1) == labels).float().mean()
            self.log("train_acc", accuracy, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            inputs, labels = batch
            out = self.net(inputs)
            self.log("val_loss", torch.nn.functional.cross_entropy(out, labels))
            self.log("val_acc", (out.argmax(1) == labels).float().mean())

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.5)

    root = tmp_path_factory.mktemp("lightning")
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(max_epochs=EPOCHS, default_root_dir=root, accelerator="cpu",
                        log_every_n_steps=1,
                        logger=[CSVLogger(root, name="csv"), TensorBoardLogger(root, name="tb")],
                        enable_progress_bar=False, enable_checkpointing=False,
                        enable_model_summary=False)
    with warnings.catch_warnings():  # lightning's use of torch internals torch has deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        trainer.fit(Classifier(), train, val)
    for logger in trainer.loggers:
        logger.finalize("success")
    last = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return LightningRun(root / "csv" / "version_0", root / "tb" / "version_0", last)


@pytest.fixture(scope="session")
def tb_values() -> dict[str, tuple[float, ...]]:
    """What the TensorBoard fixtures log per epoch, by plateau column."""
    return {"train_loss": TB_LOSS, "train_accuracy": TB_ACC, "val_loss": TB_VAL_LOSS,
            "val_accuracy": TB_VAL_ACC}


def _write(folder: Path, scalars: dict[str, tuple[float, ...]], tensors: bool = False) -> None:
    """Scalars at steps 0, 1, 2, ... with torch's SummaryWriter (``simple_value``) or, with
    ``tensors``, tensorboard's own Writer (scalars stored as tensors, as TF2 and Keras' callback do)."""
    if tensors:
        from tensorboard.summary import Writer

        writer = Writer(str(folder))
    else:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(folder))
    for tag, values in scalars.items():
        for step, value in enumerate(values):
            writer.add_scalar(tag, value, step)
    writer.close()


@pytest.fixture(scope="session")
def keras_tb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keras' TensorBoard callback layout: train/ and validation/ with epoch_loss, epoch_accuracy.
    (Keras 3's callback needs TensorFlow, which is not installed; SummaryWriter writes the same.)"""
    root = tmp_path_factory.mktemp("keras_tb")
    _write(root / "train", {"epoch_loss": TB_LOSS, "epoch_accuracy": TB_ACC,
                            "epoch_learning_rate": (0.01, 0.01, 0.001)})
    _write(root / "validation", {"epoch_loss": TB_VAL_LOSS, "epoch_accuracy": TB_VAL_ACC,
                                 "evaluation_loss_vs_iterations": TB_VAL_LOSS})
    return root


@pytest.fixture(scope="session")
def keras_tb_tensor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same layout with scalars stored as tensors (TF2's summary writer)."""
    root = tmp_path_factory.mktemp("keras_tb_tensors")
    _write(root / "train", {"epoch_loss": TB_LOSS, "epoch_accuracy": TB_ACC}, tensors=True)
    _write(root / "validation", {"epoch_loss": TB_VAL_LOSS, "epoch_accuracy": TB_VAL_ACC}, tensors=True)
    return root


@pytest.fixture(scope="session")
def pytorch_tb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain PyTorch loop's SummaryWriter: split in the tag, the epoch as step."""
    root = tmp_path_factory.mktemp("pytorch_tb")
    _write(root, {"Loss/train": TB_LOSS, "Loss/val": TB_VAL_LOSS, "Accuracy/train": TB_ACC,
                  "Accuracy/val": TB_VAL_ACC, "Misc/grad_norm": (1.0, 2.0, 3.0)})
    return root
