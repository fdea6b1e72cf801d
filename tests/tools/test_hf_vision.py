"""``hf/<path>`` with a vision-language model: image parts reach the processor; text models
refuse them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from valuegraph.tools.images import decode_image, image_part, image_refs, user_message_with_images
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_decode_image_from_a_data_url_and_a_path(tmp_path):
    url = image_part(png((255, 0, 0)))["image_url"]["url"]
    image = decode_image(url)
    assert image.size == (40, 30) and image.getpixel((0, 0)) == (255, 0, 0)
    path = tmp_path / "g.png"
    path.write_bytes(png((0, 255, 0)))
    assert decode_image(path).getpixel((5, 5)) == (0, 255, 0)
    with pytest.raises(ValueError, match="do not fetch images over the network"):
        decode_image("https://example.org/a.png")
    with pytest.raises(ValueError, match="not a readable image"):
        decode_image("data:image/png;base64,aGVsbG8=")
    message = user_message_with_images("what?", [png((0, 0, 0)), path])
    assert [r[:22] for r in image_refs([message])] == ["data:image/png;base64,"] * 2


@pytest.mark.slow
async def test_tiny_llava_answers_a_message_with_an_image(tiny_vlm_dir, tiny_lm_dir, tmp_path):
    pool = ModelPool(tmp_path / "cache")
    spec = f"hf/{tiny_vlm_dir}"
    message = user_message_with_images("What colour is the square?", [png((255, 0, 0))])
    first = await pool.generate(spec, [message], max_tokens=4, seed=1, temperature=0.0)
    again = await pool.generate(spec, [message], max_tokens=4, seed=1, temperature=0.0)
    assert first[0].completion_tokens <= 4 and first[0].prompt_tokens > 4  # 4 image tokens
    assert again[0].cached and again[0].text == first[0].text
    text_only = await pool.generate(spec, [{"role": "user", "content": "Hi"}], max_tokens=2)
    assert text_only[0].completion_tokens <= 2
    other = user_message_with_images("What colour is the square?", [png((0, 0, 255))])
    assert (await pool.generate(spec, [other], max_tokens=4, seed=1, temperature=0.0))[0].cached \
        is False
    with pytest.raises(BackendError, match="is a text model; it cannot take images"):
        await pool.generate(f"hf/{tiny_lm_dir}", [message], max_tokens=2)
    assert pool.usage.role("default").errors == 1
    pool.close()
