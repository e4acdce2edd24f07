"""Knobs from a signature: the typed keyword parameters of a function, as {name: (type, default)}.

A knob is an argument a study file may set: one of a dataset loader's, a model builder's or a
"package.module:function" factory's parameters. Its type is its annotation, or the type of its
default when it has none; only int, float, bool and str make knobs, so a parameter of any other type
keeps its default and is not a knob. ``*args`` and ``**kwargs`` are never knobs, and a parameter
that would be one must have a default. This module imports only the standard library, so the
torch-free data package can use it too.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Collection

KNOB_TYPES = (int, float, bool, str)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class MissingDefault(ValueError):
    """A parameter that would be a knob has no default, so a study file could not leave it out."""

    def __init__(self, parameter: str):
        super().__init__(f"parameter {parameter!r} has no default")
        self.parameter = parameter


def _type_hints(function: Callable[..., Any]) -> dict[str, Any] | None:
    """The function's resolved annotations, or None when some of them cannot be resolved."""
    try:
        return typing.get_type_hints(function)
    except Exception:  # a name not importable here, a malformed string, an odd callable, ...
        return None


def knob_type(parameter: inspect.Parameter, hints: dict[str, Any] | None) -> type | None:
    """int, float, bool or str from the parameter's resolved annotation in ``hints`` (or, when
    ``hints`` is None, from the annotation's text), else from its default's type when it has no
    annotation; None when that type is none of the four."""
    if hints is None:
        hint = next((t for t in KNOB_TYPES if t.__name__ == str(parameter.annotation)), None)
    else:
        hint = hints.get(parameter.name)
    if hint is None and parameter.annotation is inspect.Parameter.empty:
        hint = type(parameter.default)
    return hint if hint in KNOB_TYPES else None


def knobs_of(function: Callable[..., Any], *, skip: Collection[str] = (),
             keyword_only: bool = False) -> dict[str, tuple[type, Any]]:
    """The knobs of ``function``, {name: (type, default)} in signature order.

    Parameters named in ``skip``, ``*args``/``**kwargs`` and, with ``keyword_only``, those that can
    be passed by position are left out. Raises ``MissingDefault`` for a parameter left in that has
    no default, and whatever ``inspect.signature`` raises when the signature cannot be read.
    """
    hints = _type_hints(function)
    knobs = {}
    for parameter in inspect.signature(function).parameters.values():
        if (parameter.kind in _VARIADIC or parameter.name in skip
                or (keyword_only and parameter.kind is not parameter.KEYWORD_ONLY)):
            continue
        if parameter.default is inspect.Parameter.empty:
            raise MissingDefault(parameter.name)
        found = knob_type(parameter, hints)
        if found is not None:
            knobs[parameter.name] = (found, parameter.default)
    return knobs
