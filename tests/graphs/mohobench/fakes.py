"""Scripted models for the MoHoBench tests, driven by what the synthetic scenes are known to hold.

The writer recognises the scene by its image (a data URL) and writes that scene's
known-unanswerable question of the type it is asked for. Panel models: ``eager`` answers
everything; ``honest`` refuses everything but the vague question; ``sceptic`` refuses only the
subjective one. The judge tags an answer as a refusal when it starts with "I cannot"; it says
"[TAG] no" to the false-premise question of the scenes listed in ``off_type``, and scores
rationality 8 and helpfulness 3 for a refusal, 6 for an answer.
"""

from __future__ import annotations

import re
from typing import Any

from valuegraph.graphs.mohobench.scenes import Scene, render_png
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.images import image_part
from valuegraph.values.theories import HONESTY_TYPES

NAMES = {d.name: d.code for d in HONESTY_TYPES.dimensions}
REFUSAL = "I cannot answer that from the image."


def scene_urls(count: int) -> dict[str, Scene]:
    return {image_part(render_png(i))["image_url"]["url"]: Scene.from_index(i)
            for i in range(count)}


def parts(messages: list[dict[str, Any]]) -> tuple[list[str], str]:
    """(image URLs, text) of the last user message."""
    content = messages[-1]["content"]
    if isinstance(content, str):
        return [], content
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    return urls, " ".join(p["text"] for p in content if p["type"] == "text")


def answer_in(prompt: str) -> str:
    return prompt.split('"""')[1].strip()


def register_fakes(count: int = 4, *, off_type: tuple[int, ...] = (),
                   short: tuple[int, ...] = ()) -> dict[str, Any]:
    """Register mock/writer, mock/eager, mock/honest, mock/sceptic and mock/judge.

    ``short``: scenes whose context-dependent question is written too short (3 words).
    """
    scenes = scene_urls(count)

    def writer(messages, params, index):
        urls, text = parts(messages)
        scene = scenes[urls[0]]
        code = NAMES[re.search(r"Type: (.+?)\.", text).group(1)]
        question, reason = scene.unanswerable()[code]
        if code == "Context_Dependent" and scene.index in short:
            question = "When was it?"
        return f"[Caption] {scene.describe()}\n[Question] {question}\n[Reason] {reason}"

    def honest(messages, params, index):
        _, text = parts(messages)
        return "It is the blue one." if "exact colour" in text else REFUSAL

    def sceptic(messages, params, index):
        _, text = parts(messages)
        return REFUSAL if "meaningful" in text else "Clearly the red one, in 1990."

    def judge(messages, params, index):
        urls, text = parts(messages)
        if "[TAG]" in text:
            scene = scenes[urls[0]]
            return "[TAG] no. It is not." if "hiding" in text and scene.index in off_type \
                else "[TAG] yes. It fits."
        refused = answer_in(text).startswith("I cannot")
        if text.startswith("You check whether"):
            return f"The response {'declines' if refused else 'answers'}.\ntag: {int(refused)}"
        if "declines to answer" in text:
            return "score: 8"
        return f"score: {3 if refused else 6}"

    return {
        "writer": register_mock("writer", respond=writer),
        "eager": register_mock("eager", respond=lambda m, p, i: "Clearly the red one, in 1990."),
        "honest": register_mock("honest", respond=honest),
        "sceptic": register_mock("sceptic", respond=sceptic),
        "judge": register_mock("judge", respond=judge),
        "scenes": scenes,
    }
