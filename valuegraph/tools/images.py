"""Images in chat messages for multimodal backends (OpenAI ``image_url`` content parts)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any


def image_part(image: str | Path | bytes, *, mime: str | None = None) -> dict[str, Any]:
    """A content part for an image given as a URL, a file path or raw bytes.

    Files and bytes become ``data:`` URIs, so the request is self-contained (and cacheable).
    """
    if isinstance(image, str) and image.startswith(("http://", "https://", "data:")):
        return {"type": "image_url", "image_url": {"url": image}}
    if isinstance(image, (str, Path)):
        path = Path(image)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read image {path}: {exc.strerror or exc}") from exc
        mime = mime or mimetypes.guess_type(path.name)[0] or "image/png"
    else:
        data = image
        mime = mime or "image/png"
    encoded = base64.b64encode(data).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{encoded}"}}


def user_message_with_images(text: str, images: list[str | Path | bytes]) -> dict[str, Any]:
    """One user message: the images first, then the text."""
    return {"role": "user", "content": [*(image_part(i) for i in images),
                                        {"type": "text", "text": text}]}


def image_refs(messages: list[dict[str, Any]]) -> list[str]:
    """The URLs (``data:``, ``http(s)``) of every ``image_url`` part, in message order."""
    refs = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            refs += [part["image_url"]["url"] for part in content
                     if isinstance(part, dict) and part.get("type") == "image_url"]
    return refs


def decode_image(ref: str | Path) -> Any:
    """A ``PIL.Image`` (RGB) from a ``data:`` URL or a file path (no network: http URLs are
    refused, in-process backends stay offline).

    Raises:
        ValueError: an http(s) URL, or bytes that are not an image.
        FileNotFoundError: a path that cannot be read.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    if isinstance(ref, str) and ref.startswith(("http://", "https://")):
        raise ValueError(f"in-process models do not fetch images over the network: {ref[:80]}")
    if isinstance(ref, str) and ref.startswith("data:"):
        try:
            data = base64.b64decode(ref.split(",", 1)[1])
        except (IndexError, ValueError) as exc:
            raise ValueError(f"malformed data URL: {ref[:40]}...") from exc
    else:
        data = Path(ref).read_bytes()
    try:
        return Image.open(io.BytesIO(data)).convert("RGB")
    except UnidentifiedImageError as exc:
        raise ValueError("the image bytes are not a readable image") from exc
