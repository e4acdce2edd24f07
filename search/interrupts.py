"""Ctrl-C and SIGTERM (what ``timeout``, docker and SLURM send) while a study runs.

The first asks the running trial to stop after its current epoch: it is saved in a checkpoint, the
trial ends as FAIL with "interrupted by SIGTERM after epoch 7", the study stops, and the same command
run again queues the trial once more and continues it from that epoch (``study.requeue_interrupted``).
The second stops at once (``KeyboardInterrupt``), from the last checkpoint the same way. Python's
"Exception ignored in ..." report of a second Ctrl-C landing inside a finaliser is silenced: it is the
interrupt the user asked for, not an error.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any, Callable, TextIO

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """Use as a context manager around a study run (in the main thread). ``received`` is the name of
    the first signal ("SIGINT", "SIGTERM") once one has arrived, else None."""

    def __init__(self, stream: TextIO | None = None):
        self.received: str | None = None
        self.forced = False  # the second signal came: stopping now
        self.stream = stream or sys.stderr
        self._previous: dict[int, Any] = {}
        self._unraisable: Callable[[Any], None] | None = None

    def __enter__(self) -> Interrupts:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        self._unraisable, sys.unraisablehook = sys.unraisablehook, self._quiet_unraisable
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self._unraisable is not None:
            sys.unraisablehook = self._unraisable

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            self.forced = True
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        print(f"{self.received} received: the running trial stops after its current epoch and "
              f"continues from there when the same command runs again; Ctrl-C again stops now.",
              file=self.stream, flush=True)

    def _quiet_unraisable(self, unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt) and self._unraisable:
            self._unraisable(unraisable)

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + int(signal.Signals[self.received]) if self.received else 0
