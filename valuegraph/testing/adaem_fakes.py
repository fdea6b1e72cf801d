"""Scripted stand-ins for AdAEM's models: in-process ``mock/`` responders and rules for the
local OpenAI-compatible test server (also used by ``bench/adaem_growth.py``).

Replies are deterministic functions of the prompt, varied enough that the item bank's
near-duplicate test keeps a fair share of the questions: subjects x policies x places.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from valuegraph.values.theories import SCHWARTZ

SUBJECTS = [
    "nurses", "farmers", "teenagers", "landlords", "pensioners", "migrant workers", "soldiers",
    "priests", "judges", "police officers", "teachers", "doctors", "truck drivers",
    "street vendors", "bankers", "journalists", "athletes", "scientists", "fishermen", "miners",
    "artists", "students", "refugees", "prisoners", "tourists", "parents", "village elders",
    "shop owners", "tech companies", "churches", "trade unions", "hospitals", "universities",
    "museums", "airlines", "football clubs", "zoos", "casinos", "oil companies", "charities",
]
POLICIES = [
    "be allowed to strike during a national emergency",
    "pay a special tax to fund public housing",
    "be banned from advertising to children",
    "receive state subsidies when their income collapses",
    "be required to learn the national language",
    "be exempt from military service on grounds of conscience",
    "be allowed to carry firearms at work",
    "be forced to publish their salaries",
    "be permitted to refuse service on religious grounds",
    "be held liable for the climate damage they cause",
    "be monitored by facial recognition cameras",
    "be obliged to donate part of their profits to local schools",
    "be allowed to sell alcohol after midnight",
    "be given priority access to scarce vaccines",
    "lose their licence after a single corruption conviction",
    "be allowed to hire workers without a minimum wage",
    "be subject to a curfew during elections",
    "be free to criticise the government in wartime",
    "be required to return artefacts taken in colonial times",
    "be punished for spreading rumours online",
]
PLACES = [
    "in Norway", "in rural India", "in post-war Bosnia", "in Lagos", "in the Scottish islands",
    "in Chile after the 2019 protests", "in Japan's ageing villages", "in Quebec",
    "in the Amazon basin", "in Singapore", "in Texas border towns", "in Mongolia",
    "in the occupied West Bank", "in Bavaria", "in Sicily", "in New Zealand",
    "in Bangladesh's garment districts", "in Kerala", "in Greenland", "in Ukraine's east",
]
POINTS = [
    "Fairness: everyone should carry the same burden", "Safety: the public must be protected",
    "Freedom: people should decide for themselves", "Tradition: long-held customs matter",
    "Prosperity: the economy needs room to grow", "Compassion: the vulnerable come first",
    "Order: rules keep society stable", "Nature: the environment cannot be replaced",
    "Status: leaders need authority to act", "Pleasure: life should be enjoyed",
    "Achievement: effort deserves reward", "Loyalty: we owe our community support",
]
CODES = SCHWARTZ.codes


def digest(value: Any) -> int:
    return int(hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode())
               .hexdigest(), 16)


def question(k: int) -> str:
    return (f"Should {SUBJECTS[k % len(SUBJECTS)]} {PLACES[(k // 7) % len(PLACES)]} "
            f"{POLICIES[(k // 151) % len(POLICIES)]}?")


def opinion(k: int) -> str:
    picks = [POINTS[(k // 3 ** i) % len(POINTS)] for i in range(3)]
    stance = ("yes", "no", "neutral")[k % 3]
    return "Stance: " + stance + "\n" + "\n".join(f"{i}. **{p}**." for i, p in enumerate(picks, 1))


def varied_opinion(rng: random.Random) -> str:
    """An opinion whose points are (nearly always) new text, like a real model's."""
    points = [f"{rng.choice(POINTS)}, above all for {rng.choice(SUBJECTS)} "
              f"{rng.choice(PLACES)}" for _ in range(3)]
    stance = rng.choice(("yes", "no", "neutral"))
    return "Stance: " + stance + "\n" + "\n".join(f"{i}. {p}." for i, p in enumerate(points, 1))


def joint_labels(k: int) -> str:
    return "\n".join(f"{c}: {'Yes' if (k >> (2 * i)) % 3 == 0 else 'No'}"
                     for i, c in enumerate(CODES))


# -- in-process mock/ responders ------------------------------------------------------------

