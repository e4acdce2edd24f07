"""Running out of memory: the trial says so ("out of memory at batch size 128"), frees what it held,
and the study goes on without trying that model with a batch as large again.

CUDA raises ``torch.cuda.OutOfMemoryError``; the CPU and Apple's MPS raise a ``RuntimeError`` whose
message says it. A larger batch of the same model (the same architecture and architecture knobs)
needs at least as much memory, so later trials proposing one end at once, untrained.
"""

from __future__ import annotations

import gc
from typing import Any, Iterable, Mapping

import torch
from optuna.trial import FrozenTrial, TrialState

from search.record.trial import TrialRecord

OUT_OF_MEMORY = "out of memory at batch size"
MESSAGES = ("out of memory", "can't allocate memory")  # CUDA, MPS / the CPU's allocator


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and any(m in str(exc) for m in MESSAGES))


def free_memory() -> None:
    """Let go of the failed trial's tensors now, before the next trial allocates its own."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def model_of(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The architecture and its knobs: what a batch's memory depends on besides its size."""
    arch = hparams.get("architecture")
    return {k: v for k, v in hparams.items() if k == "architecture" or k.startswith(f"{arch}.")}


def ruled_out(hparams: Mapping[str, Any], trials: Iterable[FrozenTrial]) -> str | None:
    """Why these hyperparameters need not be tried: an earlier trial of the same model ran out of
    memory at a batch size no larger; None if none did."""
    for trial in trials:
        if trial.state != TrialState.FAIL:
            continue
        record = TrialRecord.from_frozen_trial(trial)
        if ((record.stop_reason or "").startswith(OUT_OF_MEMORY)
                and model_of(record.hparams) == model_of(hparams)
                and record.hparams.get("batch_size", 0) <= hparams["batch_size"]):
            return (f"batch size {hparams['batch_size']} not tried: trial #{record.number} of this "
                    f"model ran out of memory at batch size {record.hparams['batch_size']}")
    return None
