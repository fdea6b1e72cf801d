"""`valuegraph view` on the command line: bad input is one line and exit 2; the command serves
the runs on 127.0.0.1 and refuses requests for other host names."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from valuegraph import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.app, ["view", *args])
    return result.exit_code, result.stderr


@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("case,message", [
    ("missing", "runs directory {runs} does not exist"),
    ("file", "runs directory {runs} is not a directory"),
    ("port-word", "--port must be a whole number from 0 to 65535 (0: any free port), got 'web'"),
    ("port-high", "--port must be a whole number from 0 to 65535 (0: any free port), got "
                  "'70000'"),
    ("port-negative", "--port must be a whole number from 0 to 65535"),
    ("poll", "--poll must be between 0.05 and 3600 seconds, got 0.0"),
    ("busy", "port {port} on 127.0.0.1 is in use; choose another with --port"),
    ("host", "cannot listen on 203.0.113.9:0"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, busy_port, case, message):
    runs = tmp_path / "runs"
    args = [str(runs), "--port", "0"]
    if case != "missing":
        runs.mkdir()
    if case == "file":
        runs.rmdir()
        runs.write_text("not a directory")
    extra = {"port-word": ["--port", "web"], "port-high": ["--port", "70000"],
             "port-negative": ["--port", "-1"], "poll": ["--poll", "0"],
             "busy": ["--port", str(busy_port)], "host": ["--host", "203.0.113.9"]}
    code, stderr = invoke(*args, *extra.get(case, []))
    assert code == 2, stderr
    assert message.format(runs=runs, port=busy_port) in " ".join(stderr.split())
    assert len(stderr.strip().splitlines()) == 1, stderr
    if case == "missing":
        assert not runs.exists()


def test_the_command_serves_the_runs_on_loopback(built_runs: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuegraph.cli", "view", str(built_runs), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("valuegraph view: http://127.0.0.1:"), (line, proc.stderr.read())
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        assert 'data-run="den-a"' in page and 'data-run="grow-1"' in page
        assert "3 runs" in page
        rebinding = urllib.request.Request(url, headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(rebinding, timeout=10)
        assert refused.value.code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=15)
