"""Argument checks shared by the model builders, with scikit-learn-style messages.

Each builder is the one judge of its own arguments (the study-file validator builds a tiny model with
each value a knob can take), so a message names the model, the parameter and the bad value:
"The 'depth' parameter of c3d must be an int in [1, 5]. Got 0 instead."
"""

from __future__ import annotations

from typing import Any


def _error(model: str, name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"The {name!r} parameter of {model} must be {expected}. Got {value!r} instead.")


def check_int(model: str, name: str, value: Any, low: int, high: int | None = None,
              odd: bool = False) -> None:
    """``value`` must be an int (not a bool) in [low, high] (or >= low when high is None)."""
    ok = (isinstance(value, int) and not isinstance(value, bool) and value >= low
          and (high is None or value <= high) and (not odd or value % 2 == 1))
    if not ok:
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise _error(model, name, f"an {'odd ' if odd else ''}int {span}", value)


def check_bool(model: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _error(model, name, "a bool", value)


def check_common(model: str, num_classes: Any, in_channels: Any, dropout: Any) -> None:
    """The three arguments every builder shares (see the contract in ``search.models``)."""
    check_int(model, "num_classes", num_classes, 1)
    check_int(model, "in_channels", in_channels, 1)
    number = isinstance(dropout, (int, float)) and not isinstance(dropout, bool)
    if not (number and 0.0 <= dropout < 1.0):  # NaN fails the comparison too
        raise _error(model, "dropout", "a float in [0, 1)", dropout)
