"""Run small Java 17 programs against the PostgreSQL JDBC driver (org.postgresql:postgresql:42.7.13
from the local Maven repository), for tests that drive rewinddb the way Java clients do.

`run_java(program, *args)` compiles `java/<program>.java` with javac (once per source version,
into a cache under the system temp directory) and runs it with the driver on the class path;
it returns the program's standard output and fails with its standard error. The programs
print plain text that the Python tests parse; add a program per client scenario.
"""
from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRIVER = Path.home() / ".m2/repository/org/postgresql/postgresql/42.7.13/postgresql-42.7.13.jar"


def jdbc_url(port: int, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"user": "postgres", "sslmode": "disable", **params}.items())
    return f"jdbc:postgresql://127.0.0.1:{port}/postgres?{query}"


def run_java(program: str, *args: str, timeout: float = 120) -> str:
    classes = _compiled(HERE / "java" / f"{program}.java")
    out = subprocess.run(["java", "-cp", f"{DRIVER}:{classes}", program, *args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"{program} failed ({out.returncode}):\n{out.stderr}\n{out.stdout}")
    return out.stdout


def _compiled(source: Path) -> Path:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / "rewinddb-java" / f"{source.stem}-{digest}"
    if not (target / f"{source.stem}.class").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["javac", "--release", "17", "-cp", str(DRIVER), "-d", str(target), str(source)],
                       check=True, capture_output=True, text=True, timeout=300)
    return target


def result_sets(output: str) -> dict[str, list[dict[str, str | None]]]:
    """Parse the `== name` / header / rows format the programs print (fields separated by
    a tab, NULL printed as \\N) into {name: [row as {column: value}]}."""
    sections: dict[str, list[dict[str, str | None]]] = {}
    lines = iter(output.splitlines())
    for line in lines:
        if line.startswith("== "):
            header = next(lines).split("\t")
            rows = sections[line[3:]] = []
            for row in lines:
                if row == "--":
                    break
                rows.append({h: (None if v == "\\N" else v) for h, v in zip(header, row.split("\t"))})
    return sections
