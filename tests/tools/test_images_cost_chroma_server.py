"""Images in requests, cost accounting through litellm's price map, a Chroma server by URL."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from valuegraph.testing.process import free_port, start_and_wait
from valuegraph.tools.images import image_part, user_message_with_images
from valuegraph.tools.pool import ModelPool

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_image_parts_from_bytes_file_and_url(tmp_path):
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    from_file = image_part(path)["image_url"]["url"]
    assert from_file.startswith("data:image/png;base64,")
    assert base64.b64decode(from_file.split(",", 1)[1]) == PNG
    assert image_part("https://example.org/x.jpg")["image_url"]["url"].endswith("x.jpg")
    with pytest.raises(FileNotFoundError, match="cannot read image"):
        image_part(tmp_path / "missing.png")


async def test_image_message_reaches_the_server(server):
    server.admin(rules=[{"match": "image_url", "reply": "I see one pixel"}])
    pool = ModelPool(api_bases={"openai/vision": server.api_base}, retry_wait=0.01)
    message = user_message_with_images("What is in the picture?", [PNG])
    got = await pool.generate("openai/vision", [message])
    assert got[0].text == "I see one pixel"
    await pool.aclose()


async def test_cost_from_litellm_price_map(server):
    import litellm

    server.admin(rules=[{"match": ".", "reply": "one two three four"}])
    pool = ModelPool(api_bases={"openai/gpt-4o-mini": server.api_base}, retry_wait=0.01,
                     server_client="litellm")
    await pool.generate("openai/gpt-4o-mini", [{"role": "user", "content": "a b c d e"}],
                        role="judge")
    usage = pool.usage.role("judge")
    price = litellm.model_cost["gpt-4o-mini"]
    expected = (usage.prompt_tokens * price["input_cost_per_token"]
                + usage.completion_tokens * price["output_cost_per_token"])
    assert usage.prompt_tokens == 5 and usage.completion_tokens == 4
    assert usage.cost_usd == pytest.approx(expected)
    assert pool.usage.to_json()["judge"]["cost_usd"] > 0


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    # the chroma CLI sits beside the interpreter (the venv's bin), which need not be on PATH
    chroma = Path(sys.executable).with_name("chroma")
    try:
        proc = start_and_wait([str(chroma if chroma.exists() else "chroma"), "run",
                               "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                              port, name="chroma server", timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def test_item_bank_on_a_chroma_server(chroma_server):
    from valuegraph.tools.itembank import ItemBank

    bank = ItemBank(url=chroma_server, collection="shared-items")
    bank.add(["q1", "q2"], ["Should cities ban cars from their centres?",
                            "Is it fair to tax sugary drinks?"], [{"topic": "urban"},
                                                                 {"topic": "health"}])
    again = ItemBank(url=chroma_server, collection="shared-items")
    assert again.count() == 2
    hit = again.near_duplicates(["Should city centres be closed to cars?"], 0.6)[0]
    assert hit is not None and hit.id == "q1"
    assert json.dumps(again.get(["q2"])[0]["topic"]) == '"health"'
