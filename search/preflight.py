"""Preflight checks: a study's real model and data, checked in seconds before hours of search.

``CHECKS`` is the table: each check's name, why it matters and what to do when it fails (data, like
``diagnose.fixes``). ``run_checks`` runs them on the study's splits: first the data (labels in range,
every class present, class balance, whether the labels go with the inputs at all), then, for every
architecture the study's space can take, one small batch through a fresh model (``search.batch_overfit``:
the input it sees, the head's size, finite outputs, the loss at init, gradients, overfitting the batch).
Each architecture is built with its knobs at a representative value: a fixed value as it is, the first
of a list of choices, the low end of a range; dropout 0, as Karpathy's recipe overfits one batch
without regularisation.

A result is ok, a warning (shown, never blocking: class imbalance, no label signal, an overfit check
that met its time cap) or a failure; ``failures_error`` words the failures as one ``PreflightError``,
one line each, for the command line (exit 2, nothing stored).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch
from torch.nn import functional as F

from search import batch_overfit as bo
from search.config import StudyConfig
from search.data.splits import Splits
from search.device import Device, seed_everything
from search.label_signal import ALPHA, MIN_EXAMPLES, label_signal
from search.models import build_model
from search.record.errors import PreflightError
from search.space import Spec, possible_values

# Imbalance ratio (largest class / smallest) from which class_balance warns: SageMaker Debugger's
# ClassImbalance rule warns from 10:1 and evalml's class-imbalance data check from about 9:1 (He &
# Garcia 2009, "Learning from Imbalanced Data", call 1:100 and beyond extreme; a tenfold gap already
# skews plain cross entropy toward the large classes).
IMBALANCE_RATIO = 10.0
# A batch of at most this many input values is checked on one CPU thread: its operations are too
# small to gain from more, and OpenMP's spinning threads lose much when other processes share the
# cores (README, --workers). Measured, TINY_STUDY's checks on 2 busy cores: 0.6 s on one thread,
# 10-28 s on two. (demo.yaml's batch has 0.3 million values; a real clip batch about 10 million.)
ONE_THREAD_VALUES = 1_000_000


@dataclass(frozen=True)
class Check:
    name: str
    reason: str  # why it matters, one line
    fix: str  # what to do when it fails


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    warning: bool = False  # shown, never a failure

    def line(self) -> str:
        tag = "warn" if self.warning else ("ok" if self.passed else "FAIL")
        return f"{tag} {self.name}: {self.detail}"

    def failure_line(self) -> str:
        """What failed and what to do, one line."""
        return f"{self.name}: {self.detail}: {CHECKS[self.name].fix}"


CHECKS: Mapping[str, Check] = {c.name: c for c in (
    Check("labels_in_range", "a label outside [0, C) is a crash, or a class no head output scores",
          "the data's class ids must run from 0 to the number of classes - 1; fix the loader"),
    Check("classes_present", "a class with no training example can never be learned",
          "add training examples of that class, or drop it from the data"),
    Check("class_balance", "a large imbalance skews plain cross entropy toward the big classes",
          "search loss: weighted_cross_entropy or focal, or sampling: oversample (see diagnose's "
          "'imbalanced' fixes)"),
    Check("label_signal", "shuffled labels still fit one batch, but carry no signal",
          "check that the loader pairs each example with its own label (a pixel probe may miss "
          "classes pixels cannot tell apart)"),
    Check("inputs", "the model expects normalised, finite inputs",
          "scale the data to [0, 1] (or standardise it) and remove NaN/inf values"),
    Check("head_size", "one output per class, or the loss scores the wrong thing",
          "build the head with num_classes outputs (a factory must use its num_classes argument)"),
    Check("finite_outputs", "a NaN output makes every loss NaN",
          "fix the model's forward pass (a log or division of zero, an uninitialised tensor)"),
    Check("initial_loss", "at init the loss should be ln(C), a uniform guess (Karpathy's recipe)",
          "initialise the head's weights small (or its bias to the class priors); the outputs "
          "must be logits, not probabilities"),
    Check("gradients", "a parameter without a gradient never trains",
          "make sure every trainable parameter is used in forward and its output reaches the "
          "loss (no .detach(), no torch.no_grad()); freeze the unused ones (requires_grad False)"),
    Check("overfit_one_batch", "a working setup memorises one small batch in a few hundred steps",
          "labels, head or learning rate are broken"),
)}

def representative(spec: Spec):
    """The value an architecture is checked with: a fixed value, the first choice, a range's low
    end."""
    values = possible_values(spec)
    if values is not None:
        return values[0]
    return int(spec.low) if spec.integer else spec.low  # type: ignore[union-attr]


def architectures(config: StudyConfig) -> list[tuple[str, dict]]:
    """Every architecture the space can take, with its knobs' representative values."""
    spec = config.space.params["architecture"]
    names = possible_values(spec) or ()
    return [(name, {knob: representative(s) for knob, s in config.space.models.get(name, {}).items()})
            for name in names]


