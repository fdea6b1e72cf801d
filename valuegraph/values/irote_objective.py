"""IROTE's objective (Bai et al., AAAI-26, arXiv 2508.08719; spec traits-training §1.3) as pure
functions.

The paper picks the self-reflection ``e* = argmax_e TC(e, E) + β·I_e(v; y | x)``: a compactness
term (a total-correlation surrogate over the current candidates E) and an evocativeness term (a
variational lower bound on the mutual information between the target trait v and the model's
responses y). The authors' code estimates both differently, and this module follows the code:

- **p(A | B)** between two texts. The code asks a judge LLM to rate it 0-10 (three prompt
  variants, each with the texts in both orders: six ratings, times 0.1, averaged):
  :func:`probability_from_ratings`. Where the backend can score a continuation, valuegraph uses
  the judge's log-likelihood of A after B instead, as a per-word geometric mean
  ``exp(log p(A | B) / words(A))`` (:func:`probability_from_loglik`) [R]: the summed
  log-probability of a 50-word text is about -100, and its exponential would make every
  probability the floor. Every probability is clamped to ``[1e-3, 1]`` (a 0 rating would give
  ``log 0``).
- **Compactness** of a new candidate e against the pool of kept sets e_k and the whole corpus E:
  ``term1(e) = Σ_k p(e | e_k) · log p(e_k | e)``,
  ``term2(e) = p(e | E) · [log p(E | e) − mean_{e' ≠ e} log p(E | e')]`` (contrast with the other
  new candidates, InfoNCE-like), ``score = term1 − term2`` (:func:`compactness_scores`); the
  ``top_k`` best survive (:func:`top_k`).
- **Evocativeness / reward**: a questionnaire score. Each item's rating r on a 1..``points``
  Likert scale (reversed items recoded as ``points + 1 − r``) is rescaled to
  ``r / points · 10``; the code writes this with ``scale = points + 1`` as ``scale − r`` and
  ``r / (scale − 1) · 10``. Item scores are averaged per questionnaire, questionnaires
  averaged, context handlers (no history, k distractor turns) aggregated with **min**, and
  the reflection's line orders averaged (:func:`set_reward`). With log-likelihoods the item
  score is the expectation of the rescaled rating under the model's distribution over the
  options (:func:`expected_score`) [R], the smooth version of the code's near-greedy answer at
  temperature 0.01; the paper's bound ``Σ_j p(y_j | x) · log q(v | y_j, x)`` with the
  questionnaire scoring as q is :func:`evocativeness_bound`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PROBABILITY_FLOOR = 1e-3
"""Smallest probability used (a rating of 0 would make log p = -inf)."""
RATING_MAX = 10
"""Judge ratings run from 0 to 10; p = rating / 10."""

_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def clamp_probability(p: float) -> float:
    """``p`` clamped to ``[PROBABILITY_FLOOR, 1]``."""
    return min(1.0, max(PROBABILITY_FLOOR, float(p)))


def word_count(text: str) -> int:
    """Whitespace-separated words (at least 1): the length that normalises a log-likelihood."""
    return max(1, len(text.split()))


def probability_from_loglik(loglik: float, words: int) -> float:
    """p(A | B) from the summed log-likelihood of A (``words`` words) after B: the per-word
    geometric mean ``exp(loglik / words)``, clamped [R]."""
    return clamp_probability(math.exp(loglik / max(1, words)))


def parse_judge_rating(text: str) -> float | None:
    """The first number of a judge's reply, if it is a rating in 0..10; else None (unscored)."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group(0))
    return value if 0 <= value <= RATING_MAX else None


def probability_from_ratings(ratings: Sequence[float | None]) -> float | None:
    """p(A | B) from the judge's 0-10 ratings (the code: six prompts, ×0.1, averaged), clamped;
    unparsed ratings (None) are left out; None when none parsed."""
    scored = [r for r in ratings if r is not None]
    if not scored:
        return None
    return clamp_probability(sum(r / RATING_MAX for r in scored) / len(scored))


# -- compactness ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Compactness:
    """The compactness of one new candidate (higher is better).

    Attributes:
        term1: Σ_k p(e | e_k) · log p(e_k | e) over the pool sets whose pair was scored.
        term2: p(e | E) · [log p(E | e) − mean over the other candidates of log p(E | e')];
            None when p(e | E) or p(E | e) is unscored.
        score: term1 − term2 (None when term2 is None: ranked after every scored candidate).
        unscored_pairs: Pool pairs left out of term1 because a probability was unscored.
    """

    term1: float
    term2: float | None
    score: float | None
    unscored_pairs: int


