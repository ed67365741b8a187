"""Configuration: flags > REWINDDB_* environment > TOML file > defaults, one settings table.

Unit tests resolve settings with `server.config.load`; the end-to-end test starts the real
server with a file, the environment and flags all disagreeing, and observes which value won.
"""
from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from server import config as cfg
from server.cli import build_parser
from tests.conftest import ROOT, RunningServer


def parse(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def write(tmp_path, text: str) -> str:
    path = tmp_path / "rewinddb.toml"
    path.write_text(text)
    return str(path)


def test_defaults_come_from_the_table():
    config = cfg.load(parse(), environ={})
    for s in cfg.SETTINGS:
        assert getattr(config, s.name) == s.default


def test_flag_beats_environment_beats_file_beats_default(tmp_path):
    path = write(tmp_path, 'port = 1111\nhttp_port = 2222\nmax_connections = 7\nlog_format = "json"\n')
    environ = {"REWINDDB_CONFIG": path, "REWINDDB_HTTP_PORT": "3333", "REWINDDB_MAX_CONNECTIONS": "8"}
    config = cfg.load(parse("--max-connections", "9"), environ=environ)
    assert config.port == 1111                 # file over default
    assert config.http_port == 3333            # environment over file
    assert config.max_connections == 9         # flag over environment
    assert config.log_format == "json"
    assert config.host == "127.0.0.1"          # default


def test_config_flag_beats_config_environment(tmp_path):
    first = write(tmp_path, "port = 1111\n")
    second = tmp_path / "other.toml"
    second.write_text("port = 2222\n")
    config = cfg.load(parse("--config", str(second)), environ={"REWINDDB_CONFIG": first})
    assert config.port == 2222


def test_sizes_booleans_and_floats_parse_from_text_and_toml(tmp_path):
    assert cfg.load(parse("--segment-size", "2MiB"), environ={}).segment_size == 2 << 20
    assert cfg.load(parse(), environ={"REWINDDB_SEGMENT_SIZE": "512k"}).segment_size == 512 << 10
    path = write(tmp_path, 'segment_size = "1G"\nshutdown_grace = 5\nmax_message_size = 4096\n')
    config = cfg.load(parse("--config", path), environ={})
    assert (config.segment_size, config.shutdown_grace, config.max_message_size) == (1 << 30, 5.0, 4096)
    assert cfg._parse_bool("on") is True and cfg._parse_bool("FALSE") is False


@pytest.mark.parametrize("argv, environ, toml, message", [
    ((), {"REWINDDB_PORT": "x"}, None, "REWINDDB_PORT: invalid value for port"),
    ((), {"REWINDDB_LOG_FORMAT": "xml"}, None, "choose from text, json"),
    ((), {}, 'port = "5432"\n', "expected integer, got .5432."),
    ((), {}, "prot = 5432\n", "unknown setting prot"),
    ((), {}, "port = \n", "rewinddb.toml"),
    (("--segment-size", "lots"), {}, None, "--segment-size: invalid value for segment_size"),
])
def test_bad_values_name_their_source(tmp_path, argv, environ, toml, message):
    if toml is not None:
        environ = {**environ, "REWINDDB_CONFIG": write(tmp_path, toml)}
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.load(parse(*argv), environ=environ)


def test_missing_file_is_an_error():
    with pytest.raises(cfg.ConfigError, match="cannot read configuration file"):
        cfg.load(parse("--config", "/nonexistent/rewinddb.toml"), environ={})


def test_help_documents_every_setting():
    out = subprocess.run([sys.executable, "-m", "server", "serve", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    flat = " ".join(out.split())
    for s in cfg.SETTINGS:
        assert s.flag in out and s.env in flat, s.name
    assert "--config" in out and "REWINDDB_CONFIG" in flat


def test_docs_table_matches_the_settings():
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = text.split(cfg.DOC_BEGIN + "\n", 1)[1].split(cfg.DOC_END, 1)[0]
    assert table == cfg.reference(), "run `python -m server.config` to regenerate docs/configuration.md"


def test_bad_configuration_stops_the_server_with_status_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "server", "serve", "--data-dir", str(tmp_path / "d")],
                            cwd=ROOT, capture_output=True, text=True, env={"REWINDDB_PORT": "x", "PATH": ""})
    assert result.returncode == 2
    assert "REWINDDB_PORT: invalid value for port" in result.stderr


def test_running_server_takes_each_source_in_order(tmp_path):
    """The file asks for JSON logs and 1 connection, the environment for 2 connections and
    text logs, a flag for JSON logs again: JSON logs (flag) and 2 connections (environment)."""
    path = write(tmp_path, 'log_format = "json"\nmax_connections = 1\nlog_level = "info"\n')
    server = RunningServer(tmp_path / "data", ("--log-format", "json"),
                           env={"REWINDDB_CONFIG": path, "REWINDDB_MAX_CONNECTIONS": "2",
                                "REWINDDB_LOG_FORMAT": "text"})
    server.start()
    try:
        first = psycopg.connect(server.dsn)
        second = psycopg.connect(server.dsn)
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            psycopg.connect(server.dsn)
        first.close()
        second.close()
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any("ready to accept connections" in m for m in messages)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert not [line for line in server.log().splitlines() if line and not line.startswith("{")]
