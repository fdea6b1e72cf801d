"""Managed servers: exact command lines, config checks, the supervisor, `valuegraph serve`.

vLLM cannot run here: its command lines are checked exactly. The supervisor runs for real on
the local test server started as an ``engine: command`` server (fast); the llama.cpp engine
runs for real in ``test_llama_fleet.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from valuegraph.config import ConfigError
from valuegraph.tools.servers import Fleet, ServerError, load_servers, replica_launch

TEST_SERVER = [sys.executable, "-m", "valuegraph.testing.openai_server", "--port", "{port}"]


def server_config(**overrides) -> dict:
    return {"servers": [{"name": "m", "engine": "vllm", "model": "org/model-7b", **overrides}]}


# -- command lines ---------------------------------------------------------------------------

def test_vllm_replicas_get_their_gpu_slices_ports_and_the_exact_command():
    cfg = load_servers(server_config(replicas=4, tensor_parallel_size=2, port=8000,
                                     args=["--max-model-len", "8192"]))
    server = cfg.servers[0]
    launches = [replica_launch(server, i, 8000 + i) for i in range(4)]
    assert launches[1].argv == (
        "vllm", "serve", "org/model-7b", "--host", "127.0.0.1", "--port", "8001",
        "--served-model-name", "m", "--tensor-parallel-size", "2", "--max-model-len", "8192")
    assert [dict(x.env) for x in launches] == [{"CUDA_VISIBLE_DEVICES": g} for g in
                                               ("0,1", "2,3", "4,5", "6,7")]
    assert launches[3].base == "http://127.0.0.1:8003/v1"
    assert launches[3].health_url == "http://127.0.0.1:8003/health"


def test_vllm_explicit_gpus_data_parallel_inside_a_replica_and_any_address_bind():
    server = load_servers(server_config(
        replicas=2, data_parallel_size=2, gpus=[4, 5, 6, 7], host="0.0.0.0", port=9000,
        executable="/opt/vllm/bin/vllm", env={"HF_HOME": "/models"})).servers[0]
    second = replica_launch(server, 1, 9001, node="gpu-b")
    assert second.argv == (
        "/opt/vllm/bin/vllm", "serve", "org/model-7b", "--host", "0.0.0.0", "--port", "9001",
        "--served-model-name", "m", "--tensor-parallel-size", "1", "--data-parallel-size", "2")
    assert dict(second.env) == {"HF_HOME": "/models", "CUDA_VISIBLE_DEVICES": "6,7"}
    assert second.base == "http://gpu-b:9001/v1"  # what the pool on another host reaches
    assert second.health_url == "http://127.0.0.1:9001/health"  # checked on the node itself


def test_llama_cpp_and_command_lines(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    cfg = load_servers({"servers": [
        {"name": "smol", "engine": "llama_cpp", "model": str(gguf), "args": ["--n_ctx", "512"]},
        {"name": "fake", "engine": "command", "command": ["srv", "--bind", "{host}:{port}",
                                                          "--model={name}"]}]})
    llama = replica_launch(cfg.servers[0], 0, 7001, python="/py")
    assert llama.argv == ("/py", "-m", "llama_cpp.server", "--model", str(gguf),
                          "--model_alias", "smol", "--host", "127.0.0.1", "--port", "7001",
                          "--n_ctx", "512")
    assert llama.health_url.endswith(":7001/v1/models") and dict(llama.env) == {}
    assert replica_launch(cfg.servers[1], 0, 7002).argv == (
        "srv", "--bind", "127.0.0.1:7002", "--model=fake")


def test_multi_node_fleet_starts_its_own_replicas_and_routes_to_all():
    cfg = server_config(replicas=2, port=8000, nodes=["gpu-a", "gpu-b"])
    fleet = Fleet(cfg, node="gpu-b")
    assert [(r.launch.node, r.launch.port) for r in fleet.replicas] == [("gpu-b", 8000),
                                                                         ("gpu-b", 8001)]
    assert fleet.api_bases() == {"openai/m": [
        "http://gpu-b:8000/v1", "http://gpu-b:8001/v1", "http://gpu-a:8000/v1",
        "http://gpu-a:8001/v1"]}
    with pytest.raises(ConfigError, match="runs on nodes gpu-a, gpu-b: start it there"):
        Fleet(cfg)
    with pytest.raises(ConfigError, match="node 'gpu-z' is not in any server's nodes"):
        Fleet(cfg, node="gpu-z")


@pytest.mark.parametrize("overrides,message", [
    ({"engine": "tgi"}, "servers.0.engine: Input should be 'vllm', 'llama_cpp' or 'command'"),
    ({"model": None}, "engine vllm needs model"),
    ({"replicas": 0}, "servers.0.replicas: Input should be greater than or equal to 1"),
    ({"replicas": 3, "tensor_parallel_size": 2, "gpus": [0, 1, 2, 3]},
     "3 replica(s) x 2 GPU(s) need 6 gpus, got 4"),
    ({"gpus": [0, 0]}, "gpus lists a GPU twice"),
    ({"nodes": ["a", "b"]}, "servers on several nodes need a fixed port"),
    ({"port": 65535, "replicas": 2}, "ports 65535..65536 exceed 65535"),
    ({"spec": "anthropic/m"}, "must use a self-hosted provider"),
    ({"name": "bad name"}, "servers.0.name: String should match pattern"),
    ({"engine": "command", "model": None}, "engine command needs command"),
    ({"engine": "command", "command": ["srv", "{port}", "{gpu}"]}, "unknown placeholder {gpu}"),
    ({"engine": "llama_cpp", "model": None, "tensor_parallel_size": 2}, "are vllm settings"),
    ({"colour": "blue"}, "servers.0.colour: unknown setting"),
])
def test_bad_server_configs_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_servers(server_config(**overrides))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_two_servers_cannot_share_a_spec():
    with pytest.raises(ConfigError, match="two servers have the spec 'openai/x'"):
        load_servers({"servers": [{"name": "a", "engine": "llama_cpp", "spec": "openai/x"},
                                  {"name": "b", "engine": "llama_cpp", "spec": "openai/x"}]})


# -- the supervisor, for real ----------------------------------------------------------------

def fake_servers(tmp_path, replicas=2, **overrides) -> dict:
    return {"servers": [{"name": "fake", "engine": "command", "command": TEST_SERVER,
                         "replicas": replicas, "startup_timeout": 30, **overrides}],
            "health_interval": 0.2, "log_dir": str(tmp_path / "logs")}


def chat(base: str) -> str:
    body = json.dumps({"model": "fake", "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(base + "/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["choices"][0]["message"]["content"]


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_fleet_restarts_a_killed_replica_on_its_address_and_stops_everything(tmp_path):
    with Fleet(fake_servers(tmp_path)) as fleet:
        bases = fleet.api_bases()["openai/fake"]
        assert len(bases) == 2 and all(chat(b).startswith("reply-") for b in bases)
        victim = fleet.replicas[0]
        old_pid = victim.process.pid
        assert fleet.health_of(bases[0])() is True
        os.killpg(old_pid, signal.SIGKILL)
        wait_for(lambda: victim.restarts == 1 and victim.state == "ready")
        assert victim.history == ["started", "ready", "exited -9", "started", "restarted",
                                  "ready"]
        assert victim.process.pid != old_pid
        assert chat(bases[0]).startswith("reply-")  # the same address again
        assert fleet.replicas[1].history == ["started", "ready"]
        pids = [r.process.pid for r in fleet.replicas]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert [r.state for r in fleet.replicas] == ["stopped", "stopped"]


def test_a_replica_out_of_restarts_is_failed(tmp_path):
    with Fleet(fake_servers(tmp_path, replicas=1, max_restarts=0)) as fleet:
        os.killpg(fleet.replicas[0].process.pid, signal.SIGKILL)
        wait_for(lambda: fleet.replicas[0].state == "failed")
        assert fleet.failed() == fleet.replicas
        assert fleet.health_of(fleet.replicas[0].launch.base)() is False


def test_a_server_that_cannot_start_stops_the_fleet_and_names_its_log(tmp_path):
    cfg = fake_servers(tmp_path, replicas=1)
    cfg["servers"].append({"name": "broken", "engine": "command", "command": [
        sys.executable, "-c", "import sys; print('no GPU here'); sys.exit(3)", "{port}"]})
    fleet = Fleet(cfg)
    with pytest.raises(ServerError, match=r"'broken' replica 0 exited with status 3; its log: "
                                          r".*broken-0.log \(no GPU here\)"):
        fleet.start()
    assert [r.state for r in fleet.replicas] == ["stopped", "stopped"]


def test_a_pool_owns_its_servers(tmp_path):
    import asyncio

    from valuegraph.tools.pool import ModelPool

    pool = ModelPool(None, servers=fake_servers(tmp_path))
    fleet = pool.servers
    assert pool.api_bases["openai/fake"].count(",") == 1
    got = asyncio.run(pool.generate("openai/fake", [{"role": "user", "content": "hi"}]))
    assert got[0].text.startswith("reply-")
    assert pool.backend("openai/fake").balancer.replicas[0].health is not None
    pool.close()
    assert pool.servers is None and [r.state for r in fleet.replicas] == ["stopped"] * 2


# -- valuegraph serve ------------------------------------------------------------------------

def serve_cli(*args: str, cwd, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "valuegraph.cli", "serve", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,message", [
    ([], "give a servers config (-c servers.yaml) or at least --engine"),
    (["--engine", "tgi"], "servers.0.engine: Input should be 'vllm', 'llama_cpp' or 'command'"),
    (["--engine", "llama_cpp", "--replicas", "0"], "replicas: Input should be greater than"),
    (["--engine", "vllm"], "engine vllm needs model"),
    (["--engine", "vllm", "--model", "org/m"], "'vllm' not found; install vLLM"),
    (["-c", "missing.yaml"], "config file missing.yaml not found"),
    (["-c", "servers.yaml", "--replicas", "2"], "are for a server without -c"),
    (["-c", "servers.yaml", "--node", "x"], "node 'x' is not in any server's nodes"),
    (["--engine", "llama_cpp", "--model", "nope.gguf"], "model file nope.gguf not found"),
    (["-c", "servers.yaml", "--log-dir", "servers.yaml"],
     "log_dir servers.yaml exists and is not a directory"),
])
def test_serve_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "servers.yaml").write_text(yaml.safe_dump(fake_servers(tmp_path)))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = serve_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_serve_dry_run_prints_the_command_lines(tmp_path):
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(server_config(replicas=2, port=8000,
                                                                  tensor_parallel_size=2)))
    result = serve_cli("-c", "s.yaml", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "m[0] http://127.0.0.1:8000/v1: CUDA_VISIBLE_DEVICES=0,1 vllm serve org/model-7b --host "
        "127.0.0.1 --port 8000 --served-model-name m --tensor-parallel-size 2",
        "m[1] http://127.0.0.1:8001/v1: CUDA_VISIBLE_DEVICES=2,3 vllm serve org/model-7b --host "
        "127.0.0.1 --port 8001 --served-model-name m --tensor-parallel-size 2"]
    assert lines[2:] == ["api_bases:",
                         "  openai/m: [http://127.0.0.1:8000/v1, http://127.0.0.1:8001/v1]"]


def test_serve_runs_the_servers_until_sigterm(tmp_path):
    (tmp_path / "servers.yaml").write_text(yaml.safe_dump(fake_servers(tmp_path)))
    process = subprocess.Popen([sys.executable, "-m", "valuegraph.cli", "serve", "-c",
                                "servers.yaml"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines[0] == "api_bases:\n", lines
        bases = re.findall(r"http://[^,\]]+", lines[1])
        assert len(bases) == 2 and all(chat(b).startswith("reply-") for b in bases)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read()
    for base in bases:
        with pytest.raises(OSError):
            chat(base)
