"""``run_study.py run STUDY --workers N``: N processes on this machine sharing one study.

Each worker is the same command in a process of its own (``--worker I/N``): exactly what a second
machine runs against a shared storage, so one mechanism serves both. The launching process validates
the study file and creates (or continues) the study before any worker starts, so that workers never
race to create a database's tables; it passes Ctrl-C and SIGTERM on to them once each (they run in
their own process group, so a terminal's Ctrl-C is not delivered twice), and it prints the study's
summary once they have ended.

Placement: with GPUs, worker i sees only GPU i mod (their number), through ``CUDA_VISIBLE_DEVICES``.
On the CPU the cores are split between the workers (``OMP_NUM_THREADS``, and ``torch.set_num_threads``
in the worker) and OpenMP is told not to spin while it waits (``OMP_WAIT_POLICY=PASSIVE``, read when
torch is imported, so set in the worker's environment): two processes each spinning 2 threads on 2
cores trained dozens of times slower here than one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from types import FrameType
from typing import Sequence

THREADS_ENV = "PLATEAU_THREADS"  # the worker's torch threads, set by the launching process


@dataclass(frozen=True)
class Worker:
    index: int  # 1-based
    process: subprocess.Popen

    @property
    def ended_by(self) -> str | None:
        """The signal that killed the worker, if one did ("SIGKILL")."""
        code = self.process.returncode
        return signal.Signals(-code).name if code is not None and code < 0 else None


def placement(index: int, workers: int, gpus: int, cores: int) -> dict[str, str]:
    """The environment of worker ``index`` (0-based) of ``workers``."""
    if gpus > 0:
        return {"CUDA_VISIBLE_DEVICES": str(index % gpus)}
    threads = max(1, cores // workers)
    return {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads),
            "OMP_WAIT_POLICY": "PASSIVE", THREADS_ENV: str(threads)}


def share(trials: int | None, workers: int, index: int) -> int | None:
    """Worker ``index``'s part of ``trials`` to run now (None: up to the study's total)."""
    if trials is None:
        return None
    return trials // workers + (1 if index < trials % workers else 0)


def commands(base: list[str], workers: int, trials: int | None) -> list[list[str]]:
    """Each worker's command: ``base`` (the ``run`` command with the study's resolved storage and
    artifact folder), its ``--worker I/N`` and its share of ``--n-trials``."""
    return [[*base, "--worker", f"{i + 1}/{workers}",
             *(["--n-trials", str(share(trials, workers, i))] if trials else [])]
            for i in range(workers)]


def start(commands: Sequence[list[str]], envs: Sequence[dict[str, str]]) -> list[Worker]:
    return [Worker(i + 1, subprocess.Popen(command, env={**os.environ, **env},
                                           start_new_session=True))
            for i, (command, env) in enumerate(zip(commands, envs))]


def supervise(workers: list[Worker]) -> str | None:
    """Wait for every worker, passing each Ctrl-C / SIGTERM on to them. Returns the first signal
    this process received ("SIGINT", "SIGTERM"), or None."""
    received: list[str] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.process.wait()  # a signal runs ``forward`` and the wait goes on (PEP 475)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return received[0] if received else None


def threads_from_environment() -> int | None:
    """The torch threads the launching process gave this worker, if it is one."""
    value = os.environ.get(THREADS_ENV)
    return int(value) if value else None
