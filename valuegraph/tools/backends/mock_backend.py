"""``mock/<name>``: scripted replies for tests and dry runs. It runs out loudly."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.types import (
    Completion,
    Message,
    NotSupportedError,
    SamplingParams,
    ScriptExhaustedError,
)

Responder = Callable[[list[Message], SamplingParams, int], str]
"""Computes a reply from (messages, sampling params, sample index)."""
Scorer = Callable[[str | list[Message], str], float]


@dataclass
class Script:
    """Replies handed out in order, or computed by ``respond``; ``loglik`` scores continuations."""

    replies: list[str] = field(default_factory=list)
    respond: Responder | None = None
    loglik: Scorer | None = None
    calls: list[list[Message]] = field(default_factory=list)
    """Every request the script answered, for assertions in tests."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_reply(self, messages: list[Message], params: SamplingParams, index: int) -> str:
        with self._lock:
            self.calls.append(messages)
            if self.respond is not None:
                return self.respond(messages, params, index)
            if not self.replies:
                raise ScriptExhaustedError(
                    f"mock script ran out of replies after {len(self.calls) - 1} calls"
                )
            return self.replies.pop(0)


_SCRIPTS: dict[str, Script] = {}


def register_mock(
    name: str,
    replies: Sequence[str] = (),
    *,
    respond: Responder | None = None,
    loglik: Scorer | None = None,
) -> Script:
    """Script the model ``mock/<name>`` (replacing any earlier script of that name)."""
    script = Script(list(replies), respond, loglik)
    _SCRIPTS[name] = script
    return script


def clear_mocks() -> None:
    _SCRIPTS.clear()


class MockBackend:
    """Answers from the script registered under its name."""

    accepts_text_prompt = True  # scripts see a raw string prompt as ``messages``

    @property
    def supports_loglik(self) -> bool:
        """Only a script with a scorer can score continuations."""
        script = _SCRIPTS.get(self.name)
        return script is not None and script.loglik is not None

    def __init__(self, name: str):
        self.name = name
        self.limiter = AdaptiveLimiter(256)

    def _script(self) -> Script:
        if self.name not in _SCRIPTS:
            raise ScriptExhaustedError(
                f"no script registered for mock/{self.name}; call "
                "valuegraph.tools.backends.mock_backend.register_mock first"
            )
        return _SCRIPTS[self.name]

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        script = self._script()
        out = []
        for i in range(n):
            text = script.next_reply(messages, params, first_index + i)
            out.append(Completion(text=text, index=first_index + i, finish_reason="stop",
                                  prompt_tokens=1, completion_tokens=len(text.split())))
        return out

    async def loglik(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        script = self._script()
        if script.loglik is None:
            raise NotSupportedError(f"mock/{self.name} has no loglik scorer scripted")
        return [script.loglik(prompt, c) for c in continuations]
