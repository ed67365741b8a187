"""The wheel (what the Docker image installs) holds everything `rewinddb serve` needs.

Builds the wheel from this checkout, unpacks it outside the repository and runs the server,
the HTTP health check and the shell from there. Docker itself does not run on the test
machines; the Dockerfile's stages do exactly this (pip wheel, then pip install the wheels).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile

from tests.conftest import READY, ROOT
from tests.ops.http_client import free_port


def test_wheel_runs_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "--wheel-dir", str(tmp_path / "wheels"), str(ROOT)], check=True, timeout=300,
                   capture_output=True)
    (wheel,) = (tmp_path / "wheels").glob("rewinddb-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "rewinddb = server.cli:main" in entry_points
    for requirement in ("sqlglot", "msgspec", "crc32c", "uvloop", "h11"):
        assert f"Requires-Dist: {requirement}" in metadata
    packages = {os.path.dirname(n) for n in names if n.endswith("__init__.py")}
    source_packages = {str(p.parent.relative_to(ROOT)) for top in ("protocol", "engine", "server")
                       for p in (ROOT / top).rglob("__init__.py")}
    assert packages == source_packages

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "PYTHONPATH": str(tmp_path / "site")}
    http_port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", "0", "--http-port", str(http_port),
                                 "--data-dir", str(tmp_path / "data")], stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=work)
    try:
        deadline = time.monotonic() + 60
        while not (ready := READY.search(log_path.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=60) as response:
            assert json.loads(response.read())["status"] == "ok"
        shell = subprocess.run([sys.executable, "-m", "server", "shell", "--connect",
                                f"host=127.0.0.1 port={ready.group(1)}"], input="select 40 + 2 as answer;\n",
                               capture_output=True, text=True, env=env, cwd=work, timeout=60)
        assert shell.stdout.splitlines()[2].strip() == "42", shell.stderr
        proc.terminate()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert str(ROOT) not in log_path.read_text()
