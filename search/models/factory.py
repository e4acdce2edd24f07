"""Bring your own model: an architecture named "package.module:function" is a builder imported from
that module, called as ``function(num_classes, **hparams) -> nn.Module``.

Its knobs are its keyword parameters with a default, typed by annotation (or by the default's type)
as int, float, bool or str; ``in_channels`` and ``dropout`` are passed only if it accepts them.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any, Callable

from torch import nn

from search.signature import MissingDefault, knobs_of

_MODULE = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
_SPEC = re.compile(rf"(?P<module>{_MODULE}):(?P<attr>[A-Za-z_]\w*)")


def is_factory(name: str) -> bool:
    """Whether an architecture name is a factory string rather than a registered model."""
    return ":" in name


def _error(path: str, problem: str) -> ValueError:
    return ValueError(f"architecture {path!r}: {problem}")


def load_factory(path: str) -> Callable[..., nn.Module]:
    """The callable named by ``path`` ("package.module:function"), importing only that module."""
    match = _SPEC.fullmatch(path.strip()) if isinstance(path, str) else None
    if match is None:
        raise _error(path, "must read 'package.module:function' (a dotted module path, one colon, "
                           "a function name)")
    module_name, attr = match["module"], match["attr"]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise _error(path, f"module {module_name!r} not found; it must be importable "
                               f"(installed, or on PYTHONPATH)") from None
        raise _error(path, f"importing module {module_name!r} failed: {exc}; install what it "
                           f"imports") from None
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise _error(path, f"importing module {module_name!r} raised {type(exc).__name__}: "
                           f"{reason}; fix the module") from None
    if not hasattr(module, attr):
        raise _error(path, f"module {module_name!r} has no attribute {attr!r}; name a function "
                           f"defined in it")
    factory = getattr(module, attr)
    if not callable(factory):
        raise _error(path, f"{module_name}.{attr} is a {type(factory).__name__}, not callable; "
                           f"name a function (num_classes, **hparams) -> nn.Module")
    return factory


def _signature(path: str, factory: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):
        raise _error(path, "its signature cannot be read; wrap it in a Python function "
                           "(num_classes, **hparams) -> nn.Module") from None


def factory_knobs(path: str, skip: tuple[str, ...]) -> dict[str, tuple[type, Any]]:
    """{knob: (type, default)} of the factory ``path``, leaving out the names in ``skip``.

    A parameter with a default but no int/float/bool/str type is not a knob (it keeps its
    default); a parameter other than the first without a default is an error."""
    factory = load_factory(path)
    params = list(_signature(path, factory).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not params or params[0].kind not in positional:
        raise _error(path, "its first parameter must be num_classes, taken positionally")
    try:
        return knobs_of(factory, skip=(params[0].name, *skip))
    except MissingDefault as exc:
        raise _error(path, f"{exc}; give every parameter but num_classes a default") from None


def build_from_factory(path: str, num_classes: int, **arguments: Any) -> nn.Module:
    """Call the factory ``path``; in_channels/dropout in ``arguments`` are passed only if its
    signature names them or takes ``**kwargs``."""
    factory = load_factory(path)
    params = _signature(path, factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    passed = {k: v for k, v in arguments.items()
              if takes_any or k in params or k not in ("in_channels", "dropout")}
    model = factory(num_classes, **passed)
    if not isinstance(model, nn.Module):
        raise _error(path, f"returned a {type(model).__name__}, not a torch.nn.Module")
    return model
