"""A langchain-core chat model over the pool, so roles compose with LangChain and LangSmith."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict


class PoolChatModel(BaseChatModel):
    """Any pool spec as a LangChain chat model; calls go through the pool's cache and retries."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pool: Any
    spec: str
    role: str = "default"
    params: dict[str, Any] = {}

    @property
    def _llm_type(self) -> str:
        return "valuegraph-pool"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"spec": self.spec, "role": self.role, **self.params}

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        params = {**self.params, **kwargs}
        if stop:
            params["stop"] = stop
        completions = await self.pool.generate(self.spec, messages, role=self.role, **params)
        return ChatResult(generations=[
            ChatGeneration(
                message=AIMessage(content=c.text),
                generation_info={"finish_reason": c.finish_reason, "cached": c.cached},
            )
            for c in completions
        ])

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        return asyncio.run(self._agenerate(messages, stop, None, **kwargs))
