"""The training loop of one trial: epochs of training and validation that write a ``History``.

It knows nothing of Optuna: after each epoch it calls ``on_epoch(history)``, which may answer with a
``Stop`` (the study side uses that to report to Optuna, prune, and apply the plateau rule). A NaN or
infinite training loss ends the run at once as diverged. ``fit`` reads as its phases: setup (or resume
from a checkpoint), then per epoch training, evaluation, keeping the best epoch and a checkpoint, then
finishing (per-class results at the best epoch, the test split scored with its weights); each phase is
one small function below it or in ``search.checkpoints``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Sampler, SequentialSampler, TensorDataset

from search import augment
from search.checkpoints import TrialCheckpoints, restore, state_of
from search.data.splits import Splits
from search.device import Device
from search.losses import build_loss
from search.models import count_parameters, parameter_counts
from search.optimizers import build_optimizer, build_schedule
from search.record.history import History
from search.record.measures import best_index, per_class_results, plural, summary_metrics
from search.sampling import train_sampler
from search.space import Hyperparams

# How often (in steps) the running training loss is checked for NaN/inf. On a GPU each check waits
# for the device, so not every step; on the CPU it is free. The epoch's end is always checked.
DIVERGENCE_CHECK_EVERY = 16


@dataclass(frozen=True)
class Stop:
    """Why a run ended before max_epochs: kind is "plateau", "pruned" or "diverged"."""

    kind: str
    reason: str  # one line for people, e.g. "diverged at epoch 3: training loss is nan"


@dataclass(frozen=True)
class FitResult:
    history: History  # every epoch run, and per-class results at the best epoch
    stop: Stop | None  # None: ran all max_epochs
    stop_reason: str  # the stop's reason, or "completed N epochs"
    best_value: float | None  # the objective at the best epoch (None if no epoch finished)
    best_epoch: int | None
    param_count: int  # trainable parameters
    param_counts: dict[str, int]  # by part (``models.parameter_counts``)
    test: dict[str, float] | None  # the test split scored with the best epoch's weights
    best_state: dict[str, torch.Tensor] | None = None  # those weights, when kept (see ``fit``)


@dataclass
class Run:
    """What one run trains with, built once by ``setup``."""

    model: nn.Module
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Any  # a torch LR scheduler, or None for a constant rate
    scaler: torch.amp.GradScaler
    order: Sampler  # the training examples' order, drawn with its own seeded generator
    train_loader: DataLoader
    val_loader: DataLoader
    augmentations: list
    device: Device
    hp: Hyperparams
    num_classes: int


@dataclass(frozen=True)
class TrainingPass:
    """One epoch's training phase: mean loss, labels seen and predicted, learning rate, timing."""

    loss: float
    y_true: np.ndarray
    y_pred: np.ndarray
    lr: float
    seconds: float


@dataclass
class Best:
    """The best epoch so far: its objective value, validation predictions and (to score the test
    split with) its weights."""

    value: float | None = None
    epoch: int | None = None
    predictions: np.ndarray | None = None
    state: dict[str, torch.Tensor] | None = None


