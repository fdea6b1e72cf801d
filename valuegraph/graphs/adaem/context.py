"""Run dependencies of the AdAEM loop: model pools, budgets, hyperparameters, prompt overrides.

Defaults follow the paper's hyperparameter table (Table 6; spec §3.4): ε = 0.85 on the top-3
mean similarity, τ = 0.5, N2 = 3, N_shot = 5, depth 3, top_p 0.95, temperature 1.0, 3 points
in ≤ 250 words, B = 1500. Choices the paper leaves open are marked [R] and stay configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from valuegraph.evals.theories import THEORIES
from valuegraph.graphs._shared.context import ContextMixin

JUDGE_MODES = ("per_value", "joint")
JUDGE_METHODS = ("auto", "logprobs", "loglik", "vote")
SCORE_METHODS = ("approx", "exact")
SIMILARITIES = ("embedding", "bertscore")
VALUE_THEORIES = ("schwartz", "mft")


def _describe(text: str) -> dict[str, str]:
    return {"description": text}


@dataclass(kw_only=True)
class AdaemContext(ContextMixin):
    """Everything an AdAEM run needs besides its state (JSON-constructible, for Studio)."""

    pool_key: str = field(default="", metadata=_describe(
        "Name of the model pool bound by the runner (its cache); '' = a shared pool."))
    run_dir: str = field(default="", metadata=_describe(
        "Directory of results.jsonl, the item bank and topics.jsonl; '' = a temporary one."))
    item_bank_url: str | None = field(default=None, metadata=_describe(
        "Chroma server URL for the item bank; None: embedded in run_dir."))
    api_bases: dict[str, str] = field(default_factory=dict, metadata=_describe(
        "Server address per model spec (vLLM, llama.cpp, OpenAI-compatible)."))
    explorers: list[str] = field(default_factory=lambda: ["local"], metadata=_describe(
        "P1: cheap models that write new questions and estimate S during refinement."))
    respondents: list[str] = field(default_factory=list, metadata=_describe(
        "P2 minus P1: stronger models added for the final S (P2 = P1 + these)."))
    judge: str = field(default="local", metadata=_describe(
        "Value judge: labels each key point (and each question) with the theory's values."))
    optimizer: str = field(default="local", metadata=_describe(
        "Writes reflections and refinements (listings L7 / L8)."))
    safety_judge: str | None = field(default=None, metadata=_describe(
        "Model that flags unsafe questions (kept out of releases, still recorded); None: off."))
    theory: Literal["schwartz", "mft"] = field(default="schwartz", metadata=_describe(
        "Value system: 'schwartz' (10 values) or 'mft' (5 foundations, App. J)."))
    seeds: str | None = field(default=None, metadata=_describe(
        "Seed topics file (JSONL or Touché23-ValueEval TSV); None: the packaged 45 topics."))
    seed_format: Literal["auto", "jsonl", "touche"] = field(default="auto", metadata=_describe(
        "Format of the seeds file; 'auto' picks by suffix (.tsv is Touché)."))
    steps: int | None = field(default=1500, metadata=_describe(
        "B: bandit steps (Table 6: 1500); None: no step limit (runs until another bound)."))
    max_calls: int | None = field(default=None, metadata=_describe(
        "Most model calls the run may ask for, cache hits included; None: no limit."))
    deadline: float | None = field(default=None, metadata=_describe(
        "Wall-clock time (Unix seconds) after which no new step starts; None: none."))
    steps_per_segment: int = field(default=20, metadata=_describe(
        "Bandit steps per graph invocation; a run chains invocations on fresh threads, so no "
        "run ever reaches the recursion limit."))
    questions_per_step: int = field(default=3, metadata=_describe(
        "N2: new questions per explorer and step (tree width; Table 6: 3)."))
    n_shot: int = field(default=5, metadata=_describe(
        "N_shot: best-scored questions of the topic shown as exemplars (Table 6: 5)."))
    epsilon: float = field(default=0.85, metadata=_describe(
        "ε: drop a candidate whose mean similarity to its nearest questions exceeds this."))
    dedup_neighbours: int = field(default=3, metadata=_describe(
        "How many nearest questions the ε test averages over (Table 6: top-3)."))
    near_identical: float = field(default=0.97, metadata=_describe(
        "Also drop a candidate whose single nearest question is at least this similar: the "
        "top-k mean alone lets an exact repeat through when its other neighbours differ [R]."))
    tau: float = field(default=0.5, metadata=_describe(
        "τ: a refinement is accepted (and refined again) only if it raises S by more."))
    max_depth: int = field(default=3, metadata=_describe(
        "Most accepted refinements per question (tree depth; Table 6: 3)."))
    temperature: float = field(default=1.0, metadata=_describe(
        "Sampling temperature of every generation (Table 6: 1.0)."))
    top_p: float = field(default=0.95, metadata=_describe("Nucleus sampling (Table 6: 0.95)."))
    question_max_tokens: int = field(default=256, metadata=_describe(
        "Token limit of exploration, reflection and refinement replies."))
    opinion_max_tokens: int = field(default=400, metadata=_describe(
        "Token limit of an opinion (3 points in at most 250 words)."))
    opinion_points: int = field(default=3, metadata=_describe(
        "Key points per opinion (Table 6: 3)."))
    opinion_words: int = field(default=250, metadata=_describe(
        "Word budget of an opinion (Table 6: 250)."))
    judge_mode: Literal["per_value", "joint"] = field(default="per_value", metadata=_describe(
        "'per_value': one yes/no call per (text, value), as listing L4; 'joint': one call "
        "labels every value (cheaper) [R]."))
    judge_method: Literal["auto", "logprobs", "loglik", "vote"] = field(
        default="auto", metadata=_describe(
            "How a per-value judge gets P(yes): logprobs, log-likelihood or a vote."))
    judge_votes: int = field(default=3, metadata=_describe(
        "Samples per verdict when the judge has to vote."))
    score_method: Literal["approx", "exact"] = field(default="approx", metadata=_describe(
        "'approx': label counting (App. C.3); 'exact': log-likelihoods (App. I.2), needs "
        "backends that score continuations."))
    dis_sign: int = field(default=-1, metadata=_describe(
        "Sign of ½·R_Dis in S: -1 as printed in App. C.3, +1 as Eq. 1 implies (the paper "
        "is inconsistent)."))
    vd_reduction: Literal["mean", "sum"] = field(default="mean", metadata=_describe(
        "R_VD over model pairs: 'mean' keeps P1 and P2 scores comparable [R]; 'sum' as "
        "printed."))
    similarity: Literal["embedding", "bertscore"] = field(default="embedding", metadata=_describe(
        "R_OD similarity: MiniLM embedding cosine, or BERTScore (needs bert-score)."))
    empty_step_reward: float = field(default=0.0, metadata=_describe(
        "Reward of a step that produced no question (all duplicates or failures) [R]."))
    approval: bool = field(default=False, metadata=_describe(
        "Pause for human approval of each step's questions (a LangGraph interrupt)."))
    seed: int = field(default=0, metadata=_describe(
        "Seed of every random choice and of the sampling requests."))
    run_tag: str = field(default="", metadata=_describe(
        "Prefix of question ids (unique per run); set by the runner."))
    prompts: dict[str, str] = field(default_factory=dict, metadata=_describe(
        "Prompt overrides: template name -> text or path to a file."))

    def __post_init__(self) -> None:
        for spec in fields(self):
            _check_type(spec.name, spec.type, getattr(self, spec.name))
        _one_of("theory", self.theory, VALUE_THEORIES)
        _one_of("seed_format", self.seed_format, ("auto", "jsonl", "touche"))
        _one_of("judge_mode", self.judge_mode, JUDGE_MODES)
        _one_of("judge_method", self.judge_method, JUDGE_METHODS)
        _one_of("score_method", self.score_method, SCORE_METHODS)
        _one_of("vd_reduction", self.vd_reduction, ("mean", "sum"))
        _one_of("similarity", self.similarity, SIMILARITIES)
        if self.dis_sign not in (-1, 1):
            raise ValueError(f"dis_sign must be -1 or 1, got {self.dis_sign!r}")
        if not self.explorers or not all(isinstance(s, str) and s for s in self.explorers):
            raise ValueError("explorers (P1) must be a non-empty list of model specs")
        if not isinstance(self.respondents, list):
            raise ValueError("respondents must be a list of model specs")
        for name in ("epsilon", "near_identical"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("steps", "max_calls"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0 or null, got {value!r}")
        for name in ("steps_per_segment", "questions_per_step", "n_shot", "dedup_neighbours",
                     "opinion_points", "opinion_words", "question_max_tokens",
                     "opinion_max_tokens", "judge_votes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if not isinstance(self.max_depth, int) or self.max_depth < 0:
            raise ValueError(f"max_depth must be a whole number >= 0, got {self.max_depth!r}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")

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


_TYPES: dict[str, tuple[type, ...]] = {
    "float": (int, float), "int": (int,), "bool": (bool,), "str": (str,),
    "list[str]": (list,), "dict[str, str]": (dict,)}


def _check_type(name: str, annotation: object, value: object) -> None:
    """Settings arrive from YAML, CLI strings and Studio JSON: reject a wrong type by name."""
    text = str(annotation)
    optional = text.endswith(" | None")
    base = text.removesuffix(" | None")
    if base.startswith("Literal") or (optional and value is None):
        return
    allowed = _TYPES.get(base)
    if allowed is None:
        return
    wrong = not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool))
    if wrong:
        what = {"float": "a number", "int": "a whole number", "bool": "true or false",
                "str": "a string", "list[str]": "a list", "dict[str, str]": "a mapping"}[base]
        raise ValueError(f"{name} must be {what}{' or null' if optional else ''}, "
                         f"got {value!r}")


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
