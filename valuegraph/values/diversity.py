"""Diversity of a question set (AdAEM Table 1): Self-BLEU, distinct-n, mean similarity, length.

Self-BLEU scored against *all* other texts rises with the set size (more references, more
n-gram matches), so two sets of different sizes could not be compared. Here every hypothesis
is scored against a fixed number of references (``references``, 100) drawn at random from the
other texts, and at most ``hypotheses`` (500) hypotheses are scored, a seeded sample above
that: the expected score no longer depends on the set's size (a set of at most ``references``
texts uses all the others and says so, ``references < 100`` in :class:`SelfBleu`).
Tokenizer, n-gram order and smoothing are sacrebleu's sentence-BLEU defaults and are recorded
with the score. Mean similarity is estimated on a seeded sample of pairs above
``4 · max_samples`` texts (an unbiased mean either way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")
SELF_BLEU_REFERENCES = 100
"""References per hypothesis (drawn from the other texts)."""
SELF_BLEU_HYPOTHESES = 500
"""Hypotheses scored at most (a seeded sample above that)."""
BLEU_SETTINGS = {"n": 4, "tokenizer": "13a", "smoothing": "exp", "effective_order": True}
"""sacrebleu's sentence-BLEU settings used, recorded with every score."""


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


@dataclass(frozen=True)
class SelfBleu:
    """A Self-BLEU score with what it was computed from (for manifests)."""

    score: float
    """Mean sentence BLEU (0-100) of the hypotheses against their references; lower: more
    diverse."""
    texts: int
    hypotheses: int
    """Hypotheses scored (all texts, or a seeded sample of them)."""
    references: int
    """References per hypothesis: the fixed number, or fewer when the set is smaller."""
    references_requested: int
    seed: int

    @property
    def comparable(self) -> bool:
        """True when every hypothesis had the full number of references (the score does not
        depend on the set's size)."""
        return self.references == self.references_requested

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), **BLEU_SETTINGS, "comparable": self.comparable}


def self_bleu_details(texts: Sequence[str], *, references: int = SELF_BLEU_REFERENCES,
                      hypotheses: int = SELF_BLEU_HYPOTHESES, seed: int = 0) -> SelfBleu:
    """Self-BLEU with a fixed number of references per hypothesis (see the module note).

    Each hypothesis is scored with sacrebleu's sentence BLEU (13a tokenizer, 4-grams,
    exponential smoothing, effective order) against ``references`` texts drawn without
    replacement from the *other* texts. Fewer than two texts: 0.
    """
    from sacrebleu.metrics import BLEU

    if references < 1 or hypotheses < 1:
        raise ValueError(f"references and hypotheses must be >= 1, got {references} and "
                         f"{hypotheses}")
    count = len(texts)
    per = min(references, max(0, count - 1))
    if count < 2:
        return SelfBleu(0.0, count, 0, per, references, seed)
    rng = np.random.default_rng([seed, 1])  # references; hypotheses use _sample's stream
    picks = _sample(count, hypotheses, seed)
    bleu = BLEU(tokenize=BLEU_SETTINGS["tokenizer"], smooth_method=BLEU_SETTINGS["smoothing"],
                max_ngram_order=BLEU_SETTINGS["n"], effective_order=True)
    scores = []
    for i in picks:
        if count - 1 <= references:
            others = [texts[j] for j in range(count) if j != i]
        else:
            drawn = rng.choice(count - 1, size=references, replace=False)
            others = [texts[j + (j >= i)] for j in drawn]  # skip the hypothesis itself
        scores.append(bleu.sentence_score(texts[i], others).score)
    return SelfBleu(float(np.mean(scores)), count, len(picks), per, references, seed)


def self_bleu(texts: Sequence[str], *, references: int = SELF_BLEU_REFERENCES,
              hypotheses: int = SELF_BLEU_HYPOTHESES, seed: int = 0) -> float:
    """Self-BLEU (0-100; lower is more diverse) with a fixed number of references per
    hypothesis: :func:`self_bleu_details`'s score."""
    return self_bleu_details(texts, references=references, hypotheses=hypotheses,
                             seed=seed).score


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
    """True when Self-BLEU hypotheses or similarity pairs were a sample of the set."""
    self_bleu_details: SelfBleu | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["self_bleu_details"] = self.self_bleu_details.to_json() \
            if self.self_bleu_details else None
        return data


def diversity_report(texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray] | None,
                     *, max_samples: int = SELF_BLEU_HYPOTHESES, seed: int = 0,
                     references: int = SELF_BLEU_REFERENCES,
                     embeddings: np.ndarray | None = None) -> DiversityReport:
    """All four Table 1 figures for one question set (``max_samples``: Self-BLEU hypotheses;
    similarity pairs come from at most ``4 · max_samples`` texts)."""
    if embeddings is None and embed is not None and texts:
        embeddings = np.asarray(embed(list(texts)), dtype=np.float32)
    similarity = mean_similarity(embeddings, max_samples=4 * max_samples, seed=seed) \
        if embeddings is not None and len(texts) else 0.0
    bleu = self_bleu_details(texts, references=references, hypotheses=max_samples, seed=seed)
    return DiversityReport(
        count=len(texts), self_bleu=bleu.score, distinct_2=distinct_n(texts, 2),
        mean_similarity=similarity, mean_length=mean_length(texts),
        sampled=len(texts) > max_samples, self_bleu_details=bleu,
    )