def fit(model: nn.Module, data: Splits, hp: Hyperparams, *, max_epochs: int, device: Device,
        objective: str, maximize: bool, seed: int,
        on_epoch: Callable[[History], Stop | None] = lambda history: None,
        checkpoints: TrialCheckpoints | None = None, keep_weights: bool = False) -> FitResult:
    """``keep_weights``: keep the best epoch's weights (``FitResult.best_state``) even without a
    test split to score them on."""
    run = setup(model, data, hp, max_epochs, device, seed)
    history, best, stop = History(), Best(), None
    saved = checkpoints.load() if checkpoints is not None else None
    done = restore(run, saved, history, best) if saved is not None else 0  # resume after it
    for epoch in range(done + 1, max_epochs + 1):
        started = time.perf_counter()
        training = train_epoch(run)
        if not math.isfinite(training.loss):  # diverged: nothing to evaluate
            history.rows.append({"epoch": epoch, "train_loss": training.loss, "lr": training.lr})
            stop = Stop("diverged", f"diverged at epoch {epoch}: training loss is {training.loss}")
            break
        val_loss, val_true, val_pred = evaluate(run.model, run.val_loader, run.criterion, device)
        history.rows.append(epoch_row(epoch, run, training, val_loss, val_true, val_pred, started))
        keep_best(best, run, history.column(objective), maximize, val_pred,
                  keep_weights=keep_weights or data.test is not None)
        if run.schedule is not None:
            run.schedule.step()
        if checkpoints is not None:  # before on_epoch: a stop it asks for is resumed from here
            checkpoints.save(state_of(run, history, best))
        stop = on_epoch(history)
        if stop is not None:
            break
    return finish(run, data, history, best, stop, max_epochs)


# --- setup -----------------------------------------------------------------------------------------

def setup(model: nn.Module, data: Splits, hp: Hyperparams, max_epochs: int, device: Device,
          seed: int) -> Run:
    """The model on the device, its loss, optimizer, schedule and the two splits' loaders."""
    model = model.to(device.torch_device)
    optimizer = build_optimizer(model.parameters(), hp)
    pin = device.is_cuda
    order = train_sampler(data.train.y, hp.sampling, seed)
    return Run(
        model=model,
        criterion=build_loss(hp, data.train.class_counts()).to(device.torch_device),
        optimizer=optimizer,
        schedule=build_schedule(optimizer, hp, max_epochs),
        scaler=torch.amp.GradScaler(device.torch_device.type, enabled=device.needs_grad_scaler),
        order=order, train_loader=batches(data.train.x, data.train.y, hp.batch_size,
                                          pin_memory=pin, order=order),
        val_loader=batches(data.val.x, data.val.y, hp.batch_size, pin_memory=pin),
        augmentations=augment.parse(hp.augmentation),
        device=device, hp=hp, num_classes=len(data.train.classes))


def batches(split_x: np.ndarray, split_y: np.ndarray, batch_size: int, *, pin_memory: bool,
            order: Sampler | None = None) -> DataLoader:
    """A DataLoader that fetches whole batches from in-memory uint8 arrays (one index op per batch,
    no per-example collation). ``order``: the example order (default: as stored)."""
    dataset = TensorDataset(torch.from_numpy(split_x), torch.from_numpy(split_y))
    order = order if order is not None else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False),
                      batch_size=None, pin_memory=pin_memory)


def to_input(x: torch.Tensor, device: Device) -> torch.Tensor:
    """uint8 pixels -> float in [0, 1] on the device (converted there: 4x less to copy)."""
    return x.to(device.torch_device, non_blocking=True).float().div_(255.0)


# --- epoch: training phase -------------------------------------------------------------------------

def train_epoch(run: Run) -> TrainingPass:
    """One pass over the training split; stops early once the running loss is NaN or infinite."""
    device, model = run.device, run.model
    model.train()
    started = time.perf_counter()
    lr = run.optimizer.param_groups[0]["lr"]
    loss_sum = torch.zeros((), device=device.torch_device)
    y_true, y_pred = [], []
    for step, (x, y) in enumerate(run.train_loader):
        target = y.to(device.torch_device, non_blocking=True)
        inputs = to_input(x, device)
        if run.augmentations:
            inputs = augment.augment(inputs, run.augmentations)
        with device.autocast():
            logits = model(inputs)
            loss = run.criterion(logits, target)
        step_optimizer(run, loss)
        loss_sum += loss.detach().float() * len(y)
        y_true.append(y)
        y_pred.append(logits.detach().argmax(1))
        if step % DIVERGENCE_CHECK_EVERY == 0 and not torch.isfinite(loss_sum).item():
            break
    seen = sum(len(y) for y in y_true)
    return TrainingPass((loss_sum / seen).item(), torch.cat(y_true).numpy(),
                        torch.cat(y_pred).cpu().numpy(), lr, time.perf_counter() - started)


