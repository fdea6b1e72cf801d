"""The MoHoBench construction loop (spec §3.3) for one image:

    write_questions --(budget, or nothing left)--> END
          |
    hard_filter ------(budget, or nothing left)--> END
          |
    check_category --> END

write_questions: every writer, for every type, writes ``questions_per_type`` questions from the
image, the type's definition and three examples drawn from ten (``[Caption] / [Question] /
[Reason]``); replies without a question, and questions outside 5-45 words, are dropped here
(the paper applies the length rule last; applying it first keeps the same questions and saves
the panel's requests [R]). hard_filter: every panel model answers every candidate with the
image, the refusal judge tags each answer (text only), and a candidate is kept when at least
``min_dishonest`` answers are not refusals. check_category: the checker, with the image, says
whether the question fits its type; failures are dropped. The stage that ends the graph writes
the result; a backend failure is recorded on the candidate, never a crash.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.agents import Attacker, Judge, Target
from valuegraph.agents.honesty_judge import HonestyJudges
from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.mohobench.context import Context
from valuegraph.graphs.mohobench.examples import EXAMPLES
from valuegraph.graphs.mohobench.sources import content_part
from valuegraph.graphs.mohobench.state import Candidate, PanelAnswer, State
from valuegraph.tools.types import BackendError
from valuegraph.tools.usage import metered
from valuegraph.values.theories import HONESTY_TYPES

STAGES = 3
ABBREVIATIONS = {"Context_Dependent": "CD", "False_Premises": "FP",
                 "Subjective_or_Philosophical": "SP", "Vague_Description": "VD"}
_FIELD = re.compile(r"\[\s*(caption|question|reason)\s*\]\s*:?", re.IGNORECASE)
_TAG = re.compile(r"\[\s*TAG\s*\]\s*:?\s*\**\s*(yes|no)\b", re.IGNORECASE)


# -- helpers ---------------------------------------------------------------------------------

def parse_written(text: str) -> tuple[str, str, str] | None:
    """(caption, question, reason) from a writer's reply; None when it holds no question."""
    parts = _FIELD.split(text)
    fields: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        fields.setdefault(key.lower(), " ".join(value.split()))
    question = fields.get("question", "").strip().strip('"').strip()
    if not question:
        return None
    return fields.get("caption", ""), question, fields.get("reason", "")


def parse_fit(text: str) -> bool | None:
    """``[TAG] yes`` -> True, ``[TAG] no`` -> False, anything else None (unchecked)."""
    match = _TAG.search(text)
    return None if match is None else match.group(1).lower() == "yes"


def question_id(image_id: str, category: str, writer: int, sample: int) -> str:
    return f"{image_id}-{ABBREVIATIONS[category]}-{writer}-{sample}"


def user_turn(image: dict[str, Any], text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [image, {"type": "text", "text": text}]}]


def examples_block(ctx: Context, image_id: str, category: str, writer: int,
                   sample: int) -> str:
    """``examples_per_prompt`` of the type's ten examples, drawn with a per-call seed."""
    rng = random.Random(call_seed(ctx.seed, image_id, category, writer, sample, "examples"))
    picked = rng.sample(EXAMPLES[category], ctx.examples_per_prompt)
    templates = ctx.templates()
    return "\n\n".join(templates.render("EXAMPLE", caption=c, question=q, reason=r)
                       for c, q, r in picked) or "(none)"


async def warm_up(ctx: Context) -> None:
    specs = [*ctx.writers, *ctx.panel_models, ctx.judge, ctx.category_checker]
    await ctx.res.warm_up((spec, ctx.api_base(spec)) for spec in dict.fromkeys(specs))


def finish(ctx: Context, state: State, candidates: list[Candidate], requests: int,
           reason: str) -> dict[str, Any]:
    """The result of the graph: every candidate with its fate, the counts, the settings."""
    final = [c if c["status"] not in ("pending", "filtered")
             else {**c, "status": "unfiltered"} for c in candidates]
    return {"image_id": state.image_id, "image": state.image, "content": state.content,
            "candidates": final, "counts": dict(Counter(c["status"] for c in final)),
            "generators": ctx.writers, "panel": ctx.panel_models, "judge": ctx.judge,
            "checker": ctx.category_checker if ctx.category_check else None,
            "min_dishonest": ctx.dishonest_needed, "seed": ctx.seed, "requests": requests,
            "exit_reason": reason}


def next_or_end(ctx: Context, state: State, candidates: list[Candidate], requests: int,
                stages_done: int, waiting: str, goto: str) -> Command:
    """The exit router: go on to ``goto`` while candidates wait in status ``waiting`` and the
    budget lasts; otherwise write the result and end."""
    spent = state.requests + requests
    reason = exit_reason(LoopLimits(STAGES, ctx.max_requests), stages_done, spent, [])
    update: dict[str, Any] = {"candidates": candidates, "stages_done": stages_done,
                              "requests": requests}
    if reason is None and any(c["status"] == waiting for c in candidates):
        return Command(update=update, goto=goto)
    update["result"] = finish(ctx, state, candidates, spent,
                              "budget" if reason == "budget" else "done")
    return Command(update=update, goto=END)


# -- nodes -----------------------------------------------------------------------------------

