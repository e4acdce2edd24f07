"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks",
section 3.3; fastai's ``lr_find``): a suggested learning rate, and the interval ``lr: auto`` searches.

The study's real model trains on its training split for one sweep of learning rates growing
exponentially from ``START_LR`` to ``END_LR``, one optimizer step per rate (the batches cycle when an
epoch has fewer), and the loss of each step is recorded. The sweep stops once fastai's online
smoothed loss (an exponential moving average, beta 0.98, with bias correction) exceeds
``DIVERGENCE_FACTOR`` times its minimum, or is NaN (fastai's rule).

The candidates are *not* read from that average: with beta 0.98 it averages ~99 steps and lags the
raw loss by ~t/2 steps early on and up to ~50 later (4 decades of a 100-step sweep over 8), so its
minimum sits right of where the raw loss bottoms out (digits: 3-5x). They are read from a *centred*
moving average of the recorded losses (no lag), without the first tenth and the last ``SKIP_END``
steps (fastai's window): the steepest descent (fastai's ``steep``), fastai's ``valley`` (its
default since 2.4: about halfway along the longest descending run) and the minimum / 10 (fastai's
``lr_min``). plateau's **suggestion is the minimum's rate / 10**: the steepest point of a noisy
curve jumps between runs, and ``valley``'s run starts in the noise of the flat beginning when the
model learns little in the sweep, a decade or more below the rates that train best (measured in
the lr-find tests' digits model). The searched interval (``interval``) is one decade centred on it.

The model is a throwaway: the study's first architecture (a choice list's first value, a range's low
end, for every hyperparameter and knob), dropout 0, the first optimizer and batch size, seeded with
the study seed. One sweep, for the first architecture only: a study searching several architectures
gets one interval for all (run ``lr-find`` on a study file with another first choice to compare).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import optuna

from search import augment
from search.config import StudyConfig
from search.data.splits import Splits
from search.device import Device, seed_everything
from search.models import build_model
from search.record.errors import PlateauError
from search.space import Auto, Choice, Fixed, Hyperparams, Range, SearchSpace, Spec
from search.train import Run, setup, step_optimizer, to_input

START_LR = 1e-7  # fastai's lr_find(start_lr=1e-7)
END_LR = 10.0  # fastai's lr_find(end_lr=10)
NUM_STEPS = 100  # fastai's lr_find(num_it=100)
SMOOTHING_BETA = 0.98  # fastai's AvgSmoothLoss(beta=0.98), debiased as in Adam (Kingma & Ba 2015)
DIVERGENCE_FACTOR = 4.0  # fastai's LRFinder: stop once the smoothed loss > 4x its minimum
# The centred moving average read: 0.4 decade either side (5 steps at fastai's 100 over 8 decades,
# 11 losses: per-batch noise / 3.3). On 4 seeds of studies/digits.yaml's sweep its minimum / 10
# stayed in 0.024..0.042 (the EMA's: 0.061..0.23); narrower (a forward-backward EMA of beta 0.8)
# let single noisy batches move the minimum by a decade.
SMOOTHING_HALF_WINDOW_DECADES = 0.4
SKIP_START_FRACTION = 0.1  # fastai's suggestions skip the first num_it // 10 steps...
SKIP_END = 5  # ...and the last 5 (the divergence itself)
MIN_FACTOR = 10.0  # fastai's lr_min: the minimum's rate / 10, one order of magnitude below it
# The interval: one decade in log space, centred on the suggestion (x / 10**0.5 .. x * 10**0.5). Its
# top, the minimum's rate / 10**0.5 (about / 3), is Smith's (2017, 3.3) rule for the bottom of a
# cycle, "base_lr 1/3 or 1/4 of max_lr", taking the minimum as max_lr: rates above it stop helping
# a constant-rate run; its bottom is still well down the falling part of the curve.
HALF_WIDTH_DECADES = 0.5
STUDY_ATTR = "lr_find"  # the study user attribute holding the interval every trial samples from


@dataclass(frozen=True)
class Suggestion:
    steepest: float  # where the smoothed loss falls fastest against log lr (fastai's steep)
    valley: float  # about halfway along the curve's longest descending run (fastai's valley)
    minimum: float  # where the smoothed loss is lowest
    suggestion: float  # minimum / MIN_FACTOR: plateau's suggestion
    interval: tuple[float, float]  # what ``lr: auto`` searches, on a log scale


