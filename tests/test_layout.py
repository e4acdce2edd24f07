"""The code stays readable in an afternoon: modules under ~300 lines, functions under ~60, and the
README's Layout names every module and package of search/ and diagnose/ and nothing that is not there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("search", "diagnose") for p in (REPO / folder).rglob("*.py"))
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def layout() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_modules_and_functions_are_short(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_layout_names_every_module_and_package():
    text = layout()
    for folder in ("search", "diagnose"):
        for child in sorted((REPO / folder).iterdir()):
            if child.suffix == ".py" and child.name != "__init__.py":
                assert re.search(rf"\b{re.escape(child.name)}\b", text), child
            elif child.is_dir() and (child / "__init__.py").exists():
                assert f"{child.name}/" in text, child


def test_every_file_the_layout_names_exists():
    names = set(re.findall(r"\b([a-z_0-9]+\.py)\b", layout()))
    existing = {p.name for p in SOURCES} | {p.name for p in REPO.glob("*.py")} | {
        p.name for p in (REPO / "tests").glob("*.py")}
    assert names and names <= existing, sorted(names - existing)
