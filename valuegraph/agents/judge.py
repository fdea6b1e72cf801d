"""The judge role: a yes/no question about a text, answered with a probability.

P(yes) comes, in order of preference, from the reply's token logprobs (API backends that give
them), from the log-likelihood of " Yes" against " No" (in-process backends), or from a vote over
sampled replies. A reply that cannot be parsed is *unscored* (``score=None``), never 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from langchain_core.messages import BaseMessage

from valuegraph.agents.roles import Role
from valuegraph.tools.pool import to_openai_messages
from valuegraph.tools.types import Completion

_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_ANSWER = re.compile(r"answer\s*[:\-]?\s*\**\s*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """A judgement.

    Attributes:
        score: P(yes) in [0, 1], or None when unscored.
        label: "yes" / "no" (score thresholded at 0.5), or None when unscored.
        feedback: The judge's free-text reply (its reasoning, when asked for).
        parsed: Whether a score could be taken from the reply.
        raw: The raw reply text(s).
        method: "logprobs", "loglik" or "vote".
        judge: The spec that judged.
    """

    score: float | None
    label: str | None
    feedback: str
    parsed: bool
    raw: str
    method: str = ""
    judge: str = ""

    @classmethod
    def unscored(cls, raw: str, method: str, judge: str) -> Verdict:
        return cls(None, None, raw, False, raw, method, judge)


def parse_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the reply commits to neither."""
    match = _ANSWER.search(text)
    if match:
        return match.group(1).lower() == "yes"
    # The opening words decide; a reply that says both (or neither) commits to nothing.
    for window in (text.strip()[:40], text):
        found = {m.lower() for m in _YES_NO.findall(window)}
        if len(found) == 1:
            return found.pop() == "yes"
        if len(found) == 2:
            return None
    return None


def _p_yes_from_logprobs(completion: Completion) -> float | None:
    """P(yes) from the first answer token's top logprobs, renormalised over yes/no."""
    if not completion.logprobs:
        return None
    for token in completion.logprobs:
        candidates = {token.token: token.logprob, **token.top}
        yes = sum(math.exp(lp) for t, lp in candidates.items() if t.strip().lower() == "yes")
        no = sum(math.exp(lp) for t, lp in candidates.items() if t.strip().lower() == "no")
        if yes + no > 0:
            return yes / (yes + no)
        if token.token.strip():
            return None  # the first real token is neither yes nor no
    return None


class Judge(Role):
    """Asks a yes/no question and returns a :class:`Verdict`.

    Args (beyond :class:`Role`): ``votes`` — samples drawn when voting; ``method`` — "auto"
    (logprobs, then loglik, then vote), or one of "logprobs", "loglik", "vote".
    """

    role_name: ClassVar[str] = "judge"

    def __init__(self, *args: Any, votes: int = 5, method: str = "auto", **kwargs: Any):
        super().__init__(*args, **kwargs)
        if method not in ("auto", "logprobs", "loglik", "vote"):
            raise ValueError(f"judge method must be auto, logprobs, loglik or vote, got {method!r}")
        if votes < 1:
            raise ValueError(f"judge votes must be >= 1, got {votes}")
        self.votes = votes
        self.method = method

    async def judge(self, messages: Sequence[BaseMessage | dict[str, Any]]) -> Verdict:
        method = self.method
        if method in ("auto", "loglik") and self.supports_loglik() and method != "logprobs":
            return await self._by_loglik(messages)
        if method in ("auto", "logprobs"):
            reply = (await self.complete(messages, n=1, temperature=0.0, max_tokens=8,
                                         logprobs=True, top_logprobs=10))[0]
            p_yes = _p_yes_from_logprobs(reply)
            if p_yes is not None:
                return Verdict(p_yes, "yes" if p_yes >= 0.5 else "no", reply.text, True,
                               reply.text, "logprobs", self.spec)
            if method == "logprobs":
                return Verdict.unscored(reply.text, "logprobs", self.spec)
        return await self._by_vote(messages)

    async def _by_loglik(self, messages: Sequence[BaseMessage | dict[str, Any]]) -> Verdict:
        yes, no = await self.loglik(to_openai_messages(messages), ["Yes", "No"])
        p_yes = 1.0 / (1.0 + math.exp(no - yes))
        label = "yes" if p_yes >= 0.5 else "no"
        return Verdict(p_yes, label, "", True, f"loglik yes={yes:.3f} no={no:.3f}", "loglik",
                       self.spec)

    async def _by_vote(self, messages: Sequence[BaseMessage | dict[str, Any]]) -> Verdict:
        replies = await self.complete(messages, n=self.votes,
                                      **{"temperature": 1.0, **self.sampling})
        votes = [parse_yes_no(r.text) for r in replies]
        counted = [v for v in votes if v is not None]
        raw = "\n---\n".join(r.text for r in replies)
        if not counted:
            return Verdict.unscored(raw, "vote", self.spec)
        p_yes = sum(counted) / len(counted)
        return Verdict(p_yes, "yes" if p_yes >= 0.5 else "no", replies[0].text, True, raw,
                       "vote", self.spec)