def data_checks(splits: Splits, seed: int) -> list[CheckResult]:
    train, classes = splits.train, len(splits.train.classes)
    parts = [(name, part) for name, part in (("train", train), ("val", splits.val),
                                             ("test", splits.test)) if part is not None]
    outside = {name: int(np.sum((part.y < 0) | (part.y >= classes))) for name, part in parts}
    results = [CheckResult("labels_in_range", not any(outside.values()), (
        f"all labels in [0, {classes})" if not any(outside.values()) else
        ", ".join(f"{n} {name} labels outside [0, {classes})" for name, n in outside.items() if n)))]
    in_range = train.y[(train.y >= 0) & (train.y < classes)]
    counts = np.bincount(in_range, minlength=classes)
    empty = [train.classes[i] for i in np.flatnonzero(counts == 0)]
    results.append(CheckResult("classes_present", not empty, (
        f"all {classes} classes in the training split" if not empty else
        f"{len(empty)} of {classes} classes have no training example: {bo.listed(empty)}")))
    if not empty:
        ratio = counts.max() / counts.min()
        high = ratio >= IMBALANCE_RATIO
        results.append(CheckResult("class_balance", True, (
            f"{classes} classes, {counts.min()} to {counts.max()} training examples (imbalance "
            f"ratio {ratio:.1f}{f' >= {IMBALANCE_RATIO:g}: ' + CHECKS['class_balance'].fix if high else ''})"),
            warning=bool(high)))
    signal = label_signal(train, seed)
    if signal.examples < MIN_EXAMPLES:
        return results + [CheckResult("label_signal", True, (
            f"not tested: {signal.examples} training examples, too few for a permutation test "
            f"(needs {MIN_EXAMPLES})"))]
    results.append(CheckResult("label_signal", signal.found, (
        f"an example's nearest neighbour shares its label {signal.agreement:.0%} of the time, "
        f"{signal.chance:.0%} with shuffled labels (p = {signal.p_value:.3f}"
        f"{'' if signal.found else f' > {ALPHA:g}: no association between inputs and labels; ' + CHECKS['label_signal'].fix}"
        f"; {signal.examples} examples)"), warning=not signal.found))
    return results


def model_checks(name: str, knobs: dict, splits: Splits, batch: bo.Batch,
                 prefix: str) -> list[CheckResult]:
    """One architecture's checks on the batch, on one fresh model (one forward and one backward
    pass for the head, the outputs, the loss at init and the gradients, which are the first
    training step's); a failed head, output or gradient check stops the later ones."""
    def result(check: str, outcome: tuple[bool | None, str]) -> CheckResult:
        return CheckResult(check, bool(outcome[0]), prefix + outcome[1],
                           warning=outcome[0] is None)

    try:
        model = build_model(name, num_classes=batch.num_classes,
                            in_channels=splits.train.x.shape[1], dropout=0.0, **knobs).to(
            batch.x.device)
    except Exception as exc:  # the user's factory, with this data's classes and channels
        return [result("head_size", (False, f"building it raised {type(exc).__name__}: "
                                            f"{first_line(exc)}"))]
    started = time.perf_counter()
    logits = bo.first_pass(model, batch)
    results = [result("head_size", bo.head_size(logits, batch))]
    if not results[-1].passed:
        return results
    results.append(result("finite_outputs", bo.finite_outputs(logits, batch)))
    if not results[-1].passed:
        return results
    results.append(result("initial_loss", bo.initial_loss(logits, batch)))
    first = float(F.cross_entropy(logits.detach().float(), batch.y))
    steps = (("gradients", lambda: bo.gradients(model, logits, batch)),
             ("overfit_one_batch", lambda: bo.overfit_one_batch(model, batch, first, started)))
    for check, function in steps:
        try:
            outcome = function()
        except Exception as exc:  # the user's model (or its size on this device) raised
            outcome = (False, f"raised {type(exc).__name__}: {first_line(exc)}")
        results.append(result(check, outcome))
        if outcome[0] is False:
            break
    return results


def first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def run_checks(config: StudyConfig, splits: Splits, device: Device) -> list[CheckResult]:
    """Every check, in ``CHECKS`` order per architecture (seeded with the study's seed)."""
    seed_everything(config.seed)
    results = data_checks(splits, config.seed)
    if not all(r.passed for r in results if r.name in ("labels_in_range", "classes_present")):
        return results  # the batch and the loss need every label in range
    batch = bo.one_batch(splits.train, device, config.seed)
    passed, detail = bo.inputs(batch)
    results.append(CheckResult("inputs", passed, detail))
    if not passed:
        return results
    arches = architectures(config)
    threads = torch.get_num_threads()
    if batch.x.device.type == "cpu" and batch.x.numel() <= ONE_THREAD_VALUES:
        torch.set_num_threads(1)
    try:
        for name, knobs in arches:
            seed_everything(config.seed)
            results += model_checks(name, knobs, splits, batch,
                                    f"{name}: " if len(arches) > 1 else "")
    finally:
        torch.set_num_threads(threads)
    return results


def failures_error(results: list[CheckResult]) -> PreflightError | None:
    """The failures as one error, a line each (None when nothing failed)."""
    failed = [r for r in results if not r.passed and not r.warning]
    if not failed:
        return None
    return PreflightError("\n".join(
        [f"{len(failed)} preflight check{'s' if len(failed) > 1 else ''} failed (--skip-checks "
         f"starts anyway):"] + [r.failure_line() for r in failed]))


def preflight(config: StudyConfig, splits: Splits, device: Device,
              say: Callable[[str], None]) -> None:
    """For ``run``: the checks, one progress line (and one per warning); raises on a failure."""
    started = time.perf_counter()
    results = run_checks(config, splits, device)
    error = failures_error(results)
    if error is not None:
        raise error
    for result in results:
        if result.warning:
            say(f"preflight: {result.line()}")
    say(f"preflight: {len(results)} checks passed in {time.perf_counter() - started:.1f} s")
