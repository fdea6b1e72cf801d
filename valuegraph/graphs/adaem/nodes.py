"""The nodes of one AdAEM bandit step (Algorithm 1, lines 3-12; spec §3.4).

Every node records what it paid for in the run's :class:`GrowthStore` before it returns ids,
and reuses a record that is already there (a node re-run after a crash makes no second call
and writes no second line). Work inside a node runs concurrently (``asyncio.gather`` over
candidates, models, points and values); the pool's per-backend limits keep servers saturated.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from valuegraph.agents import Attacker, Judge, Optimizer
from valuegraph.agents.value_labeller import QuestionScorer, ValueLabeller
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.adaem import bandit
from valuegraph.graphs.adaem.context import AdaemContext
from valuegraph.graphs.adaem.state import AdaemState
from valuegraph.graphs.adaem.store import BANKED, REWARDED, GrowthStore, open_store
from valuegraph.tools.embeddings import cosine_matrix
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.templates import Templates
from valuegraph.tools.types import BackendError
from valuegraph.tools.usage import metered
from valuegraph.values.informativeness import (
    ScoreSettings,
    bertscore_similarity,
    embedding_similarity,
    strip_markdown,
)

_FACT = re.compile(r"^\W*(?:new\s+)?(?:contextual\s+)?fact\W*[:\-]\s*(.+)$", re.I | re.M)
_ARGUMENT = re.compile(r"^\W*argument\W*[:\-]\s*(.+)$", re.I | re.M)
_QUESTION = re.compile(r"\bquestion\W{0,3}[:\-]\s*\W{0,3}([^\n]+?\?)", re.I)
_ANY_QUESTION = re.compile(r"([A-Z][^?.!\n\"]{8,400}\?)")


# -- helpers ---------------------------------------------------------------------------------

def parse_question(text: str) -> str | None:
    """The question of a reply: after "Question:", else the last sentence ending in "?" (small
    models rarely keep the format). None when there is no question of 3-60 words."""
    clean = strip_markdown(text or "")
    found = [m.group(1) for m in _QUESTION.finditer(clean)] or \
        [m.group(1) for m in _ANY_QUESTION.finditer(clean)][-1:]
    for candidate in found:
        question = " ".join(candidate.split()).strip(" \"'")
        if 3 <= len(question.split()) <= 60:
            return question
    return None


def parse_fact(text: str) -> str:
    match = _FACT.search(strip_markdown(text or ""))
    return (match.group(1) if match else strip_markdown(text or ""))[:600].strip()


@dataclass
class Env:
    """What the nodes of one run use, rebuilt cheaply from the context on each call."""

    ctx: AdaemContext
    pool: ModelPool
    store: GrowthStore
    prompts: Templates

    @classmethod
    async def of(cls, runtime: Runtime[AdaemContext]) -> Env:
        """The run's pool, store (opened off the event loop the first time) and templates."""
        ctx = runtime.context or AdaemContext()
        store = await asyncio.to_thread(open_store, ctx)
        await ctx.res.warm_up((spec, ctx.api_base(spec)) for spec in (
            *ctx.p2, ctx.judge, ctx.optimizer, *([ctx.safety_judge] if ctx.safety_judge else [])))
        return cls(ctx, ctx.pool, store, ctx.templates())

    def sampling(self, max_tokens: int, seed: int | None) -> dict[str, Any]:
        return {"temperature": self.ctx.temperature, "top_p": self.ctx.top_p,
                "max_tokens": max_tokens, "seed": seed}

    def scorer(self) -> QuestionScorer:
        ctx = self.ctx
        labeller = ValueLabeller(self.pool, ctx.judge, ctx.value_theory, self.prompts,
                                 ctx.judge_mode, ctx.judge_method, ctx.judge_votes,
                                 ctx.api_base(ctx.judge), ctx.seed)
        return QuestionScorer(
            self.pool, labeller, self.prompts, self.similarity(),
            ScoreSettings(ctx.dis_sign, 0.5, ctx.vd_reduction, ctx.vc_form), ctx.score_method,
            ctx.opinion_points, ctx.opinion_words,
            self.sampling(ctx.opinion_max_tokens, ctx.seed), dict(ctx.api_bases))

    def similarity(self) -> Any:
        if self.ctx.similarity == "bertscore":
            return self.ctx.res.memo("bertscore", bertscore_similarity)
        return embedding_similarity(self.store.embed)


