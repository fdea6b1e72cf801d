"""An eval-shaped loop on the kit: per item, one target call and one judge call.

Used by the scale tests (a run across managed server replicas, a run on Postgres) and by
``bench/defaults_latency.py``; it is not registered in ``GRAPHS``: callers run it with
:func:`~valuegraph.graphs._shared.runner.execute_run`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import Field
from pydantic.dataclasses import dataclass as context_dataclass

from valuegraph.agents import Judge, Target
from valuegraph.graphs._shared.context import CONTEXT_CONFIG, LoopContext, describe
from valuegraph.graphs._shared.records import ItemRecord, register_record_type
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings
from valuegraph.graphs._shared.seeds import call_seed

ANSWER = "Answer in one short sentence: {question}"
JUDGE = "Question: {question}\nAnswer: {answer}\nIs the answer helpful? Answer Yes or No."
VARIABLES = {"ANSWER": ("question",), "JUDGE": ("question", "answer")}


@dataclass
class State:
    question: str = ""
    """The item's question."""
    answer: str = ""
    """The target's answer."""
    result: dict[str, Any] | None = None
    """The record's fields, set by the judge."""


@context_dataclass(kw_only=True, config=CONTEXT_CONFIG)
class Context(LoopContext):
    loop_name: ClassVar[str] = "evalshape"
    prompt_module: ClassVar = sys.modules[__name__]
    target: str = describe("The model under evaluation.", "local", min_length=1)
    judge: str = describe("The judge.", "local", min_length=1)
    max_tokens: int = describe("Most tokens of an answer.", 32, ge=1)
    judge_method: str = describe("logprobs (one call reading P(Yes)) or vote (one sample).",
                                 "logprobs")


async def answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    reply = await ctx.role(Target, ctx.target, max_tokens=ctx.max_tokens, temperature=0.0).ask(
        None, ctx.templates().render("ANSWER", question=state.question),
        seed=call_seed(ctx.seed, state.question, 0, "answer"))
    return {"answer": reply[0].text.strip()}


async def judge(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    role = Judge(ctx.pool, ctx.judge, sampling={"max_tokens": 2, "temperature": 0.0},
                 api_base=ctx.api_base(ctx.judge), votes=1, method=ctx.judge_method)
    verdict = await role.judge([{"role": "user", "content": ctx.templates().render(
        "JUDGE", question=state.question, answer=state.answer)}])
    return {"result": {"question": state.question, "answer": state.answer,
                       "score": verdict.score}}


def build_graph() -> StateGraph:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node(answer)
    builder.add_node(judge)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "judge")
    builder.add_edge("judge", END)
    return builder


@register_record_type
class EvalShapeRecord(ItemRecord):
    kind: Literal["evalshape"] = "evalshape"
    question: str
    answer: str
    score: float | None


class EvalShapeSettings(ItemSettings):
    items: int = Field(10, ge=1)
    formats: list[Literal["jsonl", "parquet", "hf"]] = Field(default_factory=lambda: ["jsonl"])


class EvalShapeRunner(ItemRunner):
    name = "evalshape"
    context_cls = Context
    settings_cls = EvalShapeSettings
    role_fields = ("target", "judge")

    def build_graph(self) -> StateGraph:
        return build_graph()

    def items(self, settings: EvalShapeSettings, context: Context) -> list[Item]:
        return [Item(f"q{i:04d}", {"question": f"What is {i} plus {i}?"})
                for i in range(settings.items)]

    def record(self, env: Any, settings: EvalShapeSettings, item: Item,
               result: dict[str, Any], context: Context) -> EvalShapeRecord:
        return EvalShapeRecord(id=f"evalshape-{item.id}", item_id=item.id, status="ok",
                               **result)


RUNNER = EvalShapeRunner()
