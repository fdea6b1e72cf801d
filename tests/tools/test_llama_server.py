"""Integration: the real llama.cpp server serving SmolLM2, reached through litellm."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from valuegraph.tools.backends.local_backend import embedded_model_path
from valuegraph.tools.pool import ModelPool


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited during start-up")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not answer within 120 s")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("client", ["litellm", "openai"])
async def test_litellm_through_llama_cpp_server(llama_server, tmp_path, client):
    pool = ModelPool(tmp_path / "cache", api_bases={"openai/smollm2": llama_server},
                     server_client=client)
    expected = "LiteLLMBackend" if client == "litellm" else "OpenAIServerBackend"
    assert type(pool.backend("openai/smollm2")).__name__ == expected
    msgs = [{"role": "user", "content": "What is the capital of France? One word."}]
    got = await pool.generate("openai/smollm2", msgs, temperature=0.0, max_tokens=8, seed=0)
    assert "paris" in got[0].text.lower()
    assert pool.usage.role("default").completion_tokens > 0
    again = await pool.generate("openai/smollm2", msgs, temperature=0.0, max_tokens=8, seed=0)
    assert again[0].cached and again[0].text == got[0].text
    await pool.aclose()
