"""The training loop of one trial: epochs of training and validation that write a ``History``.

It knows nothing of Optuna: after each epoch it calls ``on_epoch(history)``, which may answer with a
``Stop`` (the study side uses that to report to Optuna, prune, and apply the plateau rule). A NaN or
infinite training loss ends the run at once as diverged. Read ``fit`` top to bottom: setup, then per
epoch a training phase, a validation phase and the record, then the final per-class results.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Sampler, SequentialSampler, TensorDataset

from search import augment
from search.data.splits import Splits
from search.device import Device
from search.history import History
from search.losses import build_loss
from search.metrics import per_class_results, summary_metrics
from search.models import count_parameters, parameter_counts
from search.optimizers import build_optimizer, build_schedule
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
    history: History
    stop: Stop | None  # None: ran all max_epochs
    best_value: float | None  # the objective at the best epoch (None if no epoch finished)


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


def fit(model: nn.Module, data: Splits, hp: Hyperparams, *, max_epochs: int, device: Device,
        objective: str, maximize: bool, seed: int,
        on_epoch: Callable[[History], Stop | None] = lambda history: None) -> FitResult:
    # --- setup -----------------------------------------------------------------------------------
    classes = list(data.train.classes)
    num_classes = len(classes)
    train_counts = data.train.class_counts()
    model = model.to(device.torch_device)
    criterion = build_loss(hp, train_counts).to(device.torch_device)
    optimizer = build_optimizer(model.parameters(), hp)
    schedule = build_schedule(optimizer, hp, max_epochs)
    scaler = torch.amp.GradScaler(device.torch_device.type, enabled=device.needs_grad_scaler)
    pin = device.is_cuda
    train_loader = batches(data.train.x, data.train.y, hp.batch_size, pin_memory=pin,
                           order=train_sampler(data.train.y, hp.sampling, seed))
    val_loader = batches(data.val.x, data.val.y, hp.batch_size, pin_memory=pin)
    augmentations = augment.parse(hp.augmentation)
    history = History(facts={"objective": objective,
                             "direction": "maximize" if maximize else "minimize",
                             "param_count": count_parameters(model),
                             "param_counts": parameter_counts(model),
                             "device": device.describe(),
                             "class_counts": {name: part.class_counts().tolist() for name, part in
                                              (("train", data.train), ("val", data.val),
                                               ("test", data.test)) if part is not None}})
    best_value, best_epoch, best_pred, best_state = None, None, None, None
    stop: Stop | None = None

    for epoch in range(1, max_epochs + 1):
        # --- training phase ----------------------------------------------------------------------
        model.train()
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        loss_sum = torch.zeros((), device=device.torch_device)
        train_true, train_pred = [], []
        for step, (x, y) in enumerate(train_loader):
            target = y.to(device.torch_device, non_blocking=True)
            inputs = to_input(x, device)
            if augmentations:
                inputs = augment.augment(inputs, augmentations)
            with device.autocast():
                logits = model(inputs)
                loss = criterion(logits, target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if hp.grad_clip_norm is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), hp.grad_clip_norm)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach().float() * len(y)
            train_true.append(y)
            train_pred.append(logits.detach().argmax(1))
            if step % DIVERGENCE_CHECK_EVERY == 0 and not torch.isfinite(loss_sum).item():
                break
        seen = sum(len(y) for y in train_true)
        train_loss = (loss_sum / seen).item()
        train_time = time.perf_counter() - started
        if not math.isfinite(train_loss):
            history.rows.append({"epoch": epoch, "train_loss": train_loss, "lr": lr})
            stop = Stop("diverged", f"diverged at epoch {epoch}: training loss is {train_loss}")
            break
        train = summary_metrics(torch.cat(train_true).numpy(), torch.cat(train_pred).cpu().numpy(),
                                num_classes)

        # --- validation phase --------------------------------------------------------------------
        val_loss, val_true, val_pred = evaluate(model, val_loader, criterion, device)
        val = summary_metrics(val_true, val_pred, num_classes)

        # --- record --------------------------------------------------------------------------------
        row = {"epoch": epoch, "train_loss": train_loss,
               **{f"train_{k}": v for k, v in train.items()},
               "val_loss": val_loss, **{f"val_{k}": v for k, v in val.items()},
               "lr": lr, "epoch_time_s": time.perf_counter() - started,
               "samples_per_s": seen / train_time}
        history.rows.append(row)
        value = row[objective]
        if best_value is None or (value > best_value if maximize else value < best_value):
            best_value, best_epoch, best_pred = value, epoch, val_pred
            if data.test is not None:  # keep the best weights to score the test split with
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        stop = on_epoch(history)
        if stop is not None:
            break
        if schedule is not None:
            schedule.step()

    # --- final results: per-class at the best epoch (the one the trial's value refers to) ---------
    history.facts.update(epochs_run=len(history.rows), best_epoch=best_epoch,
                         stop_reason=stop.reason if stop else f"completed {max_epochs} epochs")
    if best_epoch is not None:
        history.per_class = per_class_results(data.val.y, best_pred, classes, train_counts,
                                              best_epoch)
        if best_state is not None:
            model.load_state_dict(best_state)
            test_loader = batches(data.test.x, data.test.y, hp.batch_size, pin_memory=pin)
            test_loss, test_true, test_pred = evaluate(model, test_loader, criterion, device)
            history.facts["test"] = {"loss": test_loss,
                                     **summary_metrics(test_true, test_pred, num_classes)}
    return FitResult(history, stop, best_value)
