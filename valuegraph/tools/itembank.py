"""The item bank: generated items (prompts, questions) in Chroma, with near-duplicate lookup.

Embedded (``PersistentClient`` in the run directory) by default; a shared Chroma server by URL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@dataclass(frozen=True)
class Neighbour:
    id: str
    text: str
    similarity: float


def _scalar_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata holds scalars only: other values are stored as JSON strings."""
    import json

    return {k: v if isinstance(v, (str, int, float, bool)) else json.dumps(v, default=str)
            for k, v in metadata.items() if v is not None}


class ItemBank:
    """A collection of items with embeddings.

    Args:
        path: Directory for an embedded store (ignored when ``url`` is given).
        url: ``http://host:port`` of a Chroma server.
        collection: Collection name (3-512 chars of ``[a-zA-Z0-9._-]``).
        embedding: A Chroma embedding function; defaults to offline MiniLM.
    """

    def __init__(self, path: str | Path | None = None, *, url: str | None = None,
                 collection: str = "items", embedding: Any = None):
        import chromadb
        from chromadb.config import Settings

        from valuegraph.tools.embeddings import MiniLMEmbedding

        settings = Settings(anonymized_telemetry=False)
        if url:
            parsed = urlparse(url)
            self.client = chromadb.HttpClient(host=parsed.hostname or "127.0.0.1",
                                              port=parsed.port or 8000,
                                              ssl=parsed.scheme == "https", settings=settings)
        elif path is not None:
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        else:
            self.client = chromadb.EphemeralClient(settings=settings)
        self.embedding = embedding or MiniLMEmbedding()
        self.collection = self.client.get_or_create_collection(
            collection, embedding_function=self.embedding,
            configuration={"hnsw": {"space": "cosine"}},
        )
        self._max_batch = self.client.get_max_batch_size()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embedding(list(texts)), dtype=np.float32)

    def count(self) -> int:
        return self.collection.count()

    def add(self, ids: Sequence[str], texts: Sequence[str],
            metadatas: Sequence[dict[str, Any]] | None = None,
            embeddings: np.ndarray | None = None) -> None:
        """Add (or overwrite) items; re-adding an id is idempotent (resumed runs)."""
        if not ids:
            return
        metas = [_scalar_metadata(m) or None for m in (metadatas or [{} for _ in ids])]
        vectors = self.embed(texts) if embeddings is None else embeddings
        for start in range(0, len(ids), self._max_batch):
            end = start + self._max_batch
            self.collection.upsert(ids=list(ids[start:end]), documents=list(texts[start:end]),
                                   metadatas=metas[start:end],
                                   embeddings=[v.tolist() for v in vectors[start:end]])

    def neighbours(self, texts: Sequence[str], k: int = 3,
                   embeddings: np.ndarray | None = None) -> list[list[Neighbour]]:
        """The ``k`` most similar stored items of each text (cosine similarity, best first)."""
        total = self.count()
        if total == 0 or not texts:
            return [[] for _ in texts]
        vectors = self.embed(texts) if embeddings is None else embeddings
        result = self.collection.query(query_embeddings=[v.tolist() for v in vectors],
                                       n_results=min(k, total),
                                       include=["documents", "distances"])
        return [
            [Neighbour(i, d or "", 1.0 - float(dist)) for i, d, dist in zip(ids, docs, dists,
                                                                           strict=True)]
            for ids, docs, dists in zip(result["ids"], result["documents"], result["distances"],
                                        strict=True)
        ]

    def near_duplicates(self, texts: Sequence[str], threshold: float,
                        embeddings: np.ndarray | None = None) -> list[Neighbour | None]:
        """For each text, its closest stored item if the similarity is >= threshold, else None."""
        found = self.neighbours(texts, k=1, embeddings=embeddings)
        return [n[0] if n and n[0].similarity >= threshold else None for n in found]

    def get(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        got = self.collection.get(ids=list(ids) if ids is not None else None,
                                  include=["documents", "metadatas"])
        return [{"id": i, "text": d, **(m or {})}
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
