"""Typed reads from a parsed YAML mapping, with one-line errors that name the file and the key.

A study file is validated once, at the edge, by walking it with :class:`Section`: each ``take`` pops a
key, checks its type and value, and ``finish`` rejects whatever is left (unknown keys). The messages
follow scikit-learn's: "studies/x.yaml: 'space.lr.low' must be a number > 0. Got -1 instead."
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from search.record.errors import ConfigError

# Checks return None when the value is fine, else a description of what was expected.
Check = Callable[[Any], "str | None"]


def type_name(expected: type | tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             dict: "a mapping", list: "a list"}
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def is_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    """isinstance, except that a bool is not an int and an int is a float (YAML ``1`` for ``lr``)."""
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


class Section:
    """One mapping of a study file; ``where`` is its dotted key path ('' for the top level)."""

    def __init__(self, source: Path | str, where: str, raw: Any):
        self.source, self.where = str(source), where
        if not isinstance(raw, dict):
            raise self.error(where or "the file", "a mapping of keys to values", raw)
        self._raw = dict(raw)

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, key: str, expected: str, got: Any, hint: str = "") -> ConfigError:
        found = f"{got!r}" if not isinstance(got, (dict, list)) else f"a {type(got).__name__}"
        message = f"{self.source}: '{key}' must be {expected}. Got {found} instead."
        return ConfigError(f"{message} {hint}".rstrip())

    def has(self, name: str) -> bool:
        return name in self._raw

    def peek(self, name: str) -> Any:
        """The raw value of ``name`` (None if absent), without taking it."""
        return self._raw.get(name)

    def take(self, name: str, expected: type | tuple[type, ...], default: Any = ...,
             check: Check | None = None, nullable: bool = False) -> Any:
        """Pop ``name``; ``default=...`` makes it required. An explicit ``null`` is allowed when the
        default is None or ``nullable`` is set."""
        if name not in self._raw:
            if default is ...:
                raise ConfigError(f"{self.source}: '{self.key(name)}' is required "
                                  f"({type_name(expected)}) but missing.")
            return default
        value = self._raw.pop(name)
        if value is None and (default is None or nullable):
            return None
        if not is_type(value, expected):
            raise self.error(self.key(name), type_name(expected), value)
        types = expected if isinstance(expected, tuple) else (expected,)
        if type(value) is int and float in types and int not in types:
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):  # YAML's .nan and .inf
            raise self.error(self.key(name), "a finite number", value)
        problem = check(value) if check else None
        if problem:
            raise self.error(self.key(name), problem, value)
        return value

    def section(self, name: str, default: Any = ...) -> Section:
        """Pop a nested mapping as a Section (an absent optional one is empty)."""
        if name not in self._raw and default is not ...:
            return Section(self.source, self.key(name), default)
        return Section(self.source, self.key(name), self.take(name, dict, default))

    def rest(self) -> dict[str, Any]:
        """Pop and return every key not yet taken (for options checked elsewhere)."""
        rest, self._raw = self._raw, {}
        return rest

    def keys(self) -> list[str]:
        """The keys not yet taken."""
        return list(self._raw)

    def unknown(self, name: str, allowed: list[str] | None) -> ConfigError:
        hint = ""
        if allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            hint += f"; expected one of: {', '.join(sorted(allowed))}"
        return ConfigError(f"{self.source}: unknown key '{self.key(name)}'{hint}.")

    def finish(self, allowed: list[str] | None = None) -> None:
        """Reject keys that were not taken."""
        if self._raw:
            raise self.unknown(sorted(self._raw, key=str)[0], allowed)


# --- checks --------------------------------------------------------------------------------------

def positive(value: Any) -> str | None:
    return None if value > 0 else "> 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else ">= 0"


def in_unit_interval(value: Any) -> str | None:
    """[0, 1): dropout, label smoothing, momentum."""
    return None if 0 <= value < 1 else "in [0, 1)"


def one_of(names: Mapping[str, Any] | list[str]) -> Check:
    return lambda value: None if value in names else f"one of: {', '.join(names)}"


# --- YAML ------------------------------------------------------------------------------------------

class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader with two fixes for config files: ``1e-3`` is a float (YAML 1.1 reads it
    as a string), and a key given twice is an error instead of silently keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing file or bad syntax is a one-line ConfigError."""
    if path.is_dir():
        found = ", ".join(sorted(p.name for p in path.glob("*.yaml"))[:5]) or "no .yaml file"
        raise ConfigError(f"{path}: is a folder ({found}); pass the path of one study file in it, "
                          f"such as studies/demo.yaml.")
    if not path.is_file():
        raise ConfigError(f"{path}: study file not found; pass a path to a YAML file such as "
                          f"studies/demo.yaml.")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; a study file is YAML text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}.") from None
