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
