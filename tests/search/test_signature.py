"""Knobs from a signature: which parameters are knobs, their types, defaults and order, and errors."""

from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from search.signature import MissingDefault, knobs_of


def typed(num_classes: int, *, width: int = 4, rate: float = 0.5, flag: bool = True,
          act: str = "relu") -> None: ...


def untyped(num_classes, depth=2, rate=0.5, flag=False, name="x", nothing=None) -> None: ...


def other_types(*, width: int = 4, sizes: list = None, maybe: Optional[int] = None,
                shape: tuple[int, int] = (1, 1)) -> None: ...


def variadic(num_classes, *args: int, width: int = 2, **kwargs: int) -> None: ...


def loader(root: str, *, size: int = 64, cache: str = "") -> None: ...


def unresolvable(*, width: int = 4, thing: NoSuchType = 1, bare=0.5) -> None: ...  # noqa: F821


def positional_default(count: int = 3, /, *, width: int = 4) -> None: ...


@pytest.mark.parametrize("function, options, expected", [
    (typed, dict(skip=("num_classes",)),
     {"width": (int, 4), "rate": (float, 0.5), "flag": (bool, True), "act": (str, "relu")}),
    # unannotated: the default's type; a None default is no knob type
    (untyped, dict(skip=("num_classes",)),
     {"depth": (int, 2), "rate": (float, 0.5), "flag": (bool, False), "name": (str, "x")}),
    # a list, an Optional or a tuple is not a knob, even with a default
    (other_types, {}, {"width": (int, 4)}),
    (variadic, dict(skip=("num_classes",)), {"width": (int, 2)}),
    (loader, dict(keyword_only=True), {"size": (int, 64), "cache": (str, "")}),
    (loader, dict(skip=("root", "cache")), {"size": (int, 64)}),
    # an annotation that cannot be resolved: the others are read from their text
    (unresolvable, {}, {"width": (int, 4), "bare": (float, 0.5)}),
    (positional_default, {}, {"count": (int, 3), "width": (int, 4)}),
    (positional_default, dict(keyword_only=True), {"width": (int, 4)}),
    (lambda: None, {}, {}),
])
def test_knobs_of_reads_typed_defaulted_parameters(function: Callable[..., Any],
                                                   options: dict[str, Any],
                                                   expected: dict[str, tuple[type, Any]]) -> None:
    found = knobs_of(function, **options)
    assert found == expected
    assert [type(default) for _, default in found.values()] == \
        [type(default) for _, default in expected.values()]  # True stays a bool, not 1
    assert list(found) == list(expected)  # in signature order


@pytest.mark.parametrize("function, options, parameter", [
    (typed, {}, "num_classes"),  # not skipped
    (untyped, {}, "num_classes"),
    (loader, {}, "root"),  # positional, but keyword_only is off
    (lambda a, *, b=1: None, dict(skip=("b",)), "a"),
])
def test_a_parameter_without_a_default_is_an_error(function: Callable[..., Any],
                                                   options: dict[str, Any], parameter: str) -> None:
    with pytest.raises(MissingDefault) as info:
        knobs_of(function, **options)
    assert info.value.parameter == parameter
    assert str(info.value) == f"parameter {parameter!r} has no default"
    assert isinstance(info.value, ValueError)


def test_an_unreadable_signature_raises_what_inspect_raises() -> None:
    with pytest.raises(ValueError, match="no signature found"):
        knobs_of(iter)