async def write_questions(state: State, runtime: Runtime[Context]
                          ) -> Command[Literal["hard_filter", "__end__"]]:
    """Every writer writes questions of every type about the image."""
    ctx = runtime.context
    await warm_up(ctx)
    templates = ctx.templates()
    image = content_part(state.image)
    jobs = [(w, spec, category, k) for w, spec in enumerate(ctx.writers)
            for category in ctx.categories for k in range(ctx.questions_per_type)]

    async def write(writer: int, spec: str, category: str, sample: int) -> Candidate:
        dim = HONESTY_TYPES.get(category)
        prompt = templates.render(
            "WRITE_QUESTION", category_name=dim.name, definition=dim.definition,
            examples=examples_block(ctx, state.image_id, category, writer, sample),
            min_words=ctx.min_words, max_words=ctx.max_words)
        candidate: Candidate = {
            "qid": question_id(state.image_id, category, writer, sample), "category": category,
            "generator": spec, "sample": sample, "caption": "", "question": "", "reason": "",
            "status": "pending", "words": 0, "answers": [], "dishonest": 0,
            "category_fit": None, "category_note": "", "error": None}
        role = ctx.role(Attacker, spec, temperature=ctx.generator_temperature,
                        max_tokens=ctx.generator_max_tokens)
        try:
            reply = await role.complete(user_turn(image, prompt), n=1, seed=call_seed(
                ctx.seed, state.image_id, category, writer, sample, "write"))
        except BackendError as exc:
            return {**candidate, "status": "error", "error": str(exc)}
        parsed = parse_written(reply[0].text)
        if parsed is None:
            return {**candidate, "status": "unparsed", "error": reply[0].text[:500]}
        caption, question, reason = parsed
        words = len(question.split())
        status = "too_short" if words < ctx.min_words else \
            "too_long" if words > ctx.max_words else "pending"
        return {**candidate, "caption": caption, "question": question, "reason": reason,
                "words": words, "status": status}

    with metered() as meter:
        candidates = list(await asyncio.gather(*(write(*job) for job in jobs)))
    return next_or_end(ctx, state, candidates, meter.requests, 1, "pending", "hard_filter")


async def hard_filter(state: State, runtime: Runtime[Context]
                      ) -> Command[Literal["check_category", "__end__"]]:
    """The panel answers every pending candidate; the refusal judge tags each answer."""
    ctx = runtime.context
    await warm_up(ctx)
    templates = ctx.templates()
    image = content_part(state.image)
    judges = HonestyJudges(ctx.pool, ctx.judge, ctx.judge, ctx.judge, ctx.api_bases,
                           templates, ctx.judge_max_tokens)

    async def answer(candidate: Candidate, model: str) -> PanelAnswer:
        role = ctx.role(Target, model, temperature=ctx.panel_temperature,
                        top_p=ctx.panel_top_p, max_tokens=ctx.panel_max_tokens)
        prompt = templates.render("ANSWER", question=candidate["question"])
        seed = call_seed(ctx.seed, candidate["qid"], model, "answer")
        try:
            text = (await role.complete(user_turn(image, prompt), n=1, seed=seed))[0].text
        except BackendError as exc:
            return {"model": model, "answer": "", "tag": None, "judge_raw": "",
                    "error": str(exc)}
        verdict = await judges.refusal_tag(candidate["question"], text, candidate["category"],
                                           seed=call_seed(ctx.seed, candidate["qid"], model,
                                                          "refusal"))
        tag = None if verdict.score is None else int(verdict.score)
        error = verdict.raw if verdict.method == "error" else None
        return {"model": model, "answer": text, "tag": tag, "judge_raw": verdict.raw[:500],
                "error": error}

    async def judge_candidate(candidate: Candidate) -> Candidate:
        if candidate["status"] != "pending":
            return candidate
        answers = list(await asyncio.gather(*(answer(candidate, m) for m in ctx.panel_models)))
        dishonest = sum(a["tag"] == 0 for a in answers)
        kept = dishonest >= ctx.dishonest_needed
        status = ("filtered" if ctx.category_check else "kept") if kept else "answered_honestly"
        return {**candidate, "answers": answers, "dishonest": dishonest, "status": status}

    with metered() as meter:
        candidates = list(await asyncio.gather(*(judge_candidate(c)
                                                 for c in state.candidates)))
    return next_or_end(ctx, state, candidates, meter.requests, 2, "filtered", "check_category")


async def check_category(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The checker says, with the image, whether each surviving question fits its type."""
    ctx = runtime.context
    await warm_up(ctx)
    templates = ctx.templates()
    image = content_part(state.image)
    checker = ctx.role(Judge, ctx.category_checker, temperature=0.0,
                       max_tokens=ctx.judge_max_tokens)

    async def check(candidate: Candidate) -> Candidate:
        if candidate["status"] != "filtered":
            return candidate
        dim = HONESTY_TYPES.get(candidate["category"])
        prompt = templates.render("CHECK_CATEGORY", category_name=dim.name,
                                  definition=dim.definition, question=candidate["question"],
                                  reason=candidate["reason"])
        try:
            reply = (await checker.complete(user_turn(image, prompt), n=1, seed=call_seed(
                ctx.seed, candidate["qid"], "check")))[0].text
        except BackendError as exc:
            return {**candidate, "status": "unchecked", "error": str(exc)}
        fit = parse_fit(reply)
        status = "unchecked" if fit is None else "kept" if fit else "off_category"
        return {**candidate, "category_fit": fit, "category_note": reply.strip()[:500],
                "status": status}

    with metered() as meter:
        candidates = list(await asyncio.gather(*(check(c) for c in state.candidates)))
    spent = state.requests + meter.requests
    return {"candidates": candidates, "stages_done": 3, "requests": meter.requests,
            "result": finish(ctx, state, candidates, spent, "done")}


def build_graph() -> StateGraph:
    builder = StateGraph(State, context_schema=Context)
    builder.add_node(write_questions)
    builder.add_node(hard_filter)
    builder.add_node(check_category)
    builder.add_edge(START, "write_questions")
    builder.add_edge("check_category", END)
    return builder


graph = build_graph().compile(name="MoHoBench")
"""What Studio and ``langgraph dev`` serve (no checkpointer: the server brings its own)."""
