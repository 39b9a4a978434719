"""Small modules and functions: no module over 600 lines; no function over 60 lines unless its
docstring says why it is long ("Long ... because ...")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCES = sorted((Path(__file__).parent.parent / "nbflow").rglob("*.py"))
MAX_MODULE, MAX_FUNCTION = 600, 60


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_module_and_function_sizes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE, f"{path.name} has {text.count(chr(10))} lines; split it"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            doc = (ast.get_docstring(node) or "").lower()
            assert length <= MAX_FUNCTION or ("long" in doc and "because" in doc), (
                f"{path.name}:{node.lineno} {node.name}() has {length} lines and no reason in its docstring")
