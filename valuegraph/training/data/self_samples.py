"""Building D²O records ``{prompt, rejected, self_samples[K]}`` with self-samples from the pool.

Self-samples come from the model being aligned (``y_i ~ π_sft``) through any object with the
model pool's ``generate`` coroutine: ``hf/<path>`` in-process, ``hosted_vllm/<name>`` with an
``api_base`` on GPU clusters. The output file is appended one prompt at a time and fsynced, so a
killed run resumes where it stopped; the pool's completion cache (``ModelPool(cache_dir=...)``)
additionally answers any request already made.

Sampling is what :class:`SelfSampling` states and nothing else: top_k (0: off), min_p (0) and
the repetition penalty (1) are sent with temperature and top_p, so neither transformers'
``top_k=50`` nor a checkpoint's ``generation_config.json`` (which vLLM servers also apply to
every setting a request leaves out) changes the distribution. Each prompt draws from its own
seed (derived from the run's seed and the prompt), not the same K seeds for every prompt.
A sample cut at ``max_tokens`` (``finish_reason == "length"``) is flagged
(``self_samples_truncated``; training then appends no end of turn to it) or replaced by a
fresh draw (``truncated="drop"``).
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

from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.training.data.d2o_records import d2o_record
from valuegraph.training.data.negatives import Negative

RESAMPLE_ROUNDS = 3
"""With ``truncated="drop"``: draws of replacements for cut samples before a prompt is left
out."""

logger = logging.getLogger(__name__)


class CompletionLike(Protocol):
    """What the builder reads from a completion."""

    text: str
    finish_reason: str | None


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
        top_k: int | None = None,
        min_p: float | None = None,
        repetition_penalty: float | None = None,
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
    top_k: int = 0
    """0: off (every token can be drawn), sent explicitly so no default applies."""
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    max_tokens: int = 256
    seed: int | None = 0
    """Run seed; each prompt's requests use a seed derived from it and the prompt, so a rerun
    with a cache reproduces the same samples. None: unseeded."""
    system_prompt: str | None = None
    """Optional instruction prepended while sampling only (e.g. "be harmless"); not trained on."""
    prompt_template: str | None = None
    """A text template with ``{prompt}`` for models without a chat template (e.g. Alpaca's):
    the formatted text is the raw prompt, for sampling and, in text records, for training."""
    truncated: str = "flag"
    """A sample cut at ``max_tokens``: "flag" (kept, marked, trained without an end of turn)
    or "drop" (replaced by fresh draws; a prompt without K whole samples is left out)."""
    concurrency: int = 8
    """Prompts in flight at once."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``generate`` (e.g. ``api_base`` of a vLLM server)."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.truncated not in ("flag", "drop"):
            raise ValueError(f"truncated must be 'flag' or 'drop', got {self.truncated!r}")
        if self.prompt_template is not None and "{prompt}" not in self.prompt_template:
            raise ValueError("prompt_template must contain the placeholder {prompt}")
        if self.prompt_template is not None and self.system_prompt:
            raise ValueError("system_prompt needs chat messages; with prompt_template put the "
                             "instruction into the template")

    def prompt_seed(self, prompt: str, attempt: int = 0) -> int | None:
        """The seed of a prompt's requests (``attempt`` > 0: replacement draws)."""
        if self.seed is None:
            return None
        return call_seed(self.seed, "self-sample", prompt, *([attempt] if attempt else []))

    def settings(self) -> dict[str, Any]:
        """What the model card records about the sampling."""
        return {"spec": self.spec, "k": self.k, "temperature": self.temperature,
                "top_p": self.top_p, "top_k": self.top_k, "min_p": self.min_p,
                "repetition_penalty": self.repetition_penalty, "max_tokens": self.max_tokens,
                "seed": self.seed, "seeds": "per prompt: sha256(seed, prompt)",
                "system_prompt": self.system_prompt, "prompt_template": self.prompt_template,
                "truncated": self.truncated}


def _record_prompt(record: dict[str, Any]) -> str:
    prompt = record["prompt"]
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def _completion_text(completion: Any) -> str:
    return completion if isinstance(completion, str) else completion[-1]["content"]


Samples = tuple[list[str], list[bool]]
"""K texts and whether each was cut at ``max_tokens``."""


def _read_done(path: Path, k: int, template: str | None) -> dict[str, Samples | None]:
    """Self-samples already in ``path`` by the negative's prompt (empty when the file does not
    exist); None for a prompt left out (no K whole samples)."""
    if not path.exists():
        return {}
    done: dict[str, Samples | None] = {}
    for line_number, record in iter_jsonl(path):
        if isinstance(record, str):
            raise FileError(path, record, line_number)
        if record.get("dropped_prompt") is not None:
            done[record["dropped_prompt"]] = None
            continue
        samples = record.get("self_samples")
        if not isinstance(samples, list) or len(samples) != k or "prompt" not in record:
            raise FileError(path, f"not a D²O record with {k} self_samples", line_number)
        prompt = record.get("source_prompt") or _record_prompt(record)
        flags = record.get("self_samples_truncated") or [False] * k
        done[prompt] = ([_completion_text(s) for s in samples], [bool(f) for f in flags])
    return done


def _messages(sampling: SelfSampling, prompt: str) -> str | list[dict[str, str]]:
    if sampling.prompt_template is not None:
        return sampling.prompt_template.format(prompt=prompt)
    messages = [{"role": "user", "content": prompt}]
    if sampling.system_prompt:
        messages.insert(0, {"role": "system", "content": sampling.system_prompt})
    return messages


def _cut(completion: Any) -> bool:
    return getattr(completion, "finish_reason", None) == "length"


async def build_d2o_records(
    negatives: Sequence[Negative],
    generator: SampleGenerator,
    sampling: SelfSampling,
    out_path: Path | str,
) -> list[dict[str, Any]]:
    """Draws K self-samples per distinct prompt and writes one D²O record per negative.

    Prompts already present in ``out_path`` are not sampled again. When every prompt is done, the
    file is rewritten in the order of ``negatives`` (prompts left out by ``truncated="drop"``
    stay as one ``dropped_prompt`` line each, so a resumed run does not try them again).

    Args:
        negatives: ``(prompt, rejected)`` pairs; several may share a prompt.
        generator: A ``ModelPool`` or anything with its ``generate`` coroutine.
        sampling: The sampling settings, including the policy spec.
        out_path: The JSONL file to append to and finally rewrite.

    Returns:
        The records, in the order of ``negatives`` (none for a prompt left out).

    Raises:
        FileError: If the existing output file is not a D²O file with the same K.
        ValueError: If the generator returns a number of completions other than asked.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    samples_by_prompt = _read_done(out_path, sampling.k, sampling.prompt_template)
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

    async def draw(prompt: str, n: int, attempt: int) -> list[Any]:
        completions = await generator.generate(
            sampling.spec,
            _messages(sampling, prompt),  # type: ignore[arg-type]
            n=n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            repetition_penalty=sampling.repetition_penalty,
            max_tokens=sampling.max_tokens,
            seed=sampling.prompt_seed(prompt, attempt),
            role="target",
            **sampling.extra,
        )
        if len(completions) != n:
            raise ValueError(
                f"{sampling.spec} returned {len(completions)} completions, expected k={n}"
            )
        return list(completions)

    async def sample(negative: Negative) -> tuple[Negative, Samples | None]:
        async with gate:
            completions = await draw(negative.prompt, sampling.k, 0)
            if sampling.truncated == "drop":
                whole = [c for c in completions if not _cut(c)]
                for attempt in range(1, RESAMPLE_ROUNDS + 1):
                    if len(whole) >= sampling.k:
                        break
                    # a seed of their own: the same seed would repeat the first draws
                    more = await draw(negative.prompt, 2 * (sampling.k - len(whole)), attempt)
                    whole += [c for c in more if not _cut(c)]
                if len(whole) < sampling.k:
                    return negative, None
                completions = whole[: sampling.k]
        return negative, ([c.text for c in completions], [_cut(c) for c in completions])

    with out_path.open("a", encoding="utf-8") as handle:
        for finished in asyncio.as_completed([sample(n) for n in todo]):
            negative, got = await finished
            samples_by_prompt[negative.prompt] = got
            line = _record(negative, got, sampling) if got else {"dropped_prompt": negative.prompt}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    kept = {p: v for p, v in samples_by_prompt.items() if v is not None}
    empty = sum(not t.strip() for texts, _ in kept.values() for t in texts)
    if empty:
        logger.warning("%d self-samples are empty; they train as EOS-only completions", empty)
    cut = sum(sum(flags) for _, flags in kept.values())
    if cut:
        logger.warning("%d self-samples were cut at max_tokens=%d; flagged, they train without "
                       "an end of turn", cut, sampling.max_tokens)
    dropped = [p for p in first_negative if samples_by_prompt.get(p, ()) is None]
    if dropped:
        logger.warning("%d prompts left out: no %d samples ending before max_tokens=%d",
                       len(dropped), sampling.k, sampling.max_tokens)
    records = [_record(n, kept[n.prompt], sampling) for n in negatives if n.prompt in kept]
    tmp_path = out_path.with_suffix(out_path.suffix + ".tmp")
    with tmp_path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        for prompt in dropped:
            handle.write(json.dumps({"dropped_prompt": prompt}, ensure_ascii=False) + "\n")
    tmp_path.replace(out_path)
    return records


def _record(negative: Negative, samples: Samples, sampling: SelfSampling) -> dict[str, Any]:
    texts, flags = samples
    return d2o_record(negative, texts, truncated=flags, template=sampling.prompt_template)


def sampling_stats(records: Sequence[dict[str, Any]], negatives: Sequence[Negative]
                   ) -> dict[str, int]:
    """Counts for the model card: samples cut at max_tokens, prompts left out."""
    prompts = {n.prompt for n in negatives}
    sampled = {r.get("source_prompt") or _record_prompt(r) for r in records}
    return {"samples_cut_at_max_tokens": sum(sum(r.get("self_samples_truncated") or [])
                                             for r in _distinct(records)),
            "prompts_left_out": len(prompts - sampled)}


def _distinct(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for record in records:
        key = json.dumps(record["prompt"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out
