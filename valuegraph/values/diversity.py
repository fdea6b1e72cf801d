"""Diversity of a question set (AdAEM Table 1): Self-BLEU, distinct-n, mean similarity, length.

Self-BLEU and mean similarity are quadratic in the set size; above ``max_samples`` questions
they are estimated on a seeded sample (hypotheses and references alike) and say so in their
result, so a 12k-question benchmark is measured in seconds, not hours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n: unique n-grams / all n-grams over the whole set (0 when there are none)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams = [tuple(toks[i:i + n]) for toks in map(tokens, texts) for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _sample(count: int, limit: int, seed: int) -> np.ndarray:
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def self_bleu(texts: Sequence[str], *, max_samples: int = 500, seed: int = 0) -> float:
    """Self-BLEU (0-100, sacrebleu sentence BLEU with exponential smoothing): each text scored
    against all the others as references, averaged. Lower means more diverse. Fewer than two
    texts: 0."""
    import sacrebleu

    picks = _sample(len(texts), max_samples, seed)
    pool = [texts[i] for i in picks]
    if len(pool) < 2:
        return 0.0
    scores = []
    for i, hypothesis in enumerate(pool):
        references = pool[:i] + pool[i + 1:]
        scores.append(sacrebleu.sentence_bleu(hypothesis, references).score)
    return float(np.mean(scores))


def mean_similarity(embeddings: np.ndarray, *, max_samples: int = 2000, seed: int = 0) -> float:
    """Mean cosine similarity over distinct pairs of (sampled) embeddings."""
    from valuegraph.tools.embeddings import cosine_matrix

    picks = _sample(len(embeddings), max_samples, seed)
    vectors = np.asarray(embeddings, dtype=np.float32)[picks]
    if len(vectors) < 2:
        return 0.0
    sims = cosine_matrix(vectors, vectors)
    upper = sims[np.triu_indices(len(vectors), k=1)]
    return float(np.mean(upper))


def mean_length(texts: Sequence[str]) -> float:
    """Average number of words."""
    return float(np.mean([len(t.split()) for t in texts])) if texts else 0.0


@dataclass(frozen=True)
class DiversityReport:
    count: int
    self_bleu: float
    distinct_2: float
    mean_similarity: float
    mean_length: float
    sampled: bool
    """True when Self-BLEU or similarity were estimated on a sample."""

    def to_json(self) -> dict[str, float | int | bool]:
        return asdict(self)


def diversity_report(texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray] | None,
                     *, max_samples: int = 500, seed: int = 0,
                     embeddings: np.ndarray | None = None) -> DiversityReport:
    """All four Table 1 figures for one question set."""
    if embeddings is None and embed is not None and texts:
        embeddings = np.asarray(embed(list(texts)), dtype=np.float32)
    similarity = mean_similarity(embeddings, max_samples=4 * max_samples, seed=seed) \
        if embeddings is not None and len(texts) else 0.0
    return DiversityReport(
        count=len(texts), self_bleu=self_bleu(texts, max_samples=max_samples, seed=seed),
        distinct_2=distinct_n(texts, 2), mean_similarity=similarity,
        mean_length=mean_length(texts), sampled=len(texts) > max_samples,
    )
