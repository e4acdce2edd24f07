"""A full disk: no fault of the trial that met it, and every later trial would meet it too.

The trial keeps its checkpoints and ends as interrupted ("interrupted: no space left on device ..."),
so that the same command, run again once there is room, continues it from its last saved epoch
(``search.resume``); the run stops with one line that says where the space ran out. ``torch.save``
reports a full disk as a ``RuntimeError`` ("unexpected pos ...") raised while handling the
``OSError``; ``save`` below gives back the ``OSError``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import torch

from search.record.errors import PlateauError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # no space left on the device; disk quota exceeded


class DiskFull(PlateauError):
    """A folder plateau writes to ran out of space."""


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def save(state: Any, path: Path) -> None:
    """``torch.save(state, path)``; a full disk is an ``OSError`` naming ``path``, and leaves no
    file."""
    try:
        with open(path, "wb") as file:
            torch.save(state, file)
    except (RuntimeError, OSError) as exc:
        path.unlink(missing_ok=True)
        cause = exc if isinstance(exc, OSError) else exc.__context__
        if not isinstance(cause, OSError) or (cause is exc and cause.filename is not None):
            raise
        raise OSError(cause.errno, cause.strerror, cause.filename or str(path)) from None


def stop_reason(exc: OSError) -> str:
    where = f" writing '{exc.filename}'" if exc.filename else ""
    return (f"interrupted: {os.strerror(exc.errno)}{where}; it continues from its last saved epoch "
            f"when the study runs again")


def halted(exc: OSError, trial_number: int) -> str:
    """The run's one line."""
    where = f" for '{exc.filename}'" if exc.filename else ""
    return (f"{os.strerror(exc.errno).lower()}{where}: trial #{trial_number} was stopped and "
            f"continues from its last saved epoch when the same command runs again; make room "
            f"there (or give another --artifact-dir) first.")
