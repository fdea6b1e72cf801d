"""The IROTE graph served by `langgraph dev` (what Studio talks to), driven by langgraph_sdk.

Scripted ``mock/`` models live in the test process, so the served graph calls the local
OpenAI-compatible test server instead (``openai/test`` with ``api_bases`` in the context); that
server cannot score log-likelihoods, so the graph takes the code's own estimators: parsed item
answers and the judge's 0-10 ratings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from valuegraph.testing.irote_fakes import RULES
from valuegraph.testing.process import free_port, start_server

REPO = Path(__file__).resolve().parents[3]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"langgraph dev exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"langgraph dev not ready: {log.read_text()[-3000:]}")


@pytest.fixture
def langgraph_dev(tmp_path):
    """`langgraph dev` on a free loopback port, from a temporary project serving irote only."""
    if shutil.which("langgraph", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("langgraph-cli is not installed (pip install 'valuegraph[studio]')")
    project = tmp_path / "project"
    project.mkdir()
    (project / "langgraph.json").write_text(json.dumps({
        "dependencies": [str(REPO)], "env": {},
        "graphs": {"irote": str(REPO / "valuegraph/graphs/irote/graph.py") + ":graph"}}))
    port = free_port()
    log = tmp_path / "langgraph-dev.log"
    env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true"}
    with open(log, "w") as fh:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=project, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
async def test_graph_runs_in_langgraph_dev_through_the_sdk(langgraph_dev):
    from langgraph_sdk import get_client

    server = start_server(rules=RULES)
    try:
        client = get_client(url=langgraph_dev)
        assistants = await client.assistants.search(graph_id="irote")
        assert assistants, "the irote graph is not served"
        schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
        described = schemas["context_schema"]["properties"]
        assert "min over them" in described["distractor_turns"]["description"]
        thread = await client.threads.create()
        final = await client.runs.wait(
            thread["thread_id"], "irote", input={"theory": "big_five", "dimension": "O"},
            context={"target": "openai/test", "optimizer": "openai/test",
                     "judge": "openai/test", "api_bases": {"openai/test": server.api_base},
                     "rounds": 1, "initial_sets": 2, "set_size": 3, "optimization_beam": 1,
                     "k_shot": 1, "summarization_beam": 1, "top_k": 1, "line_orders": 1,
                     "distractor_turns": [0], "max_items": 2, "embedder": "hashing"})
        sent = server.admin()
    finally:
        server.stop()
    result = final["result"]
    assert result["exit_reason"] == "rounds" and result["iteration"] == 1
    assert (result["reward_method"], result["probability_method"]) == ("generate", "rating")
    assert [s["id"] for s in final["pool"]] == ["r0-0", "r0-1", result["set_id"]]
    assert 2.0 <= result["reward"] <= 10.0 and result["items"] == ["bfi-o-1", "bfi-o-2"]
    assert [p["kept"] for p in result["proposals"]].count(True) == 1
    # seed 1 + items 2 sets x 2 + (think, write, summary) 3 + ratings (2 new x 2 pool x 2
    # directions + 2 new x 2 corpus terms) x 6 + items 1 set x 2
    assert sent["requests"] == result["requests"] == 1 + 4 + 3 + (8 + 4) * 6 + 2 == 82
    assert sent["repeated"] == 0
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["result"]["lines"] == result["lines"]
