"""Where the images of a construction run come from, and how one travels to a model.

``images: synthetic`` draws ``synthetic_count`` scenes in code (:mod:`.scenes`); a directory
gives its image files (sorted by name); a ``.jsonl`` manifest gives one image per line
(``image`` or ``image_path``, relative to the manifest; optional ``id`` and ``content``).
Every image reaches a model as an OpenAI ``image_url`` content part with a ``data:`` URL, so
the request is self-contained and cacheable (``valuegraph.tools.images``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.graphs.mohobench.scenes import Scene, render_png, scene_index
from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.tools.images import image_part

TEXT_ONLY = ("local",)
"""Providers that cannot see images (the embedded SmolLM2 is a text model)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SourceError(ValueError):
    """Images that cannot be used; the message is one line."""


@dataclass(frozen=True)
class ImageSource:
    """One image of a run: its id, its reference and what it is known to show."""

    image_id: str
    image: str
    content: str = ""


def _image_id(stem: str, taken: set[str]) -> str:
    base = _UNSAFE.sub("-", stem).strip("-.")[:48] or "image"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    taken.add(found)
    return found


def synthetic_sources(count: int) -> list[ImageSource]:
    scenes = [Scene.from_index(i) for i in range(count)]
    return [ImageSource(s.image_id, s.ref, s.describe()) for s in scenes]


def directory_sources(path: Path) -> list[ImageSource]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SourceError(f"images: {path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    taken: set[str] = set()
    return [ImageSource(_image_id(p.stem, taken), str(p.resolve())) for p in files]


def manifest_sources(path: Path) -> list[ImageSource]:
    taken: set[str] = set()
    out = []
    try:
        for line, row in iter_jsonl(path, "image manifest"):
            if isinstance(row, str):
                raise SourceError(f"{path}:{line}: {row}")
            image = row.get("image") or row.get("image_path")
            if not isinstance(image, str) or not image:
                raise SourceError(f"{path}:{line}: needs 'image' (a file path)")
            file = Path(image) if Path(image).is_absolute() else path.parent / image
            if not file.is_file():
                raise SourceError(f"{path}:{line}: image file not found: {image}")
            wanted = str(row.get("id") or file.stem)
            image_id = _image_id(wanted, taken)
            if image_id != _UNSAFE.sub("-", wanted).strip("-.")[:48]:
                raise SourceError(f"{path}:{line}: id {wanted!r} repeats an earlier id or is "
                                  "not 1-48 letters, digits, '.', '_', '-'")
            out.append(ImageSource(image_id, str(file.resolve()), str(row.get("content") or "")))
    except FileError as exc:
        raise SourceError(str(exc)) from None
    if not out:
        raise SourceError(f"{path}: no images")
    return out


def load_sources(images: str, synthetic_count: int) -> list[ImageSource]:
    """The images a run's settings name.

    Raises:
        SourceError: no such directory or file, no images there, or a bad manifest line.
    """
    if images == "synthetic":
        return synthetic_sources(synthetic_count)
    path = Path(images).expanduser()
    if path.is_dir():
        return directory_sources(path)
    if path.is_file() and path.suffix == ".jsonl":
        return manifest_sources(path)
    raise SourceError(f"images: {images!r} is not 'synthetic', a directory of images or a "
                      ".jsonl manifest")


def image_bytes(ref: str) -> tuple[bytes, str]:
    """The bytes of an image reference and its file suffix (synthetic scenes are PNG).

    Raises:
        ValueError: a URL (only file paths and synthetic scenes can be stored in a release).
        OSError: an unreadable file.
    """
    index = scene_index(ref)
    if index is not None:
        return render_png(index), ".png"
    if ref.startswith(("http://", "https://", "data:")):
        raise ValueError("only file and synthetic images are copied into a release")
    path = Path(ref)
    return path.read_bytes(), path.suffix.lower() or ".png"


def image_sha256(ref: str) -> str:
    if ref.startswith("data:"):
        return hashlib.sha256(ref.encode()).hexdigest()
    if ref.startswith(("http://", "https://")):
        return hashlib.sha256(ref.encode()).hexdigest()
    return hashlib.sha256(image_bytes(ref)[0]).hexdigest()


def content_part(ref: str) -> dict[str, Any]:
    """The ``image_url`` content part of an image reference."""
    index = scene_index(ref)
    if index is not None:
        return image_part(render_png(index))
    return image_part(ref)


def vision_problem(spec: str) -> str | None:
    """Why ``spec`` cannot see images (the embedded text model, a text-only ``hf/`` model), or
    None when it may (API and server models are taken at their word)."""
    provider, _, rest = spec.partition("/")
    if provider in TEXT_ONLY:
        return (f"{spec!r} is the embedded text-only model and cannot see images; use "
                "hf/<vision model dir>, an OpenAI-compatible vision server or an API vision "
                "model")
    if provider == "hf":
        config = Path(rest) / "config.json"
        try:
            data = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else None
        except (OSError, ValueError):
            return None  # the backend's loader will say what is wrong with it
        if data is not None and "vision_config" not in data:
            return f"{spec!r} is a text model (its config has no vision_config)"
    return None