def step_optimizer(run: Run, loss: torch.Tensor) -> None:
    """Backward, optionally clip the gradient norm, and step (through the fp16 loss scaler)."""
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if run.hp.grad_clip_norm is not None:
        run.scaler.unscale_(run.optimizer)
        nn.utils.clip_grad_norm_(run.model.parameters(), run.hp.grad_clip_norm)
    run.scaler.step(run.optimizer)
    run.scaler.update()


# --- epoch: evaluation -----------------------------------------------------------------------------

@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader, criterion: nn.Module,
             device: Device) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean loss, true labels and predicted labels over one split, in eval mode."""
    model.eval()
    loss_sum = torch.zeros((), device=device.torch_device)
    y_true, y_pred = [], []
    for x, y in loader:
        with device.autocast():
            logits = model(to_input(x, device))
            loss = criterion(logits, y.to(device.torch_device, non_blocking=True))
        loss_sum += loss.float() * len(y)
        y_true.append(y)
        y_pred.append(logits.argmax(1))
    n = sum(len(y) for y in y_true)
    return ((loss_sum / n).item(), torch.cat(y_true).numpy(),
            torch.cat(y_pred).cpu().numpy())


def epoch_row(epoch: int, run: Run, training: TrainingPass, val_loss: float, val_true: np.ndarray,
              val_pred: np.ndarray, started: float) -> dict[str, float]:
    """The history row of one epoch, in ``COLUMNS`` order."""
    train = summary_metrics(training.y_true, training.y_pred, run.num_classes)
    val = summary_metrics(val_true, val_pred, run.num_classes)
    return {"epoch": epoch, "train_loss": training.loss,
            **{f"train_{k}": v for k, v in train.items()},
            "val_loss": val_loss, **{f"val_{k}": v for k, v in val.items()},
            "lr": training.lr, "epoch_time_s": time.perf_counter() - started,
            "samples_per_s": len(training.y_true) / training.seconds}


# --- keep the best epoch ---------------------------------------------------------------------------

def keep_best(best: Best, run: Run, values: list[float | None], maximize: bool,
              val_pred: np.ndarray, keep_weights: bool) -> None:
    """If the last epoch is the best so far (``measures.best_index``: the first, on ties), keep its
    value, predictions and, when a test split will be scored, its weights."""
    if best_index(values, maximize) != len(values) - 1:
        return
    best.value, best.epoch, best.predictions = values[-1], len(values), val_pred
    if keep_weights:
        best.state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}


# --- finish ----------------------------------------------------------------------------------------

def finish(run: Run, data: Splits, history: History, best: Best, stop: Stop | None,
           max_epochs: int) -> FitResult:
    """Per-class results at the best epoch (the one the trial's value refers to), and the test split
    scored with that epoch's weights."""
    test = None
    if best.epoch is not None:
        history.per_class = per_class_results(data.val.y, best.predictions,
                                              list(data.train.classes),
                                              data.train.class_counts(), best.epoch)
        if best.state is not None and data.test is not None:
            test = score_test(run, data, best.state)
    reason = stop.reason if stop else f"completed {plural(max_epochs, 'epoch')}"
    return FitResult(history, stop, reason, best.value, best.epoch, count_parameters(run.model),
                     parameter_counts(run.model), test, best.state)


def score_test(run: Run, data: Splits, state: dict[str, torch.Tensor]) -> dict[str, float]:
    run.model.load_state_dict(state)
    loader = batches(data.test.x, data.test.y, run.hp.batch_size, pin_memory=run.device.is_cuda)
    loss, y_true, y_pred = evaluate(run.model, loader, run.criterion, run.device)
    return {"loss": loss, **summary_metrics(y_true, y_pred, run.num_classes)}
