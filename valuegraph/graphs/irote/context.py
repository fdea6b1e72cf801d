"""Run dependencies of the IROTE loop: models per role, hyperparameters, prompt overrides.

Defaults are the authors' code and run scripts (spec §1.5): 5 iterations (the initial pool and
4 optimisation rounds), sets of 5 lines, an optimisation beam of 3 groups of 3 sets with a
two-turn chain of thought, 2 summaries, the top 3 by compactness kept, 50 words, the original
line order plus one shuffle, the min over no history and 1, 10 and 20 distractor turns, a 0.8
de-duplication threshold. Our own choices are marked [R].
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator
from pydantic.dataclasses import dataclass

from valuegraph.graphs._shared.context import CONTEXT_CONFIG, LoopContext, describe
from valuegraph.graphs.irote import prompts

SPEC = {"min_length": 1}
MAX_DISTRACTOR_TURNS = 20
"""Distractor exchanges shipped (valuegraph/data/irote_distractors.jsonl)."""


@dataclass(kw_only=True, config=CONTEXT_CONFIG)
class Context(LoopContext):
    """Everything an IROTE run needs besides its state (JSON-constructible, for Studio)."""

    loop_name: ClassVar[str] = "irote"
    prompt_module: ClassVar = prompts

    target: str = describe("Model spec of the model whose trait is elicited (answers the "
                           "items under the reflection).", "local", **SPEC)
    optimizer: str = describe(
        "Model spec that writes seed lines and proposes reflections (the code uses the target "
        "itself; weak small models write poor policies, so it may differ).", "local", **SPEC)
    judge: str = describe(
        "Probability estimator p(A | B) between reflections: its log-likelihood where the "
        "backend scores, else its 0-10 ratings (GPT-4o in the code).", "local", **SPEC)
    rounds: int = describe(
        "Optimisation rounds after the initial pool (code: max_iteration = 5, so 4).", 4, ge=0)
    initial_sets: int = describe(
        "K: reflection sets in the initial pool (paper K = 10; the code cuts 200 seed lines "
        "into sets, here the optimizer writes initial_sets x set_size lines) [R].", 10, ge=1)
    set_size: int = describe("Lines per initial reflection set (init_reflection_num).", 5, ge=1)
    words_limit: int = describe("Most words of a proposed reflection set (words_limit).", 50,
                                ge=5)
    optimization_beam: int = describe(
        "Groups of pool sets drawn per round (optimization_beam_size).", 3, ge=0)
    k_shot: int = describe(
        "Pool sets per group; each becomes one optimize prompt (num_k_shot).", 3, ge=1)
    summarization_beam: int = describe(
        "Summaries of the whole corpus per round (summarization_beam_size).", 2, ge=0)
    top_k: int = describe("New sets kept per round by compactness (top_k).", 3, ge=1)
    use_cot: bool = describe(
        "Two-turn optimise prompts: think step by step, then write the policy.", True)
    line_orders: int = describe(
        "Orders of a set's lines the reward averages over: the original plus "
        "line_orders - 1 shuffles (num_item_shuffle = 1).", 2, ge=1)
    distractor_turns: list[int] = describe(
        "Context handlers: distractor Q&A turns before the item (0 = none); the reward is the "
        "min over them (avg_mode = min).", lambda: [0, 1, 10, 20])
    max_items: int | None = describe(
        "Use only the first N trait-eliciting items (None: all of the trait's train items).",
        None, ge=1)
    reward_method: Literal["auto", "loglik", "generate"] = describe(
        "Item answers: 'loglik' = expected rating under the target's log-likelihoods of the "
        "options [R]; 'generate' = first integer of a near-greedy answer (the code); 'auto' = "
        "loglik where the target's backend scores.", "auto")
    probability_method: Literal["auto", "loglik", "rating"] = describe(
        "p(A | B): 'loglik' = per-word likelihood of A after B under the judge [R]; 'rating' = "
        "the judge's 0-10 ratings, 3 prompts x 2 orders (the code); 'auto' = loglik where the "
        "judge's backend scores.", "auto")
    compactness_pool: int | None = describe(
        "Score compactness against the N best pool sets by reward (None: every kept set, as "
        "the code; its judge calls grow with the pool) [R].", None, ge=1)
    corpus_limit: int | None = describe(
        "Most corpus lines shown to the summarizer and used as E (None: all, as the code; "
        "small context windows need a limit) [R].", None, ge=1)
    dedup_threshold: float | None = describe(
        "A new line joins the corpus only if its cosine similarity to every line there is at "
        "most this (0.8); None: no de-duplication.", 0.8, gt=0.0, le=1.0)
    embedder: Literal["minilm", "hashing"] = describe(
        "Sentence embeddings for de-duplication: MiniLM (offline; the code uses SimCSE) or "
        "character n-gram hashing (no model) [R].", "minilm")
    item_temperature: float = describe("Temperature of generated item answers (code: 0.01).",
                                       0.01, ge=0.0)
    item_max_tokens: int = describe("Length limit of a generated item answer [R].", 8, ge=1)
    optimizer_temperature: float = describe("Optimizer sampling temperature (code: 1.0).", 1.0,
                                            ge=0.0)
    optimizer_top_p: float = describe("Optimizer nucleus sampling (code: 0.95).", 0.95, gt=0.0,
                                      le=1.0)
    optimizer_max_tokens: int = describe("Length limit of an optimizer reply (code: 1024).",
                                         1024, ge=16)
    judge_temperature: float = describe("Temperature of judge ratings (code: 0.001).", 0.001,
                                        ge=0.0)
    judge_max_tokens: int = describe("Length limit of a judge rating [R].", 8, ge=1)

    @field_validator("distractor_turns")
    @classmethod
    def _turns(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("give at least one context handler (0 = no distractor turns)")
        bad = [k for k in value if not 0 <= k <= MAX_DISTRACTOR_TURNS]
        if bad:
            raise ValueError(f"distractor turns must be between 0 and {MAX_DISTRACTOR_TURNS}, "
                             f"got {bad}")
        return sorted(set(value))
