"""Integration: the real llama.cpp server serving SmolLM2, reached through litellm."""

from __future__ import annotations

import sys

import pytest

from valuegraph.testing.process import free_port, start_and_wait
from valuegraph.tools.backends.local_backend import embedded_model_path
from valuegraph.tools.pool import ModelPool


@pytest.fixture(scope="module")
def llama_server():
    port = free_port()
    try:
        proc = start_and_wait(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_model_path()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024"],
            port, name="llama_cpp.server", path="/v1/models")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("client", ["litellm", "direct"])
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
