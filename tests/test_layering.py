"""The dependency direction of DESIGN.md, enforced by scanning imports:
server -> protocol, server -> engine; protocol imports neither engine nor asyncio;
engine imports neither server nor protocol; sqlglot is imported only inside engine/sql."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_protocol_is_sans_io_and_standalone():
    for path, names in imports_of("protocol").items():
        assert not names & {"engine", "server", "asyncio", "socket", "ssl", "selectors"}, path


def test_engine_does_not_import_server_or_protocol():
    for path, names in imports_of("engine").items():
        assert not names & {"server", "protocol"}, path


def test_sqlglot_stays_inside_engine_sql():
    for package in ("engine", "server", "protocol"):
        for path, names in imports_of(package).items():
            if "sqlglot" in names:
                assert path.startswith("engine/sql/"), path