@dataclass(frozen=True)
class LrFind:
    lrs: list[float]  # the rate of each step run
    losses: list[float]  # each step's training loss, before its update
    smoothed: list[float]  # the centred moving average the candidates are read from
    stop: str  # why the sweep ended, in words
    planned: int  # steps planned
    found: Suggestion
    setup: str  # "cnn2d, adam, batch size 32, dropout 0, cpu (2 threads)"

    def lines(self) -> list[str]:
        """What the lr-find command prints (the plot's line is the caller's)."""
        f = self.found
        return [f"sweep: {len(self.lrs)} of {self.planned} steps, lr {self.lrs[0]:.3g} .. "
                f"{self.lrs[-1]:.3g} (exponential), {self.setup}; {self.stop}",
                f"candidates (centred moving average of the loss): steepest descent at lr "
                f"{f.steepest:.3g}; valley at lr {f.valley:.3g}; minimum loss at lr "
                f"{f.minimum:.3g}, / {MIN_FACTOR:g} = {f.suggestion:.3g}",
                f"suggestion: lr {f.suggestion:.3g} (the minimum's lr / {MIN_FACTOR:g}, fastai's "
                f"lr_min)",
                f"interval (lr: auto): {f.interval[0]:.3g} .. {f.interval[1]:.3g}, log scale"]

    def to_json(self) -> dict[str, Any]:
        """The study user attribute: the interval and how it was found (not the curve)."""
        f = self.found
        return {"interval": list(f.interval), "suggestion": f.suggestion, "steepest": f.steepest,
                "valley": f.valley, "minimum": f.minimum, "steps": len(self.lrs), "stop": self.stop,
                "setup": self.setup}


def schedule(start: float, end: float, steps: int) -> list[float]:
    """``steps`` rates growing exponentially from ``start`` to ``end`` (fastai's exponential
    schedule)."""
    return [start * (end / start) ** (i / max(1, steps - 1)) for i in range(steps)]


def smooth(losses: Sequence[float], beta: float = SMOOTHING_BETA) -> list[float]:
    """Exponential moving average with bias correction: step i's value is the average divided by
    ``1 - beta ** (i + 1)``, so the first values are not pulled towards 0."""
    average, out = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return out


def centred(losses: Sequence[float], half: int) -> list[float]:
    """Each step's loss averaged with the finite losses up to ``half`` steps either side (fewer at
    the ends): no lag, unlike the EMA. A non-finite loss stays itself, so it is never read."""
    values = np.array(losses, dtype=float)
    finite = np.isfinite(values)
    out = []
    for i, value in enumerate(values):
        near = values[max(0, i - half):i + half + 1][finite[max(0, i - half):i + half + 1]]
        out.append(float(near.mean()) if finite[i] else float(value))
    return out


def half_window(lrs: Sequence[float]) -> int:
    """``SMOOTHING_HALF_WINDOW_DECADES`` in steps of the exponential schedule ``lrs``."""
    if len(lrs) < 2:
        return 0
    decades_per_step = math.log10(lrs[1] / lrs[0])
    return max(1, round(SMOOTHING_HALF_WINDOW_DECADES / decades_per_step))


def valley(values: np.ndarray) -> int:
    """fastai's ``valley``: the longest strictly descending subsequence of ``values`` (not
    necessarily contiguous), and the index a third plus a sixth of its span past its start (fastai
    takes the start one step early, which can index -1 on a short curve; here it is the first
    point of the run)."""
    length = [1] * len(values)
    start = end = 0
    for i in range(1, len(values)):
        for j in range(i):
            if values[i] < values[j] and length[i] < length[j] + 1:
                length[i] = length[j] + 1
            if length[end] < length[i]:
                end, start = i, i - length[i] + 1
    sections = (end - start) / 3
    return start + int(sections) + int(sections / 2)


def divergence(smoothed: Sequence[float]) -> str | None:
    """Why the sweep stops after the last smoothed loss, or None to go on."""
    last = smoothed[-1]
    if not math.isfinite(last):
        return f"the loss became {last}"
    lowest = min(smoothed)
    if last > DIVERGENCE_FACTOR * lowest:
        return (f"the smoothed loss {last:.3g} exceeded {DIVERGENCE_FACTOR:g}x its minimum "
                f"{lowest:.3g}")
    return None


def suggest_lr(lrs: Sequence[float], smoothed: Sequence[float], planned: int) -> Suggestion:
    """The candidates, read on the (centred) curve without its first tenth and last ``SKIP_END`` steps
    (fastai's window; the whole finite curve when that leaves fewer than 3 points)."""
    points = [(lr, loss) for lr, loss in zip(lrs, smoothed) if math.isfinite(loss)]
    window = points[int(planned * SKIP_START_FRACTION):len(points) - SKIP_END]
    window = window if len(window) >= 3 else points
    if len(window) < 2:
        raise PlateauError(f"the LR range test diverged after {len(points)} steps from lr "
                           f"{lrs[0]:.3g}: nothing to read a rate from; check the model and data "
                           f"with `run_study.py check`, or set 'space.lr' to a range.")
    rates, values = np.array([p[0] for p in window]), np.array([p[1] for p in window])
    steepest = float(rates[np.argmin(np.gradient(values, np.log10(rates)))])
    minimum = float(rates[np.argmin(values)])
    suggestion = minimum / MIN_FACTOR
    half = 10 ** HALF_WIDTH_DECADES
    return Suggestion(steepest, float(rates[valley(values)]), minimum, suggestion,
                      (suggestion / half, suggestion * half))


