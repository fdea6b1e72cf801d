"""Asking the target an item and the judge for p(A | B): shared by the loop and ``bench traits``.

The numbers go through :mod:`valuegraph.values.irote_objective`; this module only builds the
messages, sends the requests and parses the replies.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from valuegraph.agents import Role
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.irote.prompts import RATE_VARIANTS
from valuegraph.tools.templates import Templates
from valuegraph.values import irote_objective as objective
from valuegraph.values.trait_items import TraitItem

_NUMBERED = re.compile(r"^\s*\d+\.\s(.+)$", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:\[?policy\]?|insights?|reflections?)(?:\*\*)?\s*:?\s*$",
                    re.IGNORECASE)


def parse_lines(text: str) -> list[str]:
    """The reflection lines of a reply: its numbered lines (the code's ``\\d+\\.\\s(.+)``).
    A reply with none gives its non-empty lines, bullets stripped, and a reply that is one
    paragraph its sentences [R] (small models often write prose instead of a list)."""
    lines = [" ".join(m.split()) for m in _NUMBERED.findall(text)]
    if not lines:
        lines = [" ".join(_BULLET.sub("", raw).split()) for raw in text.splitlines()
                 if raw.strip() and not _LABEL.match(raw)]
        if len(lines) == 1:
            lines = _SENTENCE_END.split(lines[0])
    return list(dict.fromkeys(line.strip() for line in lines if line.strip()))


def render_lines(lines: Sequence[str]) -> str:
    """``1. first\\n2. second``: how a set is shown to every model."""
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))


def resolve_method(role: Role, method: str, scoring: str) -> str:
    """``auto`` -> ``loglik`` when the role's backend scores continuations, else ``scoring``."""
    if method != "auto":
        return method
    return "loglik" if role.supports_loglik() else scoring


# -- the target answers an item ---------------------------------------------------------------

@dataclass(frozen=True)
class ItemAnswer:
    """One item answered under one preamble.

    Attributes:
        score: The rescaled rating (0-10), expected under log-likelihoods or of the parsed
            answer; None when the answer could not be scored.
        bound: The item's evocativeness term Σ p(r|x) log q(v|r,x) (None when unscored).
        raw: The generated answer, or the options' log-likelihoods.
    """

    score: float | None
    bound: float | None
    raw: str


def item_messages(templates: Templates, preamble: str, item: TraitItem,
                  distractors: Sequence[tuple[str, str]], turns: int) -> list[dict[str, str]]:
    """The target's chat: the preamble (reflection block, persona, or nothing) opens the first
    user turn, then ``turns`` distractor exchanges, then the item [R: the code's handlers put
    their chat history in context; the reflection comes first here, so the distractors sit
    between it and the item]."""
    question = templates.render("ITEM_PROMPT", statement=item.text, points=item.points)
    turns_used = list(distractors[:turns])
    texts = [q for q, _ in turns_used] + [question]
    messages: list[dict[str, str]] = []
    for n, text in enumerate(texts):
        content = f"{preamble}\n\n{text}" if n == 0 and preamble else text
        messages.append({"role": "user", "content": content})
        if n < len(turns_used):
            messages.append({"role": "assistant", "content": turns_used[n][1]})
    return messages


async def answer_item(target: Role, messages: list[dict[str, str]], item: TraitItem,
                      method: str, *, seed: int, temperature: float = 0.01,
                      max_tokens: int = 8) -> ItemAnswer:
    """Score one item: the expected rating under the options' log-likelihoods (``loglik``), or
    the first integer of a near-greedy answer (``generate``)."""
    if method == "loglik":
        options = [str(r) for r in range(1, item.points + 1)]
        logliks = await target.loglik(messages, options)
        distribution = objective.rating_distribution(logliks)
        return ItemAnswer(objective.expected_score(distribution, item.reverse),
                          objective.evocativeness_bound(distribution, item.reverse),
                          " ".join(f"{v:.3f}" for v in logliks))
    reply = (await target.complete(messages, n=1, temperature=temperature,
                                   max_tokens=max_tokens, seed=seed))[0].text
    rating = objective.parse_rating(reply, item.points)
    if rating is None:
        return ItemAnswer(None, None, reply)
    score = objective.rescale_rating(rating, item.points, item.reverse)
    return ItemAnswer(score, objective.evocativeness_bound(
        [1.0 if r == rating else 0.0 for r in range(1, item.points + 1)], item.reverse), reply)


# -- the judge's p(A | B) ---------------------------------------------------------------------

class ProbabilityEstimator:
    """p(target text | condition text) from the judge, by log-likelihood or by ratings.

    Log-likelihood requests are grouped by condition: one request scores every target text
    after one condition (``by_condition``). Ratings take six requests per pair (three variants,
    texts in both orders) at the judge's temperature; their seeds depend only on the variant,
    and the run's ``key`` (the trait), so a pair asked again in a later round is answered by the
    completion cache, while two traits running at once never send the same request.
    """

    def __init__(self, judge: Role, templates: Templates, method: str, *, seed: int,
                 key: str = "", temperature: float = 0.001, max_tokens: int = 8):
        self.judge = judge
        self.key = key
        self.templates = templates
        self.method = method
        self.seed = seed
        self.temperature = temperature
        self.max_tokens = max_tokens

    async def by_condition(self, condition: str, targets: Sequence[str]) -> list[float | None]:
        """p(t | condition) for every target text t."""
        if self.method == "loglik":
            prompt = [{"role": "user", "content": self.templates.render(
                "CONDITIONAL_PROMPT", condition=condition)}]
            logliks = await self.judge.loglik(prompt, list(targets))
            return [objective.probability_from_loglik(ll, objective.word_count(t))
                    for ll, t in zip(logliks, targets, strict=True)]
        return list(await asyncio.gather(*(self.rated(t, condition) for t in targets)))

    async def rated(self, target: str, condition: str) -> float | None:
        """p(target | condition) from six 0-10 ratings (None when none parsed)."""
        calls: list[Any] = []
        for variant in RATE_VARIANTS:
            for layout in ("RATE_TEXTS", "RATE_TEXTS_SWAPPED"):
                texts = self.templates.render(layout, target=target, condition=condition)
                content = self.templates.render(variant, texts=texts)
                calls.append(self.judge.complete(
                    [{"role": "user", "content": content}], n=1, temperature=self.temperature,
                    max_tokens=self.max_tokens, seed=call_seed(self.seed, self.key, "rate",
                                                               variant, layout)))
        replies = await asyncio.gather(*calls)
        return objective.probability_from_ratings(
            [objective.parse_judge_rating(r[0].text) for r in replies])