def compactness_scores(
    p_new_given_pool: Sequence[Sequence[float | None]],
    p_pool_given_new: Sequence[Sequence[float | None]],
    p_new_given_corpus: Sequence[float | None],
    p_corpus_given_new: Sequence[float | None],
) -> list[Compactness]:
    """Compactness of every new candidate e_i (the code's ``term1 − term2``).

    Args:
        p_new_given_pool: ``[i][k]`` = p(e_i | e_k) for new candidate i and pool set k.
        p_pool_given_new: ``[i][k]`` = p(e_k | e_i).
        p_new_given_corpus: ``[i]`` = p(e_i | E), E the whole corpus as one numbered list.
        p_corpus_given_new: ``[i]`` = p(E | e_i).

    With a single scored candidate there is nothing to contrast against: its contrast is 0, so
    term2 = 0 (the code divides by n − 1 there) [R].
    """
    n = len(p_new_given_corpus)
    if not (len(p_new_given_pool) == len(p_pool_given_new) == len(p_corpus_given_new) == n):
        raise ValueError("every argument needs one entry per new candidate")
    logs = [math.log(clamp_probability(p)) if p is not None else None
            for p in p_corpus_given_new]
    results = []
    for i in range(n):
        term1, unscored = 0.0, 0
        if len(p_new_given_pool[i]) != len(p_pool_given_new[i]):
            raise ValueError(f"candidate {i}: both directions need one entry per pool set")
        for forward, backward in zip(p_new_given_pool[i], p_pool_given_new[i], strict=True):
            if forward is None or backward is None:
                unscored += 1
                continue
            term1 += clamp_probability(forward) * math.log(clamp_probability(backward))
        own, p_given_corpus = logs[i], p_new_given_corpus[i]
        if own is None or p_given_corpus is None:
            results.append(Compactness(term1, None, None, unscored))
            continue
        others = [v for j, v in enumerate(logs) if j != i and v is not None]
        contrast = own - sum(others) / len(others) if others else 0.0
        term2 = clamp_probability(p_given_corpus) * contrast
        results.append(Compactness(term1, term2, term1 - term2, unscored))
    return results


def top_k(scores: Sequence[float | None], k: int) -> list[int]:
    """Indices of the ``k`` highest scores, best first; ties by index, None after all scored."""
    order = sorted(range(len(scores)), key=lambda i: (
        scores[i] is None, -(scores[i] or 0.0), i))
    return order[:k]


# -- questionnaire reward --------------------------------------------------------------------

def parse_rating(text: str, points: int) -> int | None:
    """The first integer of an answer (the code's parser) if it lies on the 1..points scale;
    None (unscored) otherwise."""
    match = _INTEGER.search(text)
    if match is None:
        return None
    value = int(match.group(0))
    return value if 1 <= value <= points else None


def rescale_rating(rating: float, points: int, reverse: bool = False) -> float:
    """A 1..points rating on the 0-10 reward scale: ``r / points · 10`` after recoding a
    reversed item as ``points + 1 − r`` (the code's ``scale − r`` and ``r / (scale − 1) · 10``
    with ``scale = points + 1``)."""
    recoded = points + 1 - rating if reverse else rating
    return recoded / points * 10


def rating_distribution(logliks: Sequence[float]) -> list[float]:
    """The model's distribution over the options 1..points from their log-likelihoods."""
    top = max(logliks)
    weights = [math.exp(v - top) for v in logliks]
    total = sum(weights)
    return [w / total for w in weights]


def expected_score(distribution: Sequence[float], reverse: bool = False) -> float:
    """E[rescaled rating] when option r = index + 1 has probability ``distribution[index]``."""
    points = len(distribution)
    return sum(p * rescale_rating(r, points, reverse)
               for r, p in enumerate(distribution, start=1))


def evocativeness_bound(distribution: Sequence[float], reverse: bool = False) -> float:
    """The paper's bound for one item, ``Σ_r p(r | x) · log q(v | r, x)``, with q the
    questionnaire scoring ``rescaled / 10`` (clamped); in nats, at most 0."""
    points = len(distribution)
    return sum(p * math.log(clamp_probability(rescale_rating(r, points, reverse) / 10))
               for r, p in enumerate(distribution, start=1))


def _mean(values: Sequence[float | None]) -> float | None:
    scored = [v for v in values if v is not None]
    return sum(scored) / len(scored) if scored else None


def handler_score(questionnaires: Mapping[str, Sequence[float | None]]) -> float | None:
    """One context handler: item scores averaged per questionnaire, questionnaires averaged
    (unscored items left out; None when nothing was scored)."""
    return _mean([_mean(items) for items in questionnaires.values()])


def order_score(handlers: Mapping[str, Mapping[str, Sequence[float | None]]]) -> float | None:
    """One line order: the **min** over context handlers (the code's ``avg_mode=min``), of those
    with a score."""
    scores = [s for s in (handler_score(q) for q in handlers.values()) if s is not None]
    return min(scores) if scores else None


def set_reward(orders: Sequence[Mapping[str, Mapping[str, Sequence[float | None]]]]
               ) -> float | None:
    """A reflection set's reward R (0-10): the mean over line orders of :func:`order_score`.

    Args:
        orders: ``[order][handler][questionnaire]`` = item scores (None: unscored).
    """
    return _mean([order_score(handlers) for handlers in orders])