def first_value(spec: Spec) -> Any:
    """The value the throwaway model uses: a choice list's first, a range's low end."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Choice):
        return spec.choices[0]
    if isinstance(spec, Range):
        return int(spec.low) if spec.integer else spec.low
    return START_LR  # Auto: the sweep sets the rate itself


def sweep_hparams(space: SearchSpace) -> Hyperparams:
    """The first value of every hyperparameter and of the first architecture's knobs, dropout 0, a
    constant rate (the sweep sets it each step)."""
    architecture = first_value(space.params["architecture"])
    values = {name: first_value(spec) for name, spec in space.params.items()}
    values.update({f"{architecture}.{knob}": first_value(spec)
                   for knob, spec in space.models.get(architecture, {}).items()})
    fixed = dataclasses.replace(space, params={**space.params, "lr": Fixed(START_LR)})
    hp = fixed.sample(optuna.trial.FixedTrial(values))
    return dataclasses.replace(hp, dropout=0.0, lr_schedule="constant")


def cycle(run: Run):
    """Full training batches, round and round (a last, smaller batch only when it is the only
    one: its loss would be noisier than the others')."""
    whole = len(run.train_loader.dataset) <= run.hp.batch_size
    while True:
        for x, y in run.train_loader:
            if whole or len(y) == run.hp.batch_size:
                yield x, y


def sweep(run: Run, lrs: Sequence[float]) -> tuple[list[float], str]:
    """One optimizer step per rate until the online EMA diverges; the raw losses, and why it
    stopped."""
    losses: list[float] = []
    batches = cycle(run)
    for lr in lrs:
        x, y = next(batches)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        inputs = to_input(x, run.device)
        if run.augmentations:
            inputs = augment.augment(inputs, run.augmentations)
        run.model.train()
        with run.device.autocast():
            loss = run.criterion(run.model(inputs), y.to(run.device.torch_device))
        step_optimizer(run, loss)
        losses.append(float(loss.detach().float().item()))
        reason = divergence(smooth(losses))
        if reason is not None:
            return losses, f"stopped at lr {lr:.3g}: {reason}"
    return losses, f"reached end_lr {lrs[-1]:.3g} without diverging"


def lr_find(config: StudyConfig, splits: Splits, device: Device, start_lr: float = START_LR,
            end_lr: float = END_LR, num_steps: int = NUM_STEPS) -> LrFind:
    """Run the range test on the study's first architecture (see the module docstring)."""
    hp = sweep_hparams(config.space)
    seed_everything(config.seed)
    model = build_model(hp.architecture, num_classes=len(splits.train.classes),
                        in_channels=splits.train.x.shape[1], dropout=0.0, **hp.model_kwargs)
    run = setup(model, splits, hp, 1, device, config.seed)
    planned = schedule(start_lr, end_lr, num_steps)
    losses, stop = sweep(run, planned)
    lrs = planned[:len(losses)]
    smoothed = centred(losses, half_window(planned))
    described = (f"{hp.architecture}, {hp.optimizer}, batch size {hp.batch_size}, dropout 0, "
                 f"{device.describe()}")
    return LrFind(lrs, losses, smoothed, stop, num_steps,
                  suggest_lr(lrs, smoothed, num_steps), described)


def with_interval(config: StudyConfig, low: float, high: float) -> StudyConfig:
    """The config whose ``lr`` is the log range [low, high], stated in every trial's hparams."""
    space = dataclasses.replace(config.space, params={**config.space.params,
                                                      "lr": Range(low, high, log=True)},
                                lr_interval=(low, high))
    return dataclasses.replace(config, space=space)


def resolve_auto_lr(config: StudyConfig, study: optuna.Study, load: Callable[[], Splits],
                    device: Device, say: Callable[[str], None] = print) -> StudyConfig:
    """``lr: auto`` made a range: the interval stored with the study (a continued study, another
    worker), else the range test's, run now and stored. When two processes run it at once, the
    one that stores first wins and the other takes its interval. Other configs: unchanged."""
    if not isinstance(config.space.params["lr"], Auto):
        return config
    stored = study.user_attrs.get(STUDY_ATTR)
    if stored is None:
        say(f"lr: auto: running the LR range test ({NUM_STEPS} steps from {START_LR:g} to "
            f"{END_LR:g})")
        found = lr_find(config, load(), device)
        for line in found.lines():
            say(f"  {line}")
        stored = study.user_attrs.get(STUDY_ATTR)  # read again: another worker may have stored
        if stored is None:
            stored = found.to_json()
            study.set_user_attr(STUDY_ATTR, stored)
    else:
        say(f"lr: auto: the interval stored with the study, {stored['interval'][0]:.3g} .. "
            f"{stored['interval'][1]:.3g} (log scale)")
    return with_interval(config, *stored["interval"])
