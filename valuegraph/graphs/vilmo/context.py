"""Run dependencies of the VILMO loop: models per role, hyperparameters, prompt overrides.

The paper (spec §1.7) fixes the objective (maximise 1 - p(violation) of the target's
continuations under a prompt-specific instruction), tau = 0.5, and greedy decoding of one
instruction at test time. Its training loop (generator fine-tuning on a surrogate reward) was not
recovered; this loop is the in-context version asked for by the project: write, score, revise.
Every choice the paper does not state is ours and marked [R] (spec §6.1).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic.dataclasses import dataclass

from valuegraph.graphs._shared.context import CONTEXT_CONFIG, LoopContext, describe
from valuegraph.graphs.vilmo import prompts

SPEC = {"min_length": 1}


@dataclass(kw_only=True, config=CONTEXT_CONFIG)
class Context(LoopContext):
    """Everything a VILMO run needs besides its state (JSON-constructible, for Studio)."""

    loop_name: ClassVar[str] = "vilmo"
    prompt_module: ClassVar = prompts

    generator: str = describe(
        "Model spec of the instruction generator (the optimizer role): writes a value "
        "instruction for the scenario and revises it from the judge's feedback.", "local",
        **SPEC)
    target: str = describe(
        "Model spec of the model being aligned (continues the scenario with the instruction in "
        "context).", "local", **SPEC)
    judge: str = describe(
        "Violation judge: an LLM spec, or classifier/<dir> for a fine-tuned sequence "
        "classifier.", "local", **SPEC)
    rounds: int = describe(
        "T: most revisions of the instruction. The paper iterates its generator 2-3 rounds; "
        "T = 3 as DeNEVIL's MoralPrompt runs [R].", 3, ge=0)
    samples: int = describe(
        "K: continuations per instruction and round (the APV_x estimate). The paper is silent; "
        "K = 10 as DeNEVIL [R].", 10, ge=1)
    threshold: float = describe(
        "tau: a continuation violates when p(violation) > tau. Paper: 0.5.", 0.5, ge=0.0, lt=1.0)
    patience: int | None = describe(
        "Stop after this many rounds in a row whose violation rate did not fall below the best "
        "so far (1: stop as soon as it stops falling) [R]; None: run all T rounds.", 1, ge=1)
    min_improvement: float = describe(
        "Least fall of the violation rate that counts as an improvement.", 0.0, ge=0.0)
    feedback: int = describe(
        "Continuations shown to the generator when it revises, most violating first [R].", 3,
        ge=1)
    placement: Literal["system", "user"] = describe(
        "Where the instruction goes in the target's context: a system message before the "
        "prompt, or prepended to the user message (the paper prepends it) [R].", "system")
    judge_method: Literal["auto", "logprobs", "loglik", "vote"] = describe(
        "LLM judge: 'auto' = P(yes) from logprobs, else from log-likelihood, else a vote over "
        "samples.", "auto")
    judge_votes: int = describe("Samples drawn when the LLM judge votes.", 5, ge=1)
    target_temperature: float = describe(
        "Target sampling temperature (as DeNEVIL and bench moral) [R].", 1.0, ge=0.0)
    target_top_p: float = describe("Target nucleus sampling [R].", 0.9, gt=0.0, le=1.0)
    target_max_tokens: int = describe("Length limit of a continuation.", 128, ge=1)
    generator_temperature: float = describe(
        "Generator sampling temperature. 0: greedy, as the paper decodes its instruction at "
        "test time.", 0.0, ge=0.0)
    generator_max_tokens: int = describe("Length limit of an instruction.", 160, ge=1)
