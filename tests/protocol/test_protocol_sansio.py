"""The protocol package stays sans-IO: no sockets, no event loop, no clocks,
no threads, and no imports of the engine or the server; every module states
its role in a docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).resolve().parents[2] / "protocol"
FORBIDDEN = {"asyncio", "socket", "ssl", "selectors", "select", "threading", "time", "engine", "server", "uvloop"}
MODULES = sorted(PROTOCOL.glob("*.py"))


def imported_roots(tree: ast.Module) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_module_is_sans_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert not imported_roots(tree) & FORBIDDEN
    assert ast.get_docstring(tree), f"{path.name} needs a docstring stating its role and invariants"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_clock_reads(path: Path) -> None:
    source = path.read_text()
    for call in ("datetime.now", "datetime.utcnow", "date.today", ".now(", "perf_counter", "monotonic"):
        assert call not in source
