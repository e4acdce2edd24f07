"""Dependencies point one way: ``search/`` never imports ``diagnose/``, and nothing under ``diagnose/``
(nor the shared ``search/record/``) reaches torch or scikit-learn, directly or through what it imports
from the project. Read from the source with ``ast``, so an import inside a function counts too; the
fresh-process check that ``diagnose LOG`` loads none of them is in tests/diagnose/test_command.py."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "torchvision", "sklearn"}  # seconds to import; diagnosing a log must not wait


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for folder in ("search", "diagnose")
           for p in sorted((REPO / folder).rglob("*.py"))}


@cache
def imports(module: str) -> frozenset[str]:
    """Every module ``module`` imports, anywhere in it: ``from a.b import c`` gives ``a.b`` and,
    when ``a.b.c`` is a module, that too."""
    names = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in MODULES)
    return frozenset(names)


def reached(module: str) -> set[str]:
    """Every module importing ``module`` runs: its imports, their packages' ``__init__``, and on
    through the project's modules (outside ones are not followed)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in MODULES:
            parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
            todo += [*imports(name), *parents]
    return seen


def test_the_walk_sees_imports_inside_functions_and_through_packages():
    assert "search.record.history" in reached("diagnose.curves")
    assert "search.record.storage" in imports("diagnose.dashboard.server")  # a lazy import
    assert "torch" in reached("search.train")  # it does find torch where it is
    assert "search" in reached("diagnose.curves")  # packages' __init__ run too


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("search")])
def test_search_never_imports_diagnose(module):
    wrong = sorted(i for i in imports(module) if i.split(".")[0] == "diagnose")
    assert not wrong, f"{module} imports {wrong}: search/ must take hooks instead"


@pytest.mark.parametrize("module", [m for m in MODULES
                                    if m.startswith(("diagnose", "search.record"))])
def test_diagnose_and_the_shared_record_never_reach_torch_or_scikit_learn(module):
    heavy = sorted(m for m in reached(module) if m.split(".")[0] in HEAVY)
    assert not heavy, f"importing {module} imports {heavy}"
