"""The model side of the preflight checks: one small batch of the study's real training data through
each architecture it can take, freshly built.

On that batch, in order (Karpathy, "A Recipe for Training Neural Networks", 2019: "verify loss @ init",
"overfit one batch"): the head has one output per class, the outputs are finite, the loss at
initialisation is near ln(C) (a uniform guess), every trainable parameter gets a finite gradient, and
Adam can drive the loss on that one batch down by 90%. A failure of the first, second or fourth stops
that architecture's later checks (they would only fail again, for the same reason, in worse words).
Each function returns ``(passed, detail)``; ``search.preflight`` names them and words the fixes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parameter import is_lazy

from search.data.labeled import LabeledArrays
from search.device import Device
from search.train import to_input

# The batch: 2 examples per class (Karpathy's recipe overfits "a few examples"), at most 16 in all.
PER_CLASS = 2
MAX_BATCH = 16
# The loss at init must be within this factor of ln(C), either way: a uniform guess scores ln(C)
# exactly, and a freshly initialised network's logits are small (PyTorch's default init scales each
# layer to keep activations in range), so the measured loss sits close to it; 2x means the head's
# initial weights are large or the outputs are not logits. (Measured on every shipped model: within
# 1.2x.)
INIT_LOSS_FACTOR = 2.0
# Overfitting one batch: Adam at ten times its paper's default step (Kingma & Ba, 2015: 1e-3; one batch
# of a few examples has no generalisation to protect) must bring the loss to a tenth of its first value;
# it stops as soon as it does, after OVERFIT_STEPS steps, or after OVERFIT_SECONDS (past which a slow
# model on a CPU is reported as inconclusive, not as broken). Measured on this repository's studies
# (2 CPU cores): 41 to 134 steps at 1e-2 (0.2 s for TINY_STUDY's models, 1-2 s for demo's), while at
# 1e-3 digits' cnn2d had fallen only 44% after 300 steps.
OVERFIT_LR = 1e-2
OVERFIT_FALL = 0.9
OVERFIT_STEPS = 300
OVERFIT_SECONDS = 15.0
# The fewest steps any shipped model needed (c3d of demo.yaml): when the first step shows that these
# many would pass the cap (a large model on a CPU), the check stops there, inconclusive.
FEWEST_STEPS = 40
# Inputs "normalized": pixels in [0, 1] (the loop's uint8 / 255) or standardised values (mean 0, std 1)
# have almost all their values within a few units of 0; a 99th percentile of |x| beyond this means raw
# pixel values (0-255) or unscaled features reach the model.
INPUT_SCALE = 10.0
# A trainable parameter whose gradient is smaller than this everywhere got none.
ZERO_GRADIENT = 0.0
# Names of parameters listed in one line, at most.
LISTED = 3

Outcome = tuple[bool, str]


@dataclass(frozen=True)
class Batch:
    x: torch.Tensor  # float, as the training loop feeds the model (uint8 / 255)
    y: torch.Tensor
    num_classes: int


def one_batch(train: LabeledArrays, device: Device, seed: int) -> Batch:
    """PER_CLASS examples of each class (of the first classes, up to MAX_BATCH examples), drawn with
    ``seed``; as the training loop feeds them to the model."""
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for label in range(len(train.classes)):
        members = np.flatnonzero(train.y == label)
        picked.extend(rng.permutation(members)[:min(PER_CLASS, MAX_BATCH - len(picked))].tolist())
        if len(picked) >= MAX_BATCH:
            break
    index = np.sort(np.array(picked, dtype=np.int64))
    x = torch.from_numpy(train.x[index])
    x = to_input(x, device) if x.dtype == torch.uint8 else x.to(device.torch_device).float()
    return Batch(x, torch.from_numpy(train.y[index]).to(device.torch_device), len(train.classes))


def inputs(batch: Batch) -> Outcome:
    """The batch the model sees is finite, not constant, and of a normalised scale."""
    x = batch.x
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        return False, f"{bad} of {x.numel()} input values of the batch are NaN or infinite"
    scale = float(torch.quantile(x.abs().flatten()[:1_000_000].float(), 0.99))
    spread = float(x.float().std())
    detail = (f"input batch {tuple(x.shape)}, values {float(x.min()):.3g} to {float(x.max()):.3g}"
              f" (99th percentile of |x| {scale:.3g}, std {spread:.3g})")
    if scale > INPUT_SCALE:
        return False, f"{detail}: above {INPUT_SCALE:g}, not normalised"
    if spread == 0:
        return False, f"{detail}: every value is the same"
    return True, detail


def first_pass(model: nn.Module, batch: Batch) -> torch.Tensor | Exception:
    """The model's logits on the batch, in training mode and with their graph: one forward pass for
    the head, the outputs, the loss at init, the gradients and the first training step. Or what the
    model raised."""
    model.train()
    try:
        return model(batch.x)
    except Exception as exc:  # the user's model, or a builder, on this data's shape
        return exc


def head_size(logits: torch.Tensor | Exception, batch: Batch) -> Outcome:
    """The output on the batch is (examples, classes)."""
    if isinstance(logits, Exception):
        reason = (str(logits).strip().splitlines() or [""])[0]
        return False, (f"the model raised {type(logits).__name__} on a batch of shape "
                       f"{tuple(batch.x.shape)}: {reason}")
    expected = (len(batch.y), batch.num_classes)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != expected:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        count = shape[-1] if isinstance(shape, tuple) and shape else shape
        return False, (f"{count} outputs for {batch.num_classes} classes (output shape {shape}, "
                       f"expected {expected})")
    return True, f"{batch.num_classes} outputs for {batch.num_classes} classes"


def finite_outputs(logits: torch.Tensor, batch: Batch) -> Outcome:
    """The logits on the batch are finite numbers."""
    logits = logits.detach()
    bad = int((~torch.isfinite(logits)).sum())
    if bad:
        return False, f"{bad} of {logits.numel()} outputs on the batch are NaN or infinite"
    return True, f"outputs finite, largest |logit| {float(logits.abs().max()):.3g}"


def initial_loss(logits: torch.Tensor, batch: Batch) -> Outcome:
    """Cross entropy at initialisation, against ln(C) (the loss of a uniform guess)."""
    loss = float(F.cross_entropy(logits.detach().float(), batch.y))
    chance = math.log(batch.num_classes)
    ok = chance / INIT_LOSS_FACTOR <= loss <= chance * INIT_LOSS_FACTOR
    return ok, (f"{loss:.3f} at init, ln({batch.num_classes}) = {chance:.3f} "
                f"({loss / chance:.2f}x; {'within' if ok else 'outside'} "
                f"1/{INIT_LOSS_FACTOR:g}x to {INIT_LOSS_FACTOR:g}x)")


def gradients(model: nn.Module, logits: torch.Tensor, batch: Batch) -> Outcome:
    """One backward pass from the first pass's logits: every trainable parameter gets a finite,
    non-zero gradient (left in place for the first training step); parameters with
    ``requires_grad`` False are listed as frozen, not failed."""
    named = [(name, p) for name, p in model.named_parameters() if not is_lazy(p)]
    frozen = [name for name, p in named if not p.requires_grad]
    trainable = [(name, p) for name, p in named if p.requires_grad]
    if not trainable:
        return False, f"no parameter trains: all {len(named)} are frozen (requires_grad False)"
    if not logits.requires_grad:
        return False, (f"the output depends on none of the {len(trainable)} trainable parameters "
                       f"(no gradient reaches them)")
    model.zero_grad(set_to_none=True)
    F.cross_entropy(logits, batch.y).backward()
    missing = [name for name, p in trainable
               if p.grad is None or not bool((p.grad.abs() > ZERO_GRADIENT).any())]
    broken = [name for name, p in trainable if p.grad is not None
              and not bool(torch.isfinite(p.grad).all())]
    frozen_note = f"; {len(frozen)} frozen ({listed(frozen)})" if frozen else ""
    if broken:
        return False, (f"{len(broken)} of {len(trainable)} parameters got NaN/inf gradients "
                       f"({listed(broken)})")
    if missing:
        return False, (f"{len(missing)} of {len(trainable)} trainable parameters got no "
                       f"gradient ({listed(missing)}){frozen_note}")
    return True, f"all {len(trainable)} trainable parameters get finite gradients{frozen_note}"


def listed(names: list[str]) -> str:
    more = f", and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def overfit_one_batch(model: nn.Module, batch: Batch, first: float,
                      started: float) -> tuple[bool | None, str]:
    """Adam on the batch until the loss is a tenth of ``first`` (its value at init, whose gradients
    the gradient check left in place, computed since ``started``). None: inconclusive (the time cap
    came first, the loss still falling short)."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=OVERFIT_LR)
    optimizer.step()  # the first step, from the gradient check's backward pass
    spent = time.perf_counter() - started
    if spent * FEWEST_STEPS > OVERFIT_SECONDS:
        return None, (f"inconclusive: one step took {spent:.1f} s on this device; "
                      f"{FEWEST_STEPS} steps would pass the {OVERFIT_SECONDS:g} s cap")
    loss = first
    for step in range(1, OVERFIT_STEPS + 1):  # the loss after ``step`` updates
        optimizer.zero_grad(set_to_none=True)
        value = F.cross_entropy(model(batch.x), batch.y)
        loss = value.item()
        if not math.isfinite(loss):
            return False, f"the loss became {loss} after {step} steps of Adam (lr {OVERFIT_LR:g})"
        if loss <= first * (1 - OVERFIT_FALL):
            return True, (f"loss fell {fall(first, loss)} in {step} steps "
                          f"({first:.3f} -> {loss:.3f}; {len(batch.y)} examples)")
        if step == OVERFIT_STEPS:
            break
        if time.perf_counter() - started > OVERFIT_SECONDS:
            return None, (f"inconclusive: loss fell {fall(first, loss)} in {step} steps before "
                          f"the {OVERFIT_SECONDS:g} s cap (needs {OVERFIT_FALL:.0%})")
        value.backward()
        optimizer.step()
    return False, (f"loss fell {fall(first, loss)} in {OVERFIT_STEPS} steps "
                   f"(needs {OVERFIT_FALL:.0%}; {first:.3f} -> {loss:.3f})")


def fall(first: float, last: float) -> str:
    return f"{(1 - last / first):.0%}" if first > 0 else "0%"
