"""Rules for the local OpenAI-compatible test server that make IROTE's replies parse (used by
the IROTE tests and ``bench/irote_throughput.py``).

Item answers are digits (varied by the request), seed requests numbered lines, optimize and
summarize requests short numbered policies (several variants, so candidate sets differ),
judge ratings numbers 0-10, and the downstream judge "Yes" with logprobs (P(yes) = 0.7).
"""

from __future__ import annotations

import math
from typing import Any


def numbered(tag: str, count: int) -> str:
    """``count`` numbered reflection lines tagged ``tag``."""
    return "\n".join(f"{n}. I {tag} idea {n}, e.g.: I pick the new path {n} rather than the "
                     "old one" for n in range(1, count + 1))


RULES: list[dict[str, Any]] = [
    {"match": "How well does this statement describe you",
     "replies": ["4", "5", "3", "2", "I would say 4"], "pick": "hash"},
    {"match": "different first-person reflections",
     "replies": [numbered("seed-a", 10), numbered("seed-b", 10)], "pick": "hash"},
    {"match": "think step by step", "reply": "The policy is vague; concrete actions help."},
    {"match": "Compress them into one policy",
     "replies": [numbered(f"sum{k}", 2) for k in range(5)], "pick": "hash"},
    {"match": "Now write the improved policy|Reply with the numbered list \\(1",
     "replies": [numbered(f"opt{k}", 3) for k in range(7)], "pick": "hash"},
    {"match": "On a scale from 0 to 10", "replies": ["7", "6", "8", "5"], "pick": "hash"},
    {"match": "Answer with one word, Yes or No", "reply": "Yes",
     "logprobs": {"Yes": math.log(0.7), "No": math.log(0.3)}},
]
"""Rule order matters: the first pattern found in the last user message answers."""
