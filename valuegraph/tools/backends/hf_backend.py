"""``hf/<path>``: a transformers model in-process (CPU or GPU).

Generation and teacher-forced sequence log-likelihood. The path is a local directory (no hub
downloads happen in tests or CI; ``HF_HUB_OFFLINE=1``). A vision-language model (its config has
a ``vision_config``: LLaVA, Qwen2.5-VL, ...) is loaded with its processor and takes
``image_url`` content parts (``data:`` URLs or file paths); a text model refuses them.

Sampling is exactly what the request states. ``generate`` otherwise fills every setting the
call leaves out from the checkpoint's ``generation_config.json`` (e.g. ``top_k: 20``,
``repetition_penalty: 1.05``, ``temperature: 0.6``) and then from transformers' defaults
(``top_k=50``). So the checkpoint's generation config is replaced at load by one that keeps only
its token ids (bos/eos/pad, an eos list included), and every call passes ``top_k`` (0, off,
unless the request sets it) with its temperature and top_p.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from valuegraph.tools.backends.base import missing_extra
from valuegraph.tools.backends.scoring import continuation_start
from valuegraph.tools.images import decode_image, image_refs
from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.types import BackendError, Completion, Message, SamplingParams


def _with_image_placeholders(messages: list[Message]) -> list[Message]:
    """OpenAI ``image_url`` parts as the ``{"type": "image"}`` parts chat templates expect."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [{"type": "image"} if isinstance(p, dict) and p.get("type") == "image_url"
                       else p for p in content]
        out.append({**message, "content": content})
    return out


class HFBackend:
    """One transformers model; calls are serialised (one forward pass at a time)."""

    supports_loglik = True
    accepts_text_prompt = True

    def __init__(self, path: str, *, device: str | None = None):
        self.path = path
        self.device = device
        self.limiter = AdaptiveLimiter(4)
        self._model: Any = None
        self._tokenizer: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            try:
                import torch
                from transformers import (
                    AutoConfig,
                    AutoModelForCausalLM,
                    AutoModelForImageTextToText,
                    AutoProcessor,
                    AutoTokenizer,
                )
            except ImportError as exc:
                raise missing_extra("transformers", "train") from exc
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            if hasattr(AutoConfig.from_pretrained(self.path), "vision_config"):
                self._processor = AutoProcessor.from_pretrained(self.path)
                self._tokenizer = self._processor.tokenizer
                model_class: Any = AutoModelForImageTextToText
            else:
                self._tokenizer = AutoTokenizer.from_pretrained(self.path)
                model_class = AutoModelForCausalLM
            self._model = model_class.from_pretrained(self.path).to(device).eval()
            self._model.generation_config = token_ids_only(self._model.generation_config)
            self.device = device
        return self._model, self._tokenizer

    @property
    def vision(self) -> bool:
        """Whether the loaded model takes images."""
        self._load()
        return self._processor is not None

    def _inputs(self, messages: list[Message]) -> Any:
        """The model inputs of a chat: tokens, plus pixel values when it holds images."""
        _, tok = self._load()
        if isinstance(messages, str):  # a raw text prompt is tokenized as text is (BOS
            return tok(messages, return_tensors="pt")  # included, as training does)
        refs = image_refs(messages)
        if not refs and self._processor is None:
            return tok(self.render(messages), return_tensors="pt", add_special_tokens=False)
        if refs and self._processor is None:
            raise BackendError(f"hf/{self.path} is a text model; it cannot take images",
                               retryable=False)
        try:
            images = [decode_image(ref) for ref in refs]
        except (ValueError, OSError) as exc:
            raise BackendError(f"hf/{self.path}: {exc}", retryable=False) from exc
        chat = _with_image_placeholders(messages)
        text = self._processor.apply_chat_template(chat, add_generation_prompt=True,
                                                   tokenize=False)
        return self._processor(images=images or None, text=[text], return_tensors="pt",
                               add_special_tokens=False)

    def render(self, prompt: str | list[Message]) -> str:
        if isinstance(prompt, str):
            return prompt
        _, tok = self._load()
        if tok.chat_template:
            return tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return "\n".join(str(m["content"]) for m in prompt) + "\n"

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        return await asyncio.to_thread(self._generate_sync, messages, n, params, first_index)

    def _generate_sync(self, messages: list[Message], n: int, params: SamplingParams,
                       first_index: int) -> list[Completion]:
        import torch

        with self._lock:
            model, tok = self._load()
            inputs = self._inputs(messages).to(self.device)
            prompt_len = inputs["input_ids"].shape[1]
            out = []
            for i in range(n):
                index = first_index + i
                if params.seed is not None:
                    torch.manual_seed(params.seed + index)
                kwargs = generation_kwargs(params)
                pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
                with torch.no_grad():
                    ids = model.generate(**inputs, pad_token_id=pad, **kwargs)[0, prompt_len:]
                reply = tok.decode(ids, skip_special_tokens=True)
                finish = "stop" if (len(ids) < params.max_tokens) else "length"
                out.append(Completion(text=reply, index=index, finish_reason=finish,
                                      prompt_tokens=prompt_len, completion_tokens=len(ids),
                                      spec=f"hf/{self.path}"))
            return out

    async def loglik(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        return await asyncio.to_thread(self._loglik_sync, prompt, continuations)

    def _loglik_sync(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        import torch

        with self._lock:
            model, tok = self._load()
            text = self.render(prompt)
            prompt_ids = tok(text, add_special_tokens=True)["input_ids"]
            scores = []
            for continuation in continuations:
                full = tok(text + continuation, add_special_tokens=True)["input_ids"]
                start = continuation_start(prompt_ids, full)
                ids = torch.tensor([full], device=self.device)
                with torch.no_grad():
                    logits = model(ids).logits[0, start - 1 : len(full) - 1].float()
                logp = torch.log_softmax(logits, dim=-1)
                targets = ids[0, start:]
                scores.append(float(logp.gather(1, targets[:, None]).sum()))
            return scores


GENERATION_TOKEN_IDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


def token_ids_only(config: Any) -> Any:
    """A generation config with the checkpoint's special token ids and nothing else, so none of
    its sampling settings applies to a request."""
    from transformers import GenerationConfig

    return GenerationConfig(**{name: getattr(config, name, None) for name in GENERATION_TOKEN_IDS
                               if getattr(config, name, None) is not None})


def generation_kwargs(params: SamplingParams) -> dict[str, Any]:
    """``generate`` arguments for one request: greedy at temperature 0, else sampling at the
    stated temperature and top_p with top_k off (0) unless set, and min_p / the repetition
    penalty only when set."""
    sample = params.temperature > 0
    kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens, "do_sample": sample}
    if sample:
        kwargs.update(temperature=params.temperature, top_p=params.top_p,
                      top_k=params.top_k if params.top_k is not None else 0)
        if params.min_p is not None:
            kwargs["min_p"] = params.min_p
    kwargs["repetition_penalty"] = params.repetition_penalty \
        if params.repetition_penalty is not None else 1.0
    return kwargs