def _require(store: GrowthStore, key: str) -> dict[str, Any]:
    """A record an earlier node wrote before returning the id that names it."""
    record = store.get(key)
    if record is None:
        raise LookupError(f"record {key!r} is missing from {store.log.path}; the state refers "
                          "to it, so the results file was truncated or replaced")
    return record


def _step_id(ctx: AdaemContext, step: int, sample: int, model: int) -> str:
    return f"{ctx.run_tag}s{step:06d}-{sample}-{model}"


# -- select ----------------------------------------------------------------------------------

async def select_arm(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """UCB choice of a topic (Algorithm 1, line 3), on normalised arm values by default."""
    env = await Env.of(runtime)
    horizon = bandit.ucb_horizon(env.ctx.steps, state.steps_done)
    arm = bandit.select_arm(env.store.topic_ids, state.arms, horizon, state.scale,
                            env.ctx.reward_scale == "normalised")
    return {"arm": arm, "step": state.steps_done, "candidates": [], "refining": [],
            "finalists": [], "questions": []}


# -- explore ---------------------------------------------------------------------------------

async def explore(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """N2 times: sample a question of the topic; every P1 model writes a new specific question
    with the two-stage prompt (L5 fact, then L6 argument + question)."""
    env = await Env.of(runtime)
    ctx, store = env.ctx, env.store
    topic = store.topic(state.arm)
    exemplars = store.exemplars(topic.topic_id, ctx.n_shot)
    shown = "\n".join(f"- {q['text']} (score {q['S']:.2f})" if q["S"] is not None
                      else f"- {q['text']} (not scored yet)" for q in exemplars)
    jobs = []
    for sample in range(ctx.questions_per_step):
        rng = random.Random(f"{ctx.seed}:{state.step}:{sample}")
        general = rng.choice(store.topic_questions(topic.topic_id))
        for model, spec in enumerate(ctx.p1):
            jobs.append(_write_candidate(env, state, sample, model, spec, general, shown,
                                         [q["id"] for q in exemplars]))
    with metered() as meter:
        written = await asyncio.gather(*jobs)
    return {"candidates": [vid for vid in written if vid], "requests_made": meter.requests}


async def _write_candidate(env: Env, state: AdaemState, sample: int, model: int, spec: str,
                           general: dict[str, Any], shown: str, exemplar_ids: list[str]
                           ) -> str | None:
    ctx, store = env.ctx, env.store
    vid = _step_id(ctx, state.step, sample, model)
    if store.get(f"candidate:{vid}"):
        return vid
    if store.get(f"drop:{vid}") or store.get(f"error:explore:{vid}"):
        return None
    topic = store.topic(state.arm)
    explorer = Attacker(env.pool, spec, api_base=ctx.api_base(spec), sampling=env.sampling(
        ctx.question_max_tokens, call_seed(ctx.seed, state.step, sample, model, "explore")))
    first = env.prompts.render("EXPLORE_FACT", topic=topic.topic,
                               general_question=general["text"], exemplars=shown)
    messages: list[dict[str, str]] = [{"role": "user", "content": first}]
    try:
        fact_reply = (await explorer.complete(messages))[0].text
        messages += [{"role": "assistant", "content": fact_reply},
                     {"role": "user", "content": env.prompts.render("EXPLORE_QUESTION")}]
        question_reply = (await explorer.complete(messages))[0].text
    except BackendError as exc:
        store.append({"kind": "error", "key": f"error:explore:{vid}", "id": vid,
                      "stage": "explore", "model": spec, "error": str(exc)[:500]})
        return None
    question = parse_question(question_reply)
    if question is None:
        store.append({"kind": "drop", "key": f"drop:{vid}", "id": vid, "reason": "unparsed",
                      "stage": "explore", "raw": question_reply[:1000]})
        return None
    argument = _ARGUMENT.search(strip_markdown(question_reply))
    store.append({
        "kind": "candidate", "key": f"candidate:{vid}", "id": vid, "root": vid, "parent": None,
        "depth": 0, "step": state.step, "topic_id": topic.topic_id, "category": topic.category,
        "general_question": general["text"], "general_question_id": general["id"],
        "background": parse_fact(fact_reply),
        "argument": argument.group(1).strip() if argument else "", "question": question,
        "generator": spec, "exemplars": exemplar_ids, "sample": sample})
    return vid


# -- dedup -----------------------------------------------------------------------------------

async def dedup(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """Drop a candidate whose mean similarity to its k nearest questions (in the item bank or
    already accepted in this batch) exceeds ε (Algorithm 1, line 7), or whose nearest question
    is a near-identical repeat (``near_identical``)."""
    env = await Env.of(runtime)
    ctx, store = env.ctx, env.store
    live = [vid for vid in state.candidates if not store.get(f"drop:{vid}")]
    if not live:
        return {"candidates": []}
    texts = [_require(store, f"candidate:{vid}")["question"] for vid in live]
    vectors = await asyncio.to_thread(store.embed, texts)
    neighbours = await asyncio.to_thread(store.bank.neighbours, texts, ctx.dedup_neighbours,
                                         vectors)
    kept: list[str] = []
    kept_rows: list[int] = []
    for row, (vid, near) in enumerate(zip(live, neighbours, strict=True)):
        sims = [n.similarity for n in near]
        if kept_rows:
            sims += cosine_matrix(vectors[row:row + 1], vectors[kept_rows])[0].tolist()
        top = sorted(sims, reverse=True)[:ctx.dedup_neighbours]
        mean = sum(top) / len(top) if top else 0.0
        if mean > ctx.epsilon or (top and top[0] >= ctx.near_identical):
            store.append({"kind": "drop", "key": f"drop:{vid}", "id": vid,
                          "reason": "duplicate", "stage": "dedup", "similarity": mean,
                          "nearest": top[0], "neighbours": [n.id for n in near]})
            continue
        kept.append(vid)
        kept_rows.append(row)
    return {"candidates": kept}


# -- score -----------------------------------------------------------------------------------

async def _score(env: Env, vid: str, pool_name: str, scorer: QuestionScorer
                 ) -> dict[str, Any] | None:
    """The recorded S of one version with P1 or P2 (computed and recorded once)."""
    key = f"score:{pool_name}:{vid}"
    recorded = env.store.get(key)
    if recorded is not None:
        return recorded
    candidate = _require(env.store, f"candidate:{vid}")
    specs = env.ctx.p1 if pool_name == "p1" else env.ctx.p2
    outcome = await scorer.score(candidate["question"], specs)
    return env.store.append({
        "kind": "score", "key": key, "id": vid, "pool": pool_name, "models": specs,
        "S": outcome.parts.S, "S_parts": outcome.parts.to_json(), "answers": outcome.answers,
        "question_values": outcome.question_values, "errors": outcome.errors[:20]})


async def estimate(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """Estimate S of every surviving candidate with P1 (Algorithm 1, line 8)."""
    env = await Env.of(runtime)
    scorer = env.scorer()
    with metered() as meter:
        scores = await asyncio.gather(*(_score(env, vid, "p1", scorer)
                                        for vid in state.candidates))
    scored = []
    for vid, record in zip(state.candidates, scores, strict=True):
        if record is None or record["S"] is None:
            env.store.append({"kind": "drop", "key": f"drop:{vid}", "id": vid,
                              "reason": "unscored", "stage": "estimate"})
        else:
            scored.append(vid)
    refining = scored if env.ctx.max_depth > 0 else []
    return {"candidates": scored, "refining": refining, "requests_made": meter.requests}


# -- refine ----------------------------------------------------------------------------------

def _answers_text(score: dict[str, Any]) -> str:
    lines = []
    for answer in score.get("answers", []):
        lines.append(f"- {answer['model']} (stance: {answer.get('stance') or 'unclear'})")
        for point in answer.get("points", []):
            values = ", ".join(point.get("values", [])) or "none"
            lines.append(f"    * {point['text']} [values: {values}]")
    return "\n".join(lines) or "(no parsable answer)"


async def _refine_one(env: Env, vid: str, scorer: QuestionScorer, threshold: float
                      ) -> tuple[str, bool]:
    """Reflect (L7) and refine (L8) one version, score the result with P1, and accept it when
    it raises S by more than ``threshold`` (τ, on S's scale: :func:`bandit.refine_threshold`).
    Returns (the version to keep, whether to go on refining)."""
    ctx, store = env.ctx, env.store
    current = _require(store, f"candidate:{vid}")
    score = _require(store, f"score:p1:{vid}")
    depth = current["depth"] + 1
    new_vid = f"{current['root']}.r{depth}"
    decision = store.get(f"refine:{new_vid}")
    if decision is None and not store.get(f"candidate:{new_vid}"):
        if store.get(f"error:refine:{new_vid}") or store.get(f"drop:{new_vid}"):
            return vid, False
        optimizer = Optimizer(env.pool, ctx.optimizer, api_base=ctx.api_base(ctx.optimizer),
                              sampling=env.sampling(ctx.question_max_tokens,
                                                    call_seed(ctx.seed, new_vid, "refine")))
        try:
            suggestions = (await optimizer.ask(None, env.prompts.render(
                "REFLECT", general_question=current["general_question"],
                background=current["background"], question=current["question"],
                score=score["S"], answers=_answers_text(score))))[0].text
            refined = (await optimizer.ask(None, env.prompts.render(
                "REFINE", general_question=current["general_question"],
                background=current["background"], question=current["question"],
                suggestions=suggestions)))[0].text
        except BackendError as exc:
            store.append({"kind": "error", "key": f"error:refine:{new_vid}", "id": new_vid,
                          "stage": "refine", "error": str(exc)[:500]})
            return vid, False
        question = parse_question(refined)
        if question is None:
            store.append({"kind": "drop", "key": f"drop:{new_vid}", "id": new_vid,
                          "reason": "unparsed", "stage": "refine", "raw": refined[:1000]})
            return vid, False
        store.append({**current, "key": f"candidate:{new_vid}", "id": new_vid,
                      "parent": vid, "depth": depth, "question": question,
                      "suggestions": suggestions[:2000], "generator": ctx.optimizer})
    if decision is None:
        new_score = await _score(env, new_vid, "p1", scorer)
        gain = None if new_score is None or new_score["S"] is None else new_score["S"] - score["S"]
        decision = store.append({"kind": "refine", "key": f"refine:{new_vid}", "id": new_vid,
                                 "parent": vid, "gain": gain, "threshold": threshold,
                                 "accepted": gain is not None and gain > threshold})
    if decision["accepted"]:
        return new_vid, depth < ctx.max_depth
    return vid, False


async def refine(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """One level of the τ-gated reflect-and-refine tree for every candidate still refining."""
    env = await Env.of(runtime)
    scorer = env.scorer()
    threshold = bandit.refine_threshold(env.ctx.tau, env.ctx.tau_mode, state.scale)
    with metered() as meter:
        results = dict(zip(state.refining, await asyncio.gather(
            *(_refine_one(env, vid, scorer, threshold) for vid in state.refining)),
            strict=True))
    candidates = [results[vid][0] if vid in results else vid for vid in state.candidates]
    refining = [results[vid][0] for vid in state.refining if results[vid][1]]
    return {"candidates": candidates, "refining": refining, "requests_made": meter.requests}


# -- final score, safety, approval, record -----------------------------------------------------

def parse_guard(text: str) -> tuple[bool | None, list[str]]:
    """A Llama-Guard-style verdict: "safe", or "unsafe" and a line of categories ("S1,S10").
    (None, []) when the reply says neither."""
    lines = [line.strip() for line in strip_markdown(text or "").splitlines() if line.strip()]
    if not lines:
        return None, []
    head = lines[0].lower()
    if head.startswith("unsafe"):
        rest = " ".join([lines[0][len("unsafe"):], *lines[1:2]])
        return True, re.findall(r"\bS\d+\b", rest)
    if head.startswith("safe"):
        return False, []
    return None, []


async def _safety(env: Env, vid: str) -> dict[str, Any] | None:
    spec = env.ctx.safety_judge
    if not spec:
        return None
    key = f"safety:{vid}"
    if env.store.get(key):
        return env.store.get(key)
    question = _require(env.store, f"candidate:{vid}")["question"]
    judge = Judge(env.pool, spec, api_base=env.ctx.api_base(spec), votes=env.ctx.judge_votes,
                  sampling={"seed": env.ctx.seed, "max_tokens": 8})
    categories: list[str] = []
    try:
        if env.ctx.safety_mode == "llama_guard":
            # The classifier's own chat template wraps the turn in its policy prompt.
            reply = await judge.complete([{"role": "user", "content": question}], n=1,
                                         temperature=0.0, max_tokens=20)
            unsafe, categories = parse_guard(reply[0].text)
            score = None if unsafe is None else float(unsafe)
        else:
            verdict = await judge.judge([{"role": "user", "content": env.prompts.render(
                "SAFETY", question=question)}])
            score = verdict.score
        error = None
    except BackendError as exc:
        score, error = None, str(exc)[:500]
    # An unscored verdict flags the question: it stays out of releases until someone looks.
    return env.store.append({"kind": "safety", "key": key, "id": vid, "judge": spec,
                             "mode": env.ctx.safety_mode, "score": score,
                             "categories": categories,
                             "flagged": score is None or score >= 0.5, "error": error})


async def final_score(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """The final S of every candidate with P2 (Algorithm 1, line 10), and the safety check."""
    env = await Env.of(runtime)
    scorer = env.scorer()
    with metered() as meter:
        scoring = asyncio.gather(*(_score(env, vid, "p2", scorer) for vid in state.candidates))
        safety = asyncio.gather(*(_safety(env, vid) for vid in state.candidates))
        scores: list[dict[str, Any] | None] = (await asyncio.gather(scoring, safety))[0]
    finalists = []
    for vid, record in zip(state.candidates, scores, strict=True):
        if record is None or record["S"] is None:
            env.store.append({"kind": "drop", "key": f"drop:{vid}", "id": vid,
                              "reason": "unscored", "stage": "final"})
        else:
            finalists.append(vid)
    return {"finalists": finalists, "requests_made": meter.requests}


async def approve(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """Pause for a human decision on this step's questions (a LangGraph interrupt).

    The resume value is ``{"approve": [ids]}``, ``{"reject": [ids]}`` (the others approved),
    ``{id: bool, ...}``, or a bool for all of them.
    """
    env = await Env.of(runtime)
    store = env.store
    pending = [vid for vid in state.finalists if not store.get(f"approval:{vid}")]
    if pending:
        decision = interrupt({"step": state.step, "topic_id": state.arm, "questions": [
            {"id": vid, "question": _require(store, f"candidate:{vid}")["question"],
             "S": _require(store, f"score:p2:{vid}")["S"]} for vid in pending]})
        for vid in pending:
            store.append({"kind": "approval", "key": f"approval:{vid}", "id": vid,
                          "approved": approval_of(decision, vid)})
    return {}


def approval_of(decision: Any, vid: str) -> bool:
    if isinstance(decision, bool):
        return decision
    if isinstance(decision, dict):
        if "approve" in decision:
            return vid in decision["approve"]
        if "reject" in decision:
            return vid not in decision["reject"]
        return bool(decision.get(vid, False))
    raise ValueError(f"approval decision must be a bool or a mapping, got {decision!r}")


def _is_near_duplicate(env: Env, text: str, own_id: str) -> bool:
    """The dedup rule against the item bank as it is now (refined versions were never tested,
    and questions of this step were banked one by one)."""
    ctx = env.ctx
    vectors = env.store.embed([text])
    near = env.store.bank.neighbours([text], ctx.dedup_neighbours + 1, vectors)[0]
    sims = [n.similarity for n in near if n.id != own_id][:ctx.dedup_neighbours]
    return bool(sims) and (sum(sims) / len(sims) > ctx.epsilon or sims[0] >= ctx.near_identical)


async def record(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """Record each finished question (kept, flagged, rejected, or a duplicate of a banked one)
    and bank the kept and flagged ones, before the state refers to them."""
    env = await Env.of(runtime)
    store = env.store
    qids = []
    for vid in state.finalists:
        candidate = _require(store, f"candidate:{vid}")
        duplicate = store.get(f"question:{vid}") is None and await asyncio.to_thread(
            _is_near_duplicate, env, candidate["question"], vid)
        final = _require(store, f"score:p2:{vid}")
        estimate_ = store.get(f"score:p1:{vid}")
        safety = store.get(f"safety:{vid}")
        approval = store.get(f"approval:{vid}")
        status = ("duplicate" if duplicate else
                  "flagged" if safety and safety["flagged"] else
                  "rejected" if approval and not approval["approved"] else "kept")
        question = store.append({
            "kind": "question", "key": f"question:{vid}", "qid": vid,
            "topic_id": candidate["topic_id"], "topic_category": candidate["category"],
            "general_question": candidate["general_question"],
            "background": candidate["background"], "question": candidate["question"],
            "S": final["S"], "S_parts": final["S_parts"],
            "S_estimate": estimate_["S"] if estimate_ else None,
            "round_b": state.step, "generator": candidate["generator"],
            "parent_qid": candidate["parent"], "root_id": candidate["root"],
            "depth": candidate["depth"], "status": status,
            "safety_flag": bool(safety and safety["flagged"]),
            "theory": env.ctx.theory, "p1": env.ctx.p1, "p2": env.ctx.p2,
            "judge": env.ctx.judge})
        if question["status"] in BANKED:
            await asyncio.to_thread(store.bank_question, question)
        qids.append(vid)
    return {"questions": qids}


# -- update ----------------------------------------------------------------------------------

async def update_arm(state: AdaemState, runtime: Runtime[AdaemContext]) -> dict[str, Any]:
    """``C += 1; Q += (mean(Ŝ) - Q) / C`` for the step's arm (Algorithm 1, line 12). A step
    with no question has reward None (worth the run's lowest reward, see ``bandit``) unless
    ``empty_step_reward`` fixes one. The observed ranges of rewards and S are updated."""
    env = await Env.of(runtime)
    questions = [env.store.get(f"question:{qid}") for qid in state.questions]
    scores = [q["S"] for q in questions if q is not None and q["status"] in REWARDED]
    reward = bandit.step_reward(scores, env.ctx.empty_step_reward)
    stats = bandit.update_arm(state.arms.get(state.arm), reward)
    scale = bandit.update_scale(state.scale, reward, scores)
    kept = [q for q in questions if q is not None and q["status"] == "kept"]
    env.store.append({"kind": "step", "key": f"step:{state.step}", "step": state.step,
                      "arm": state.arm, "reward": reward, "questions": state.questions,
                      "count": stats["count"], "value": stats["value"],
                      "empty": stats.get("empty", 0), "scale": scale})
    return {"arms": {state.arm: stats}, "steps_done": 1, "segment_steps": state.segment_steps + 1,
            "kept_total": len(kept), "score_total": float(sum(q["S"] for q in kept)),
            "scale": scale}
