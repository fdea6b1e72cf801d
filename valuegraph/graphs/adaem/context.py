"""Run dependencies of the AdAEM loop: model pools, budgets, hyperparameters, prompt overrides.

Defaults follow the paper's hyperparameter table (Table 6; spec §3.4): ε = 0.85 on the top-3
mean similarity, τ = 0.5, N2 = 3, N_shot = 5, depth 3, top_p 0.95, temperature 1.0, 3 points
in ≤ 250 words, B = 1500. Choices the paper leaves open are marked [R] and stay configurable.

Scale [R]: our S (R_VC read as a [0, 1] conformity) spans a few units, the paper's 3-9.3. So by
default τ is taken relative to the spread of S observed in the run (``tau_mode="spread"``), the
UCB arm values are normalised to [0, 1] (``reward_scale="normalised"``) and an empty step is
worth the lowest observed reward (``empty_step_reward=None``). The paper-scale preset, Table 6
taken literally: ``tau_mode="absolute"``, ``reward_scale="raw"``, ``empty_step_reward=0``,
``vc_form="union_over_intersection"``, ``vd_reduction="sum"`` (see docs/adaem.md).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import field_validator
from pydantic.dataclasses import dataclass

from valuegraph.graphs._shared.context import CONTEXT_CONFIG, LoopContext, describe
from valuegraph.graphs.adaem import prompts
from valuegraph.values.theories import THEORIES

SPECS = {"min_length": 1}


@dataclass(kw_only=True, config=CONTEXT_CONFIG)
class AdaemContext(LoopContext):
    """Everything an AdAEM run needs besides its state (JSON-constructible, for Studio).

    ``max_requests`` (from the run's budget) bounds the whole growth run, carried across
    segments and processes in the state.
    """

    loop_name: ClassVar[str] = "adaem"
    prompt_module: ClassVar = prompts

    run_dir: str = describe(
        "Directory of results.jsonl, the item bank and topics.jsonl; '' = a temporary one.", "")
    item_bank_url: str | None = describe(
        "Chroma server URL for the item bank; None: embedded in run_dir.", None)
    explorers: list[str] = describe(
        "P1: cheap models that write new questions and estimate S during refinement.",
        lambda: ["local"], min_length=1)
    respondents: list[str] = describe(
        "P2 minus P1: stronger models added for the final S (P2 = P1 + these).", list)
    judge: str = describe(
        "Value judge: labels each key point (and each question) with the theory's values.",
        "local", **SPECS)
    optimizer: str = describe("Writes reflections and refinements (listings L7 / L8).", "local",
                              **SPECS)
    safety_judge: str | None = describe(
        "Model that flags unsafe questions (kept out of releases, still recorded); None: off.",
        None)
    safety_mode: Literal["judge", "llama_guard"] = describe(
        "'judge': ask the safety judge a yes/no question (SAFETY prompt); 'llama_guard': the "
        "safety judge is a Llama-Guard-style classifier served like any model (the question is "
        "its user turn; a reply starting 'unsafe' flags it, with the categories it names).",
        "judge")
    theory: Literal["schwartz", "mft"] = describe(
        "Value system: 'schwartz' (10 values) or 'mft' (5 foundations, App. J).", "schwartz")
    seeds: str | None = describe(
        "Seed topics file (JSONL or Touché23-ValueEval TSV); None: the packaged 45 topics.", None)
    seed_format: Literal["auto", "jsonl", "touche"] = describe(
        "Format of the seeds file; 'auto' picks by suffix (.tsv is Touché).", "auto")
    steps: int | None = describe(
        "B: bandit steps (Table 6: 1500); None: no step limit (runs until another bound).",
        1500, ge=0)
    deadline: float | None = describe(
        "Wall-clock time (Unix seconds) after which no new step starts; None: none.", None)
    steps_per_segment: int = describe(
        "Bandit steps per graph invocation; a run chains invocations on fresh threads, so no run "
        "ever reaches the recursion limit.", 20, ge=1)
    questions_per_step: int = describe(
        "N2: new questions per explorer and step (tree width; Table 6: 3).", 3, ge=1)
    n_shot: int = describe(
        "N_shot: best-scored questions of the topic shown as exemplars (Table 6: 5).", 5, ge=1)
    epsilon: float = describe(
        "ε: drop a candidate whose mean similarity to its nearest questions exceeds this.", 0.85,
        gt=0.0, le=1.0)
    dedup_neighbours: int = describe(
        "How many nearest questions the ε test averages over (Table 6: top-3).", 3, ge=1)
    near_identical: float = describe(
        "Also drop a candidate whose single nearest question is at least this similar: the "
        "top-k mean alone lets an exact repeat through when its other neighbours differ [R].",
        0.97, gt=0.0, le=1.0)
    tau: float = describe(
        "τ: a refinement is accepted (and refined again) only if it raises S by more (Table 6: "
        "0.5; see tau_mode).", 0.5)
    tau_mode: Literal["spread", "absolute"] = describe(
        "'spread': τ is relative to the spread of S observed in the run, τ·(S_max − S_min)/6.3 "
        "with 6.3 the paper's range (3-9.3) [R]; 'absolute': τ in units of S, as Table 6 on "
        "the paper's scale.", "spread")
    max_depth: int = describe("Most accepted refinements per question (tree depth; Table 6: 3).",
                              3, ge=0)
    temperature: float = describe("Sampling temperature of every generation (Table 6: 1.0).",
                                  1.0, ge=0.0)
    top_p: float = describe("Nucleus sampling (Table 6: 0.95).", 0.95, gt=0.0, le=1.0)
    question_max_tokens: int = describe(
        "Token limit of exploration, reflection and refinement replies.", 256, ge=1)
    opinion_max_tokens: int = describe(
        "Token limit of an opinion (3 points in at most 250 words).", 400, ge=1)
    opinion_points: int = describe("Key points per opinion (Table 6: 3).", 3, ge=1)
    opinion_words: int = describe("Word budget of an opinion (Table 6: 250).", 250, ge=1)
    judge_mode: Literal["per_value", "joint"] = describe(
        "'per_value': one yes/no call per (text, value), as listing L4; 'joint': one call "
        "labels every value (cheaper) [R].", "per_value")
    judge_method: Literal["auto", "logprobs", "loglik", "vote"] = describe(
        "How a per-value judge gets P(yes): logprobs, log-likelihood or a vote.", "auto")
    judge_votes: int = describe("Samples per verdict when the judge has to vote.", 3, ge=1)
    score_method: Literal["approx", "exact"] = describe(
        "'approx': label counting (App. C.3); 'exact': log-likelihoods (App. I.2), needs "
        "backends that score continuations.", "approx")
    vc_form: Literal["intersection_over_union", "union_over_intersection"] = describe(
        "R_VC's reading (the printed formula is garbled): '∩/∪' of a model's point labels, a "
        "[0, 1] conformity of R_VD's form [R]; '∪/∩' rewards scattered points (earlier "
        "reading, for comparison).", "intersection_over_union")
    dis_sign: Literal[-1, 1] = describe(
        "Sign of ½·R_Dis in S: -1 as printed in App. C.3, +1 as Eq. 1 implies (the paper is "
        "inconsistent).", -1)
    vd_reduction: Literal["mean", "sum"] = describe(
        "R_VD over model pairs: 'mean' keeps P1 and P2 scores comparable [R]; 'sum' as "
        "printed.", "mean")
    similarity: Literal["embedding", "bertscore"] = describe(
        "R_OD similarity: MiniLM embedding cosine, or BERTScore (needs bert-score).",
        "embedding")
    empty_step_reward: float | None = describe(
        "Reward of a step that produced no question (all duplicates or failures); None: the "
        "lowest step reward observed in the run [R].", None)
    reward_scale: Literal["normalised", "raw"] = describe(
        "UCB arm values: 'normalised' to [0, 1] by the observed step-reward range, the scale "
        "the bonus sqrt(2 ln B / C) assumes [R]; 'raw': S itself, as printed.", "normalised")
    approval: bool = describe(
        "Pause for human approval of each step's questions (a LangGraph interrupt).", False)
    run_tag: str = describe("Prefix of question ids (unique per run); set by the runner.", "")

    @field_validator("explorers", "respondents")
    @classmethod
    def _specs(cls, value: list[str]) -> list[str]:
        if not all(isinstance(s, str) and s.strip() for s in value):
            raise ValueError("every model spec must be a non-empty string")
        return value

    @property
    def p1(self) -> list[str]:
        return list(dict.fromkeys(self.explorers))

    @property
    def p2(self) -> list[str]:
        """P2 = P1 ∪ respondents, in order, without repeats."""
        return list(dict.fromkeys([*self.explorers, *self.respondents]))

    @property
    def value_theory(self) -> Any:
        return THEORIES[self.theory]
