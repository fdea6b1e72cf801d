"""Building D²O records ``{prompt, rejected, self_samples[K]}`` with self-samples from the pool.

Self-samples come from the model being aligned (``y_i ~ π_sft``) through any object with the
model pool's ``generate`` coroutine: ``hf/<path>`` in-process, ``hosted_vllm/<name>`` with an
``api_base`` on GPU clusters. The output file is appended one prompt at a time and fsynced, so a
killed run resumes where it stopped; the pool's completion cache (``ModelPool(cache_dir=...)``)
additionally answers any request already made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.training.data.d2o_records import d2o_record
from valuegraph.training.data.negatives import Negative

logger = logging.getLogger(__name__)


class CompletionLike(Protocol):
    """What the builder reads from a completion."""

    text: str


class SampleGenerator(Protocol):
    """The slice of ``valuegraph.tools.pool.ModelPool`` the builder needs."""

    async def generate(
        self,
        spec: str,
        messages: list[dict[str, Any]],
        *,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_tokens: int = 256,
        seed: int | None = None,
        role: str = "target",
        **backend_options: Any,
    ) -> Sequence[CompletionLike]: ...


@dataclass(frozen=True, kw_only=True)
class SelfSampling:
    """How self-samples are drawn (the paper's temperature was not recovered; spec §2.4)."""

    spec: str
    """Model pool spec of the initial (SFT) policy, e.g. ``hf/./sft`` or ``hosted_vllm/sft``."""
    k: int = 11
    """Self-samples per prompt (K; the paper uses 11)."""
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 256
    seed: int | None = 0
    """Seed sent with every request, so a rerun with a cache reproduces the same samples."""
    system_prompt: str | None = None
    """Optional instruction prepended while sampling only (e.g. "be harmless"); not trained on."""
    concurrency: int = 8
    """Prompts in flight at once."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``generate`` (e.g. ``api_base`` of a vLLM server)."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")


def _record_prompt(record: dict[str, Any]) -> str:
    prompt = record["prompt"]
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def _completion_text(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[-1]["content"]


def _read_done(path: Path, k: int) -> dict[str, list[str]]:
    """Self-samples already in ``path`` by prompt text (empty when the file does not exist)."""
    if not path.exists():
        return {}
    done = {}
    for line_number, record in iter_jsonl(path):
        if isinstance(record, str):
            raise FileError(path, record, line_number)
        samples = record.get("self_samples")
        if not isinstance(samples, list) or len(samples) != k or "prompt" not in record:
            raise FileError(path, f"not a D²O record with {k} self_samples", line_number)
        done[_record_prompt(record)] = [_completion_text(s) for s in samples]
    return done


async def build_d2o_records(
    negatives: Sequence[Negative],
    generator: SampleGenerator,
    sampling: SelfSampling,
    out_path: Path | str,
) -> list[dict[str, Any]]:
    """Draws K self-samples per distinct prompt and writes one D²O record per negative.

    Prompts already present in ``out_path`` are not sampled again. When every prompt is done, the
    file is rewritten in the order of ``negatives``.

    Args:
        negatives: ``(prompt, rejected)`` pairs; several may share a prompt.
        generator: A ``ModelPool`` or anything with its ``generate`` coroutine.
        sampling: The sampling settings, including the policy spec.
        out_path: The JSONL file to append to and finally rewrite.

    Returns:
        The records, in the order of ``negatives``.

    Raises:
        FileError: If the existing output file is not a D²O file with the same K.
        ValueError: If the generator returns a number of completions other than K.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    samples_by_prompt = _read_done(out_path, sampling.k)
    first_negative = {}
    for negative in negatives:
        first_negative.setdefault(negative.prompt, negative)
    todo = [n for p, n in first_negative.items() if p not in samples_by_prompt]
    logger.info(
        "self-sampling %d prompts (%d already in %s), K=%d",
        len(todo),
        len(first_negative) - len(todo),
        out_path,
        sampling.k,
    )
    gate = asyncio.Semaphore(sampling.concurrency)

    async def sample(negative: Negative) -> tuple[Negative, list[str]]:
        messages = [{"role": "user", "content": negative.prompt}]
        if sampling.system_prompt:
            messages.insert(0, {"role": "system", "content": sampling.system_prompt})
        async with gate:
            completions = await generator.generate(
                sampling.spec,
                messages,
                n=sampling.k,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=sampling.seed,
                role="target",
                **sampling.extra,
            )
        if len(completions) != sampling.k:
            raise ValueError(
                f"{sampling.spec} returned {len(completions)} completions, expected k={sampling.k}"
            )
        return negative, [c.text for c in completions]

    with out_path.open("a", encoding="utf-8") as handle:
        for finished in asyncio.as_completed([sample(n) for n in todo]):
            negative, texts = await finished
            samples_by_prompt[negative.prompt] = texts
            handle.write(json.dumps(d2o_record(negative, texts), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    empty = sum(not t.strip() for texts in samples_by_prompt.values() for t in texts)
    if empty:
        logger.warning("%d self-samples are empty; they train as EOS-only completions", empty)
    records = [d2o_record(n, samples_by_prompt[n.prompt]) for n in negatives]
    tmp_path = out_path.with_suffix(out_path.suffix + ".tmp")
    with tmp_path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp_path.replace(out_path)
    return records
