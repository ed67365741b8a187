"""node-postgres (`pg` from the npm registry) against rewinddb (node/wire.js).

The package is installed once per version into a cache directory under the system temp
directory with `npm install` (CI installs it the same way; the machine needs Node.js, npm and
access to the npm registry)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PG_VERSION = "8.13.1"


def node_modules() -> Path:
    target = Path(tempfile.gettempdir()) / f"rewinddb-node-pg-{PG_VERSION}"
    if not (target / "node_modules" / "pg" / "package.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(target), f"pg@{PG_VERSION}"],
                       check=True, capture_output=True, text=True, timeout=300)
    return target / "node_modules"


def test_node_postgres(server):
    out = subprocess.run(["node", str(HERE / "node" / "wire.js"), str(server.port)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "NODE_PATH": str(node_modules())})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["rows"] == [[2, "note 2", "2024-01-02T12:00:00.000Z", "2.25", ["a", "t2"], {"n": 2}],
                              [3, "note 3", "2024-01-03T12:00:00.000Z", "3.25", ["a", "t3"], {"n": 3}]]
    assert result["command"] == "SELECT"
    assert result["arrays"] == [["3", 3]]
    assert result["afterRollback"] == 3
    assert result["error"] == "23505"
    assert result["fields"] == [["id", 23], ["body", 25], ["created", 1184], ["score", 1700], ["tags", 1009],
                                ["meta", 3802]]
