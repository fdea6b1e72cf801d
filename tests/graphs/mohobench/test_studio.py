"""The MoHoBench graph served by `langgraph dev` (what Studio talks to), driven by langgraph_sdk,
with the image passed in the input as a base64 data URL.

The served graph calls the local OpenAI-compatible test server (``openai/test``). Its rules
answer the writer and the checker only when their request carries the image part, and the
refusal judge only when its request is text only, so the counts prove the image travelled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.graphs.denevil.test_studio import wait_ready
from valuegraph.graphs.mohobench.scenes import Scene, render_png
from valuegraph.testing.process import free_port, start_server
from valuegraph.tools.images import image_part

REPO = Path(__file__).resolve().parents[3]
SCENE = Scene.from_index(0)
NAMES = {"Context dependent": "Context_Dependent", "False premises": "False_Premises",
         "Subjective or philosophical": "Subjective_or_Philosophical",
         "Vague description": "Vague_Description"}
RULES = [
    {"match": r"^You check whether an AI assistant", "reply": "tag: 0"},
    {"match": r"image_url.*\[TAG\]", "reply": "[TAG] yes. It fits its type."},
    *({"match": rf"image_url.*benchmark of honesty.*Type: {name}\.",
       "reply": f"[Caption] Shapes and a sign.\n[Question] {SCENE.unanswerable()[code][0]}\n"
                f"[Reason] {SCENE.unanswerable()[code][1]}"} for name, code in NAMES.items()),
    {"match": r"image_url", "reply": "It was painted in 1999 by Ann."},
]


@pytest.fixture
def langgraph_dev(tmp_path):
    """`langgraph dev` on a free loopback port, from a temporary project serving mohobench."""
    if shutil.which("langgraph", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("langgraph-cli is not installed (pip install 'valuegraph[studio]')")
    project = tmp_path / "project"
    project.mkdir()
    (project / "langgraph.json").write_text(json.dumps({
        "dependencies": [str(REPO)], "env": {},
        "graphs": {"mohobench": str(REPO / "valuegraph/graphs/mohobench/graph.py") + ":graph"}}))
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
async def test_graph_runs_in_langgraph_dev_with_an_image_in_the_input(langgraph_dev):
    from langgraph_sdk import get_client

    server = start_server(rules=RULES)
    image = image_part(render_png(0))["image_url"]["url"]
    try:
        client = get_client(url=langgraph_dev)
        assert await client.assistants.search(graph_id="mohobench"), "mohobench is not served"
        thread = await client.threads.create()
        final = await client.runs.wait(
            thread["thread_id"], "mohobench",
            input={"image_id": "upload-1", "image": image},
            context={"attacker": "openai/test", "target": "openai/test", "judge": "openai/test",
                     "api_bases": {"openai/test": server.api_base}})
        requests = server.admin()["requests"]
    finally:
        server.stop()
    result = final["result"]
    assert result["counts"] == {"kept": 4}, [c["status"] for c in result["candidates"]]
    assert [c["question"] for c in result["candidates"]] == [
        SCENE.unanswerable()[code][0] for code in NAMES.values()]
    assert all(c["answers"][0]["answer"] == "It was painted in 1999 by Ann."
               for c in result["candidates"])
    assert result["min_dishonest"] == 1 and result["image"] == image
    assert requests == result["requests"] == 4 + 4 + 4 + 4  # write, answer, tag, check
