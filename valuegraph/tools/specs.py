"""Model specs (``provider/model``) and the registry of backends they resolve to."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

# Providers served in-process by valuegraph itself; everything else goes through litellm.
# ``classifier/<dir>`` names a trained-classifier judge (agents/classifier_judge.py), not a
# generator: the pool refuses it.
NATIVE_PROVIDERS = ("local", "hf", "mock", "vllm", "classifier")
# litellm providers that talk to a self-hosted OpenAI-compatible server: no key needed, high
# concurrency is fine.
SELF_HOSTED_PROVIDERS = ("hosted_vllm", "openai", "llamafile", "lm_studio", "ollama", "ollama_chat")
# litellm providers known without importing litellm (about 6 s): parsing the spec of a run on a
# self-hosted server, or on a common API, must not pay that. Every name here is in litellm's
# provider list (a test checks); any other name is looked up in litellm itself.
COMMON_LITELLM_PROVIDERS = frozenset((
    *SELF_HOSTED_PROVIDERS, "anthropic", "azure", "azure_ai", "bedrock", "cohere", "deepinfra",
    "deepseek", "fireworks_ai", "gemini", "groq", "huggingface", "mistral", "openrouter",
    "perplexity", "together_ai", "vertex_ai", "xai"))


class SpecError(ValueError):
    """A model spec that cannot be resolved; the message says what is allowed."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed ``provider/model`` string plus an optional server address."""

    provider: str
    model: str
    api_base: str | None = None

    @property
    def text(self) -> str:
        return f"{self.provider}/{self.model}" if self.model else self.provider

    @property
    def api_bases(self) -> list[str]:
        """Every server address: ``api_base`` may list replicas, separated by commas."""
        return split_bases(self.api_base)

    @property
    def cache_base(self) -> str | None:
        """The address that keys the completion cache: the first of the list, so that adding
        or losing a replica does not change the keys of a resumed run."""
        bases = self.api_bases
        return bases[0] if bases else None

    @property
    def self_hosted(self) -> bool:
        return self.api_base is not None and self.provider in SELF_HOSTED_PROVIDERS

    def __str__(self) -> str:
        return self.text + (f"@{self.api_base}" if self.api_base else "")


def split_bases(api_base: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``"http://a/v1, http://b/v1"`` (or a list) -> ``["http://a/v1", "http://b/v1"]``."""
    if api_base is None:
        return []
    parts = api_base.split(",") if isinstance(api_base, str) else list(api_base)
    return [p.strip() for p in parts if p and p.strip()]


def join_bases(api_base: str | list[str] | tuple[str, ...] | None) -> str | None:
    """The one-string form of a server list (what specs, contexts and run configs carry)."""
    bases = split_bases(api_base)
    return ",".join(bases) if bases else None


@functools.lru_cache(maxsize=1024)
def parse_spec(spec: str, api_base: str | None = None) -> ModelSpec:
    """Parse ``provider/model``; ``local`` alone names the embedded default model.

    Raises:
        SpecError: empty spec, a provider without a model, or an unknown provider.
    """
    spec = spec.strip()
    if not spec:
        raise SpecError("empty model spec; expected provider/model, e.g. local, "
                        "hf/<path>, openai/gpt-4o-mini, hosted_vllm/<name> with api_base")
    if spec == "local":
        return ModelSpec("local", "", api_base)
    provider, sep, model = spec.partition("/")
    if not sep or not model:
        raise SpecError(f"model spec {spec!r} has no model part; expected provider/model "
                        "(or 'local' for the embedded default)")
    if (provider not in NATIVE_PROVIDERS and provider not in COMMON_LITELLM_PROVIDERS
            and provider not in known_litellm_providers()):
        raise SpecError(f"unknown provider {provider!r} in {spec!r}; allowed: "
                        f"{', '.join(NATIVE_PROVIDERS)} or a litellm provider "
                        "(openai, anthropic, hosted_vllm, ...)")
    return ModelSpec(provider, model, api_base)


@functools.cache
def known_litellm_providers() -> frozenset[str]:
    """litellm's provider names (imports litellm, which takes seconds: called lazily, once)."""
    import litellm

    return frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)


def missing_api_keys(spec: ModelSpec) -> list[str]:
    """Environment variables the provider needs that are unset (empty for keyless backends)."""
    if spec.provider in NATIVE_PROVIDERS or spec.api_base is not None:
        return []
    import litellm

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    report = litellm.validate_environment(model=spec.text)
    return list(report.get("missing_keys") or [])