def explorer(messages: list[dict[str, Any]], params: Any, index: int) -> str:
    k = digest([messages, params.seed])
    if "Fact:" in messages[-1]["content"]:
        return f"Let me think.\nFact: A {1900 + k % 120} law {PLACES[k % len(PLACES)]} matters."
    return f"Argument: This divides people.\nQuestion: {question(k)}"


def respondent(messages: list[dict[str, Any]], params: Any, index: int) -> str:
    return opinion(digest(messages))


def joint_judge(messages: list[dict[str, Any]], params: Any, index: int) -> str:
    return joint_labels(digest(messages))


def value_loglik(prompt: Any, continuation: str) -> float:
    """A per-value judge through log-likelihood: "Yes" for about a third of the texts."""
    yes = digest(prompt) % 3 == 0
    return -0.2 if (continuation == "Yes") == yes else -2.0


def optimizer(messages: list[dict[str, Any]], params: Any, index: int) -> str:
    text = messages[-1]["content"]
    if "Suggest how" in text:
        return "Name a region and a concrete trade-off between safety and freedom."
    return f"Question: {question(digest(messages) + 13)}"


def safety(messages: list[dict[str, Any]], params: Any, index: int) -> str:
    return "Yes" if digest(messages) % 5 == 0 else "No"


def safety_loglik(prompt: Any, continuation: str) -> float:
    """The safety judge through log-likelihood: about one question in five is unsafe."""
    unsafe = digest(prompt) % 5 == 0
    return -0.1 if (continuation == "Yes") == unsafe else -3.0


def register_all(prefix: str = "") -> dict[str, str]:
    """Register the scripted models; returns role -> spec."""
    from valuegraph.tools.backends.mock_backend import register_mock

    register_mock(prefix + "explorer", respond=explorer)
    register_mock(prefix + "explorer2", respond=explorer)
    register_mock(prefix + "respondent", respond=respondent)
    register_mock(prefix + "judge", respond=joint_judge, loglik=value_loglik)
    register_mock(prefix + "optimizer", respond=optimizer)
    register_mock(prefix + "safety", respond=safety, loglik=safety_loglik)
    return {name: f"mock/{prefix}{name}" for name in
            ("explorer", "explorer2", "respondent", "judge", "optimizer", "safety")}


# -- rules for the local OpenAI-compatible server ---------------------------------------------

def server_rules(questions: int = 3000, seed: int = 0, opinions: int = 128
                 ) -> list[dict[str, Any]]:
    """Rules for ``valuegraph.testing.openai_server``: one per AdAEM prompt, replies picked by
    a digest of the messages. ``opinions`` distinct opinions with (nearly) unique points."""
    rng = random.Random(seed)
    total = len(SUBJECTS) * len(PLACES) * len(POLICIES)
    combos = rng.sample(range(total), k=min(questions, total))
    asked = [f"Argument: This divides people.\nQuestion: {_combo_question(c)}" for c in combos]
    refined = [f"Question: {_combo_question(c)}" for c in reversed(combos)]
    return [
        {"match": "Is this question unsafe", "pick": "hash", "replies": ["No"] * 9 + ["Yes"]},
        {"match": "one line per\\s+value", "pick": "hash",
         "replies": [joint_labels(rng.getrandbits(24)) for _ in range(64)]},
        {"match": "reflect or promote the value", "pick": "hash", "replies": ["Yes", "No", "No"]},
        {"match": "Give your own opinion", "pick": "hash",
         "replies": [varied_opinion(rng) for _ in range(opinions)]},
        {"match": "Suggest how to make", "pick": "hash",
         "replies": ["Name a region and a concrete trade-off.", "Make the dilemma sharper."]},
        {"match": "Rewrite the question", "pick": "hash", "replies": refined},
        {"match": "starting with \"Fact:\"", "pick": "hash",
         "replies": [f"Fact: A {1900 + i} law {PLACES[i % len(PLACES)]} matters."
                     for i in range(100)]},
        {"match": "Argument: <one sentence>", "pick": "hash", "replies": asked},
    ]


def _combo_question(c: int) -> str:
    s = c % len(SUBJECTS)
    p = (c // len(SUBJECTS)) % len(PLACES)
    a = (c // (len(SUBJECTS) * len(PLACES))) % len(POLICIES)
    return f"Should {SUBJECTS[s]} {PLACES[p]} {POLICIES[a]}?"
