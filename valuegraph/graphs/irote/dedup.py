"""De-duplication of the reflection corpus: a new line joins only if it is not too close to any
line already there (the code: SimCSE cosine <= 0.8; here MiniLM, offline, or a hashing embedder
that needs no model)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

HASH_DIM = 512


def hashing_vectors(texts: Sequence[str], dim: int = HASH_DIM) -> np.ndarray:
    """Unit vectors of hashed character 3-grams (lower-cased, words padded): no model, stable
    across processes."""
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        padded = f" {' '.join(text.lower().split())} "
        for i in range(len(padded) - 2):
            vectors[row, zlib.crc32(padded[i:i + 3].encode()) % dim] += 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def embed(texts: Sequence[str], embedder: str) -> np.ndarray:
    """Unit-length embeddings of ``texts`` ("minilm" or "hashing")."""
    if not texts:
        return np.zeros((0, HASH_DIM), dtype=np.float32)
    if embedder == "hashing":
        return hashing_vectors(texts)
    from valuegraph.tools.embeddings import MiniLMEmbedding

    return np.asarray(MiniLMEmbedding()(list(texts)), dtype=np.float32)


def novel_lines(corpus: Sequence[str], candidates: Sequence[str], threshold: float | None,
                embedder: str = "hashing") -> list[str]:
    """The candidates that may join the corpus, in order: not already there, and (with a
    threshold) at most ``threshold`` cosine-similar to every corpus line and every candidate
    accepted before them."""
    fresh = [c for c in dict.fromkeys(candidates) if c not in set(corpus)]
    if threshold is None or not fresh:
        return fresh
    vectors = embed([*corpus, *fresh], embedder)
    kept_rows = list(range(len(corpus)))
    accepted = []
    for offset, line in enumerate(fresh):
        row = len(corpus) + offset
        if kept_rows and float(np.max(vectors[kept_rows] @ vectors[row])) > threshold:
            continue
        kept_rows.append(row)
        accepted.append(line)
    return accepted
